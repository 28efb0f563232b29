package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// waitFor waits until ok holds, checking every few milliseconds until a deadline.
func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		<-tick.C
	}
}

// TestStopReleasesAJobTakenOffTheQueue: with its only worker busy (a POST held at Viggle), the second
// job is taken off the queue by the dispatcher and waits for a worker when Stop begins. Stop releases
// it too, and the notifier forgets both.
func TestStopReleasesAJobTakenOffTheQueue(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 2}})
	release := h.fake.Hold()
	defer release()
	e := h.engine(t, func(o *jobs.Options) { o.Origin, o.Workers = store.OriginDiscord, 1 })
	var ids []string
	for range 2 {
		j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u", Request: request(t, "scene_ok", "a=b")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-h.fake.Held() // the one worker is in a POST; the other job is the dispatcher's
	waitFor(t, "the dispatcher to take the second job off the queue", func() bool { return e.Active() == 2 && e.Queued() == 0 })
	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop(context.Background()) }()
	release()
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, id := range ids {
		if row := h.get(t, id); row.LeaseOwner != "" {
			t.Errorf("job %s (%s) still leased by %q after Stop", id, row.State, row.LeaseOwner)
		}
		if n := h.rec.count("forget", id); n != 1 {
			t.Errorf("job %s forgotten %d times, want 1", id, n)
		}
	}
	if e.Active() != 0 {
		t.Errorf("%d jobs still active after Stop", e.Active())
	}
}

// TestEnqueueAfterStop: Enqueue once Stop was called refuses (ErrStopped) without claiming the lease;
// Acknowledged records the acknowledgement and returns nil (the next start resumes the job).
func TestEnqueueAfterStop(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	e := h.engine(t, discordOrigin)
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u", InteractionID: "i-late", Request: request(t, "scene_ok", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Enqueue(t.Context(), j.ID); !errors.Is(err, jobs.ErrStopped) {
		t.Fatalf("Enqueue after Stop = %v, want ErrStopped", err)
	}
	if row := h.get(t, j.ID); row.LeaseOwner != "" {
		t.Fatalf("Enqueue after Stop left a lease held by %q", row.LeaseOwner)
	}
	if err := e.Acknowledged(t.Context(), j.ID); err != nil {
		t.Fatalf("Acknowledged after Stop = %v, want nil", err)
	}
	if row := h.get(t, j.ID); row.AcknowledgedAt.IsZero() || row.LeaseOwner != "" {
		t.Fatalf("after Acknowledged: acknowledged %v lease %q", row.AcknowledgedAt, row.LeaseOwner)
	}
	if e.Active() != 0 {
		t.Errorf("%d jobs active on a stopped engine", e.Active())
	}
}

// TestForgetWhenAJobIsDone and when it is lost to another process: the notifier hears Forget once.
func TestForgetWhenAJobIsDoneOrLost(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}, "scene_slow": {Duration: time.Hour}})
	e := h.engine(t, discordOrigin)
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })

	done, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u", Request: request(t, "scene_ok", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Enqueue(t.Context(), done.ID); err != nil {
		t.Fatal(err)
	}
	h.rec.wait(t, "forget", done.ID, nil)
	if row := h.get(t, done.ID); row.ClosedAt.IsZero() {
		t.Fatalf("forgotten before it was closed: %s", row.State)
	}

	// A running job whose row another process took over (its lease stolen): the next step conflicts,
	// and the engine lets it go.
	lost, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u", Request: request(t, "scene_slow", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Enqueue(t.Context(), lost.ID); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, lost.ID, store.StateRunning)
	now := h.clock.Now()
	if _, err := h.db.Claim(t.Context(), lost.ID, "other-host:1", now, now.Add(time.Hour), h.get(t, lost.ID).LeaseOwner); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(10 * time.Minute) // past our lease (the POST's): renewing it at the next step fails
	h.rec.wait(t, "forget", lost.ID, nil)
	if n := h.rec.count("forget", lost.ID); n != 1 {
		t.Errorf("lost job forgotten %d times, want 1", n)
	}
	if row := h.get(t, lost.ID); row.LeaseOwner != "other-host:1" {
		t.Errorf("the other process's lease was touched: %q", row.LeaseOwner)
	}
}
