package explain

import (
	"strings"

	"github.com/viggle-bot/viggle-bot/jobs"
)

// Advice says in plain words what a job's error code means for the person who asked for the render and
// what they can do next (viggle-api.md §10; both of Viggle's code sets map to the same words).
func Advice(code string) string {
	switch strings.ToUpper(strings.TrimSpace(code)) {
	case "CS-UORC01-006", "CS-UORC01-007", "CS-ORAU-001", "CS-ORAU-002":
		return "The Viggle API key in use is missing, invalid or expired: a server admin can set a valid one with /config key set (or the bot's admin a valid VIGGLE_API_KEY)."
	case "CS-UORC01-008", "CS-ORCR-001":
		return "The Viggle account has run out of credits: whoever pays for the key in use (this server's, or the bot's) needs to top it up, then try again."
	case "CS-UORC01-001":
		return "Fast mode is unavailable right now: try again without fast."
	case "CS-UORC01-002":
		return "Viggle rejected the request: check the scene, the map and the options, then try again."
	case "CS-ORIV-008":
		return "One of the characters in the map does not exist at Viggle: check the character ids."
	case "CS-ORIV-009":
		return "The scene does not exist at Viggle: check the scene id."
	case "CS-ORIV-010":
		return "The scene is still being prepared at Viggle: try again in a few minutes."
	case "CS-ORIV-011":
		return "Viggle does not accept that background: use original, solid or transparent."
	case "CS-ORIV-012":
		return "Viggle could not read the character map: check it is written as person=character pairs."
	case "CS-ORIV-003", "CS-ORIV-004", "CS-ORIV-005", "CS-ORIV-006", "CS-ORIV-007":
		return "The scene's video is not usable by Viggle (format, length, size or resolution)."
	case jobs.CodeTimeout:
		return "It took too long and was cancelled at Viggle. Try again later."
	case jobs.CodeTimeoutUnconfirmed:
		return "It took too long, and the cancel was not confirmed: check the Viggle dashboard before you try again."
	case jobs.CodeNotSent:
		return "Nothing was sent to Viggle and no credits were used: try again in a moment."
	case jobs.CodeKeyUnavailable:
		return "A server admin can set the server's Viggle key again with /config key set; renders started after that use it."
	case jobs.CodeNotFound:
		return "Viggle lost track of this render. Try again; if it keeps happening, contact Viggle support with the job id."
	case "":
		return "Try again; if it fails again, contact Viggle support with the Viggle job id."
	}
	return "If it fails again, contact Viggle support with the error code and the Viggle job id."
}
