package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

// byteCounter is an Observer that adds up what it is told.
type byteCounter struct {
	mu    sync.Mutex
	calls []int64
}

func (b *byteCounter) Delivered(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, n)
}

func (b *byteCounter) seen() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int64(nil), b.calls...)
}

// linkNotifier delivers every video as a link.
type linkNotifier struct{ *recorder }

func (n linkNotifier) Done(ctx context.Context, j store.Job, v jobs.Video) (store.Delivery, error) {
	d, err := n.recorder.Done(ctx, j, v)
	d.Link = true
	return d, err
}

func TestObserverToldDeliveredBytes(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1, VideoSize: 40 << 10}})
	obs := &byteCounter{}
	e := h.engine(t, func(o *jobs.Options) { o.Observer = obs })

	// An attached video, and a transparent render's video and mask: their files' bytes, once each.
	j := h.create(t, e, request(t, "scene_ok", "person_a=char_x"))
	if _, err := e.Run(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	tr := h.create(t, e, request(t, "scene_ok", "person_a=char_x", func(r *spec.Request) { r.Background = spec.BackgroundTransparent }))
	if _, err := e.Run(t.Context(), tr.ID); err != nil {
		t.Fatal(err)
	}
	done := h.rec.wait(t, "done", tr.ID, nil)
	if len(done.Mask) == 0 {
		t.Fatal("no mask delivered")
	}
	want := []int64{40 << 10, 40<<10 + int64(len(done.Mask))}
	if got := obs.seen(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("observer told %v, want %v", got, want)
	}

	// A video given as a link handed over no bytes.
	le, err := jobs.New(h.db, h.vc, linkNotifier{h.rec}, func() jobs.Options { o := h.opts; o.Observer = obs; return o }())
	if err != nil {
		t.Fatal(err)
	}
	l := h.create(t, le, request(t, "scene_ok", "person_a=char_x"))
	if _, err := le.Run(t.Context(), l.ID); err != nil {
		t.Fatal(err)
	}
	if got := obs.seen(); len(got) != 3 || got[2] != 0 {
		t.Fatalf("observer told %v, want a third call with 0 bytes", got)
	}

	// A failed render delivered nothing.
	h2 := newHarness(t, map[string]viggletest.Scenario{"scene_fail": {Polls: 1, FailCode: "CS-UORC01-009"}})
	obs2 := &byteCounter{}
	e2 := h2.engine(t, func(o *jobs.Options) { o.Observer = obs2 })
	f := h2.create(t, e2, request(t, "scene_fail", "person_a=char_x"))
	if got, err := e2.Run(t.Context(), f.ID); err != nil || got.State != store.StateFailed {
		t.Fatalf("the failing render ended %v, %v; want failed", got, err)
	}
	if got := obs2.seen(); len(got) != 0 {
		t.Fatalf("observer told %v for a failed render", got)
	}
}

// blockingNotifier holds the first delivery until release is closed.
type blockingNotifier struct {
	*recorder
	once             sync.Once
	holding, release chan struct{}
}

func (n *blockingNotifier) Done(ctx context.Context, j store.Job, v jobs.Video) (store.Delivery, error) {
	first := false
	n.once.Do(func() { first = true })
	if first {
		close(n.holding)
		select {
		case <-n.release:
		case <-ctx.Done():
			return store.Delivery{}, ctx.Err()
		}
	}
	return n.recorder.Done(ctx, j, v)
}

func TestQueueDepthCountsStepsWaitingForAWorker(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	n := &blockingNotifier{recorder: h.rec, holding: make(chan struct{}), release: make(chan struct{})}
	o := h.opts
	o.Origin, o.Workers = store.OriginDiscord, 1
	e, err := jobs.New(h.db, h.vc, n, o)
	if err != nil {
		t.Fatal(err)
	}
	if d := e.QueueDepth(); d != 0 {
		t.Fatalf("queue depth %d before Start", d)
	}
	const jobCount = 4
	var ids []string
	for range jobCount {
		j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u1", GuildID: "g1", Request: request(t, "scene_ok", "person_a=char_x")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	<-n.holding
	// The only worker holds one delivery; the dispatcher holds the next step, ready to hand over; the
	// other two jobs' steps are due and wait.
	waitDepth(t, e, jobCount-2)
	close(n.release)
	for _, id := range ids {
		h.waitState(t, id, store.StateDelivered)
	}
	waitDepth(t, e, 0)
}

func waitDepth(t *testing.T, e *jobs.Engine, want int) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for e.QueueDepth() != want {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("queue depth %d, want %d", e.QueueDepth(), want)
		}
	}
}
