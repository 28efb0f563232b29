package jobs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

func discordOrigin(o *jobs.Options) { o.Origin = store.OriginDiscord }

// TestFollowUpAfterDelivery: a Discord job's delivery is recorded first (not closed), then FollowUp is
// called once with the recorded job, and followed_up_at and closed_at are written together.
func TestFollowUpAfterDelivery(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	e := h.engine(t, discordOrigin)
	j := h.create(t, e, request(t, "scene_ok", "a=b"))
	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	ev := h.rec.wait(t, "followup", j.ID, nil)
	if ev.Job.State != store.StateDelivered || ev.Job.Delivery != testDelivery || ev.Job.DeliveredAt.IsZero() || !ev.Job.ClosedAt.IsZero() {
		t.Fatalf("FollowUp got %s delivery %+v delivered %v closed %v; want the recorded, unclosed delivery",
			ev.Job.State, ev.Job.Delivery, ev.Job.DeliveredAt, ev.Job.ClosedAt)
	}
	if n := h.rec.count("followup", j.ID); n != 1 {
		t.Fatalf("%d follow-ups, want 1", n)
	}
	row := h.get(t, j.ID)
	if row.FollowedUpAt.IsZero() || !row.FollowedUpAt.Equal(row.ClosedAt) || !got.ClosedAt.Equal(row.ClosedAt) {
		t.Fatalf("row followed up %v closed %v (Run returned closed %v), want both set together", row.FollowedUpAt, row.ClosedAt, got.ClosedAt)
	}
}

// TestFollowUpAfterTellingTheOwner: a failed render's owner is told, then followed up.
func TestFollowUpAfterTellingTheOwner(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_fail": {Polls: 1, FailCode: viggletest.CodeRenderFailed, FailMessage: "boom"}})
	e := h.engine(t, discordOrigin)
	j := h.create(t, e, request(t, "scene_fail", "a=b"))
	if _, err := e.Run(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	if h.rec.count("failed", j.ID) != 1 || h.rec.count("followup", j.ID) != 1 {
		t.Fatalf("told %d times, followed up %d times; want 1 and 1", h.rec.count("failed", j.ID), h.rec.count("followup", j.ID))
	}
	if row := h.get(t, j.ID); row.State != store.StateFailed || row.Delivery != testDelivery || row.FollowedUpAt.IsZero() || row.ClosedAt.IsZero() {
		t.Fatalf("row %s delivery %+v followed up %v closed %v", row.State, row.Delivery, row.FollowedUpAt, row.ClosedAt)
	}
}

// TestNoFollowUpForTerminalOrUntold: terminal jobs, and jobs whose owner could not be told, close at once.
func TestNoFollowUpForTerminalOrUntold(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	term := h.engine(t)
	j := h.create(t, term, request(t, "scene_ok", "a=b"))
	if _, err := term.Run(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	if n := h.rec.count("followup", j.ID); n != 0 {
		t.Fatalf("terminal job followed up %d times", n)
	}
	if row := h.get(t, j.ID); row.ClosedAt.IsZero() || !row.FollowedUpAt.IsZero() {
		t.Fatalf("terminal row closed %v followed up %v", row.ClosedAt, row.FollowedUpAt)
	}

	h.rec.mu.Lock()
	h.rec.tellErr = fmt.Errorf("nobody there: %w", jobs.ErrUndeliverable)
	h.rec.mu.Unlock()
	seeded := &store.Job{ID: "jnotold001", Origin: store.OriginDiscord, OwnerID: "u1", State: store.StateSubmitting,
		Request: request(t, "scene_ok", "a=b")}
	if err := h.db.Insert(t.Context(), seeded); err != nil {
		t.Fatal(err)
	}
	if _, err := h.engine(t, discordOrigin).Run(t.Context(), seeded.ID); err != nil {
		t.Fatal(err)
	}
	if n := h.rec.count("followup", seeded.ID); n != 0 {
		t.Fatalf("untold job followed up %d times", n)
	}
	if row := h.get(t, seeded.ID); row.ClosedAt.IsZero() || row.Delivery.Where != store.WhereNone {
		t.Fatalf("untold row closed %v delivery %+v", row.ClosedAt, row.Delivery)
	}
}

// TestFollowUpErrorsAreRetriedThenGivenUp: FollowUp failing is tried MaxDeliveryAttempts times, then the
// job is closed anyway without followed_up_at.
func TestFollowUpErrorsAreRetriedThenGivenUp(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	h.rec.mu.Lock()
	h.rec.followErr = errors.New("discord is down")
	h.rec.mu.Unlock()
	e := h.engine(t, discordOrigin, func(o *jobs.Options) { o.MaxDeliveryAttempts = 3 })
	j := h.create(t, e, request(t, "scene_ok", "a=b"))
	if _, err := e.Run(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	if n := h.rec.count("followup", j.ID); n != 3 {
		t.Fatalf("%d follow-up attempts, want 3", n)
	}
	if n := h.rec.count("done", j.ID); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
	row := h.get(t, j.ID)
	if row.ClosedAt.IsZero() || !row.FollowedUpAt.IsZero() || row.State != store.StateDelivered {
		t.Fatalf("row %s closed %v followed up %v, want closed without a follow-up", row.State, row.ClosedAt, row.FollowedUpAt)
	}
}

// TestFollowUpNotNeededRecordsNone: when the Notifier sends nothing (the owner was still looking), the
// job is closed and no follow-up is recorded.
func TestFollowUpNotNeededRecordsNone(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	h.rec.followNone = true
	e := h.engine(t, discordOrigin)
	j := h.create(t, e, request(t, "scene_ok", "a=b"))
	if _, err := e.Run(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	if n := h.rec.count("followup", j.ID); n != 1 {
		t.Fatalf("FollowUp called %d times, want 1", n)
	}
	if row := h.get(t, j.ID); row.ClosedAt.IsZero() || !row.FollowedUpAt.IsZero() {
		t.Fatalf("row closed %v followed up %v, want closed with no follow-up recorded", row.ClosedAt, row.FollowedUpAt)
	}
}
