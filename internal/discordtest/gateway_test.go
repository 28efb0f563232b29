package discordtest

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// identified dials the gateway and identifies; it returns the client after
// READY and the GUILD_CREATEs.
func identified(t testing.TB, fake *Server, base string) *wsClient {
	t.Helper()
	c := dialGateway(t, base, "v=10&encoding=json")
	if p := c.read(); p.Op != opHello {
		t.Fatalf("first payload op %d, want HELLO", p.Op)
	}
	c.write(opIdentify, identifyPayload(testToken))
	if p := c.read(); p.T == nil || *p.T != "READY" {
		t.Fatalf("after IDENTIFY got %+v, want READY", p)
	}
	for range fake.Guilds() {
		if p := c.read(); *p.T != "GUILD_CREATE" {
			t.Fatalf("got %s, want GUILD_CREATE", *p.T)
		}
	}
	return c
}

func TestGatewayHandshakeAndDispatch(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithHeartbeatInterval(1234*time.Millisecond), WithGuild("210000000000000001"),
		WithGuild("220000000000000001"), WithLenientCommands())
	c := dialGateway(t, base, "v=9&encoding=json")

	hello := c.read()
	var hd struct {
		Interval int64 `json:"heartbeat_interval"`
	}
	_ = json.Unmarshal(hello.D, &hd)
	if hello.Op != opHello || hd.Interval != 1234 || hello.S != nil || hello.T != nil {
		t.Fatalf("HELLO = %+v (%s)", hello, hello.D)
	}
	c.write(opHeartbeat, nil)
	if p := c.read(); p.Op != opHeartbeatAck {
		t.Fatalf("heartbeat answered with op %d", p.Op)
	}
	c.write(opIdentify, identifyPayload("Bot "+testToken))
	ready := c.read()
	var rd struct {
		V                int              `json:"v"`
		User             map[string]any   `json:"user"`
		Guilds           []map[string]any `json:"guilds"`
		SessionID        string           `json:"session_id"`
		ResumeGatewayURL string           `json:"resume_gateway_url"`
		Application      map[string]any   `json:"application"`
		Shard            []int            `json:"shard"`
	}
	if err := json.Unmarshal(ready.D, &rd); err != nil {
		t.Fatal(err)
	}
	if ready.Op != opDispatch || *ready.T != "READY" || *ready.S != 1 || rd.V != 9 || rd.User["id"] != DefaultAppID ||
		rd.User["bot"] != true || len(rd.Guilds) != 2 || rd.Guilds[0]["unavailable"] != true || rd.SessionID == "" ||
		rd.ResumeGatewayURL != "ws"+base[len("http"):]+"/gateway" || rd.Application["id"] != DefaultAppID {
		t.Fatalf("READY = %+v %s", ready, ready.D)
	}
	for i, want := range []string{"210000000000000001", "220000000000000001"} {
		p := c.read()
		var g map[string]any
		_ = json.Unmarshal(p.D, &g)
		if *p.T != "GUILD_CREATE" || *p.S != int64(i+2) || g["id"] != want || g["unavailable"] != false {
			t.Fatalf("guild create %d = %s %s", i, *p.T, p.D)
		}
		if chans, _ := g["channels"].([]any); len(chans) != 1 {
			t.Errorf("guild %s channels = %v", want, g["channels"])
		}
	}
	if err := fake.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}

	in, err := fake.SendCommand(t.Context(), SlashCommand{Name: "render", Options: map[string]any{"scene": "x", "fast": false},
		AppPermissions: "2048", GuildID: "220000000000000001"})
	if err != nil {
		t.Fatalf("SendCommand: %v", err)
	}
	p := c.read()
	if *p.T != "INTERACTION_CREATE" || *p.S != 4 || !bytes.Equal(p.D, in.Payload) {
		t.Fatalf("dispatch = %s #%d", *p.T, *p.S)
	}
	var d map[string]any
	_ = json.Unmarshal(p.D, &d)
	for _, k := range []string{"id", "application_id", "type", "data", "guild_id", "channel_id", "channel", "member",
		"token", "version", "app_permissions", "locale", "guild_locale", "entitlements", "authorizing_integration_owners", "context"} {
		if _, ok := d[k]; !ok {
			t.Errorf("interaction lacks %q", k)
		}
	}
	if _, ok := d["attachment_size_limit"]; ok {
		t.Error("attachment_size_limit sent although not set")
	}
	if d["app_permissions"] != "2048" || d["guild_id"] != "220000000000000001" || d["type"] != 2.0 || d["version"] != 1.0 {
		t.Errorf("interaction = %s", p.D)
	}
	member, _ := d["member"].(map[string]any)
	if _, ok := member["permissions"].(string); !ok {
		t.Errorf("member.permissions = %v, want a string", member["permissions"])
	}
	data, _ := d["data"].(map[string]any)
	opts, _ := data["options"].([]any)
	if data["name"] != "render" || data["type"] != 1.0 || len(opts) != 2 {
		t.Errorf("data = %v", data)
	}
	if in.GuildID != "220000000000000001" || in.ChannelID != fake.DefaultChannel("220000000000000001") || in.UserID != DefaultUserID {
		t.Errorf("interaction = %+v", in)
	}
}

func TestGatewayPayloadCompression(t *testing.T) {
	t.Parallel()
	_, base := startFake(t)
	c := dialGateway(t, base, "v=9&encoding=json")
	c.read()
	id := identifyPayload(testToken)
	id["compress"] = true
	c.write(opIdentify, id)
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	mt, msg, err := c.conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if mt != websocket.BinaryMessage {
		t.Fatalf("READY sent as message type %d, want binary (zlib)", mt)
	}
	zr, err := zlib.NewReader(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("zlib: %v", err)
	}
	var p gwPayload
	if err := json.NewDecoder(zr).Decode(&p); err != nil || *p.T != "READY" {
		t.Fatalf("decoded %+v, %v", p, err)
	}
}

func TestGatewayZlibStream(t *testing.T) {
	t.Parallel()
	_, base := startFake(t)
	c := dialGateway(t, base, "v=10&encoding=json&compress=zlib-stream")
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	go func() {
		for {
			mt, msg, err := c.conn.ReadMessage()
			if err != nil || mt != websocket.BinaryMessage {
				_ = pw.CloseWithError(errors.New("not a binary frame"))
				return
			}
			if _, err := pw.Write(msg); err != nil {
				return
			}
		}
	}()
	zr, err := zlib.NewReader(pr)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(zr)
	var p gwPayload
	if err := dec.Decode(&p); err != nil || p.Op != opHello {
		t.Fatalf("HELLO: %+v %v", p, err)
	}
	c.write(opHeartbeat, nil)
	if err := dec.Decode(&p); err != nil || p.Op != opHeartbeatAck {
		t.Fatalf("ACK: %+v %v", p, err)
	}
}

func TestGatewayResumeIsRefused(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t)
	first := identified(t, fake, base)
	_ = first.conn.Close()

	c := dialGateway(t, base, "v=9&encoding=json")
	c.read()
	c.write(opResume, map[string]any{"token": testToken, "session_id": "abc", "seq": 3})
	p := c.read()
	if p.Op != opInvalidSession || string(p.D) != "false" {
		t.Fatalf("RESUME answered with %+v %s, want op 9 false", p, p.D)
	}
	c.write(opIdentify, identifyPayload(testToken))
	if p := c.read(); *p.T != "READY" {
		t.Fatalf("IDENTIFY after INVALID_SESSION got %s", *p.T)
	}
	if err := fake.WaitSessions(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
}

func TestGatewayCloseCodes(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithPrivilegedIntents(1<<15))
	withIntents := func(n int64) map[string]any {
		p := identifyPayload(testToken)
		p["intents"] = n
		return p
	}
	noIntents := identifyPayload(testToken)
	delete(noIntents, "intents")
	badShard := identifyPayload(testToken)
	badShard["shard"] = []int{1, 1}
	tests := []struct {
		name  string
		query string
		send  []any // raw frames, each marshalled
		code  int
	}{
		{"wrong token", "v=9", []any{map[string]any{"op": 2, "d": identifyPayload("nope")}}, CloseAuthenticationFailed},
		{"unknown opcode", "v=9", []any{map[string]any{"op": 99}}, CloseUnknownOpcode},
		{"not json", "v=9", []any{"{"}, CloseDecodeError},
		{"presence before identify", "v=9", []any{map[string]any{"op": 3, "d": map[string]any{}}}, CloseNotAuthenticated},
		{"identify twice", "v=9", []any{map[string]any{"op": 2, "d": identifyPayload(testToken)}, map[string]any{"op": 2, "d": identifyPayload(testToken)}}, CloseAlreadyAuthenticated},
		{"members intent not granted", "v=9", []any{map[string]any{"op": 2, "d": withIntents(1 << 1)}}, CloseDisallowedIntents},
		{"no intents", "v=9", []any{map[string]any{"op": 2, "d": noIntents}}, CloseInvalidIntents},
		{"bad shard", "v=9", []any{map[string]any{"op": 2, "d": badShard}}, CloseInvalidShard},
		{"bad version", "v=3", nil, CloseInvalidAPIVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialGateway(t, base, tt.query)
			if tt.code != CloseInvalidAPIVersion {
				c.read()
			}
			for _, f := range tt.send {
				var b []byte
				if s, ok := f.(string); ok {
					b = []byte(s)
				} else {
					b, _ = json.Marshal(f)
				}
				if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
					t.Fatal(err)
				}
			}
			err := c.readErr()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != tt.code {
				t.Errorf("connection ended with %v, want close %d", err, tt.code)
			}
		})
	}
	// MESSAGE_CONTENT was granted: accepted.
	c := dialGateway(t, base, "v=9")
	c.read()
	c.write(opIdentify, withIntents(1<<15|1))
	if p := c.read(); *p.T != "READY" {
		t.Errorf("granted privileged intent: got %s", *p.T)
	}
	if got := fake.Sessions(); got != 2 {
		t.Errorf("Sessions = %d, want 2 (identify twice, granted intent)", got)
	}
}

func TestSendNeedsGateway(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithLenientCommands())
	if _, err := fake.SendCommand(t.Context(), SlashCommand{Name: "x"}); !errors.Is(err, ErrNoGateway) {
		t.Fatalf("before connecting: %v, want ErrNoGateway", err)
	}
	c := identified(t, fake, base)
	if err := fake.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	in, err := fake.SendCommand(t.Context(), SlashCommand{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	c.read()
	if err := fake.Redeliver(t.Context(), in.ID); err != nil {
		t.Fatal(err)
	}
	if p := c.read(); !bytes.Equal(p.D, in.Payload) || *p.S != 4 {
		t.Errorf("redelivered %s #%d", p.D, *p.S)
	}
	_ = c.conn.Close()
	waitFor(t, fake, "disconnect", func() bool { return fake.readyConn() == nil })
	if _, err := fake.SendCommand(t.Context(), SlashCommand{Name: "x"}); !errors.Is(err, ErrNoGateway) {
		t.Fatalf("after disconnect: %v, want ErrNoGateway", err)
	}
	if _, ok := fake.Interaction(in.ID); !ok {
		t.Error("delivered interaction forgotten")
	}
}

func TestSendCommandsDispatchesABurstInOrder(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithLenientCommands())
	c := identified(t, fake, base)
	if err := fake.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	users := []string{"300000000000000001", "300000000000000002", "300000000000000003"}
	var cmds []SlashCommand
	for _, u := range users {
		cmds = append(cmds, SlashCommand{Name: "render", UserID: u})
	}
	is, err := fake.SendCommands(t.Context(), cmds)
	if err != nil || len(is) != len(users) {
		t.Fatalf("SendCommands = %d interactions, %v", len(is), err)
	}
	var seq int64
	for k, in := range is {
		p := c.read()
		if *p.T != "INTERACTION_CREATE" || !bytes.Equal(p.D, in.Payload) || in.UserID != users[k] {
			t.Fatalf("event %d = %s %s, want interaction %s of %s", k, *p.T, p.D, in.ID, users[k])
		}
		if k > 0 && *p.S != seq+1 {
			t.Errorf("event %d has sequence %d after %d", k, *p.S, seq)
		}
		seq = *p.S
		if !slices.Contains(fake.Tokens(), in.Token) {
			t.Errorf("Tokens() lacks interaction %d's token", k)
		}
		got, ok := fake.Interaction(in.ID)
		if !ok || got.DispatchedAt.IsZero() || (k > 0 && got.DispatchedAt.Before(is[k-1].DispatchedAt)) {
			t.Errorf("interaction %d dispatched at %v (previous %v)", k, got.DispatchedAt, is[max(k-1, 0)].DispatchedAt)
		}
	}

	// One command that cannot be built: nothing of the burst is sent or kept.
	known := func() int {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		return len(fake.interactions)
	}
	before := known()
	if _, err := fake.SendCommands(t.Context(), []SlashCommand{{Name: "render"}, {Name: ""}}); err == nil {
		t.Fatal("a burst with an unnamed command was accepted")
	}
	if n := known(); n != before {
		t.Errorf("a refused burst left %d interactions registered", n-before)
	}
	in, err := fake.SendCommand(t.Context(), SlashCommand{Name: "render"})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.read(); *p.S != seq+1 || !bytes.Equal(p.D, in.Payload) {
		t.Fatalf("after a refused burst got event #%d %s, want #%d %s", *p.S, p.D, seq+1, in.Payload)
	}
}

// wantDropped checks that the connection ended without a close frame (gorilla reports 1006).
func wantDropped(t testing.TB, err error) {
	t.Helper()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseAbnormalClosure {
		t.Errorf("read error %v, want the connection cut without a close frame (1006)", err)
	}
}

func TestGatewayFaults(t *testing.T) {
	t.Parallel()
	t.Run("down", func(t *testing.T) {
		fake, base := startFake(t)
		fake.SetGatewayFault(GatewayDown)
		for _, p := range []string{"/api/v9/gateway", "/api/v9/gateway/bot"} {
			status, _, body := call(t, base, "GET", p, nil, "-")
			wantError(t, status, body, 503, 0)
		}
		u := "ws" + strings.TrimPrefix(base, "http") + "/gateway/?v=10&encoding=json"
		conn, resp, err := websocket.DefaultDialer.DialContext(t.Context(), u, nil)
		if err == nil {
			conn.Close()
			t.Fatal("the handshake succeeded while the gateway is down")
		}
		if resp == nil || resp.StatusCode != 503 {
			t.Errorf("handshake answer %v, want 503", resp)
		}
		if n := fake.GatewayAttempts(); n != 1 {
			t.Errorf("GatewayAttempts = %d, want 1", n)
		}
		fake.SetGatewayFault(GatewayUp)
		if status, _, _ := call(t, base, "GET", "/api/v9/gateway", nil, "-"); status != 200 {
			t.Errorf("discovery after the fault = %d", status)
		}
		identified(t, fake, base)
		if n := fake.GatewayAttempts(); n != 2 || fake.Sessions() != 1 {
			t.Errorf("GatewayAttempts = %d, Sessions = %d; want 2 and 1", n, fake.Sessions())
		}
	})
	t.Run("drop", func(t *testing.T) {
		fake, base := startFake(t, WithGatewayFault(GatewayDrop))
		c := dialGateway(t, base, "v=10&encoding=json")
		wantDropped(t, c.readErr())
		if fake.GatewayAttempts() != 1 || fake.Sessions() != 0 {
			t.Errorf("GatewayAttempts = %d, Sessions = %d", fake.GatewayAttempts(), fake.Sessions())
		}
	})
	t.Run("no HELLO", func(t *testing.T) {
		fake, base := startFake(t, WithGatewayFault(GatewayNoHello))
		c := dialGateway(t, base, "v=10&encoding=json")
		c.write(opIdentify, identifyPayload(testToken))
		c.write(opHeartbeat, nil)
		// Nothing comes back: the read runs into its deadline with the connection still open.
		_ = c.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, b, err := c.conn.ReadMessage()
		var ne interface{ Timeout() bool }
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read = %q, %v; want nothing until the deadline", b, err)
		}
		if fake.Sessions() != 0 || fake.readyConn() != nil {
			t.Error("an IDENTIFY was answered without HELLO")
		}
	})
	t.Run("connections cut", func(t *testing.T) {
		fake, base := startFake(t, WithLenientCommands())
		c := identified(t, fake, base)
		waitFor(t, fake, "ready", func() bool { return fake.readyConn() != nil })
		if n := fake.DropConnections(); n != 1 {
			t.Errorf("DropConnections = %d, want 1", n)
		}
		wantDropped(t, c.readErr())
		waitFor(t, fake, "the connection forgotten", func() bool { return fake.readyConn() == nil })
		if _, err := fake.SendCommand(t.Context(), SlashCommand{Name: "x"}); !errors.Is(err, ErrNoGateway) {
			t.Errorf("SendCommand after the cut = %v, want ErrNoGateway", err)
		}
	})
}
