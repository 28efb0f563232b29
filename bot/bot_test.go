package bot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/redact"
)

func TestInviteURL(t *testing.T) {
	const want = "https://discord.com/oauth2/authorize?client_id=123456789012345678&scope=bot+applications.commands&permissions=52224"
	if got := InviteURL("123456789012345678"); got != want {
		t.Errorf("InviteURL = %q, want %q", got, want)
	}
}

type handlerFunc func(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate, raw RawInteraction)

func (f handlerFunc) HandleInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate, raw RawInteraction) {
	f(ctx, s, i, raw)
}

var nopHandler = handlerFunc(func(context.Context, *discordgo.Session, *discordgo.InteractionCreate, RawInteraction) {})

func TestNew(t *testing.T) {
	b, err := New(Config{Token: " Bot abc.def.ghi ", APIURL: "http://127.0.0.1:1"}, nopHandler)
	if err != nil {
		t.Fatal(err)
	}
	s := b.Session()
	if s.Token != "Bot abc.def.ghi" || s.Identify.Token != "Bot abc.def.ghi" {
		t.Errorf("token = %q / %q, want one Bot prefix", s.Token, s.Identify.Token)
	}
	if s.Identify.Intents != discordgo.IntentsGuilds {
		t.Errorf("intents = %d, want GUILDS only", s.Identify.Intents)
	}
	if s.Debug || s.LogLevel >= discordgo.LogDebug {
		t.Errorf("Debug = %v, LogLevel = %d: both leak the token", s.Debug, s.LogLevel)
	}
	if !s.ShouldRetryOnRateLimit {
		t.Error("ShouldRetryOnRateLimit changed")
	}
	if s.Client.Timeout != 5*time.Minute {
		t.Errorf("client timeout = %v, want 5m", s.Client.Timeout)
	}
	rt, ok := s.Client.Transport.(*rewriteTransport)
	if !ok {
		t.Fatalf("transport is %T, want the rewriting RoundTripper", s.Client.Transport)
	}
	tr, ok := rt.next.(*http.Transport)
	if !ok {
		t.Fatalf("inner transport is %T", rt.next)
	}
	if tr.TLSHandshakeTimeout != 10*time.Second || tr.ResponseHeaderTimeout != 60*time.Second || tr.IdleConnTimeout != 90*time.Second {
		t.Errorf("transport timeouts TLS %v header %v idle %v", tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout, tr.IdleConnTimeout)
	}
	if rt.scheme != "http" || rt.host != "127.0.0.1:1" {
		t.Errorf("rewrites to %s://%s", rt.scheme, rt.host)
	}

	b, err = New(Config{Token: "x", HTTPTimeout: time.Minute}, nopHandler)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Session().Client.Timeout; got != time.Minute {
		t.Errorf("HTTPTimeout not applied: %v", got)
	}
	if rt := b.Session().Client.Transport.(*rewriteTransport); rt.scheme != "https" || rt.host != "discord.com" {
		t.Errorf("default origin %s://%s", rt.scheme, rt.host)
	}

	for name, tc := range map[string]struct {
		cfg Config
		h   Handler
	}{
		"no token":      {Config{APIURL: "https://discord.com"}, nopHandler},
		"only prefix":   {Config{Token: "Bot "}, nopHandler},
		"no handler":    {Config{Token: "x"}, nil},
		"URL with path": {Config{Token: "x", APIURL: "https://discord.com/api/v9"}, nopHandler},
		"not http":      {Config{Token: "x", APIURL: "ws://127.0.0.1:1"}, nopHandler},
	} {
		if _, err := New(tc.cfg, tc.h); err == nil {
			t.Errorf("%s: New accepted %+v", name, tc.cfg.APIURL)
		}
	}
}

// waitGoroutines waits until the process runs no more goroutines than before.
func waitGoroutines(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			var sb strings.Builder
			pprof.Lookup("goroutine").WriteTo(&sb, 1)
			t.Errorf("%d goroutines after Run, %d before:\n%s", runtime.NumGoroutine(), before, sb.String())
			return
		}
		<-tick.C
	}
}

func testLogger() (*slog.Logger, *testkit.SyncBuffer) {
	buf := &testkit.SyncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func assertNoSecrets(t testing.TB, logs string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("secret %q in the logs:\n%s", s, logs)
		}
	}
}

// startRun runs b.Run in a goroutine; the returned function cancels it and returns Run's error.
func startRun(t testing.TB, b *Bot) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(cancel)
	return func() error {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return after cancel")
			return nil
		}
	}
}

// startDiscord starts the project's fake Discord, which accepts testBotToken, and stops it at cleanup.
func startDiscord(t testing.TB, opts ...discordtest.Option) (*discordtest.Server, string) {
	t.Helper()
	fake := discordtest.New(append([]discordtest.Option{discordtest.WithToken(testBotToken)}, opts...)...)
	base, stop, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return fake, base
}

// waitDiscord waits until cond holds on the fake, failing the test after 10 s.
func waitDiscord(t testing.TB, fake *discordtest.Server, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := fake.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// discoveries counts gateway discovery requests (GET /gateway and /gateway/bot).
func discoveries(fake *discordtest.Server) int {
	return len(fake.Find(http.MethodGet, "/gateway")) + len(fake.Find(http.MethodGet, "/gateway/bot"))
}

// registrations counts the bulk overwrites of commands, global or per guild.
func registrations(fake *discordtest.Server) int {
	return len(fake.Find(http.MethodPut, "/applications/*/commands")) +
		len(fake.Find(http.MethodPut, "/applications/*/guilds/*/commands"))
}

func TestRunUnauthorized(t *testing.T) {
	const wrong = "wrong-token-Qx7-not-valid"
	fake, base := startDiscord(t)
	log, logs := testLogger()
	before := runtime.NumGoroutine()
	b, err := New(Config{Token: wrong, APIURL: base, Logger: log}, nopHandler)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(t.Context())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Run = %v, want ErrUnauthorized", err)
	}
	if n := len(fake.Find(http.MethodGet, "/users/@me")); n != 1 {
		t.Errorf("%d token checks, want 1 (a 401 is never retried)", n)
	}
	if n := discoveries(fake); n != 0 {
		t.Errorf("gateway discovered %d times after a refused token", n)
	}
	assertNoSecrets(t, err.Error()+logs.String(), wrong)
	waitGoroutines(t, before)
}

type interactionSeen struct {
	id, name, token string
	raw             RawInteraction
	ctxErr          error
}

// TestRunEndToEnd runs the bot against the fake Discord: token check, gateway, READY, guild
// registration, interactions with and without attachment_size_limit, panics before and after the
// acknowledgement, a handler in flight at shutdown, no goroutine left and no token in the logs.
func TestRunEndToEnd(t *testing.T) {
	fake, base := startDiscord(t, discordtest.WithLenientCommands())
	log, logs := testLogger()
	seen := make(chan interactionSeen, 10)
	blockStarted := make(chan struct{})
	var blockReturned atomic.Bool
	h := handlerFunc(func(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate, raw RawInteraction) {
		name := i.ApplicationCommandData().Name
		switch name {
		case "panic":
			panic("boom while holding " + i.Token)
		case "ackpanic":
			if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}, discordgo.WithContext(ctx)); err != nil {
				t.Errorf("defer: %s", redact.Error(err))
			}
			panic("after ack")
		case "block":
			close(blockStarted)
			<-ctx.Done()
			seen <- interactionSeen{id: i.ID, name: name, ctxErr: ctx.Err()}
			blockReturned.Store(true)
			return
		}
		seen <- interactionSeen{id: i.ID, name: name, token: i.Token, raw: raw, ctxErr: ctx.Err()}
	})
	cmds := []*discordgo.ApplicationCommand{
		{Name: "render", Description: "Render a video"},
		{Name: "jobs", Description: "Your jobs"},
	}
	const guild = discordtest.DefaultGuildID
	before := runtime.NumGoroutine()
	b, err := New(Config{Token: testBotToken, APIURL: base, GuildID: guild, Commands: cmds, Logger: log}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, b)
	ctx := t.Context()

	waitDiscord(t, fake, "command registration", func() bool { return registrations(fake) > 0 })
	// The bot registers at READY, maybe before the fake has sent every GUILD_CREATE and dispatches.
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := fake.WaitReady(rctx); err != nil {
		t.Fatal(err)
	}
	if puts := fake.Find(http.MethodPut, "/applications/*/guilds/*/commands"); len(puts) != 1 ||
		puts[0].Route != "/applications/"+fake.AppID()+"/guilds/"+guild+"/commands" || registrations(fake) != 1 {
		t.Fatalf("commands registered with %+v, want one PUT to the guild route", fake.Find(http.MethodPut, "/**"))
	}
	var names []string
	for _, c := range fake.Commands(guild) {
		var cmd struct{ Name string }
		json.Unmarshal(c, &cmd)
		names = append(names, cmd.Name)
	}
	if len(names) != 2 || names[0] != "render" || names[1] != "jobs" {
		t.Errorf("registered %v", names)
	}
	if got := b.AppID(); got != fake.AppID() {
		t.Errorf("AppID = %q, want %q", got, fake.AppID())
	}

	receive := func() interactionSeen {
		t.Helper()
		select {
		case s := <-seen:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no interaction reached the handler")
			return interactionSeen{}
		}
	}
	send := func(name string, limit int64) *discordtest.Interaction {
		t.Helper()
		ia, err := fake.SendCommand(ctx, discordtest.SlashCommand{Name: name, AttachmentSizeLimit: limit})
		if err != nil {
			t.Fatalf("send /%s: %v", name, err)
		}
		return ia
	}
	in1 := send("render", 26214400)
	if s := receive(); s.id != in1.ID || s.token != in1.Token || s.raw.AttachmentSizeLimit != 26214400 || s.ctxErr != nil {
		t.Errorf("handler saw %+v, want %s with limit 26214400 and a live ctx", s, in1.ID)
	}
	in2 := send("jobs", 0) // no attachment_size_limit
	if s := receive(); s.id != in2.ID || s.raw.AttachmentSizeLimit != 0 {
		t.Errorf("handler saw %+v, want %s with limit 0", s, in2.ID)
	}

	// A panic before any acknowledgement: an ephemeral response.
	in3 := send("panic", 0)
	waitDiscord(t, fake, "the panic response", func() bool { return len(fake.Callbacks(in3.ID)) > 0 })
	var cb struct {
		Type int `json:"type"`
		Data struct {
			Content string `json:"content"`
			Flags   int    `json:"flags"`
		} `json:"data"`
	}
	first := fake.Callbacks(in3.ID)[0]
	json.Unmarshal(first.JSON, &cb)
	if first.Route != "/interactions/"+in3.ID+"/"+in3.Token+"/callback" || first.Status != http.StatusNoContent ||
		cb.Type != 4 || cb.Data.Flags != 64 || cb.Data.Content != PanicReply {
		t.Errorf("panic answer %s %s (status %d), want type 4, flags 64, %q", redact.Text(first.Route), first.JSON, first.Status, PanicReply)
	}

	// A panic after a deferred acknowledgement: the response fails with 40060, so an ephemeral follow-up.
	in4 := send("ackpanic", 0)
	followups := func() []discordtest.Request {
		var out []discordtest.Request
		for _, r := range fake.Find(http.MethodPost, "/webhooks/*/*") {
			if r.Route == "/webhooks/"+fake.AppID()+"/"+in4.Token {
				out = append(out, r)
			}
		}
		return out
	}
	waitDiscord(t, fake, "the panic follow-up", func() bool { return len(followups()) > 0 })
	var fu struct {
		Content string `json:"content"`
		Flags   int    `json:"flags"`
	}
	json.Unmarshal(followups()[0].JSON, &fu)
	if fu.Flags != 64 || fu.Content != PanicReply {
		t.Errorf("follow-up %s", followups()[0].JSON)
	}
	cb4 := fake.Callbacks(in4.ID)
	if n := len(fake.Callbacks(in3.ID)) + len(cb4); n != 3 { // in3's answer, in4's deferral, in4's refused answer
		t.Errorf("%d callbacks, want 3", n)
	}
	if len(cb4) != 2 || cb4[0].Status != http.StatusNoContent || cb4[1].Status != http.StatusBadRequest ||
		!strings.Contains(string(cb4[1].Response), "40060") {
		t.Errorf("callbacks of the deferred panic: %+v, want the deferral then a 40060 refusal", cb4)
	}

	// A handler in flight at shutdown gets a cancelled context, and Run waits for it.
	in5 := send("block", 0)
	select {
	case <-blockStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("blocking handler did not start")
	}
	if err := stop(); err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
	if !blockReturned.Load() {
		t.Error("Run returned before the in-flight handler")
	}
	if s := receive(); s.id != in5.ID || !errors.Is(s.ctxErr, context.Canceled) {
		t.Errorf("in-flight handler saw %+v, want a cancelled ctx", s)
	}
	waitGoroutines(t, before)

	out := logs.String()
	assertNoSecrets(t, out, testBotToken, in1.Token, in2.Token, in3.Token, in4.Token, in5.Token)
	for _, want := range []string{
		"invite_url=\"" + InviteURL(fake.AppID()) + "\"",
		"registered the slash commands",
		"interaction handler panicked",
		"boom while holding [token]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

// TestRunReconnects: the network drops the gateway connection; Run reconnects, its RESUME is refused,
// discordgo identifies again, and interactions flow on the new connection.
func TestRunReconnects(t *testing.T) {
	fake, base := startDiscord(t, discordtest.WithLenientCommands())
	log, logs := testLogger()
	seen := make(chan string, 1)
	h := handlerFunc(func(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate, raw RawInteraction) {
		seen <- i.ID
	})
	before := runtime.NumGoroutine()
	b, err := New(Config{Token: testBotToken, APIURL: base, Logger: log}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, b)
	ctx := t.Context()
	waitDiscord(t, fake, "registration", func() bool { return registrations(fake) == 1 && fake.Sessions() == 1 })
	if n := fake.DropConnections(); n != 1 {
		t.Fatalf("cut %d gateway connections, want 1", n)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := fake.WaitSessions(wctx, 2); err != nil {
		t.Fatalf("waiting for a second READY: %v", err)
	}
	ia, err := fake.SendCommand(ctx, discordtest.SlashCommand{Name: "render", AttachmentSizeLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-seen:
		if id != ia.ID {
			t.Errorf("handler saw %q, want %q", id, ia.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no interaction after the reconnect")
	}
	if err := stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
	if n := registrations(fake); n != 1 {
		t.Errorf("%d registrations, want 1 (not again after a reconnect)", n)
	}
	waitGoroutines(t, before)
	assertNoSecrets(t, logs.String(), testBotToken, ia.Token)
}

// TestRunCancelDuringOpen: a gateway that never says HELLO holds Session.Open; cancelling ctx still
// ends Run at once, with nothing left running.
func TestRunCancelDuringOpen(t *testing.T) {
	fake, base := startDiscord(t, discordtest.WithGatewayFault(discordtest.GatewayNoHello))
	log, _ := testLogger()
	before := runtime.NumGoroutine()
	b, err := New(Config{Token: testBotToken, APIURL: base, Logger: log}, nopHandler)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, b)
	waitDiscord(t, fake, "the websocket", func() bool { return fake.GatewayAttempts() > 0 })
	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	if b.AppID() != "" {
		t.Errorf("AppID %q without READY", b.AppID())
	}
	waitGoroutines(t, before)
}

func TestDecodeRawInteraction(t *testing.T) {
	tests := []struct {
		d       string
		want    int64
		wantErr bool
	}{
		{`{"id":"1","attachment_size_limit":26214400}`, 26214400, false},
		{`{"id":"1"}`, 0, false},
		{`{"attachment_size_limit":null}`, 0, false},
		{`{"attachment_size_limit":"10485760"}`, 10485760, false},
		{`{"attachment_size_limit":-1}`, 0, true},
		{`{"attachment_size_limit":"big"}`, 0, true},
		{`{"attachment_size_limit":1.5}`, 0, true},
		{`not json`, 0, true},
	}
	for _, tt := range tests {
		got, err := decodeRawInteraction(json.RawMessage(tt.d))
		if got.AttachmentSizeLimit != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("decode %s = %d, %v; want %d, error %v", tt.d, got.AttachmentSizeLimit, err, tt.want, tt.wantErr)
		}
	}
}

// TestRunStopsWhileReconnecting: the connection drops and the gateway stays down; cancelling ctx ends
// Run and its reconnect attempts (discordgo's own reconnect loop would outlive Close).
func TestRunStopsWhileReconnecting(t *testing.T) {
	fake, base := startDiscord(t)
	log, logs := testLogger()
	before := runtime.NumGoroutine()
	b, err := New(Config{Token: testBotToken, APIURL: base, Logger: log}, nopHandler)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, b)
	waitDiscord(t, fake, "registration", func() bool { return registrations(fake) == 1 })
	fake.SetGatewayFault(discordtest.GatewayDown)
	fake.DropConnections()
	waitDiscord(t, fake, "a second reconnect attempt", func() bool {
		// The shard count (GET /gateway/bot), discovery and websocket for the first connection, the
		// cached websocket for a failed attempt (logged), discovery again for the next attempt.
		return discoveries(fake)+fake.GatewayAttempts() >= 5
	})
	if err := stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
	waitGoroutines(t, before)
	if !strings.Contains(logs.String(), "reconnecting to the gateway failed") {
		t.Errorf("no failed reconnect logged:\n%s", logs.String())
	}
}

// redact.Wrap's message goes through redact.Error: the REST error in its short form, never the request
// (nor its Authorization header), and errors.As still reaches the cause.
func TestOpErrorRESTError(t *testing.T) {
	req, _ := http.NewRequest("POST", "https://discord.com/api/v9/webhooks/111/"+testInteractionToken, nil)
	req.Header.Set("Authorization", "Bot "+testBotToken)
	re := &discordgo.RESTError{Request: req, Response: &http.Response{StatusCode: 404, Request: req},
		ResponseBody: []byte(`{"message": "Unknown interaction", "code": 10062}`),
		Message:      &discordgo.APIErrorMessage{Code: 10062, Message: "Unknown interaction"}}
	err := redact.Wrap("bot: register", re)
	for _, got := range []string{err.Error(), redact.Error(err)} {
		if want := "bot: register: HTTP 404: code 10062 Unknown interaction"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		for _, secret := range []string{testBotToken, testInteractionToken, "Authorization", "authorization"} {
			if strings.Contains(got, secret) {
				t.Errorf("%q in %q", secret, got)
			}
		}
	}
	if got := (*discordgo.RESTError)(nil); !errors.As(err, &got) || got != re {
		t.Errorf("errors.As did not reach the RESTError")
	}
	if !hasCode(err, 10062) {
		t.Errorf("hasCode(err, 10062) = false")
	}
}
