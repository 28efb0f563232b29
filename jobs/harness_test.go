package jobs_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

const testKey = "sk-TEST-KEY-never-printed-42"

// newClock returns the clock the harness's engines and fake read, moved by hand.
func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
}

// event is one call of the recording notifier.
type event struct {
	Kind string // progress, done, failed, cancelled, interrupted, followup, forget
	Job  store.Job
	Data []byte // done: the video's bytes
	Mask []byte
	V    jobs.Video
}

// recorder is a Notifier that records every call and lets tests wait for one.
type recorder struct {
	mu         sync.Mutex
	events     []event
	changed    chan struct{}
	doneErr    error // returned by Done when set
	tellErr    error // returned by Failed, Cancelled and Interrupted when set (the call is still recorded)
	followErr  error // returned by FollowUp when set (the call is still recorded)
	followNone bool  // FollowUp sends nothing (nothing needed) instead of one follow-up
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) add(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) Progress(_ context.Context, j store.Job) error {
	r.add(event{Kind: "progress", Job: j})
	return nil
}

func (r *recorder) Done(_ context.Context, j store.Job, v jobs.Video) (store.Delivery, error) {
	r.mu.Lock()
	err := r.doneErr
	r.mu.Unlock()
	if err != nil {
		return store.Delivery{}, err
	}
	e := event{Kind: "done", Job: j, V: v}
	if v.File != "" {
		b, err := os.ReadFile(v.File)
		if err != nil {
			return store.Delivery{}, err
		}
		e.Data = b
	}
	if v.MaskFile != "" {
		b, err := os.ReadFile(v.MaskFile)
		if err != nil {
			return store.Delivery{}, err
		}
		e.Mask = b
	}
	r.add(e)
	return testDelivery, nil
}

// testDelivery is what the recorder says it delivered.
var testDelivery = store.Delivery{Where: store.WhereMessage, MessageID: "test"}

func (r *recorder) Failed(_ context.Context, j store.Job) (store.Delivery, error) {
	r.add(event{Kind: "failed", Job: j})
	return testDelivery, r.tellError()
}

func (r *recorder) Cancelled(_ context.Context, j store.Job) (store.Delivery, error) {
	r.add(event{Kind: "cancelled", Job: j})
	return testDelivery, r.tellError()
}

func (r *recorder) Interrupted(_ context.Context, j store.Job) (store.Delivery, error) {
	r.add(event{Kind: "interrupted", Job: j})
	return testDelivery, r.tellError()
}

func (r *recorder) FollowUp(_ context.Context, j store.Job) (bool, error) {
	r.add(event{Kind: "followup", Job: j})
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.followErr == nil && !r.followNone, r.followErr
}

func (r *recorder) Forget(id string) {
	r.add(event{Kind: "forget", Job: store.Job{ID: id}})
}

func (r *recorder) tellError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tellErr
}

// count returns how many events of kind were recorded for job id.
func (r *recorder) count(kind, id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind && e.Job.ID == id {
			n++
		}
	}
	return n
}

// wait blocks until an event of kind for job id matching ok (nil: any) was recorded, or fails the test.
func (r *recorder) wait(t testing.TB, kind, id string, ok func(event) bool) event {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for _, e := range r.events {
			if e.Kind == kind && e.Job.ID == id && (ok == nil || ok(e)) {
				r.mu.Unlock()
				return e
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s of job %s; events: %v", kind, id, r.kinds())
		}
	}
}

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, fmt.Sprintf("%s:%s:%s:%d", e.Kind, e.Job.ID, e.Job.State, e.Job.Progress))
	}
	return out
}

// harness wires the real engine to a real SQLite file and the fake Viggle over loopback HTTP.
type harness struct {
	fake   *viggletest.Server
	url    string
	dbPath string
	db     *store.DB
	vc     *viggle.Client
	clock  *testkit.Clock
	rec    *recorder
	opts   jobs.Options
}

func newHarness(t testing.TB, scenes map[string]viggletest.Scenario) *harness {
	t.Helper()
	h := &harness{clock: newClock(), rec: newRecorder()}
	h.fake = viggletest.New(viggletest.WithAPIKey(testKey), viggletest.WithScenarios(scenes), viggletest.WithClock(h.clock.Now))
	u, stop, err := h.fake.Start()
	if err != nil {
		t.Fatalf("start fake viggle: %v", err)
	}
	t.Cleanup(stop)
	h.url = u
	h.dbPath = newDBRef(t)
	h.db = openDB(t, h.dbPath)
	h.vc = newClient(t, u)
	h.opts = jobs.Options{
		Origin:       store.OriginTerminal,
		PollInterval: 5 * time.Millisecond,
		LeaseTTL:     time.Minute,
		WorkDir:      t.TempDir(),
		Now:          h.clock.Now,
	}
	return h
}

func openDB(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := openRef(context.Background(), path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func makeClient(u string) (*viggle.Client, error) {
	return viggle.NewClient(testKey, viggle.WithBaseURL(u), viggle.WithRetryPolicy(viggle.RetryPolicy{
		MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond,
	}))
}

func newClient(t testing.TB, u string) *viggle.Client {
	t.Helper()
	vc, err := makeClient(u)
	if err != nil {
		t.Fatalf("viggle client: %v", err)
	}
	return vc
}

// engine returns a new engine over the harness's store and fake (as a new process would build it).
func (h *harness) engine(t testing.TB, mutate ...func(*jobs.Options)) *jobs.Engine {
	t.Helper()
	o := h.opts
	for _, m := range mutate {
		m(&o)
	}
	e, err := jobs.New(h.db, h.vc, h.rec, o)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	return e
}

func request(t testing.TB, scene, mapping string, mods ...func(*spec.Request)) spec.Request {
	t.Helper()
	r, err := spec.NewRequest(scene, mapping, "", "", false, "")
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	for _, m := range mods {
		m(&r)
	}
	return r
}

func (h *harness) create(t testing.TB, e *jobs.Engine, req spec.Request) *store.Job {
	t.Helper()
	j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "alice", Request: req})
	if err != nil {
		t.Fatalf("create job: %v", err)
	}
	return j
}

func (h *harness) get(t testing.TB, id string) *store.Job {
	t.Helper()
	j, err := h.db.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get job %s: %v", id, err)
	}
	return j
}

// waitRow waits until the job's row (the truth that survives restarts) satisfies ok, re-reading it
// every few milliseconds until a deadline, and returns it.
func (h *harness) waitRow(t testing.TB, id, what string, ok func(*store.Job) bool) *store.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		j := h.get(t, id)
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: %s never happened: state %s viggle %q lease %q (events %v)",
				id, what, j.State, j.ViggleJobID, j.LeaseOwner, h.rec.kinds())
		}
		<-tick.C
	}
}

// waitState waits until the job's row reaches state.
func (h *harness) waitState(t testing.TB, id string, want store.State) *store.Job {
	t.Helper()
	return h.waitRow(t, id, "state "+string(want), func(j *store.Job) bool { return j.State == want })
}
