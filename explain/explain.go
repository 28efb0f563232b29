// Package explain says in plain words what happened to a render job and what its owner can do next.
// The engine (package jobs) records only what happened: an error code (Viggle's, or one of the
// engine's own jobs.Code… values) and, in error_message, Viggle's own message or a short fact such as
// an HTTP status. The views (Discord and the terminal) turn that record into sentences here.
//
// Rows written before the engine kept sentences out of error_message hold a sentence there and often no
// code: such a message is shown as it is.
package explain

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// Outcome says what happened to a job that did not end with its video delivered: failed, cancelled,
// interrupted or undeliverable. It returns "" for a job with nothing to explain.
func Outcome(j store.Job) string {
	msg := strings.TrimSpace(j.ErrorMessage)
	if own(j.ErrorCode) && sentence(msg) {
		return msg // a row from before the codes, or a caller's own words (Abandon's reason)
	}
	switch j.ErrorCode {
	case jobs.CodeSubmitCrashed:
		return "The bot stopped while sending this render to Viggle, so it may have started there (and may use credits). It was not sent again."
	case jobs.CodeOutcomeUnknown:
		return "The render was sent but no usable answer came back, so it may have reached Viggle and may have started there (and may use credits). It was not sent again."
	case jobs.CodeCancelledBeforeSend:
		return "Cancelled before it was sent to Viggle; no credits were used."
	case jobs.CodeCancelled:
		return "The render was cancelled, as asked; Viggle refunds cancelled renders."
	case jobs.CodeCancelledAtViggle:
		return "The render was cancelled at Viggle."
	case jobs.CodeNotSent:
		return "Viggle could not be reached, so the render was not sent and no credits were used. Try again in a moment."
	case jobs.CodeNotAcknowledged:
		if msg != "" { // what Discord answered to the acknowledgement (Abandon's fact)
			return "Discord did not accept the acknowledgement in time, so the render was not sent."
		}
		return "The request was never acknowledged, so it was not sent to Viggle."
	case jobs.CodeUndeliverable:
		return "The video is ready but could not be delivered; it is listed in /jobs with its link."
	case jobs.CodeKeyUnavailable:
		return keyUnavailable(j, msg)
	case jobs.CodeNotFound:
		n := 0
		if _, err := fmt.Sscanf(msg, jobs.NotFoundFact, &n); err != nil || n <= 0 {
			return "Viggle no longer knows this render (it answered \"not found\" several times in a row)."
		}
		return fmt.Sprintf("Viggle no longer knows this render (it answered \"not found\" %d times in a row).", n)
	case jobs.CodeTimeout, jobs.CodeTimeoutUnconfirmed:
		after := msg
		if d, err := time.ParseDuration(msg); err == nil {
			after = d.String()
		}
		if after == "" {
			after = "long"
		}
		if j.ErrorCode == jobs.CodeTimeout {
			return fmt.Sprintf("The render was still not finished %s after it was sent, so it was cancelled at Viggle (cancelled renders are refunded). Try again later, or with a shorter scene.", after)
		}
		return fmt.Sprintf("The render was still not finished %s after it was sent. The bot asked Viggle to cancel it, but the cancel was not confirmed, so it may still finish and use credits.", after)
	}
	// Viggle's own code (or none): Viggle's message, else what the record says.
	if status, ok := httpFact(msg); ok {
		return fmt.Sprintf("Viggle refused the render (HTTP %d %s).", status, http.StatusText(status))
	}
	if msg != "" {
		return msg
	}
	switch j.State {
	case store.StateFailed:
		return "Viggle could not finish this render."
	case store.StateCancelled:
		return "The render was cancelled at Viggle."
	case store.StateInterrupted:
		return "The bot stopped while sending this render to Viggle, so it may have started there (and may use credits). It was not sent again."
	case store.StateUndeliverable:
		return "The video is ready but could not be delivered; it is listed in /jobs with its link."
	}
	return ""
}

// Code is the error code worth showing a person: Viggle's code, or one of the engine's codes that
// names a failure to look up. The codes that only restate the outcome (cancelled, interrupted,
// undeliverable) give "".
func Code(code string) string {
	switch code {
	case jobs.CodeSubmitCrashed, jobs.CodeOutcomeUnknown, jobs.CodeCancelledBeforeSend, jobs.CodeCancelled,
		jobs.CodeCancelledAtViggle, jobs.CodeUndeliverable:
		return ""
	}
	return code
}

// own reports whether code is one of the engine's (or none).
func own(code string) bool {
	switch code {
	case "", jobs.CodeTimeout, jobs.CodeTimeoutUnconfirmed, jobs.CodeNotSent, jobs.CodeNotFound, jobs.CodeNotAcknowledged,
		jobs.CodeSubmitCrashed, jobs.CodeOutcomeUnknown, jobs.CodeCancelledBeforeSend, jobs.CodeCancelled,
		jobs.CodeCancelledAtViggle, jobs.CodeUndeliverable, jobs.CodeKeyUnavailable:
		return true
	}
	return false
}

// keyUnavailable says why the job's own Viggle key could not be used (fact: one of jobs.KeyFact…)
// and what that means for a render sent or not.
func keyUnavailable(j store.Job, fact string) string {
	why := "the Viggle key it was started with can no longer be used"
	switch fact {
	case jobs.KeyFactGone:
		why = "the server's Viggle key it was started with has been removed from the bot"
	case jobs.KeyFactUndecryptable:
		why = "the server's Viggle key it was started with cannot be read any more (the bot's BOT_ENCRYPTION_KEY may have changed)"
	case jobs.KeyFactNoEncryption:
		why = "the server's Viggle key it was started with cannot be read without the bot's BOT_ENCRYPTION_KEY"
	case jobs.KeyFactNoKey:
		why = "the bot has no Viggle key to use for it"
	}
	if j.SubmittedAt.IsZero() && j.ViggleJobID == "" {
		return "The render was not sent, because " + why + "; no credits were used."
	}
	return "The bot stopped following this render, because " + why + ". It may still finish at Viggle and use credits."
}

// sentence reports whether msg reads as words for a person rather than a recorded fact.
func sentence(msg string) bool {
	return strings.HasSuffix(msg, ".") && strings.Count(msg, " ") >= 3
}

// httpFact parses the fact "HTTP 502" that the engine records when Viggle gave no message.
func httpFact(msg string) (int, bool) {
	var status int
	if _, err := fmt.Sscanf(msg, "HTTP %d", &status); err != nil || fmt.Sprintf("HTTP %d", status) != msg {
		return 0, false
	}
	return status, status >= 100 && status <= 599
}
