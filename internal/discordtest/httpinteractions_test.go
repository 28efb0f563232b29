package discordtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// endpoint is an interactions endpoint written the way Discord's documentation describes it: it
// verifies the signature with the public key, answers PING with PONG and commands with what answer
// says.
type endpoint struct {
	t      *testing.T
	pub    ed25519.PublicKey
	answer func(w http.ResponseWriter, typ int, id, token string)

	mu       sync.Mutex
	verified []bool
	stamps   []string
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sig, _ := hex.DecodeString(r.Header.Get("X-Signature-Ed25519"))
	ts := r.Header.Get("X-Signature-Timestamp")
	ok := ed25519.Verify(e.pub, append([]byte(ts), body...), sig)
	e.mu.Lock()
	e.verified = append(e.verified, ok)
	e.stamps = append(e.stamps, ts)
	e.mu.Unlock()
	if !ok || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var in struct {
		ID    string `json:"id"`
		Type  int    `json:"type"`
		Token string `json:"token"`
	}
	_ = json.Unmarshal(body, &in)
	if in.Type == InteractionPing {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":1}`))
		return
	}
	e.answer(w, in.Type, in.ID, in.Token)
}

func writeCallback(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// TestHTTPInteractionDelivery: with an endpoint set, interactions are POSTed there signed (the
// application's verify_key checks them), not dispatched on the gateway; the HTTP answer is the
// callback (PONG, a message, a deferral), checked as the callback endpoint checks it; the token works
// right after the answer (a webhook call made while the answer is on its way waits for it); a 202
// leaves the callback endpoint to the app; a refused or missing answer fails the interaction.
func TestHTTPInteractionDelivery(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithLenientCommands())
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	editDone := make(chan int, 1)
	ep := &endpoint{t: t, pub: pub}
	ep.answer = func(w http.ResponseWriter, typ int, id, token string) {
		var in struct {
			Data struct {
				Name string `json:"name"`
			} `json:"data"`
		}
		st, _ := fake.Interaction(id)
		_ = json.Unmarshal(st.Payload, &in)
		switch in.Data.Name {
		case "hello":
			writeCallback(w, map[string]any{"type": 4, "data": map[string]any{"content": "hi", "flags": 64}})
		case "defer":
			// An edit sent before the answer is even written: the fake holds it until the answer was taken.
			go func() {
				req, _ := http.NewRequest(http.MethodPatch, base+"/api/v10/webhooks/"+fake.AppID()+"/"+token+"/messages/@original",
					bytes.NewReader([]byte(`{"content":"edited"}`)))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					editDone <- 0
					return
				}
				resp.Body.Close()
				editDone <- resp.StatusCode
			}()
			writeCallback(w, map[string]any{"type": 5})
		case "later":
			w.WriteHeader(http.StatusAccepted)
		case "bad":
			writeCallback(w, map[string]any{"type": 8}) // autocomplete choices for a command
		case "refuse":
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	ctx := t.Context()

	if _, err := fake.SendPing(ctx); err == nil {
		t.Error("SendPing without an endpoint")
	}
	fake.SetInteractionsEndpoint(srv.URL+"/interactions", priv)
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v10/oauth2/applications/@me", nil)
	req.Header.Set("Authorization", "Bot "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var app struct {
		VerifyKey string `json:"verify_key"`
		Endpoint  string `json:"interactions_endpoint_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&app)
	resp.Body.Close()
	if app.VerifyKey != hex.EncodeToString(pub) || app.Endpoint != srv.URL+"/interactions" {
		t.Errorf("application %+v, want the endpoint and its key's public half", app)
	}

	ping, err := fake.SendPing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ping.HTTPStatus != 200 || fake.Acknowledged(ping.ID) != 1 {
		t.Errorf("ping: %d, acknowledged %d", ping.HTTPStatus, fake.Acknowledged(ping.ID))
	}

	hello, err := fake.SendCommand(ctx, SlashCommand{Name: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := fake.Original(hello.ID); !ok || m.Content != "hi" || !m.Ephemeral() || fake.Acknowledged(hello.ID) != 4 {
		t.Errorf("hello: %+v acknowledged %d", m, fake.Acknowledged(hello.ID))
	}
	if cbs := fake.Callbacks(hello.ID); len(cbs) != 1 || cbs[0].Route != "/interactions/"+hello.ID+"/"+hello.Token+"/callback" || cbs[0].Path != "/interactions" {
		t.Errorf("callbacks %+v", cbs)
	}
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && len(r.Route) > 13 && r.Route[:13] == "/interactions" {
			t.Errorf("an inline answer among the bot's requests: %s", r.Route)
		}
	}

	deferred, err := fake.SendCommand(ctx, SlashCommand{Name: "defer"})
	if err != nil {
		t.Fatal(err)
	}
	if code := <-editDone; code != 200 {
		t.Errorf("the edit sent with the answer: %d, want 200", code)
	}
	if m, ok := fake.Original(deferred.ID); !ok || m.Content != "edited" || m.Loading() {
		t.Errorf("deferred message %+v", m)
	}

	later, err := fake.SendCommand(ctx, SlashCommand{Name: "later"})
	if err != nil || later.HTTPStatus != http.StatusAccepted || fake.Acknowledged(later.ID) != 0 {
		t.Fatalf("202: %v %+v", err, later)
	}
	cb, err := http.Post(base+"/api/v10/interactions/"+later.ID+"/"+later.Token+"/callback", "application/json",
		bytes.NewReader([]byte(`{"type":4,"data":{"content":"via the callback"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	cb.Body.Close()
	if cb.StatusCode != http.StatusNoContent || fake.Acknowledged(later.ID) != 4 {
		t.Errorf("callback after a 202: %d, acknowledged %d", cb.StatusCode, fake.Acknowledged(later.ID))
	}

	for _, name := range []string{"bad", "refuse"} {
		i, err := fake.SendCommand(ctx, SlashCommand{Name: name})
		if err == nil || i == nil || fake.Acknowledged(i.ID) != 0 {
			t.Errorf("%s: %v %+v", name, err, i)
			continue
		}
		// The token never worked.
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v10/webhooks/"+fake.AppID()+"/"+i.Token, bytes.NewReader([]byte(`{"content":"x"}`)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: a follow-up after a failed answer: %d, want 404", name, resp.StatusCode)
		}
	}

	ep.mu.Lock()
	defer ep.mu.Unlock()
	for k, ok := range ep.verified {
		if !ok {
			t.Errorf("request %d was not signed with the key", k)
		}
		if ts, err := strconv.ParseInt(ep.stamps[k], 10, 64); err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("request %d timestamp %q", k, ep.stamps[k])
		}
	}
	if fake.GatewayAttempts() != 0 {
		t.Error("gateway used")
	}
}

// TestHTTPInteractionNoAnswer: an endpoint that never answers fails the interaction after the
// acknowledgement deadline, and one that cannot be reached forgets it.
func TestHTTPInteractionNoAnswer(t *testing.T) {
	t.Parallel()
	fake, _ := startFake(t, WithLenientCommands(), WithAckDeadline(200*time.Millisecond))
	_, priv, _ := ed25519.GenerateKey(nil)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	fake.SetInteractionsEndpoint(srv.URL, priv)
	i, err := fake.SendCommand(t.Context(), SlashCommand{Name: "slow"})
	if err == nil || i == nil || fake.Acknowledged(i.ID) != 0 || i.HTTPStatus != 0 {
		t.Errorf("no answer: %v %+v", err, i)
	}
	fake.SetInteractionsEndpoint("http://127.0.0.1:1/interactions", priv)
	if i, err := fake.SendCommand(t.Context(), SlashCommand{Name: "x"}); err == nil || i != nil {
		t.Errorf("unreachable endpoint: %v %+v", err, i)
	}
}

// TestGatewayShards: GET /gateway/bot recommends WithShards' count (max_concurrency 1 by default); a
// connection identified as shard [id, n] hears of its guilds only, a guild's interaction goes to its
// shard (a DM's to shard 0), and DropShard cuts one shard's connection only.
func TestGatewayShards(t *testing.T) {
	t.Parallel()
	// Guild ids whose shard of 2 is known: (id >> 22) % 2.
	g0 := strconv.FormatUint(uint64(1000)<<22|1, 10)
	g1 := strconv.FormatUint(uint64(1001)<<22|1, 10)
	fake, base := startFake(t, WithShards(2), WithLenientCommands(), WithGuild(g0), WithGuild(g1))
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v10/gateway/bot", nil)
	req.Header.Set("Authorization", "Bot "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var gb struct {
		Shards int `json:"shards"`
		Limit  struct {
			MaxConcurrency int `json:"max_concurrency"`
		} `json:"session_start_limit"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&gb)
	resp.Body.Close()
	if gb.Shards != 2 || gb.Limit.MaxConcurrency != 1 {
		t.Errorf("shards %d, max_concurrency %d; want 2 and 1", gb.Shards, gb.Limit.MaxConcurrency)
	}
	if ShardOf(g0, 2) != 0 || ShardOf(g1, 2) != 1 || ShardOf("", 2) != 0 || ShardOf(g1, 1) != 0 {
		t.Fatal("ShardOf")
	}

	shard := func(id int) *wsClient {
		c := dialGateway(t, base, "v=10&encoding=json")
		c.read() // HELLO
		p := identifyPayload(testToken)
		p["shard"] = []int{id, 2}
		c.write(opIdentify, p)
		ready := c.read()
		var rd struct {
			Guilds []map[string]any `json:"guilds"`
			Shard  []int            `json:"shard"`
		}
		_ = json.Unmarshal(ready.D, &rd)
		want := []string{g0, g1}[id]
		if len(rd.Guilds) != 1 || rd.Guilds[0]["id"] != want || len(rd.Shard) != 2 || rd.Shard[0] != id {
			t.Fatalf("shard %d READY %s", id, ready.D)
		}
		var g map[string]any
		if p := c.read(); *p.T != "GUILD_CREATE" || json.Unmarshal(p.D, &g) != nil || g["id"] != want {
			t.Fatalf("shard %d: %s %s", id, *p.T, p.D)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := fake.WaitShardReady(ctx, id, 2); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c0, c1 := shard(0), shard(1)
	for _, tc := range []struct {
		cmd  SlashCommand
		conn *wsClient
	}{
		{SlashCommand{Name: "a", GuildID: g1}, c1},
		{SlashCommand{Name: "b", GuildID: g0}, c0},
		{SlashCommand{Name: "c", DM: true}, c0},
	} {
		in, err := fake.SendCommand(t.Context(), tc.cmd)
		if err != nil {
			t.Fatal(err)
		}
		if p := tc.conn.read(); *p.T != "INTERACTION_CREATE" || !bytes.Equal(p.D, in.Payload) {
			t.Errorf("/%s went elsewhere: %s", tc.cmd.Name, *p.T)
		}
	}
	// DropShard cuts shard 1 only: shard 0 still hears of its guild.
	if n := fake.DropShard(1, 2); n != 1 {
		t.Errorf("DropShard(1, 2) cut %d connections, want 1", n)
	}
	wantDropped(t, c1.readErr())
	waitFor(t, fake, "shard 1 forgotten", func() bool { return fake.readyConnFor(g1) == nil })
	if _, err := fake.SendCommand(t.Context(), SlashCommand{Name: "d", GuildID: g1}); !errors.Is(err, ErrNoGateway) {
		t.Errorf("a command of shard 1's guild after its cut: %v, want ErrNoGateway", err)
	}
	in, err := fake.SendCommand(t.Context(), SlashCommand{Name: "e", GuildID: g0})
	if err != nil {
		t.Fatal(err)
	}
	if p := c0.read(); *p.T != "INTERACTION_CREATE" || !bytes.Equal(p.D, in.Payload) {
		t.Errorf("shard 0 after shard 1's cut: %s", *p.T)
	}
	// A shard beyond the count is refused.
	c := dialGateway(t, base, "v=10&encoding=json")
	c.read()
	p := identifyPayload(testToken)
	p["shard"] = []int{2, 2}
	c.write(opIdentify, p)
	var ce *websocket.CloseError
	if err := c.readErr(); !errors.As(err, &ce) || ce.Code != CloseInvalidShard {
		t.Errorf("shard [2, 2]: %v, want close %d", err, CloseInvalidShard)
	}
}

// TestMaxConcurrency: WithMaxConcurrency is what session_start_limit.max_concurrency says.
func TestMaxConcurrency(t *testing.T) {
	t.Parallel()
	_, base := startFake(t, WithShards(4), WithMaxConcurrency(16))
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v10/gateway/bot", nil)
	req.Header.Set("Authorization", "Bot "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var gb struct {
		Shards int `json:"shards"`
		Limit  struct {
			MaxConcurrency int `json:"max_concurrency"`
		} `json:"session_start_limit"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&gb); err != nil {
		t.Fatal(err)
	}
	if gb.Shards != 4 || gb.Limit.MaxConcurrency != 16 {
		t.Errorf("shards %d, max_concurrency %d; want 4 and 16", gb.Shards, gb.Limit.MaxConcurrency)
	}
}
