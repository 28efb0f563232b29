package commands

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

const notifierTestToken = "notifier.test.token"

// notifierEnv is a Notifier sending through a real discordgo session to the fake Discord, whose gateway
// is connected (the fake dispatches interactions on it).
type notifierEnv struct {
	fake  *discordtest.Server
	s     *discordgo.Session
	n     *Notifier
	clock *testkit.Clock
}

func newNotifierEnv(t *testing.T) *notifierEnv {
	t.Helper()
	fake := discordtest.New(discordtest.WithToken(notifierTestToken), discordtest.WithLenientCommands())
	base, stop, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	s, err := discordtest.NewSession(base, notifierTestToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatalf("open the gateway: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := fake.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Time{})
	return &notifierEnv{fake: fake, s: s, clock: clock, n: NewNotifier(s, fake.AppID, nil, nil, clock.Now)}
}

// deferredRender dispatches a /render from user, acknowledges it with a deferred response (the
// "thinking…" message) and returns its job as the engine would hold it.
func (e *notifierEnv) deferredRender(t *testing.T, id, user string) store.Job {
	t.Helper()
	in, err := e.fake.SendCommand(t.Context(), discordtest.SlashCommand{Name: "render", UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	i := &discordgo.Interaction{ID: in.ID, Token: in.Token, AppID: e.fake.AppID(), Type: discordgo.InteractionApplicationCommand}
	if err := e.s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	created, err := discordgo.SnowflakeTimestamp(in.ID)
	if err != nil {
		t.Fatal(err)
	}
	req, err := spec.NewRequest("scene_demo", "person_a=char_x", "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	return store.Job{ID: id, Origin: store.OriginDiscord, OwnerID: user, GuildID: in.GuildID, ChannelID: in.ChannelID,
		InteractionID: in.ID, InteractionToken: in.Token, TokenExpiresAt: created.Add(15 * time.Minute),
		UploadLimit: DefaultUploadLimit, Request: req, State: store.StateDelivering, CreatedAt: created}
}

// lookups counts the reads of j's message: with its interaction token, and of the channel's messages.
func (e *notifierEnv) lookups(j store.Job) [2]int {
	var n [2]int
	for _, r := range e.fake.Requests() {
		switch {
		case r.Method == http.MethodGet && strings.Contains(r.Path, "/webhooks/") && strings.Contains(r.Path, j.InteractionToken):
			n[0]++
		case r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/channels/"+j.ChannelID+"/messages"):
			n[1]++
		}
	}
	return n
}

// postsFor returns the messages the bot posted in the channel itself (not interaction messages) for
// the owner of j (they start by mentioning the owner).
func (e *notifierEnv) postsFor(j store.Job) []discordtest.Message {
	var out []discordtest.Message
	for _, m := range e.fake.ChannelMessages(j.ChannelID) {
		if m.InteractionID == "" && strings.HasPrefix(m.Content, "<@"+j.OwnerID+">") {
			out = append(out, m)
		}
	}
	return out
}

// TestDoneAfterARestartDoesNotPostTwice: the final edit of the interaction's message landed, then the
// process stopped before recording the delivery; the restarted process delivers again in the token's
// last minute or after it died. It finds the result already shown and posts nothing. A message that
// does not show the result (still "thinking…", or the 14th minute's last edit) gets its channel post,
// and so does any job when the check cannot be made.
func TestDoneAfterARestartDoesNotPostTwice(t *testing.T) {
	e := newNotifierEnv(t)
	video := jobs.Video{URL: "https://cdn.example/video.mp4", Size: 200 << 20} // over the limit: the link
	lastMinute, dead := 14*time.Minute+30*time.Second, 20*time.Minute

	t.Run("already shown", func(t *testing.T) {
		j := e.deferredRender(t, "jobshown01", "510000000000000001")
		e.clock.Set(j.CreatedAt.Add(2 * time.Minute))
		first, err := e.n.Done(t.Context(), j, video)
		if err != nil {
			t.Fatalf("first delivery: %v", err)
		}
		orig, ok := e.fake.Original(j.InteractionID)
		if !ok || !strings.HasPrefix(orig.Content, "**Done!**") || first.String() != "message:"+orig.ID+",link" {
			t.Fatalf("first delivery recorded %q; original message %+v", first, orig)
		}
		// Restarted in the token's last minute (read with the token), then after it died (read in the
		// channel), then in the last minute with the token refused (read in the channel).
		for k, at := range []time.Duration{lastMinute, dead, lastMinute} {
			if k == 2 {
				e.fake.FailNext("GET", "/webhooks/*/*/messages/@original", discordtest.Failure{Status: 401, Code: 50027, Message: "Invalid Webhook Token"})
			}
			e.clock.Set(j.CreatedAt.Add(at))
			again, err := e.n.Done(t.Context(), j, video)
			if err != nil {
				t.Fatalf("delivery after a restart at %v: %v", at, err)
			}
			if posts := e.postsFor(j); len(posts) != 0 {
				t.Fatalf("restart at %v: the result was posted again in the channel: %q", at, posts[0].Content)
			}
			if again != first {
				t.Errorf("restart at %v: the delivery recorded %q, want the first one's %q", at, again, first)
			}
		}
		if n := e.lookups(j); n[0] != 2 || n[1] != 2 {
			t.Errorf("read the message %d times with the interaction token and the channel %d times, want 2 and 2", n[0], n[1])
		}
	})

	t.Run("still thinking", func(t *testing.T) {
		j := e.deferredRender(t, "jobthink01", "510000000000000002")
		e.clock.Set(j.CreatedAt.Add(dead))
		rec, err := e.n.Done(t.Context(), j, video)
		if err != nil {
			t.Fatalf("delivery: %v", err)
		}
		posts := e.postsFor(j)
		if len(posts) != 1 || !strings.HasPrefix(posts[0].Content, "<@510000000000000002>\n**Done!**") ||
			rec.String() != "message:"+posts[0].ID+",channel,link" {
			t.Fatalf("recorded %q with channel posts %+v, want one post mentioning the owner", rec, posts)
		}
	})

	t.Run("the 14th minute's last edit", func(t *testing.T) {
		j := e.deferredRender(t, "joblast001", "510000000000000003")
		e.clock.Set(j.CreatedAt.Add(2 * time.Minute))
		if _, err := e.n.editOriginal(t.Context(), j, lastEditView(j, 0), nil); err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Duration{lastMinute, dead} { // the second is a repeat: the nonce answers it
			e.clock.Set(j.CreatedAt.Add(at))
			if _, err := e.n.Done(t.Context(), j, video); err != nil {
				t.Fatalf("delivery at %v: %v", at, err)
			}
		}
		if posts := e.postsFor(j); len(posts) != 1 || !strings.Contains(posts[0].Content, "**Done!**") {
			t.Fatalf("channel posts %+v, want the result once", posts)
		}
	})

	t.Run("the check cannot be made", func(t *testing.T) {
		for k, f := range []discordtest.Failure{
			{Status: 403, Code: 50001, Message: "Missing Access"},
			{Status: 500, Message: "500: Internal Server Error"},
		} {
			j := e.deferredRender(t, fmt.Sprintf("jobnocheck%d", k), fmt.Sprintf("51000000000000001%d", k))
			e.clock.Set(j.CreatedAt.Add(dead))
			e.fake.FailNext("GET", "/channels/*/messages", f)
			if _, err := e.n.Done(t.Context(), j, video); err != nil {
				t.Fatalf("listing answered %d: delivery failed: %v", f.Status, err)
			}
			if posts := e.postsFor(j); len(posts) != 1 {
				t.Fatalf("listing answered %d: %d channel posts, want the result posted once", f.Status, len(posts))
			}
		}
	})
}

// TestForgetDuringAnEditKeepsTheFinalMessageLast: the engine lets a job go (Forget drops the editor's
// state) while one of its progress edits is in flight, then delivers it after all (it came back to this
// process): the final message must not be overwritten by the late progress edit. What guarantees it is
// that every edit of one interaction goes through its own rate-limit bucket, which discordgo sends one
// request at a time: the final edit waits for the progress edit to be answered.
func TestForgetDuringAnEditKeepsTheFinalMessageLast(t *testing.T) {
	e := newNotifierEnv(t)
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "bot.db"), nil) // for the queue position
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.n = NewNotifier(e.s, e.fake.AppID, db, nil, e.clock.Now)
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { e.n.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	j := e.deferredRender(t, "jobforget1", "510000000000000009")
	e.clock.Set(j.CreatedAt.Add(time.Minute))
	j.State, j.ViggleStatus, j.Progress = store.StateRunning, "processing", 40
	// The progress edit reaches Discord only after a while (and is applied then).
	e.fake.FailNext("PATCH", "/webhooks/*/*/messages/@original", discordtest.Failure{Delay: 2 * time.Second})
	if err := e.n.Progress(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := e.fake.WaitFor(ctx, func() bool { return e.fake.Arrived("PATCH", "/webhooks/*/*/messages/@original") > 0 }); err != nil {
		t.Fatalf("the progress edit never left: %v", err)
	}
	e.n.Forget(j.ID)

	j.State = store.StateDelivering
	if _, err := e.n.Done(t.Context(), j, jobs.Video{URL: "https://cdn.example/v.mp4", Size: 200 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.WaitFor(ctx, func() bool { return len(e.fake.Find("PATCH", "/webhooks/*/*/messages/@original")) >= 2 }); err != nil {
		t.Fatalf("both edits answered: %v", err)
	}
	if m, _ := e.fake.Original(j.InteractionID); !strings.HasPrefix(m.Content, "**Done!**") {
		t.Fatalf("the message ends as %q: a progress edit overwrote the result", m.Content)
	}
}
