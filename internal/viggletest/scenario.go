package viggletest

import (
	"net/http"
	"time"
)

// Values for Scenario.PollErrors besides plain HTTP status codes.
const (
	// Malformed answers a status poll with HTTP 200 and a truncated JSON body.
	Malformed = -1
	// NotFound answers a status poll with HTTP 404 and {"detail":"Not found"}.
	NotFound = http.StatusNotFound
)

// Error codes the fake answers with. The CS-* codes other than CodeJobNotFound
// and CodeConflict come from the Viggle docs; those two are made up, since the
// docs name no code for an unknown job or a job in the wrong state.
const (
	CodeValidation          = "CS-UORC01-002" // request failed validation (bg_color, model, fast, form)
	CodeInvalidKey          = "CS-UORC01-007" // wrong API key (401)
	CodeInsufficientCredits = "CS-UORC01-008" // not enough credits (402)
	CodeRenderFailed        = "CS-UORC01-009" // failed job (scene_fail)
	CodeMissingInput        = "CS-ORIV-002"   // scene_id missing
	CodeSceneNotFound       = "CS-ORIV-009"   // unknown scene id (400)
	CodeSceneProcessing     = "CS-ORIV-010"   // imported scene not ready yet (400)
	CodeBadBackground       = "CS-ORIV-011"   // invalid background_mode (400)
	CodeBadMapping          = "CS-ORIV-012"   // invalid character_mapping JSON (400)
	CodeJobNotFound         = "CS-NOTFOUND"   // unknown or undecodable job id (404)
	CodeConflict            = "CS-CONFLICT"   // DELETE of a finished job, /download of an unfinished one (409)
)

// Scenario scripts what happens to renders of one scene.
//
// Progress is time-based (Duration, measured with the server's clock from the
// creation time encoded in the job id, so it works across processes) unless
// Polls > 0, in which case it is count-based and kept in memory.
type Scenario struct {
	// Duration is the wall time from creation to the end of the job
	// (complete, or failed when FailCode/FailMessage is set). Zero means
	// the job is finished at the first poll.
	Duration time.Duration
	// Polls, if > 0, ends the job at this many status polls instead of by
	// Duration: with Polls = n the n-th poll answers complete (or failed) and
	// polls 1..n-1 advance evenly from 0 % ("queued"). PollErrors answers do
	// not count as polls. Only jobs created by this Server are count-based;
	// another process (a fresh New) treats them by Duration.
	Polls int
	// Steps is the number of distinct progress values before the end
	// (default 4: 0, 25, 50, 75, then 100 when complete).
	Steps int
	// FailCode and FailMessage, if either is set, end the job "failed" with
	// error_code FailCode and error_message FailMessage instead of complete.
	FailCode    string
	FailMessage string
	// FailLabel is the short "error" label of a failed job (default
	// "Rendering failed").
	FailLabel string
	// SubmitStatus, if set, refuses POST /api/render with this HTTP status and
	// the body {"detail":{"error_code":SubmitCode,"message":SubmitMessage,
	// "action":SubmitAction}}; with SubmitCode empty the body is
	// {"detail":SubmitMessage} (the string shape). A 5xx with neither
	// SubmitCode nor SubmitMessage is answered as Viggle's gateway would, with
	// no decodable error: a plain-text body for 500, an HTML page otherwise.
	// Nothing is created.
	SubmitStatus  int
	SubmitCode    string
	SubmitMessage string
	SubmitAction  string
	// SubmitCut cuts the connection of POST /api/render once the whole request
	// has been read and validated: the fake closes it without answering, so the
	// client cannot tell whether the render was made. The render is not created
	// (Accepted does not count it) unless SubmitCutCreates is set: then it is
	// created first, as when Viggle made the render and its answer was lost (the
	// job exists, but no client learnt its id). Creates counts the POST either way.
	SubmitCut        bool
	SubmitCutCreates bool
	// SubmitNoJobID answers POST /api/render with 200 and the usual body
	// without its job_id ({"status":"queued","mode":…,"enqueued_at":…}). The
	// render is created (Accepted counts it), but no client can follow it.
	SubmitNoJobID bool
	// PollErrors are answers served, in order, to the first status polls of
	// each job before it is polled normally: 429, 500, 502, 503 (or any other
	// status), Malformed or NotFound. 429 and 503 carry a JSON body, 500 and
	// 502 a plain text or HTML one. The count is kept in memory: a fresh
	// process serves them again.
	PollErrors []int
	// RetryAfter is the Retry-After header sent with 429 and 503 PollErrors
	// (none when empty).
	RetryAfter string
	// VideoSize is the size in bytes of the served MP4 (see Video); 0 serves
	// demo.mp4 as is.
	VideoSize int64
	// CDNExpired makes the first CDN GET of each job (video or mask) answer
	// 403 as if the signed URL had expired; every URL handed out before that
	// stays refused, and URLs from later status polls or /download work.
	// In memory only.
	CDNExpired bool
	// NoCDN leaves cdn_url, download_url and mask_cdn_url null even when
	// complete, so clients must use GET /api/render/{id}/download.
	NoCDN bool
	// Stuck jobs never finish: they are "processing" from the first poll and
	// advance by Duration (or Polls) like other jobs but stop at the last
	// progress step below 100 % (at once when Duration is 0), until cancelled.
	Stuck bool
}

func (sc Scenario) steps() int {
	if sc.Steps > 0 {
		return sc.Steps
	}
	return 4
}

func (sc Scenario) fails() bool { return sc.FailCode != "" || sc.FailMessage != "" }

// DefaultScenarios returns the scenes a New Server knows unless WithScenarios
// is given (see the package documentation for the list).
func DefaultScenarios() map[string]Scenario {
	return map[string]Scenario{
		"scene_demo": {Duration: 6 * time.Second, Steps: 4},
		"scene_fail": {
			Duration:    4 * time.Second,
			FailCode:    CodeRenderFailed,
			FailMessage: "Rendering failed: could not track a person in the template",
		},
		"scene_big":  {Duration: 6 * time.Second, VideoSize: 12 << 20},
		"scene_slow": {Duration: 90 * time.Second},
		"scene_nocredits": {
			SubmitStatus:  http.StatusPaymentRequired,
			SubmitCode:    CodeInsufficientCredits,
			SubmitMessage: "Insufficient credits",
			SubmitAction:  "Buy more credits in the Viggle dashboard",
		},
		"scene_flaky": {
			Duration:   8 * time.Second,
			PollErrors: []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, Malformed},
			RetryAfter: "1",
		},
		"scene_expired": {Duration: 6 * time.Second, CDNExpired: true},
		"scene_stuck":   {Stuck: true},
	}
}
