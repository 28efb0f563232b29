package explain

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/keyring"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// The sentences of Viggle's answers to the catalog's calls (a scene's import, a character's
// preprocessing, the credit balance): one plain sentence and what to do, with Viggle's code kept for
// support.

// Viggle operations, for ViggleError.
const (
	OpImport    = "import the scene"
	OpCharacter = "make the character"
	OpCredits   = "read the credit balance"
)

// checkFirst is what to look at before trying op again after an unknown outcome.
var checkFirst = map[string]string{
	OpImport:    "Check /scene list in a few minutes before you try again.",
	OpCharacter: "Check /character list in a few minutes before you try again.",
	OpCredits:   "Try again in a moment.",
}

// viggleCodes are the catalog's own words for codes whose render advice (Advice) does not fit a
// scene or a character; any other code of the table uses Advice.
var viggleCodes = map[string]string{
	"CS-ORIV-001":   "Viggle got no usable image: attach a PNG, JPEG or WebP photo of one person and try again.",
	"CS-ORIV-002":   "Viggle got no usable video for the template: check the template id or link and try again.",
	"CS-ORIV-008":   "Viggle does not know that character: make it again with /character create.",
	"CS-ORIV-009":   "Viggle does not know that scene: import it again with /scene import.",
	"CS-ORIV-010":   "Viggle is still preparing it: try again in a few minutes.",
	"CS-UORC01-002": "Viggle rejected what was sent: check the template, the name or the image, then try again.",
}

// knownCode reports whether Advice has words of its own for code.
func knownCode(code string) bool {
	return Advice(code) != Advice("CS-UNKNOWN-CODE")
}

// statusAdvice is what to do after an HTTP status without a code Viggle documents.
func statusAdvice(status int) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Advice("CS-UORC01-007")
	case status == http.StatusPaymentRequired:
		return Advice("CS-UORC01-008")
	case status == http.StatusNotFound:
		return "Viggle does not know it: check the id or link you gave and try again."
	case status == http.StatusConflict:
		return "Viggle already has one like it: check /scene list or /character list before you try again."
	case status == http.StatusTooManyRequests:
		return "Viggle is busy right now: try again in a minute."
	case status >= 500:
		return "Viggle had a problem on its side: try again in a few minutes."
	case status >= 400:
		return "Check what you gave (template, name or image) and try again."
	}
	return "Try again in a moment; if it keeps failing, contact Viggle support with the error code."
}

// codeNote is " (error `CODE`)", or "" without a code.
func codeNote(code string) string {
	code = strings.TrimSpace(code)
	if code == "" {
		return ""
	}
	return fmt.Sprintf(" (error `%s`)", strings.ReplaceAll(code, "`", "'"))
}

// adviceFor is what to do after Viggle answered code (may be "") with HTTP status.
func adviceFor(code string, status int) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	if s, ok := viggleCodes[c]; ok {
		return s
	}
	if c != "" && knownCode(c) {
		return Advice(c)
	}
	return statusAdvice(status)
}

// ViggleError is one plain sentence, and what to do, for the error of a Viggle call made to do op
// (OpImport, OpCharacter, OpCredits): Viggle refused it (its code kept), its outcome is unknown (it
// may exist at Viggle and was not sent again), or it was not sent at all.
func ViggleError(op string, err error) string {
	var api *viggle.APIError
	hasAPI := errors.As(err, &api)
	switch {
	case errors.Is(err, keyring.ErrUnavailable):
		return fmt.Sprintf("%s, so I could not %s; nothing was sent and no credits were used.", KeyProblem(err), op)
	case errors.Is(err, viggle.ErrNotSent):
		return fmt.Sprintf("Viggle could not be reached, so I could not %s; nothing was sent and no credits were used. Try again in a moment.", op)
	case errors.Is(err, viggle.ErrOutcomeUnknown):
		note := ""
		if hasAPI {
			note = fmt.Sprintf(" (Viggle answered HTTP %d%s)", api.HTTPStatus, codeNote(api.Code))
		}
		return fmt.Sprintf("I asked Viggle to %s but got no usable answer%s, so it may exist there and may have used credits; it was not sent again. %s", op, note, checkFirst[op])
	case hasAPI:
		return fmt.Sprintf("Viggle refused to %s%s. %s", op, codeNote(api.Code), adviceFor(api.Code, api.HTTPStatus))
	}
	return fmt.Sprintf("Viggle did not answer, so I could not %s. Try again in a moment.", op)
}

// CatalogFailure says why a scene's import or a character's preprocessing did not end ready, from the
// row's recorded Error (Viggle's message, a code, or one of the catalog's facts) and whether its
// outcome is unknown (it may exist at Viggle).
func CatalogFailure(recorded string, unknown bool) string {
	msg := strings.TrimSpace(recorded)
	switch msg {
	case jobs.FactNotSent:
		return "Viggle could not be reached, so nothing was sent and no credits were used. Try again in a moment."
	case jobs.FactNoAnswer, jobs.FactInterrupted:
		return "It was sent to Viggle but no usable answer came back, so it may exist there and may have used credits; it was not sent again."
	case jobs.FactNoReason:
		return "Viggle could not make it and gave no reason. Try again, or with another template or photo."
	case jobs.FactNotFound:
		return "Viggle no longer knows it (it answered \"not found\" several times in a row). Try again."
	case jobs.FactKeyUnavailable:
		return "The Viggle key it was made with can no longer be used (removed from the bot, or unreadable), so the bot stopped following it. Make it again with this server's current key."
	}
	if status, ok := httpFact(msg); ok {
		if unknown {
			return fmt.Sprintf("It was sent to Viggle but the answer was HTTP %d, so it may exist there and may have used credits; it was not sent again.", status)
		}
		return fmt.Sprintf("Viggle refused it (HTTP %d %s). %s", status, http.StatusText(status), statusAdvice(status))
	}
	if strings.HasPrefix(strings.ToUpper(msg), "CS-") && !strings.Contains(msg, " ") {
		return fmt.Sprintf("Viggle refused it%s. %s", codeNote(msg), adviceFor(msg, 0))
	}
	if unknown {
		return "It may exist at Viggle and may have used credits; it was not sent again."
	}
	if msg == "" {
		return "Viggle could not make it. Try again, or with another template or photo."
	}
	if i := strings.LastIndex(msg, " ("); i > 0 && strings.HasSuffix(msg, ")") {
		// Viggle's message with its code, as the catalog records a failure it was told of.
		if code := msg[i+2 : len(msg)-1]; strings.HasPrefix(strings.ToUpper(code), "CS-") && !strings.Contains(code, " ") {
			return fmt.Sprintf("Viggle said: %s%s. %s", strings.TrimSuffix(msg[:i], "."), codeNote(code), adviceFor(code, 0))
		}
	}
	return fmt.Sprintf("Viggle said: %s.", strings.TrimSuffix(msg, "."))
}

// KeyProblem is one plain sentence (without its final period) on why a Viggle key cannot be used,
// from a keyring error: the server has no key and the shared one is not allowed (with how to set
// one), or its stored key cannot be read.
func KeyProblem(err error) string {
	switch {
	case errors.Is(err, keyring.ErrNoKey):
		return "This server has no Viggle key of its own and the bot's shared key is not available here: a server admin can set one with /config key set"
	case errors.Is(err, keyring.ErrUndecryptable):
		return "This server's Viggle key cannot be read any more (the bot's BOT_ENCRYPTION_KEY may have changed): a server admin can set it again with /config key set"
	case errors.Is(err, keyring.ErrNoEncryption):
		return "This server's Viggle key cannot be read: the bot's admin needs to set BOT_ENCRYPTION_KEY"
	case errors.Is(err, keyring.ErrKeyGone):
		return "The Viggle key of this server was removed from the bot"
	}
	return "This server's Viggle key cannot be used"
}
