package jobs_test

import (
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// TestOutcomesAreRecordedNotWorded: the engine records what happened as a code and a short fact, never
// a sentence for a person; explain words it as the engine used to.
func TestOutcomesAreRecordedNotWorded(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{
		"scene_ok": {Polls: 1},
	})
	check := func(t *testing.T, j *store.Job, state store.State, code, fact, says string) {
		t.Helper()
		if j.State != state || j.ErrorCode != code || j.ErrorMessage != fact {
			t.Errorf("ended %s code %q message %q, want %s %q %q", j.State, j.ErrorCode, j.ErrorMessage, state, code, fact)
		}
		if got := explain.Outcome(*j); !strings.Contains(got, says) {
			t.Errorf("explain.Outcome = %q, want it to say %q", got, says)
		}
	}

	t.Run("found submitting", func(t *testing.T) {
		seeded := &store.Job{ID: "jcrash0001", Origin: store.OriginTerminal, OwnerID: "u1", State: store.StateSubmitting,
			Request: request(t, "scene_ok", "a=b")}
		if err := h.db.Insert(t.Context(), seeded); err != nil {
			t.Fatal(err)
		}
		got, err := h.engine(t).Run(t.Context(), seeded.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, store.StateInterrupted, jobs.CodeSubmitCrashed, "", "may have started there (and may use credits)")
	})

	t.Run("cancelled before it was sent", func(t *testing.T) {
		e := h.engine(t)
		j := h.create(t, e, request(t, "scene_ok", "a=b"))
		if _, err := e.Cancel(t.Context(), j.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		got, err := e.Run(t.Context(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, store.StateCancelled, jobs.CodeCancelledBeforeSend, "", "no credits were used")
	})
}
