package explain_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// The sentences are those the engine wrote into error_message before it recorded codes (the end-to-end
// tests look for parts of them).
func TestOutcome(t *testing.T) {
	for _, c := range []struct {
		state store.State
		code  string
		msg   string
		want  string
	}{
		{store.StateInterrupted, jobs.CodeSubmitCrashed, "",
			"The bot stopped while sending this render to Viggle, so it may have started there (and may use credits). It was not sent again."},
		{store.StateInterrupted, jobs.CodeOutcomeUnknown, "HTTP 502",
			"The render was sent but no usable answer came back, so it may have reached Viggle and may have started there (and may use credits). It was not sent again."},
		{store.StateCancelled, jobs.CodeCancelledBeforeSend, "", "Cancelled before it was sent to Viggle; no credits were used."},
		{store.StateCancelled, jobs.CodeCancelled, "", "The render was cancelled, as asked; Viggle refunds cancelled renders."},
		{store.StateCancelled, jobs.CodeCancelledAtViggle, "", "The render was cancelled at Viggle."},
		{store.StateFailed, jobs.CodeNotSent, "",
			"Viggle could not be reached, so the render was not sent and no credits were used. Try again in a moment."},
		{store.StateFailed, jobs.CodeNotFound, fmt.Sprintf(jobs.NotFoundFact, 5),
			`Viggle no longer knows this render (it answered "not found" 5 times in a row).`},
		{store.StateFailed, jobs.CodeTimeout, "2h0m0s",
			"The render was still not finished 2h0m0s after it was sent, so it was cancelled at Viggle (cancelled renders are refunded). Try again later, or with a shorter scene."},
		{store.StateFailed, jobs.CodeTimeoutUnconfirmed, "2h0m0s",
			"The render was still not finished 2h0m0s after it was sent. The bot asked Viggle to cancel it, but the cancel was not confirmed, so it may still finish and use credits."},
		{store.StateFailed, jobs.CodeNotAcknowledged, "", "The request was never acknowledged, so it was not sent to Viggle."},
		{store.StateFailed, jobs.CodeNotAcknowledged, "Discord answered HTTP 404, code 10062",
			"Discord did not accept the acknowledgement in time, so the render was not sent."},
		{store.StateUndeliverable, jobs.CodeUndeliverable, "",
			"The video is ready but could not be delivered; it is listed in /jobs with its link."},
		// Viggle's own code and message; a refusal without a message; a failure without anything.
		{store.StateFailed, "CS-UORC01-008", "Insufficient credits", "Insufficient credits"},
		{store.StateFailed, "CS-UORC01-008", "HTTP 402", "Viggle refused the render (HTTP 402 Payment Required)."},
		{store.StateFailed, "", "HTTP 400", "Viggle refused the render (HTTP 400 Bad Request)."},
		{store.StateFailed, "CS-UORC01-009", "", "Viggle could not finish this render."},
		// Rows written by the old code: the sentence is in error_message, often with no code.
		{store.StateInterrupted, "", "The render was sent to Viggle but no answer came back, so it may have started there (and may use credits). It was not sent again.",
			"The render was sent to Viggle but no answer came back, so it may have started there (and may use credits). It was not sent again."},
		{store.StateCancelled, "", "Cancelled before it was sent to Viggle; no credits were used.",
			"Cancelled before it was sent to Viggle; no credits were used."},
		{store.StateFailed, jobs.CodeTimeout, "The render was still not finished 1h0m0s after it was sent, so it was cancelled at Viggle (cancelled renders are refunded). Try again later, or with a shorter scene.",
			"The render was still not finished 1h0m0s after it was sent, so it was cancelled at Viggle (cancelled renders are refunded). Try again later, or with a shorter scene."},
		{store.StateFailed, jobs.CodeNotAcknowledged, "Discord did not accept the acknowledgement in time, so the render was not sent.",
			"Discord did not accept the acknowledgement in time, so the render was not sent."},
		{store.StateDelivered, "", "", ""},
	} {
		j := store.Job{State: c.state, ErrorCode: c.code, ErrorMessage: c.msg}
		if got := explain.Outcome(j); got != c.want {
			t.Errorf("Outcome(%s, %q, %q) =\n  %q\nwant\n  %q", c.state, c.code, c.msg, got, c.want)
		}
	}
}

// TestOutcomeUnknownSaysItMayHaveUsedCredits: the owner reads that the render may have reached Viggle and
// may use credits (the outside contract of the outcome-unknown case).
func TestOutcomeUnknownSaysItMayHaveUsedCredits(t *testing.T) {
	got := explain.Outcome(store.Job{State: store.StateInterrupted, ErrorCode: jobs.CodeOutcomeUnknown})
	for _, want := range []string{"may have reached Viggle", "credits", "not sent again"} {
		if !strings.Contains(got, want) {
			t.Errorf("Outcome = %q, want it to say %q", got, want)
		}
	}
}

func TestCode(t *testing.T) {
	for code, want := range map[string]string{
		"CS-ORIV-009":              "CS-ORIV-009",
		jobs.CodeTimeout:           jobs.CodeTimeout,
		jobs.CodeNotSent:           jobs.CodeNotSent,
		jobs.CodeOutcomeUnknown:    "",
		jobs.CodeSubmitCrashed:     "",
		jobs.CodeCancelled:         "",
		jobs.CodeUndeliverable:     "",
		jobs.CodeCancelledAtViggle: "",
		jobs.CodeKeyUnavailable:    jobs.CodeKeyUnavailable,
	} {
		if got := explain.Code(code); got != want {
			t.Errorf("Code(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestAdvice(t *testing.T) {
	for code, want := range map[string]string{
		"CS-UORC01-008":         "run out of credits",
		"cs-orav-999":           "contact Viggle support with the error code",
		jobs.CodeNotSent:        "no credits were used",
		jobs.CodeTimeout:        "cancelled at Viggle",
		"":                      "Try again",
		"CS-UORC01-007":         "/config key set",
		jobs.CodeKeyUnavailable: "/config key set",
	} {
		if got := explain.Advice(code); !strings.Contains(got, want) {
			t.Errorf("Advice(%q) = %q, want it to contain %q", code, got, want)
		}
	}
}

// TestOutcomeKeyUnavailable: a job whose own key could no longer be used says why, and whether credits
// may have been used (not sent: none; sent: it may still finish at Viggle).
func TestOutcomeKeyUnavailable(t *testing.T) {
	sent := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		fact      string
		submitted bool
		want      []string
	}{
		{jobs.KeyFactGone, false, []string{"was not sent", "removed from the bot", "no credits were used"}},
		{jobs.KeyFactUndecryptable, true, []string{"stopped following", "cannot be read", "BOT_ENCRYPTION_KEY", "may still finish at Viggle and use credits"}},
		{jobs.KeyFactNoEncryption, false, []string{"without the bot's BOT_ENCRYPTION_KEY", "no credits were used"}},
		{jobs.KeyFactNoKey, false, []string{"no Viggle key to use"}},
		{"", true, []string{"can no longer be used", "may still finish"}},
	} {
		j := store.Job{State: store.StateFailed, ErrorCode: jobs.CodeKeyUnavailable, ErrorMessage: c.fact}
		if c.submitted {
			j.SubmittedAt, j.ViggleJobID = sent, "job_x"
		}
		got := explain.Outcome(j)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("Outcome(%q, submitted %v) = %q, want it to say %q", c.fact, c.submitted, got, w)
			}
		}
		if strings.Contains(got, c.fact+".") && c.fact != "" {
			t.Errorf("Outcome(%q) shows the recorded fact as it is: %q", c.fact, got)
		}
	}
}
