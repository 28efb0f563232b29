package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// testToken is distinctive so that a leak into a body is easy to find.
const testToken = "TEST-TOKEN-s3cr3t"

// startFake starts a fake with the test token and stops it at cleanup.
func startFake(t testing.TB, opts ...Option) (*Server, string) {
	t.Helper()
	fake := New(append([]Option{WithToken(testToken)}, opts...)...)
	base, stop, err := fake.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(stop)
	return fake, base
}

// bot is a real discordgo session connected to the fake.
type bot struct {
	s            *discordgo.Session
	interactions chan *discordgo.InteractionCreate
	raw          chan rawInteraction // id and attachment_size_limit of every INTERACTION_CREATE
}

type rawInteraction struct {
	ID    string `json:"id"`
	Limit int64  `json:"attachment_size_limit"`
}

// newSession returns a discordgo session routed to base, not yet open.
func newSession(t testing.TB, base, token string) *discordgo.Session {
	t.Helper()
	s, err := NewSession(base, token)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// connect opens a discordgo session on the fake and waits until it is
// ready and has every guild in its state. Without reconnect the session is
// not closed at cleanup (discordgo's Close sleeps a second): stopping the
// fake ends it. With reconnect it is closed before the fake stops.
func connect(t testing.TB, fake *Server, base string, reconnect bool) *bot {
	t.Helper()
	b := &bot{
		s:            newSession(t, base, testToken),
		interactions: make(chan *discordgo.InteractionCreate, 16),
		raw:          make(chan rawInteraction, 16),
	}
	b.s.ShouldReconnectOnError = reconnect
	guilds := make(chan string, 16)
	b.s.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) { guilds <- g.ID })
	b.s.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
		b.interactions <- ic
	})
	b.s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if e.Type != "INTERACTION_CREATE" {
			return
		}
		var raw rawInteraction
		if json.Unmarshal(e.RawData, &raw) == nil {
			b.raw <- raw
		}
	})
	if err := b.s.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if reconnect {
		t.Cleanup(func() { _ = b.s.Close() })
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := fake.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	for range fake.Guilds() {
		select {
		case <-guilds:
		case <-ctx.Done():
			t.Fatal("no GUILD_CREATE handled")
		}
	}
	return b
}

// next returns the next interaction the bot received.
func (b *bot) next(t testing.TB) *discordgo.InteractionCreate {
	t.Helper()
	select {
	case ic := <-b.interactions:
		return ic
	case <-time.After(5 * time.Second):
		t.Fatal("no interaction received")
		return nil
	}
}

// rawNext returns the raw fields of the next INTERACTION_CREATE.
func (b *bot) rawNext(t testing.TB) rawInteraction {
	t.Helper()
	select {
	case r := <-b.raw:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no raw interaction event")
		return rawInteraction{}
	}
}

// send dispatches a command and returns what the fake sent and what the bot got.
func (b *bot) send(t testing.TB, fake *Server, c SlashCommand) (*Interaction, *discordgo.InteractionCreate) {
	t.Helper()
	in, err := fake.SendCommand(t.Context(), c)
	if err != nil {
		t.Fatalf("SendCommand: %v", err)
	}
	got := b.next(t)
	if got.ID != in.ID {
		t.Fatalf("bot got interaction %s, want %s", got.ID, in.ID)
	}
	if raw := b.rawNext(t); raw.ID != in.ID || raw.Limit != c.AttachmentSizeLimit {
		t.Fatalf("raw event for %s with attachment_size_limit %d, want %s with %d", raw.ID, raw.Limit, in.ID, c.AttachmentSizeLimit)
	}
	return in, got
}

// wantRESTError checks that err is a discordgo REST error with status and code.
func wantRESTError(t testing.TB, err error, status, code int) {
	t.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v (%T), want *discordgo.RESTError", err, err)
	}
	if re.Response.StatusCode != status {
		t.Errorf("HTTP status = %d, want %d", re.Response.StatusCode, status)
	}
	if re.Message == nil || re.Message.Code != code {
		t.Errorf("JSON error = %+v, want code %d (body %s)", re.Message, code, re.ResponseBody)
	}
	if strings.Contains(string(re.ResponseBody), testToken) {
		t.Errorf("error body contains the token: %s", re.ResponseBody)
	}
}

// registerRender registers a /render-like command in the default guild.
func registerRender(t testing.TB, s *discordgo.Session) []*discordgo.ApplicationCommand {
	t.Helper()
	cmds, err := s.ApplicationCommandBulkOverwrite(DefaultAppID, DefaultGuildID, []*discordgo.ApplicationCommand{
		{
			Name:        "render",
			Description: "Render a scene",
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: "scene", Description: "Scene id", Required: true},
				{Type: discordgo.ApplicationCommandOptionString, Name: "map", Description: "Mapping", Required: true},
				{Type: discordgo.ApplicationCommandOptionString, Name: "background", Description: "Background",
					Choices: []*discordgo.ApplicationCommandOptionChoice{
						{Name: "original", Value: "original"}, {Name: "solid", Value: "solid"}, {Name: "transparent", Value: "transparent"},
					}},
				{Type: discordgo.ApplicationCommandOptionBoolean, Name: "fast", Description: "Fast mode"},
			},
		},
		{Name: "jobs", Description: "Your jobs"},
	})
	if err != nil {
		t.Fatalf("ApplicationCommandBulkOverwrite: %v", err)
	}
	return cmds
}

func waitFor(t testing.TB, fake *Server, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := fake.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// ---- raw gateway client ----

type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
}

func dialGateway(t testing.TB, base, query string) *wsClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/gateway/?" + query
	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("dial gateway: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &wsClient{t: t, conn: conn}
}

type gwPayload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  *string         `json:"t"`
}

func (c *wsClient) read() gwPayload {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read gateway: %v", err)
	}
	var p gwPayload
	if err := json.Unmarshal(b, &p); err != nil {
		c.t.Fatalf("decode gateway payload %q: %v", b, err)
	}
	return p
}

// readErr reads until the connection fails and returns the error.
func (c *wsClient) readErr() error {
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return err
		}
	}
}

func (c *wsClient) write(op int, d any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(map[string]any{"op": op, "d": d}); err != nil {
		c.t.Fatalf("write gateway: %v", err)
	}
}

func identifyPayload(token string) map[string]any {
	return map[string]any{
		"token":      token,
		"intents":    1,
		"properties": map[string]any{"os": "linux", "browser": "test", "device": "test"},
	}
}
