package bot

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// miniDiscord is this package's own small Discord: the REST routes Run uses and a gateway that says
// HELLO, answers IDENTIFY with READY, acknowledges heartbeats, refuses RESUME with INVALID_SESSION
// and dispatches INTERACTION_CREATE on demand. (internal/discordtest is the project's full fake.)
type miniDiscord struct {
	t     testing.TB
	srv   *httptest.Server
	token string
	appID string

	// hangGateway: accept the websocket but never say HELLO.
	hangGateway bool
	// gatewayDown: gateway discovery and the websocket answer 503.
	gatewayDown atomic.Bool

	mu        sync.Mutex
	requests  []string // "METHOD /path"
	commands  map[string][]byte
	callbacks []recorded
	acked     map[string]bool
	followups []recorded
	conn      *websocket.Conn // current gateway connection
	connMu    sync.Mutex      // serialises writes to conn
	seq       int64
	readies   int
	changed   chan struct{} // closed and replaced whenever state changes
}

type recorded struct {
	Path string
	Body map[string]any
}

func newMiniDiscord(t testing.TB, token, appID string) *miniDiscord {
	t.Helper()
	m := &miniDiscord{t: t, token: token, appID: appID, commands: map[string][]byte{}, acked: map[string]bool{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v9/users/@me", m.auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": m.appID, "username": "viggle", "bot": true})
	}))
	mux.HandleFunc("GET /api/v9/gateway", func(w http.ResponseWriter, r *http.Request) {
		if m.gatewayDown.Load() {
			writeJSON(w, 503, map[string]any{"message": "upstream connect error", "code": 0})
			return
		}
		writeJSON(w, 200, map[string]any{"url": "ws" + strings.TrimPrefix(m.srv.URL, "http") + "/gw"})
	})
	mux.HandleFunc("PUT /api/v9/applications/{app}/commands", m.auth(m.putCommands))
	mux.HandleFunc("PUT /api/v9/applications/{app}/guilds/{guild}/commands", m.auth(m.putCommands))
	mux.HandleFunc("POST /api/v9/interactions/{id}/{token}/callback", func(w http.ResponseWriter, r *http.Request) {
		m.record(&m.callbacks, r)
		m.mu.Lock()
		again := m.acked[r.PathValue("id")]
		m.acked[r.PathValue("id")] = true
		m.mu.Unlock()
		if again {
			writeJSON(w, 400, map[string]any{"message": "Interaction has already been acknowledged.", "code": 40060})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/v9/webhooks/{app}/{token}", func(w http.ResponseWriter, r *http.Request) {
		m.record(&m.followups, r)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /gw/", m.gateway) // discordgo adds the trailing slash
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.requests = append(m.requests, r.Method+" "+r.URL.Path)
		m.notify()
		m.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (m *miniDiscord) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bot "+m.token {
			writeJSON(w, 401, map[string]any{"message": "401: Unauthorized", "code": 0})
			return
		}
		next(w, r)
	}
}

func (m *miniDiscord) notify() {
	close(m.changed)
	m.changed = make(chan struct{})
}

func (m *miniDiscord) putCommands(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var cmds []map[string]any
	if err := json.Unmarshal(body, &cmds); err != nil {
		writeJSON(w, 400, map[string]any{"message": "Invalid Form Body", "code": 50035})
		return
	}
	for i, c := range cmds {
		c["id"] = "9000" + string(rune('0'+i))
		c["application_id"] = m.appID
	}
	m.mu.Lock()
	m.commands[r.URL.Path] = body
	m.notify()
	m.mu.Unlock()
	writeJSON(w, 200, cmds)
}

func (m *miniDiscord) record(list *[]recorded, r *http.Request) {
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	m.mu.Lock()
	*list = append(*list, recorded{Path: r.URL.Path, Body: body})
	m.notify()
	m.mu.Unlock()
}

// waitFor waits until cond (called with m.mu held) is true.
func (m *miniDiscord) waitFor(ctx context.Context, what string, cond func() bool) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		m.mu.Lock()
		ok := cond()
		ch := m.changed
		m.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			m.t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

func (m *miniDiscord) write(c *websocket.Conn, v any) error {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	return c.WriteJSON(v)
}

func (m *miniDiscord) gateway(w http.ResponseWriter, r *http.Request) {
	if m.gatewayDown.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	up := websocket.Upgrader{}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	if m.hangGateway {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}
	m.mu.Lock()
	m.conn = c
	m.mu.Unlock()
	if m.write(c, map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 45000}}) != nil {
		return
	}
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if json.Unmarshal(msg, &p) != nil {
			return
		}
		switch p.Op {
		case 1:
			m.write(c, map[string]any{"op": 11})
		case 2:
			var id struct {
				Token   string `json:"token"`
				Intents int    `json:"intents"`
			}
			json.Unmarshal(p.D, &id)
			if id.Token != "Bot "+m.token {
				c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."))
				return
			}
			m.mu.Lock()
			m.seq++
			seq := m.seq
			m.mu.Unlock()
			m.write(c, map[string]any{"op": 0, "t": "READY", "s": seq, "d": map[string]any{
				"v": 9, "session_id": "sess-1",
				"user":        map[string]any{"id": m.appID, "username": "viggle", "bot": true},
				"application": map[string]any{"id": m.appID, "flags": 0},
				"guilds":      []any{},
			}})
			m.mu.Lock()
			m.readies++
			m.notify()
			m.mu.Unlock()
		case 6:
			m.write(c, map[string]any{"op": 9, "d": false})
		}
	}
}

// dropConnection closes the current gateway connection from the server side.
func (m *miniDiscord) dropConnection() {
	m.mu.Lock()
	c := m.conn
	m.conn = nil
	m.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// sendInteraction dispatches an INTERACTION_CREATE for a slash command on the current connection.
// A negative limit leaves attachment_size_limit out.
func (m *miniDiscord) sendInteraction(id, token, name string, limit int64) {
	m.t.Helper()
	d := map[string]any{
		"id": id, "application_id": m.appID, "type": 2, "token": token, "version": 1,
		"guild_id": "guild-1", "channel_id": "chan-1",
		"member": map[string]any{"user": map[string]any{"id": "user-1", "username": "alice"}, "roles": []any{}},
		"data":   map[string]any{"id": "cmd-1", "name": name, "type": 1},
	}
	if limit >= 0 {
		d["attachment_size_limit"] = limit
	}
	m.mu.Lock()
	c := m.conn
	m.seq++
	seq := m.seq
	m.mu.Unlock()
	if c == nil {
		m.t.Fatal("sendInteraction: no gateway connection")
	}
	if err := m.write(c, map[string]any{"op": 0, "t": "INTERACTION_CREATE", "s": seq, "d": d}); err != nil {
		m.t.Fatalf("sendInteraction: %v", err)
	}
}

func (m *miniDiscord) requestCount(prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}
