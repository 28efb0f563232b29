package bot

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/redact"
)

// bothHandler serves the gateway (never used here) and HTTP interactions.
type bothHandler struct {
	handlerFunc
	http func(ctx context.Context, s *InlineSession, i *discordgo.Interaction, raw RawInteraction)
}

func (h bothHandler) HandleHTTPInteraction(ctx context.Context, s *InlineSession, i *discordgo.Interaction, raw RawInteraction) {
	h.http(ctx, s, i, raw)
}

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// post sends body to the interactions endpoint with the given headers and returns status and body.
func post(t *testing.T, url string, body []byte, h map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func signed(key ed25519.PrivateKey, at time.Time, body []byte) map[string]string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return map[string]string{"X-Signature-Timestamp": ts, "X-Signature-Ed25519": discordtest.Signature(key, ts, body)}
}

// callback decodes the first response an interaction got.
func callback(t *testing.T, fake *discordtest.Server, id string) (typ int, content string, flags int) {
	t.Helper()
	cbs := fake.Callbacks(id)
	if len(cbs) == 0 {
		t.Fatalf("interaction %s got no response", id)
	}
	var r struct {
		Type int `json:"type"`
		Data struct {
			Content string `json:"content"`
			Flags   int    `json:"flags"`
		} `json:"data"`
	}
	if err := json.Unmarshal(cbs[0].JSON, &r); err != nil {
		t.Fatalf("response %s: %v", cbs[0].JSON, err)
	}
	return r.Type, r.Data.Content, r.Data.Flags
}

// TestHTTPInteractions runs the bot in HTTP interactions mode against the fake Discord, which POSTs
// signed interactions to the bot's listener: no gateway session; the application id from GET
// /oauth2/applications/@me; commands registered; PING answered with PONG; a command answered in the
// HTTP body (a message, a deferral followed by an edit with the token); a second acknowledgement and
// a late one refused as Discord refuses them; a panic answered; unsigned, badly signed, tampered,
// stale, future and replayed requests refused with 401 before any handler runs; other paths and
// methods refused; nothing left running and no secret in the logs.
func TestHTTPInteractions(t *testing.T) {
	fake, base := startDiscord(t, discordtest.WithLenientCommands())
	pub, priv := newKey(t)
	log, logs := testLogger()

	var handled atomic.Int32
	twice := make(chan error, 1)
	late := make(chan error, 1)
	h := bothHandler{handlerFunc: func(context.Context, *discordgo.Session, *discordgo.InteractionCreate, RawInteraction) {
		t.Error("a gateway interaction in HTTP mode")
	}, http: func(ctx context.Context, s *InlineSession, i *discordgo.Interaction, raw RawInteraction) {
		handled.Add(1)
		respond := func(typ discordgo.InteractionResponseType, content string) error {
			r := &discordgo.InteractionResponse{Type: typ}
			if content != "" {
				r.Data = &discordgo.InteractionResponseData{Content: content}
			}
			return s.InteractionRespond(i, r, discordgo.WithContext(ctx))
		}
		switch i.ApplicationCommandData().Name {
		case "hello":
			if err := respond(discordgo.InteractionResponseChannelMessageWithSource, "hi, limit "+strconv.FormatInt(raw.AttachmentSizeLimit, 10)); err != nil {
				t.Errorf("respond: %s", redact.Error(err))
			}
		case "render":
			if err := respond(discordgo.InteractionResponseDeferredChannelMessageWithSource, ""); err != nil {
				t.Errorf("defer: %s", redact.Error(err))
				return
			}
			// Right after the HTTP answer, the token works for an edit.
			done := "rendered"
			if _, err := s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &done}, discordgo.WithContext(ctx)); err != nil {
				t.Errorf("edit after the inline deferral: %s", redact.Error(err))
			}
		case "twice":
			if err := respond(discordgo.InteractionResponseChannelMessageWithSource, "first"); err != nil {
				t.Errorf("respond: %s", redact.Error(err))
			}
			twice <- respond(discordgo.InteractionResponseChannelMessageWithSource, "second")
		case "slow":
			<-ctx.Done() // never answers in time; the bot's shutdown ends it
			late <- respond(discordgo.InteractionResponseChannelMessageWithSource, "too late")
		case "panic":
			panic("boom with " + i.Token)
		}
	}}
	cmds := []*discordgo.ApplicationCommand{{Name: "hello", Description: "Says hi"}}
	before := runtime.NumGoroutine()
	b, err := New(Config{Token: testBotToken, APIURL: base, GuildID: discordtest.DefaultGuildID, Commands: cmds, Logger: log,
		InteractionsAddr: "127.0.0.1:0", PublicKey: pub, AckWait: 1500 * time.Millisecond}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, b)
	select {
	case <-b.Ready():
	case <-time.After(10 * time.Second):
		t.Fatalf("not ready:\n%s", logs.String())
	}
	if b.AppID() != fake.AppID() {
		t.Errorf("AppID %q, want %q", b.AppID(), fake.AppID())
	}
	url := "http://" + b.InteractionsAddr() + InteractionsPath
	fake.SetInteractionsEndpoint(url, priv)
	waitDiscord(t, fake, "registration", func() bool { return len(fake.Commands(discordtest.DefaultGuildID)) == 1 })
	if n := len(fake.Find(http.MethodGet, "/oauth2/applications/@me")); n != 1 {
		t.Errorf("%d reads of the application, want 1", n)
	}
	if n := discoveries(fake) + fake.GatewayAttempts(); n != 0 {
		t.Errorf("%d gateway discoveries or connections in HTTP mode", n)
	}
	if !b.Connected() {
		t.Error("Connected is false while POST /interactions is served")
	}
	if id, count := b.Shard(); id != 0 || count != 0 || !b.OwnsGuild("123456789012345678") {
		t.Errorf("Shard = %d, %d in HTTP mode; every guild is this process's", id, count)
	}

	ctx := t.Context()
	ping, err := fake.SendPing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ping.HTTPStatus != 200 || string(ping.HTTPResponse) != `{"type":1}` || fake.Acknowledged(ping.ID) != 1 {
		t.Errorf("PING answered %d %s", ping.HTTPStatus, ping.HTTPResponse)
	}

	hello, err := fake.SendCommand(ctx, discordtest.SlashCommand{Name: "hello", AttachmentSizeLimit: 26214400})
	if err != nil {
		t.Fatal(err)
	}
	if typ, content, _ := callback(t, fake, hello.ID); typ != 4 || content != "hi, limit 26214400" {
		t.Errorf("hello answered type %d %q", typ, content)
	}
	if m, ok := fake.Original(hello.ID); !ok || m.Content != "hi, limit 26214400" {
		t.Errorf("hello's message: %+v", m)
	}
	if n := len(fake.Find(http.MethodPost, "/interactions/*/*/callback")); n != 0 {
		t.Errorf("%d callbacks POSTed: the answer belongs in the HTTP body", n)
	}

	render, err := fake.SendCommand(ctx, discordtest.SlashCommand{Name: "render"})
	if err != nil {
		t.Fatal(err)
	}
	if fake.Acknowledged(render.ID) != 5 {
		t.Errorf("render acknowledged with %d, want a deferral (5)", fake.Acknowledged(render.ID))
	}
	waitDiscord(t, fake, "the edit after the deferral", func() bool {
		m, ok := fake.Original(render.ID)
		return ok && m.Content == "rendered"
	})

	tw, err := fake.SendCommand(ctx, discordtest.SlashCommand{Name: "twice"})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := restCode(<-twice); code != discordgo.ErrCodeInteractionHasAlreadyBeenAcknowledged {
		t.Errorf("a second acknowledgement answered code %d, want 40060", code)
	}
	if _, content, _ := callback(t, fake, tw.ID); content != "first" || len(fake.Callbacks(tw.ID)) != 1 {
		t.Errorf("twice: %d responses, first %q", len(fake.Callbacks(tw.ID)), content)
	}

	boom, err := fake.SendCommand(ctx, discordtest.SlashCommand{Name: "panic"})
	if err != nil {
		t.Fatal(err)
	}
	if typ, content, flags := callback(t, fake, boom.ID); typ != 4 || content != PanicReply || flags != 64 {
		t.Errorf("panic answered type %d %q flags %d", typ, content, flags)
	}

	slow, err := fake.SendCommand(ctx, discordtest.SlashCommand{Name: "slow"})
	if err == nil || slow == nil || slow.HTTPStatus != http.StatusServiceUnavailable || fake.Acknowledged(slow.ID) != 0 {
		t.Errorf("an interaction not answered within AckWait: %v, %+v", err, slow)
	}

	// Refusals: none reaches a handler.
	calls := handled.Load()
	now := time.Now()
	_, other := newKey(t)
	body := hello.Payload
	tampered := bytes.Replace(body, []byte(`"hello"`), []byte(`"hellp"`), 1)
	pingBody := []byte(`{"id":"1","application_id":"` + fake.AppID() + `","type":1,"token":"t","version":1}`)
	for _, tc := range []struct {
		name string
		body []byte
		h    map[string]string
	}{
		{"unsigned", body, nil},
		{"no timestamp", body, map[string]string{"X-Signature-Ed25519": signed(priv, now, body)["X-Signature-Ed25519"]}},
		{"signed by another key", body, signed(other, now, body)},
		{"tampered body", tampered, signed(priv, now, body)},
		{"not hex", body, map[string]string{"X-Signature-Timestamp": "1", "X-Signature-Ed25519": "zz"}},
		{"stale", body, signed(priv, now.Add(-SignatureWindow-time.Minute), body)},
		{"from the future", body, signed(priv, now.Add(SignatureWindow+time.Minute), body)},
	} {
		if status, _ := post(t, url, tc.body, tc.h); status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", tc.name, status)
		}
	}
	fresh := signed(priv, now, pingBody)
	if status, resp := post(t, url, pingBody, fresh); status != 200 || resp != `{"type":1}` {
		t.Errorf("a fresh signed PING: %d %s", status, resp)
	}
	if status, _ := post(t, url, pingBody, fresh); status != http.StatusUnauthorized {
		t.Errorf("the same signed request again: %d, want 401 (a replay)", status)
	}
	if status, _ := post(t, url, bytes.Repeat([]byte(" "), maxInteractionBody+1), nil); status != http.StatusRequestEntityTooLarge {
		t.Errorf("an oversized body: %d, want 413", status)
	}
	if status, _ := post(t, strings.TrimSuffix(url, InteractionsPath)+"/other", pingBody, fresh); status != http.StatusNotFound {
		t.Errorf("another path: %d, want 404", status)
	}
	if resp, err := http.Get(url); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v, want 405", resp, err)
	} else {
		resp.Body.Close()
	}
	if n := handled.Load(); n != calls {
		t.Errorf("%d refused requests reached the handler", n-calls)
	}
	if !strings.Contains(logs.String(), "refused an HTTP interaction") {
		t.Error("no refusal logged")
	}

	if err := stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if b.Connected() {
		t.Error("Connected after Run")
	}
	if code, _ := restCode(<-late); code != discordgo.ErrCodeUnknownInteraction {
		t.Errorf("an answer after the HTTP request ended: code %d, want 10062", code)
	}
	waitGoroutines(t, before)
	assertNoSecrets(t, logs.String(), testBotToken, hello.Token, render.Token, boom.Token, slow.Token)
}

func restCode(err error) (int, int) {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Message == nil || re.Response == nil {
		return 0, 0
	}
	return re.Message.Code, re.Response.StatusCode
}

// TestHTTPInteractionsNeedsItsParts: HTTP mode without a public key or with a handler that cannot
// take HTTP interactions is refused by New; a refused token stops Run before anything listens.
func TestHTTPInteractionsNeedsItsParts(t *testing.T) {
	pub, _ := newKey(t)
	if _, err := New(Config{Token: "x", InteractionsAddr: "127.0.0.1:0"}, nopHandler); err == nil {
		t.Error("New accepted HTTP interactions without a public key")
	}
	if _, err := New(Config{Token: "x", InteractionsAddr: "127.0.0.1:0", PublicKey: pub}, nopHandler); err == nil {
		t.Error("New accepted a handler that is not an HTTPHandler")
	}
	fake, base := startDiscord(t)
	log, _ := testLogger()
	b, err := New(Config{Token: "wrong-token-for-http-mode", APIURL: base, Logger: log, InteractionsAddr: "127.0.0.1:0", PublicKey: pub},
		bothHandler{handlerFunc: nopHandler, http: func(context.Context, *InlineSession, *discordgo.Interaction, RawInteraction) {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(t.Context()); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Run = %v, want ErrUnauthorized", err)
	}
	if b.InteractionsAddr() != "" || len(fake.Find(http.MethodGet, "/oauth2/applications/@me")) != 0 {
		t.Error("HTTP mode went on after a refused token")
	}
}
