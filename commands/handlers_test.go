package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/resttest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// quietNotifier is a jobs.Notifier for an engine that never runs a job.
type quietNotifier struct{}

func (quietNotifier) Progress(context.Context, store.Job) error { return nil }
func (quietNotifier) Done(context.Context, store.Job, jobs.Video) (store.Delivery, error) {
	return store.Delivery{}, nil
}
func (quietNotifier) Failed(context.Context, store.Job) (store.Delivery, error) {
	return store.Delivery{}, nil
}
func (quietNotifier) Cancelled(context.Context, store.Job) (store.Delivery, error) {
	return store.Delivery{}, nil
}
func (quietNotifier) Interrupted(context.Context, store.Job) (store.Delivery, error) {
	return store.Delivery{}, nil
}
func (quietNotifier) FollowUp(context.Context, store.Job) (bool, error) { return false, nil }
func (quietNotifier) Forget(string)                                     {}

// noViggle is the Options.ViggleFor of an engine that is never started: no job reaches Viggle.
func noViggle(context.Context, string) (jobs.Viggle, error) {
	return nil, errors.New("this test's engine sends nothing to Viggle")
}

// handlerEnv is the bot's router over a real SQLite store and a real engine that is not started (its
// jobs are recorded and acknowledged, never sent).
type handlerEnv struct {
	db   *store.DB
	eng  *jobs.Engine
	r    *Router
	logs interface{ String() string }
	n    int // jobs recorded by failedJob
}

func newHandlerEnv(t *testing.T) *handlerEnv {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(t.Context(), filepath.Join(dir, "bot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng, err := jobs.New(db, nil, quietNotifier{}, jobs.Options{Origin: store.OriginDiscord, RequireAck: true, WorkDir: filepath.Join(dir, "tmp"), ViggleFor: noViggle})
	if err != nil {
		t.Fatal(err)
	}
	r, logs := testRouter(t, eng, db, nil, nil)
	return &handlerEnv{db: db, eng: eng, r: r, logs: logs}
}

// run routes interaction i through a fresh recording REST double and returns its calls.
func (e *handlerEnv) run(t *testing.T, rest *resttest.REST, i *discordgo.Interaction) []resttest.Call {
	t.Helper()
	if rest == nil {
		rest = resttest.New()
	}
	e.r.HandleInteraction(t.Context(), rest, i, 25<<20) // the testdata's attachment_size_limit
	return rest.Calls()
}

func (e *handlerEnv) jobsOf(t *testing.T, owner string) []*store.Job {
	t.Helper()
	list, err := e.db.ListByOwner(t.Context(), store.ListFilter{Origin: store.OriginDiscord, GuildID: "200000000000000001", OwnerID: owner, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestRenderAcknowledgesPubliclyThenLetsTheEngineSend(t *testing.T) {
	e := newHandlerEnv(t)
	calls := e.run(t, nil, interaction(t, "render", nil))
	if len(calls) != 1 {
		t.Fatalf("calls %s, want the acknowledgement only", resttest.Kinds(calls))
	}
	if a := answer(t, calls[0]); a.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || a.Data != nil {
		t.Fatalf("acknowledgement %s, want a deferred public message (type 5)", calls[0].Body)
	}
	list := e.jobsOf(t, "400000000000000001")
	if len(list) != 1 {
		t.Fatalf("%d jobs", len(list))
	}
	j := list[0]
	if j.AcknowledgedAt.IsZero() || j.State != store.StateQueued || !j.Request.Fast || len(j.Request.Mapping) != 2 ||
		j.InteractionID != "1450000000000000001" || j.UploadLimit != 25<<20 {
		t.Fatalf("job %+v", j)
	}
	if l := e.logs.String(); !strings.Contains(l, "route=render") || !strings.Contains(l, "outcome=ok") || strings.Contains(l, j.InteractionToken) {
		t.Fatalf("log:\n%s", l)
	}
	// The same interaction delivered again (a gateway replay): nothing is sent, no second job.
	if calls := e.run(t, nil, interaction(t, "render", nil)); len(calls) != 0 {
		t.Fatalf("a replay sent %s", resttest.Kinds(calls))
	}
	if n := len(e.jobsOf(t, "400000000000000001")); n != 1 {
		t.Fatalf("%d jobs after a replay", n)
	}
}

func TestRenderBadInputCostsNothing(t *testing.T) {
	e := newHandlerEnv(t)
	calls := e.run(t, nil, interaction(t, "render", func(d map[string]any) {
		d["data"].(map[string]any)["options"].([]any)[1].(map[string]any)["value"] = "person_a"
	}))
	wantEphemeral(t, calls, "Nothing was sent to Viggle")
	if n := len(e.jobsOf(t, "400000000000000001")); n != 0 {
		t.Fatalf("bad input made %d jobs", n)
	}
}

func TestRenderAcknowledgementRefused(t *testing.T) {
	for _, c := range []struct {
		name         string
		status, code int
		patch        bool // the acknowledgement may have landed: its message is replaced
	}{
		{"too late", 404, discordgo.ErrCodeUnknownInteraction, false},
		{"failed otherwise", 500, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newHandlerEnv(t)
			rest := resttest.New()
			rest.FailKind(resttest.KindRespond, c.status, c.code)
			calls := e.run(t, rest, interaction(t, "render", nil))
			want := "respond POST"
			if c.patch {
				want += ", request PATCH"
			}
			if got := resttest.Kinds(calls); got != want {
				t.Fatalf("calls %s, want %s", got, want)
			}
			j := e.jobsOf(t, "400000000000000001")[0]
			if !j.AcknowledgedAt.IsZero() || j.ClosedAt.IsZero() {
				t.Fatalf("job acknowledged %v closed %v: want closed unacknowledged", j.AcknowledgedAt, j.ClosedAt)
			}
			// The record is what Discord answered; the words are explain's.
			if want := fmt.Sprintf("Discord answered HTTP %d, code %d", c.status, c.code); j.ErrorCode != jobs.CodeNotAcknowledged || j.ErrorMessage != want {
				t.Fatalf("recorded %s %q, want %s %q", j.ErrorCode, j.ErrorMessage, jobs.CodeNotAcknowledged, want)
			}
		})
	}
	// Already acknowledged (a retried request Discord had taken): the job goes on.
	e := newHandlerEnv(t)
	rest := resttest.New()
	rest.FailKind(resttest.KindRespond, 400, discordgo.ErrCodeInteractionHasAlreadyBeenAcknowledged)
	e.run(t, rest, interaction(t, "render", nil))
	if j := e.jobsOf(t, "400000000000000001")[0]; j.AcknowledgedAt.IsZero() {
		t.Fatal("an acknowledgement Discord already had was not recorded")
	}
}

func TestRenderOutsideAServer(t *testing.T) {
	e := newHandlerEnv(t)
	calls := e.run(t, nil, interaction(t, "render", func(d map[string]any) {
		d["user"] = d["member"].(map[string]any)["user"]
		delete(d, "member")
		delete(d, "guild_id")
	}))
	wantEphemeral(t, calls, "use /render there")
}

// failedJob records a failed job of alice's.
func (e *handlerEnv) failedJob(t *testing.T, state store.State) *store.Job {
	t.Helper()
	req, err := spec.NewRequest("scene_fail", "a=x", "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	e.n++
	j := &store.Job{ID: jobs.NewID(), Origin: store.OriginDiscord, OwnerID: "400000000000000001", GuildID: "200000000000000001",
		ChannelID: "300000000000000001", InteractionID: fmt.Sprintf("1449%015d", e.n), Request: req, State: state,
		ErrorCode: "CS-UORC01-009", CreatedAt: now, UpdatedAt: now}
	if err := e.db.Insert(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestCancelButton(t *testing.T) {
	e := newHandlerEnv(t)
	e.run(t, nil, interaction(t, "render", nil))
	j := e.jobsOf(t, "400000000000000001")[0]
	click := func(edits ...func(map[string]any)) []resttest.Call {
		return e.run(t, nil, interaction(t, "component", func(d map[string]any) {
			customID("cancel:" + j.ID)(d)
			for _, ed := range edits {
				ed(d)
			}
		}))
	}
	wantEphemeral(t, click(asUser("400000000000000002")), "Only <@400000000000000001>")
	calls := click()
	if len(calls) != 1 || answer(t, calls[0]).Type != discordgo.InteractionResponseDeferredMessageUpdate {
		t.Fatalf("owner's cancel: %s, want a deferred update only", resttest.Kinds(calls))
	}
	if got, _ := e.db.Get(t.Context(), j.ID); got.CancelRequestedAt.IsZero() {
		t.Fatal("cancel not recorded")
	}
	// An unknown job.
	calls = e.run(t, nil, interaction(t, "component", customID("cancel:nosuchjob")))
	wantEphemeral(t, calls, "can't find that render")
}

func TestRetryButton(t *testing.T) {
	e := newHandlerEnv(t)
	failed := e.failedJob(t, store.StateFailed)
	click := func(id string, edits ...func(map[string]any)) []resttest.Call {
		return e.run(t, nil, interaction(t, "component", func(d map[string]any) {
			d["id"] = id
			customID("retry:" + failed.ID)(d)
			for _, ed := range edits {
				ed(d)
			}
		}))
	}
	wantEphemeral(t, click("1450000000000000100", asUser("400000000000000002")), "Only <@400000000000000001>")
	calls := click("1450000000000000101")
	if len(calls) != 1 || answer(t, calls[0]).Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("retry: %s, want a deferred new message (type 5)", resttest.Kinds(calls))
	}
	list := e.jobsOf(t, "400000000000000001")
	if len(list) != 2 || list[0].RetryOf != failed.ID || list[0].AcknowledgedAt.IsZero() || list[0].Request.SceneID != "scene_fail" {
		t.Fatalf("jobs after retry: %+v", list[0])
	}
	// A second click on the same button does not pay twice.
	wantEphemeral(t, click("1450000000000000102"), "already been retried")
	// Only failed or interrupted jobs.
	done := e.failedJob(t, store.StateDelivered)
	calls = e.run(t, nil, interaction(t, "component", customID("retry:"+done.ID)))
	wantEphemeral(t, calls, "Only failed or interrupted")
}

func TestJobsListAndPaging(t *testing.T) {
	e := newHandlerEnv(t)
	for range 12 {
		e.failedJob(t, store.StateFailed)
	}
	calls := e.run(t, nil, interaction(t, "jobs", nil))
	if len(calls) != 1 {
		t.Fatalf("/jobs: %s", resttest.Kinds(calls))
	}
	var list struct {
		Type int `json:"type"`
		Data struct {
			Content    string `json:"content"`
			Flags      int    `json:"flags"`
			Components []struct {
				Components []struct {
					Label    string `json:"label"`
					CustomID string `json:"custom_id"`
				} `json:"components"`
			} `json:"components"`
		} `json:"data"`
	}
	if err := calls[0].Decode(&list); err != nil {
		t.Fatal(err)
	}
	if list.Type != 4 || list.Data.Flags != 64 || !strings.Contains(list.Data.Content, "Your failed renders in this server** (page 1 of 2)") {
		t.Fatalf("/jobs answered %s", calls[0].Body)
	}
	var next string
	for _, row := range list.Data.Components {
		for _, b := range row.Components {
			if b.Label == "Next" {
				next = b.CustomID
			}
		}
	}
	if next != "jobs:400000000000000001:failed:1" {
		t.Fatalf("next page id %q", next)
	}
	wantEphemeral(t, e.run(t, nil, interaction(t, "component", func(d map[string]any) {
		customID(next)(d)
		asUser("400000000000000002")(d)
	})), "belongs to someone else")
	calls = e.run(t, nil, interaction(t, "component", customID(next)))
	if len(calls) != 1 {
		t.Fatalf("paging: %s", resttest.Kinds(calls))
	}
	if err := calls[0].Decode(&list); err != nil || list.Type != 7 || !strings.Contains(list.Data.Content, "page 2 of 2") {
		t.Fatalf("page 2: %s", calls[0].Body)
	}
}

// ackFails is the bot's store with a broken Acknowledge: the row is committed, its acknowledgement not.
type ackFails struct{ *store.DB }

func (ackFails) Acknowledge(context.Context, string, time.Time) error {
	return fmt.Errorf("disk I/O error")
}

// TestRenderAcknowledgementNotRecorded: Discord took the acknowledgement but the bot could not record it
// (so the engine will close the job unsent): the member reads so privately, and the public "thinking…"
// message is removed rather than left to end as "The application did not respond".
func TestRenderAcknowledgementNotRecorded(t *testing.T) {
	e := newHandlerEnv(t)
	eng, err := jobs.New(ackFails{e.db}, nil, quietNotifier{}, jobs.Options{Origin: store.OriginDiscord, RequireAck: true, WorkDir: t.TempDir(), ViggleFor: noViggle})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := testRouter(t, eng, e.db, nil, nil)
	rest := resttest.New()
	r.HandleInteraction(t.Context(), rest, interaction(t, "render", nil), 0)
	calls := rest.Calls()
	if got := resttest.Kinds(calls); len(calls) != 3 || calls[2].Method != "DELETE" || !strings.HasSuffix(calls[2].URL, "/messages/@original") {
		t.Fatalf("calls %s, want the acknowledgement, a private follow-up, and the placeholder deleted", got)
	}
	var p discordgo.WebhookParams
	if err := calls[1].Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Flags != discordgo.MessageFlagsEphemeral || !strings.Contains(p.Content, "nothing was charged") {
		t.Fatalf("follow-up %s, want a private sentence saying nothing was charged", calls[1].Body)
	}
}
