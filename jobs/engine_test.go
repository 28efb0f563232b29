package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

func videoBytes(t testing.TB, size int64) []byte {
	t.Helper()
	b, err := io.ReadAll(viggletest.Video(size))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunDeliversOnce(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 4, VideoSize: 64 << 10}})
	e := h.engine(t)
	j := h.create(t, e, request(t, "scene_ok", "person_a=char_x, person_b=char_x"))

	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got.State != store.StateDelivered || got.DeliveredAt.IsZero() || got.ClosedAt.IsZero() {
		t.Fatalf("job ended %s (delivered %v closed %v), want delivered", got.State, got.DeliveredAt, got.ClosedAt)
	}
	row := h.get(t, j.ID)
	if row.State != store.StateDelivered || row.ViggleJobID == "" || row.Delivery != testDelivery || row.VideoSize != 64<<10 {
		t.Fatalf("row = %s viggle=%q delivery=%q size=%d", row.State, row.ViggleJobID, row.Delivery, row.VideoSize)
	}
	done := h.rec.wait(t, "done", j.ID, nil)
	if !bytes.Equal(done.Data, videoBytes(t, 64<<10)) {
		t.Fatalf("delivered %d bytes, not the fake's video", len(done.Data))
	}
	if n := h.rec.count("done", j.ID); n != 1 {
		t.Fatalf("delivered %d times, want 1", n)
	}
	if n := h.fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs, want 1", n)
	}
	var post *viggletest.Request
	for _, r := range h.fake.Requests() {
		if r.Method == "POST" {
			post = &r
		}
		if got := r.Header.Get("Authorization"); r.Path != "" && strings.HasPrefix(r.Path, "/api/") && got != "Bearer "+testKey {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, got)
		}
	}
	if post == nil {
		t.Fatal("no POST recorded")
	}
	if post.Form.Get("scene_id") != "scene_ok" {
		t.Errorf("scene_id = %q", post.Form.Get("scene_id"))
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(post.Form.Get("character_mapping")), &m); err != nil {
		t.Fatalf("character_mapping %q: %v", post.Form.Get("character_mapping"), err)
	}
	if len(m) != 2 || m["person_a"] != "char_x" || m["person_b"] != "char_x" {
		t.Errorf("character_mapping = %v, want exactly the two pairs", m)
	}
	for _, f := range []string{"background_mode", "bg_color", "fast", "model"} {
		if _, ok := post.Form[f]; ok {
			t.Errorf("field %s sent but not given", f)
		}
	}
	// Progress is reported in order and ends at 100 %.
	last := -1
	for _, ev := range h.rec.events {
		if ev.Kind == "progress" && ev.Job.ID == j.ID {
			if ev.Job.Progress < last {
				t.Errorf("progress went back from %d to %d", last, ev.Job.Progress)
			}
			last = ev.Job.Progress
		}
	}
	if last != 100 {
		t.Errorf("last progress %d, want 100", last)
	}
}

func TestOptionsSentAndMaskDelivered(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_t": {Polls: 2}})
	e := h.engine(t)
	req, err := spec.NewRequest("scene_t", "person_a=char_x", "transparent", "", true, "V3_Preview")
	if err != nil {
		t.Fatal(err)
	}
	j := h.create(t, e, req)
	if _, err := e.Run(t.Context(), j.ID); err != nil {
		t.Fatalf("run: %v", err)
	}
	done := h.rec.wait(t, "done", j.ID, nil)
	if len(done.Mask) == 0 || done.V.MaskURL == "" {
		t.Fatalf("transparent render delivered no mask (url %q)", done.V.MaskURL)
	}
	for _, r := range h.fake.Requests() {
		if r.Method != "POST" {
			continue
		}
		if r.Form.Get("background_mode") != "transparent" || r.Form.Get("fast") != "true" || r.Form.Get("model") != "V3_Preview" {
			t.Errorf("form = %v", r.Form)
		}
	}
}

func TestFailureWithCode(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{
		"scene_bad": {Polls: 2, FailCode: "CS-UORC01-009", FailMessage: "could not track a person"},
	})
	e := h.engine(t)
	j := h.create(t, e, request(t, "scene_bad", "person_a=char_x"))
	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got.State != store.StateFailed || got.ErrorCode != "CS-UORC01-009" || !strings.Contains(got.ErrorMessage, "could not track") {
		t.Fatalf("ended %s %q %q", got.State, got.ErrorCode, got.ErrorMessage)
	}
	ev := h.rec.wait(t, "failed", j.ID, nil)
	if ev.Job.ViggleJobID == "" {
		t.Error("failure reported without the Viggle job id")
	}
	if n := h.rec.count("failed", j.ID); n != 1 {
		t.Errorf("told %d times", n)
	}
	if row := h.get(t, j.ID); row.ClosedAt.IsZero() {
		t.Error("failed job not closed after telling the owner")
	}
}

func TestSubmitRefusedCostsNothing(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{
		"scene_poor": {SubmitStatus: 402, SubmitCode: "CS-UORC01-008", SubmitMessage: "Insufficient credits"},
	})
	e := h.engine(t)
	j := h.create(t, e, request(t, "scene_poor", "person_a=char_x"))
	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got.State != store.StateFailed || got.ErrorCode != "CS-UORC01-008" || got.ViggleJobID != "" {
		t.Fatalf("ended %s code %q viggle %q", got.State, got.ErrorCode, got.ViggleJobID)
	}
	if n := h.fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs after a refusal, want 1 (never retried)", n)
	}
	if !strings.Contains(explain.Advice(got.ErrorCode), "credits") {
		t.Errorf("advice for no credits: %q", explain.Advice(got.ErrorCode))
	}
}

func TestFlakyPollsSurvived(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{
		"scene_flaky": {Polls: 3, PollErrors: []int{429, 503, viggletest.Malformed, 502, 503, viggletest.Malformed}, RetryAfter: "0"},
	})
	e := h.engine(t)
	j := h.create(t, e, request(t, "scene_flaky", "person_a=char_x"))
	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got.State != store.StateDelivered {
		t.Fatalf("ended %s (%s)", got.State, got.ErrorMessage)
	}
	if n := h.fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs", n)
	}
}

func TestNotFoundRepeatedlyFails(t *testing.T) {
	nf := viggletest.NotFound
	h := newHarness(t, map[string]viggletest.Scenario{
		"scene_lost": {Polls: 50, PollErrors: []int{nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf, nf}},
	})
	e := h.engine(t, func(o *jobs.Options) { o.MaxNotFound = 3 })
	j := h.create(t, e, request(t, "scene_lost", "person_a=char_x"))
	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got.State != store.StateFailed || got.ErrorCode != jobs.CodeNotFound {
		t.Fatalf("ended %s %q", got.State, got.ErrorCode)
	}
}

func TestRenderTimeoutCancelsAtViggle(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_stuck": {Stuck: true}})
	var polled atomic.Int32
	e := h.engine(t, func(o *jobs.Options) {
		o.RenderTimeout = 2 * time.Hour
		o.Hook = func(point string, j *store.Job) {
			// The test's clock jumps past RENDER_TIMEOUT once the job is running at Viggle.
			if point == jobs.PointPolled && polled.Add(1) == 1 {
				h.clock.Advance(2*time.Hour + time.Second)
			}
		}
	})
	j := h.create(t, e, request(t, "scene_stuck", "person_a=char_x"))
	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got.State != store.StateFailed || got.ErrorCode != jobs.CodeTimeout || got.ErrorMessage != "2h0m0s" ||
		!strings.Contains(explain.Outcome(*got), "still not finished 2h0m0s after it was sent, so it was cancelled at Viggle") {
		t.Fatalf("ended %s %q %q", got.State, got.ErrorCode, got.ErrorMessage)
	}
	if n := h.fake.Count("DELETE", "/api/render/"); n != 1 {
		t.Fatalf("%d DELETEs, want 1 (cancel for the refund)", n)
	}
}

func TestOverdueJobFoundAtStartIsPolledOnce(t *testing.T) {
	// A job that completed at Viggle while the process was down longer than RENDER_TIMEOUT is delivered,
	// not cancelled: it is paid for. The fake's progress follows the test's clock.
	h := newHarness(t, map[string]viggletest.Scenario{"scene_hour": {Duration: time.Hour}})
	first := h.engine(t)
	j := h.create(t, first, request(t, "scene_hour", "person_a=char_x"))
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() {
		_, err := first.Run(ctx, j.ID)
		ran <- err
	}()
	h.waitState(t, j.ID, store.StateRunning)
	cancel() // the process stops while the render runs
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want context.Canceled", err)
	}
	if row := h.get(t, j.ID); row.State != store.StateRunning || row.LeaseOwner != "" {
		t.Fatalf("after stop: state %s lease %q, want running and released", row.State, row.LeaseOwner)
	}
	h.clock.Advance(3 * time.Hour) // down for longer than RENDER_TIMEOUT (2h)
	got, err := h.engine(t).Run(t.Context(), j.ID)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if got.State != store.StateDelivered {
		t.Fatalf("overdue but complete job ended %s %q", got.State, got.ErrorCode)
	}
	if n := h.fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs across the restart, want 1", n)
	}
	if n := h.fake.Count("DELETE", "/api/render/"); n != 0 {
		t.Fatalf("%d DELETEs for a complete job", n)
	}
}

func TestOutcomeUnknownIsNotResubmitted(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 2}})
	release := h.fake.Hold()
	defer release()
	e := h.engine(t, func(o *jobs.Options) { o.SubmitTimeout = 200 * time.Millisecond })
	j := h.create(t, e, request(t, "scene_ok", "person_a=char_x"))
	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got.State != store.StateInterrupted || got.ErrorCode != jobs.CodeOutcomeUnknown || !strings.Contains(explain.Outcome(*got), "may have started") {
		t.Fatalf("ended %s %q %q, want interrupted, outcome unknown", got.State, got.ErrorCode, got.ErrorMessage)
	}
	h.rec.wait(t, "interrupted", j.ID, nil)
	release()
	// Running it again changes nothing and sends nothing.
	again, err := h.engine(t).Run(t.Context(), j.ID)
	if err != nil || again.State != store.StateInterrupted {
		t.Fatalf("second run: %v %v", again.State, err)
	}
	if n := h.fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs, want 1", n)
	}
}

func TestCancel(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{
		"scene_stuck": {Stuck: true},
		"scene_ok":    {Polls: 1},
	})
	e := h.engine(t)
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })

	j := h.create(t, e, request(t, "scene_stuck", "person_a=char_x"))
	if err := e.Enqueue(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, j.ID, store.StateRunning)

	if _, err := e.Cancel(t.Context(), j.ID, "mallory"); !errors.Is(err, jobs.ErrNotOwner) {
		t.Fatalf("cancel by another user: %v, want ErrNotOwner", err)
	}
	if n := h.fake.Count("DELETE", "/api/render/"); n != 0 {
		t.Fatalf("a refused cancel sent %d DELETEs", n)
	}
	res, err := e.Cancel(t.Context(), j.ID, "alice")
	if err != nil || res != jobs.CancelRequested {
		t.Fatalf("cancel by the owner: %v %v", res, err)
	}
	h.rec.wait(t, "cancelled", j.ID, nil)
	row := h.waitState(t, j.ID, store.StateCancelled)
	if row.CancelRequestedBy != "alice" {
		t.Errorf("cancel requested by %q", row.CancelRequestedBy)
	}
	if n := h.fake.Count("DELETE", "/api/render/"); n != 1 {
		for _, r := range h.fake.Requests() {
			t.Logf("%s %s", r.Method, r.Path)
		}
		t.Fatalf("%d DELETEs, want 1", n)
	}

	// After completion it is too late.
	done := h.create(t, e, request(t, "scene_ok", "person_a=char_x"))
	if err := e.Enqueue(t.Context(), done.ID); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, done.ID, store.StateDelivered)
	if res, err := e.Cancel(t.Context(), done.ID, "alice"); err != nil || res != jobs.CancelTooLate {
		t.Fatalf("cancel after delivery: %v %v, want too late", res, err)
	}
}

func TestCancelBeforeSubmitSendsNothing(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	e := h.engine(t)
	j := h.create(t, e, request(t, "scene_ok", "person_a=char_x"))
	if res, err := e.Cancel(t.Context(), j.ID, "alice"); err != nil || res != jobs.CancelRequested {
		t.Fatalf("cancel queued: %v %v", res, err)
	}
	got, err := e.Run(t.Context(), j.ID)
	if err != nil || got.State != store.StateCancelled {
		t.Fatalf("run: %v %v", got.State, err)
	}
	if n := h.fake.Creates(); n != 0 {
		t.Fatalf("%d POSTs for a job cancelled before submission", n)
	}
}

func TestCancelWhileSubmitting(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_stuck": {Stuck: true}})
	release := h.fake.Hold()
	e := h.engine(t)
	j := h.create(t, e, request(t, "scene_stuck", "person_a=char_x"))
	type result struct {
		j   *store.Job
		err error
	}
	ran := make(chan result, 1)
	go func() {
		j, err := e.Run(t.Context(), j.ID)
		ran <- result{j, err}
	}()
	select {
	case <-h.fake.Held():
	case <-time.After(10 * time.Second):
		t.Fatal("the POST never arrived")
	}
	res, err := e.Cancel(t.Context(), j.ID, "alice")
	if err != nil || res != jobs.CancelPending {
		t.Fatalf("cancel while submitting: %v %v, want pending", res, err)
	}
	release()
	r := <-ran
	if r.err != nil || r.j.State != store.StateCancelled {
		t.Fatalf("run: %v %v, want cancelled", r.j.State, r.err)
	}
	if n := h.fake.Count("DELETE", "/api/render/"); n != 1 {
		t.Fatalf("%d DELETEs, want 1", n)
	}
}

func TestSchedulerRunsManyJobsOnce(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 3}})
	e := h.engine(t, func(o *jobs.Options) { o.Origin = store.OriginDiscord; o.Workers = 4 })
	var ids []string
	for range 25 {
		j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u1", GuildID: "g1", Request: request(t, "scene_ok", "person_a=char_x")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	if err := e.Start(t.Context()); err != nil { // resumes all unfinished jobs of the origin
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	for _, id := range ids {
		h.rec.wait(t, "done", id, nil)
		h.waitState(t, id, store.StateDelivered)
	}
	for _, id := range ids {
		if n := h.rec.count("done", id); n != 1 {
			t.Errorf("job %s delivered %d times", id, n)
		}
	}
	if n := h.fake.Creates(); n != len(ids) {
		t.Fatalf("%d POSTs for %d jobs", n, len(ids))
	}
}

func TestDeliveryRetriedThenUndeliverable(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	h.rec.doneErr = errors.New("discord is down")
	e := h.engine(t, func(o *jobs.Options) {
		o.MaxDeliveryAttempts = 3
		o.DeliveryWindow = time.Minute
		o.Origin = store.OriginDiscord
		o.Hook = func(point string, _ *store.Job) {
			if point == jobs.PointDelivering {
				h.clock.Advance(time.Minute) // each attempt comes a minute later
			}
		}
	})
	j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u1", Request: request(t, "scene_ok", "person_a=char_x")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	row := h.waitState(t, j.ID, store.StateUndeliverable)
	if row.Attempts != 3 || row.VideoURL == "" || row.ClosedAt.IsZero() {
		t.Fatalf("undeliverable row: attempts %d url %q closed %v", row.Attempts, row.VideoURL, row.ClosedAt)
	}
}

func TestResumeOnlyOwnOrigin(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	term := h.engine(t)
	tj := h.create(t, term, request(t, "scene_ok", "person_a=char_x"))
	bot := h.engine(t, func(o *jobs.Options) { o.Origin = store.OriginDiscord })
	if _, err := bot.Run(t.Context(), tj.ID); !errors.Is(err, jobs.ErrWrongOrigin) {
		t.Fatalf("bot ran a terminal job: %v", err)
	}
	if err := bot.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bot.Stop(context.Background()) })
	if n := bot.Active(); n != 0 {
		t.Fatalf("bot resumed %d terminal jobs", n)
	}
	if h.get(t, tj.ID).State != store.StateQueued {
		t.Fatal("terminal job touched by the bot")
	}
}

func TestUnacknowledgedJobsAreClosedWithoutPost(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	e := h.engine(t, func(o *jobs.Options) { o.Origin = store.OriginDiscord; o.RequireAck = true; o.AckGrace = time.Minute })
	newJob := func(interaction string) *store.Job {
		j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u1", GuildID: "g", InteractionID: interaction, Request: request(t, "scene_ok", "a=b")})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	refused := newJob("i-refused") // Discord answered 10062 to the acknowledgement
	if err := e.Abandon(t.Context(), refused.ID, "not acknowledged"); err != nil {
		t.Fatal(err)
	}
	stale := newJob("i-stale") // written by a process that crashed before acknowledging
	acked := newJob("i-acked")
	if err := h.db.Acknowledge(t.Context(), acked.ID, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Minute)
	fresh := newJob("i-fresh") // being acknowledged right now: left alone by Resume
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	for _, j := range []*store.Job{refused, stale} {
		row := h.waitState(t, j.ID, store.StateFailed)
		if row.ErrorCode != jobs.CodeNotAcknowledged || row.ClosedAt.IsZero() {
			t.Errorf("job %s: code %q closed %v", j.ID, row.ErrorCode, row.ClosedAt)
		}
	}
	h.waitState(t, acked.ID, store.StateDelivered)
	if row := h.get(t, fresh.ID); row.State != store.StateQueued || row.LeaseOwner != "" {
		t.Errorf("a job being acknowledged was touched: %s, leased by %q", row.State, row.LeaseOwner)
	}
	if n := h.fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs, want 1 (only the acknowledged job)", n)
	}
	if n := h.rec.count("failed", stale.ID) + h.rec.count("failed", refused.ID); n != 0 {
		t.Errorf("owners of never-acknowledged jobs were notified %d times", n)
	}
}

// TestStopFinishesThePostInFlight: Stop does not return while a POST is in flight, even past its own
// deadline (the caller closes the database next): it waits for the answer to be recorded, then gives the
// lease back, and a new process goes on without a second POST.
func TestStopFinishesThePostInFlight(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 2}})
	release := h.fake.Hold()
	defer release()
	var logs testkit.SyncBuffer
	e := h.engine(t, func(o *jobs.Options) {
		o.Origin = store.OriginDiscord
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u", Request: request(t, "scene_ok", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-h.fake.Held() // the POST has reached Viggle
	stopCtx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop(stopCtx) }()
	waitFor(t, "Stop to say it waits for the POST", func() bool { return strings.Contains(logs.String(), "stop: waiting for the steps in flight") })
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while the POST was in flight", err)
	default:
	}
	if row := h.get(t, j.ID); row.LeaseOwner == "" {
		t.Fatal("Stop released the lease of a job whose POST is in flight")
	}
	release()
	if err := <-stopped; err == nil {
		t.Error("Stop past its deadline returned no error")
	}
	// By the time Stop returned, the POST's answer was recorded and the lease given back.
	if row := h.get(t, j.ID); row.State != store.StateRunning || row.ViggleJobID == "" || row.LeaseOwner != "" {
		t.Fatalf("after Stop: %s viggle id %q lease %q, want running, recorded, released", row.State, row.ViggleJobID, row.LeaseOwner)
	}
	if n := h.rec.count("forget", j.ID); n != 1 {
		t.Errorf("the notifier was told to forget the job %d times, want 1", n)
	}
	// A new process picks it up and delivers it without a second POST.
	got, err := h.engine(t, func(o *jobs.Options) { o.Origin = store.OriginDiscord }).Run(t.Context(), j.ID)
	if err != nil || got.State != store.StateDelivered {
		t.Fatalf("resumed: %v %v", got.State, err)
	}
	if n := h.fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs", n)
	}
}

// cancelRefused is Viggle refusing every DELETE with 409, as when the render has just finished.
type cancelRefused struct{ jobs.Viggle }

func (cancelRefused) CancelRender(context.Context, string) error {
	return &viggle.APIError{HTTPStatus: 409, Code: "CS-CONFLICT", Message: "already complete"}
}

func TestTimeoutLosesToACompletedRender(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 3, Steps: 2}})
	var polled atomic.Int32
	o := h.opts
	o.Hook = func(point string, j *store.Job) {
		if point == jobs.PointPolled && polled.Add(1) == 1 {
			h.clock.Advance(3 * time.Hour) // the next poll finds the job overdue
		}
	}
	e, err := jobs.New(h.db, cancelRefused{h.vc}, h.rec, o)
	if err != nil {
		t.Fatal(err)
	}
	j := h.create(t, e, request(t, "scene_ok", "a=b"))
	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.StateDelivered {
		t.Fatalf("ended %s %q: a render that completed as it timed out must be delivered", got.State, got.ErrorMessage)
	}
}

func TestDeliveryOutlivesAShortOutage(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	h.rec.mu.Lock()
	h.rec.doneErr = errors.New("discord is down")
	h.rec.mu.Unlock()
	var failures atomic.Int32
	e := h.engine(t, func(o *jobs.Options) {
		o.MaxDeliveryAttempts = 2 // spent long before the window (6h by default) ends
		o.Origin = store.OriginDiscord
		o.Hook = func(point string, _ *store.Job) {
			if point == jobs.PointDelivering && failures.Add(1) == 4 {
				h.rec.mu.Lock()
				h.rec.doneErr = nil // Discord is back
				h.rec.mu.Unlock()
			}
		}
	})
	j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u1", Request: request(t, "scene_ok", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	row := h.waitState(t, j.ID, store.StateDelivered)
	if row.Attempts < 4 {
		t.Fatalf("delivered after %d attempts; the outage lasted 3", row.Attempts)
	}
}

// TestJobAcknowledgedBeforeStartIsResumed: a /render acknowledged in the moments between the gateway's
// READY and the engine's Start cannot be enqueued yet; Start picks it up at once (no rescuer wait).
func TestJobAcknowledgedBeforeStartIsResumed(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	e := h.engine(t, func(o *jobs.Options) {
		o.Origin, o.RequireAck, o.AckGrace = store.OriginDiscord, true, time.Minute
		o.LeaseTTL = time.Hour // the rescuer (every LeaseTTL/2) cannot be what starts it within waitState's 20 s
	})
	j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u1", GuildID: "g", InteractionID: "i-early", Request: request(t, "scene_ok", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.Acknowledge(t.Context(), j.ID, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.Enqueue(t.Context(), j.ID); !errors.Is(err, jobs.ErrNotStarted) {
		t.Fatalf("Enqueue before Start = %v, want ErrNotStarted", err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	h.waitState(t, j.ID, store.StateDelivered)
	if n := h.fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs, want 1", n)
	}
}

// TestOwnerNotToldGivesUpAfterTheWindow: telling the owner of an interrupted job keeps failing; the
// engine retries until both MaxDeliveryAttempts and DeliveryWindow (counted from when the job ended,
// on the engine's clock) are spent, then closes the job. Counting from the row's last update, as
// before, restarted the window at every attempt and retried for ever.
func TestOwnerNotToldGivesUpAfterTheWindow(t *testing.T) {
	h := newHarness(t, nil)
	h.rec.mu.Lock()
	h.rec.tellErr = errors.New("discord is down")
	h.rec.mu.Unlock()
	seeded := &store.Job{ID: "jinterr001", Origin: store.OriginDiscord, OwnerID: "u1", State: store.StateSubmitting,
		Request: request(t, "scene_ok", "a=b")} // found in submitting: the POST may have gone out
	if err := h.db.Insert(t.Context(), seeded); err != nil {
		t.Fatal(err)
	}
	e := h.engine(t, func(o *jobs.Options) {
		o.Origin, o.MaxDeliveryAttempts, o.DeliveryWindow = store.OriginDiscord, 2, time.Hour
	})
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	h.waitRow(t, seeded.ID, "two failed attempts to tell the owner", func(j *store.Job) bool {
		return j.State == store.StateInterrupted && j.Attempts >= 2
	})
	if row := h.get(t, seeded.ID); !row.ClosedAt.IsZero() {
		t.Fatalf("closed after %d attempts, before the window", row.Attempts)
	}
	h.clock.Advance(2 * time.Hour)
	row := h.waitRow(t, seeded.ID, "closed", func(j *store.Job) bool { return !j.ClosedAt.IsZero() })
	if row.Delivery != (store.Delivery{Note: store.NoteOwnerNotTold}) {
		t.Fatalf("closed with delivery %+v, want the note \"owner not told\"", row.Delivery)
	}
}

// TestAcknowledgedRecordsAndSchedules: Acknowledged records the acknowledgement with the engine's clock
// and schedules the job in one call; before Start it only records (no error), and Start sends it.
func TestAcknowledgedRecordsAndSchedules(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	e := h.engine(t, func(o *jobs.Options) {
		o.Origin, o.RequireAck, o.AckGrace = store.OriginDiscord, true, time.Minute
		o.LeaseTTL = time.Hour // the rescuer cannot be what starts a job within waitState's 20 s
	})
	early, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u1", GuildID: "g", InteractionID: "i-ack-early", Request: request(t, "scene_ok", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Acknowledged(t.Context(), early.ID); err != nil {
		t.Fatalf("Acknowledged before Start = %v, want nil", err)
	}
	if row := h.get(t, early.ID); !row.AcknowledgedAt.Equal(h.clock.Now()) || row.LeaseOwner != "" {
		t.Fatalf("before Start: acknowledged_at %v (want %v), lease %q (want none)", row.AcknowledgedAt, h.clock.Now(), row.LeaseOwner)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	h.waitState(t, early.ID, store.StateDelivered)

	late, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u1", GuildID: "g", InteractionID: "i-ack-late", Request: request(t, "scene_ok", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Acknowledged(t.Context(), late.ID); err != nil {
		t.Fatalf("Acknowledged = %v", err)
	}
	h.waitState(t, late.ID, store.StateDelivered)
	if err := e.Acknowledged(t.Context(), "nosuchjob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Acknowledged(unknown) = %v, want ErrNotFound", err)
	}
}

// A job whose acknowledgement is recorded but that cannot be scheduled right now (another process
// holds its lease) is not the caller's failure: Acknowledged returns nil, since the rescuer starts it.
func TestAcknowledgedLeasedElsewhereIsNotAnError(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	e := h.engine(t, func(o *jobs.Options) { o.Origin, o.RequireAck = store.OriginDiscord, true })
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u1", GuildID: "g", InteractionID: "i-ack-leased", Request: request(t, "scene_ok", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	if _, err := h.db.Claim(t.Context(), j.ID, "other-host:1", now, now.Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Acknowledged(t.Context(), j.ID); err != nil {
		t.Fatalf("Acknowledged with the lease held elsewhere = %v, want nil", err)
	}
	if row := h.get(t, j.ID); row.AcknowledgedAt.IsZero() || row.LeaseOwner != "other-host:1" {
		t.Fatalf("acknowledged_at %v, lease %q: want recorded, and the other process's lease left alone", row.AcknowledgedAt, row.LeaseOwner)
	}
}
