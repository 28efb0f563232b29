package commands

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/bot/discordtest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

const notifierTestToken = "notifier.test.token"

// toFake sends discord.com requests to the fake.
type toFake struct{ base *url.URL }

func (r toFake) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "discord.com" {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = r.base.Scheme, r.base.Host, r.base.Host
	}
	return http.DefaultTransport.RoundTrip(req)
}

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// notifierEnv is a Notifier sending through a real discordgo session to the fake Discord, whose gateway
// is connected (the fake dispatches interactions on it).
type notifierEnv struct {
	fake  *discordtest.Server
	s     *discordgo.Session
	n     *Notifier
	clock *testClock
}

func newNotifierEnv(t *testing.T) *notifierEnv {
	t.Helper()
	fake := discordtest.New(discordtest.WithToken(notifierTestToken), discordtest.WithLenientCommands())
	base, stop, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	s, err := discordgo.New("Bot " + notifierTestToken)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = &http.Client{Transport: toFake{u}, Timeout: 10 * time.Second}
	s.Identify.Intents = discordgo.IntentsGuilds
	s.ShouldReconnectOnError = false
	if err := s.Open(); err != nil {
		t.Fatalf("open the gateway: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := fake.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
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

// channelPosts returns the messages the bot posted in the channel itself (not interaction messages).
func (e *notifierEnv) channelPosts(channelID string) []discordtest.Message {
	var out []discordtest.Message
	for _, m := range e.fake.ChannelMessages(channelID) {
		if m.InteractionID == "" {
			out = append(out, m)
		}
	}
	return out
}

// TestDoneAfterARestartDoesNotPostTwice: the final edit of the interaction's message landed, then the
// process stopped before recording the delivery; the restarted process delivers again after the
// interaction token has died. It finds the result already shown and posts nothing; a job whose
// message still says "thinking…" gets its channel post.
func TestDoneAfterARestartDoesNotPostTwice(t *testing.T) {
	e := newNotifierEnv(t)
	video := jobs.Video{URL: "https://cdn.example/video.mp4", Size: 200 << 20} // over the limit: the link

	shown := e.deferredRender(t, "jobshown01", "510000000000000001")
	e.clock.Set(shown.CreatedAt.Add(2 * time.Minute))
	first, err := e.n.Done(t.Context(), shown, video)
	if err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	orig, ok := e.fake.Original(shown.InteractionID)
	if !ok || !strings.HasPrefix(orig.Content, "**Done!**") || first != "message:"+orig.ID+",link" {
		t.Fatalf("first delivery recorded %q; original message %+v", first, orig)
	}

	// Restarted in the token's last minute (read with the token), then after it died (read with the
	// bot token in the channel): either way the next delivery would post.
	for _, at := range []time.Duration{14*time.Minute + 30*time.Second, 20 * time.Minute} {
		e.clock.Set(shown.CreatedAt.Add(at))
		again, err := e.n.Done(t.Context(), shown, video)
		if err != nil {
			t.Fatalf("delivery after a restart at %v: %v", at, err)
		}
		if posts := e.channelPosts(shown.ChannelID); len(posts) != 0 {
			t.Fatalf("restart at %v: the result was posted again in the channel: %q", at, posts[0].Content)
		}
		if again != first {
			t.Errorf("restart at %v: the delivery recorded %q, want the first one's %q", at, again, first)
		}
	}
	if n := e.lookups(shown); n[0] != 1 || n[1] != 1 {
		t.Errorf("looked the message up %d times with the interaction token and %d in the channel, want 1 and 1", n[0], n[1])
	}

	thinking := e.deferredRender(t, "jobthink01", "510000000000000002")
	e.clock.Set(thinking.CreatedAt.Add(20 * time.Minute))
	rec, err := e.n.Done(t.Context(), thinking, video)
	if err != nil {
		t.Fatalf("delivery of a job whose message still thinks: %v", err)
	}
	posts := e.channelPosts(thinking.ChannelID)
	if len(posts) != 1 || !strings.HasPrefix(posts[0].Content, "<@510000000000000002>\n**Done!**") ||
		rec != "message:"+posts[0].ID+",channel,link" {
		t.Fatalf("recorded %q with channel posts %+v, want one post mentioning the owner", rec, posts)
	}
}
