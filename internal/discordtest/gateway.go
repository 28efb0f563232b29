package discordtest

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opPresenceUpdate = 3
	opVoiceState     = 4
	opResume         = 6
	opRequestMembers = 8
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatAck   = 11
	opSoundboard     = 31
)

// Gateway close codes the fake uses.
const (
	CloseUnknownError         = 4000
	CloseUnknownOpcode        = 4001
	CloseDecodeError          = 4002
	CloseNotAuthenticated     = 4003
	CloseAuthenticationFailed = 4004
	CloseAlreadyAuthenticated = 4005
	CloseInvalidShard         = 4010
	CloseInvalidAPIVersion    = 4012
	CloseInvalidIntents       = 4013
	CloseDisallowedIntents    = 4014
)

// privilegedIntents are GUILD_MEMBERS, GUILD_PRESENCES and MESSAGE_CONTENT.
const privilegedIntents = 1<<1 | 1<<8 | 1<<15

// writeTimeout bounds every gateway write.
const writeTimeout = 5 * time.Second

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// gwConn is one gateway connection.
type gwConn struct {
	ws      *websocket.Conn
	host    string
	version int

	wmu      sync.Mutex // serializes writes and orders sequence numbers
	seq      int64
	compress bool          // payload compression asked for in IDENTIFY
	zw       *zlib.Writer  // transport compression (compress=zlib-stream)
	zbuf     *bytes.Buffer // output of zw

	// guarded by Server.mu
	identified bool
	ready      bool
	closed     bool
	sessionID  string
	shard      [2]int // [shard_id, num_shards] from IDENTIFY ([0, 1] without a shard field)
}

// GatewayFault is a way the gateway fails new connections (see SetGatewayFault).
type GatewayFault int

// Gateway faults.
const (
	// GatewayUp is the working gateway (the default).
	GatewayUp GatewayFault = iota
	// GatewayDown: the gateway is unreachable behind Discord's edge. Discovery (GET /gateway and
	// /gateway/bot) answers 503, and the websocket handshake is refused with 503.
	GatewayDown
	// GatewayDrop: the websocket handshake succeeds, then the connection is cut at once, without HELLO
	// or a close frame, as a network failure does.
	GatewayDrop
	// GatewayNoHello: the websocket opens but the gateway never says HELLO; what the client sends is
	// read and ignored until it gives up.
	GatewayNoHello
)

// WithGatewayFault starts the fake with a gateway fault in force (see SetGatewayFault).
func WithGatewayFault(f GatewayFault) Option {
	return func(s *Server) { s.gatewayFault = f }
}

// SetGatewayFault makes the gateway fail every new connection (and discovery, for GatewayDown) in the
// way f says, until it is set back to GatewayUp. Connections already open are left alone: cut them
// with DropConnections or Disconnect.
func (s *Server) SetGatewayFault(f GatewayFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gatewayFault = f
	s.notifyLocked()
}

// GatewayAttempts returns how many websocket connections to the gateway were attempted, whether
// they were accepted or refused (gateway discovery is a REST request: see Find).
func (s *Server) GatewayAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gwAttempts
}

// gatewayDownLocked reports whether discovery and handshakes are refused.
func (s *Server) gatewayDownLocked() bool { return s.gatewayFault == GatewayDown }

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.gwAttempts++
	fault := s.gatewayFault
	s.notifyLocked()
	s.mu.Unlock()
	if fault == GatewayDown {
		http.Error(w, "upstream connect error or disconnect/reset before headers", http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	if enc := q.Get("encoding"); enc != "" && enc != "json" {
		http.Error(w, "discordtest: only encoding=json is supported", http.StatusBadRequest)
		return
	}
	if cmp := q.Get("compress"); cmp != "" && cmp != "zlib-stream" {
		http.Error(w, "discordtest: only compress=zlib-stream is supported", http.StatusBadRequest)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 16)
	c := &gwConn{ws: ws, host: strings.TrimPrefix(originOf(r), "http://"), version: 10}
	if q.Get("compress") == "zlib-stream" {
		c.zbuf = &bytes.Buffer{}
		c.zw = zlib.NewWriter(c.zbuf)
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer s.dropConn(c)
	switch fault {
	case GatewayDrop:
		return // dropConn closes the connection without a close frame
	case GatewayNoHello:
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}

	if v := q.Get("v"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 6 || n > 10 {
			c.closeWith(CloseInvalidAPIVersion, "Invalid API version.")
			return
		}
		c.version = n
	}
	hello := map[string]any{"op": opHello, "d": map[string]any{"heartbeat_interval": s.heartbeat.Milliseconds()}, "s": nil, "t": nil}
	if c.send(hello) != nil {
		return
	}
	s.readLoop(c)
}

// readLoop handles what the client sends until the connection ends.
func (s *Server) readLoop(c *gwConn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var p struct {
			Op *int            `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if json.Unmarshal(data, &p) != nil || p.Op == nil {
			c.closeWith(CloseDecodeError, "Error while decoding payload.")
			return
		}
		s.mu.Lock()
		identified := c.identified
		s.mu.Unlock()
		switch *p.Op {
		case opHeartbeat:
			if c.send(map[string]any{"op": opHeartbeatAck, "d": nil, "s": nil, "t": nil}) != nil {
				return
			}
		case opIdentify:
			if !s.identify(c, p.D) {
				return
			}
		case opResume:
			var d struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(p.D, &d)
			if !s.validToken(d.Token) {
				c.closeWith(CloseAuthenticationFailed, "Authentication failed.")
				return
			}
			// The fake keeps no sessions to resume: the client must identify again.
			if c.send(map[string]any{"op": opInvalidSession, "d": false, "s": nil, "t": nil}) != nil {
				return
			}
		case opPresenceUpdate, opVoiceState, opRequestMembers, opSoundboard:
			if !identified {
				c.closeWith(CloseNotAuthenticated, "Not authenticated.")
				return
			}
		default:
			c.closeWith(CloseUnknownOpcode, "Unknown opcode.")
			return
		}
	}
}

// identify handles op 2; it reports false when the connection was closed.
func (s *Server) identify(c *gwConn, raw json.RawMessage) bool {
	var d struct {
		Token    string `json:"token"`
		Compress bool   `json:"compress"`
		Shard    []int  `json:"shard"`
		Intents  *int64 `json:"intents"`
	}
	if json.Unmarshal(raw, &d) != nil {
		c.closeWith(CloseDecodeError, "Error while decoding payload.")
		return false
	}
	s.mu.Lock()
	already := c.identified
	s.mu.Unlock()
	switch {
	case already:
		c.closeWith(CloseAlreadyAuthenticated, "Already authenticated.")
		return false
	case !s.validToken(d.Token):
		c.closeWith(CloseAuthenticationFailed, "Authentication failed.")
		return false
	case d.Intents == nil || *d.Intents < 0:
		c.closeWith(CloseInvalidIntents, "Invalid intent(s).")
		return false
	case *d.Intents&privilegedIntents&^s.grantedIntents != 0:
		c.closeWith(CloseDisallowedIntents, "Disallowed intent(s).")
		return false
	case d.Shard != nil && (len(d.Shard) != 2 || d.Shard[1] < 1 || d.Shard[0] < 0 || d.Shard[0] >= d.Shard[1]):
		c.closeWith(CloseInvalidShard, "Invalid shard.")
		return false
	}
	shard := []int{0, 1}
	if d.Shard != nil {
		shard = d.Shard
	}

	s.mu.Lock()
	s.sessions++
	c.identified = true
	c.sessionID = randomHex(16)
	c.shard = [2]int{shard[0], shard[1]}
	// A shard hears of its own guilds only, as on Discord.
	var owned []string
	for _, g := range s.guildIDs {
		if ShardOf(g, shard[1]) == shard[0] {
			owned = append(owned, g)
		}
	}
	guilds := []any{}
	for _, g := range owned {
		guilds = append(guilds, map[string]any{"id": g, "unavailable": true})
	}
	ready := map[string]any{
		"v":                       c.version,
		"user":                    s.botUserJSONLocked(),
		"guilds":                  guilds,
		"session_id":              c.sessionID,
		"session_type":            "normal",
		"resume_gateway_url":      "ws://" + c.host + "/gateway",
		"shard":                   shard,
		"application":             map[string]any{"id": s.appID, "flags": 0},
		"private_channels":        []any{},
		"presences":               []any{},
		"relationships":           []any{},
		"guild_join_requests":     []any{},
		"geo_ordered_rtc_regions": []any{},
		"user_settings":           map[string]any{},
		"_trace":                  []any{`["discordtest"]`},
	}
	var creates []any
	for _, g := range owned {
		creates = append(creates, s.guildCreateJSONLocked(g))
	}
	s.identifies = append(s.identifies, append(json.RawMessage(nil), raw...))
	s.mu.Unlock()

	c.wmu.Lock()
	c.compress = d.Compress && c.zw == nil
	c.wmu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if c.dispatch(ctx, "READY", ready) != nil {
		return false
	}
	for _, g := range creates {
		if c.dispatch(ctx, "GUILD_CREATE", g) != nil {
			return false
		}
	}
	s.mu.Lock()
	if !c.closed {
		c.ready = true
		s.current = c
	}
	s.notifyLocked()
	s.mu.Unlock()
	return true
}

// guildCreateJSONLocked is the GUILD_CREATE payload of a guild.
func (s *Server) guildCreateJSONLocked(id string) map[string]any {
	g := s.guildJSONLocked(id)
	channels := []any{}
	for _, cid := range s.guildChannels[id] {
		channels = append(channels, s.channelJSONLocked(s.channels[cid]))
	}
	joined := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Format(tsLayout)
	g["joined_at"] = joined
	g["large"] = false
	g["unavailable"] = false
	g["member_count"] = 2
	g["voice_states"] = []any{}
	g["members"] = []any{map[string]any{
		"user": s.userJSONLocked(s.appID), "roles": []any{}, "joined_at": joined, "deaf": false, "mute": false,
		"flags": 0, "pending": false, "nick": nil, "avatar": nil, "banner": nil, "premium_since": nil,
		"communication_disabled_until": nil,
	}}
	g["channels"] = channels
	g["threads"] = []any{}
	g["presences"] = []any{}
	g["stage_instances"] = []any{}
	g["guild_scheduled_events"] = []any{}
	g["soundboard_sounds"] = []any{}
	g["embedded_activities"] = []any{}
	return g
}

// send writes one payload.
func (c *gwConn) send(payload any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(payload, time.Now().Add(writeTimeout))
}

// dispatch writes an op 0 event with the next sequence number.
func (c *gwConn) dispatch(ctx context.Context, event string, d any) error {
	_, err := c.dispatchAt(ctx, event, d, time.Now)
	return err
}

func (c *gwConn) writeLocked(payload any, deadline time.Time) error {
	typ, b, err := c.encodeLocked(payload)
	if err != nil {
		return err
	}
	_ = c.ws.SetWriteDeadline(deadline)
	return c.ws.WriteMessage(typ, b)
}

// encodeLocked turns payload into one websocket message (its type and bytes), compressed as the
// connection asked. The bytes of a zlib-stream message are valid until the next call.
func (c *gwConn) encodeLocked(payload any) (int, []byte, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return 0, nil, fmt.Errorf("encode gateway payload: %w", err)
	}
	switch {
	case c.zw != nil:
		c.zbuf.Reset()
		if _, err := c.zw.Write(b); err != nil {
			return 0, nil, err
		}
		if err := c.zw.Flush(); err != nil {
			return 0, nil, err
		}
		return websocket.BinaryMessage, c.zbuf.Bytes(), nil
	case c.compress:
		var buf bytes.Buffer
		zw := zlibWriters.Get().(*zlib.Writer) // a new writer per message costs ~2 ms of allocation
		zw.Reset(&buf)
		_, _ = zw.Write(b)
		err := zw.Close()
		zlibWriters.Put(zw)
		if err != nil {
			return 0, nil, err
		}
		return websocket.BinaryMessage, buf.Bytes(), nil
	default:
		return websocket.TextMessage, b, nil
	}
}

// zlibWriters holds the writers of per-message compression (compress: true in IDENTIFY).
var zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}

// closeWith sends a close frame with code and reason and closes the connection.
func (c *gwConn) closeWith(code int, reason string) {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.wmu.Unlock()
	_ = c.ws.Close()
}

// dropConn forgets a finished connection.
func (s *Server) dropConn(c *gwConn) {
	_ = c.ws.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	c.closed = true
	c.ready = false
	delete(s.conns, c)
	if s.current == c {
		s.current = nil
	}
	s.notifyLocked()
}

// readyConn returns the most recent identified, open connection.
func (s *Server) readyConn() *gwConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != nil && s.current.ready && !s.current.closed {
		return s.current
	}
	return nil
}

// readyConnFor returns the connection that hears the events of guildID ("" for a DM: shard 0): the
// most recent one when it is of the guild's shard (every unsharded connection is), else any open,
// identified connection of that shard.
func (s *Server) readyConnFor(guildID string) *gwConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	owns := func(c *gwConn) bool {
		return c.ready && !c.closed && ShardOf(guildID, c.shard[1]) == c.shard[0]
	}
	if s.current != nil && owns(s.current) {
		return s.current
	}
	for c := range s.conns {
		if owns(c) {
			return c
		}
	}
	return nil
}

// ShardOf is the shard that receives the events of a guild among count shards: (guild_id >> 22) %
// count, as Discord computes it. Direct messages ("" or an id that is not a snowflake) go to shard 0.
func ShardOf(guildID string, count int) int {
	id, err := strconv.ParseUint(guildID, 10, 64)
	if err != nil || count <= 1 {
		return 0
	}
	return int((id >> 22) % uint64(count))
}

// WaitShardReady returns once a connection identified as shard id of count has received READY and
// is still open.
func (s *Server) WaitShardReady(ctx context.Context, id, count int) error {
	return s.WaitFor(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for c := range s.conns {
			if c.ready && !c.closed && c.shard == [2]int{id, count} {
				return true
			}
		}
		return false
	})
}

func (s *Server) closeAllConns() {
	s.mu.Lock()
	s.stopped = true
	var list []*gwConn
	for c := range s.conns {
		list = append(list, c)
	}
	s.mu.Unlock()
	for _, c := range list {
		c.closeWith(websocket.CloseGoingAway, "server stopped")
	}
}

// Disconnect closes every gateway connection with the given close code (for
// example 4000 or 1001), as when Discord drops a session; clients then
// reconnect. It returns the number of connections closed.
func (s *Server) Disconnect(closeCode int) int {
	s.mu.Lock()
	var list []*gwConn
	for c := range s.conns {
		list = append(list, c)
	}
	s.mu.Unlock()
	for _, c := range list {
		c.closeWith(closeCode, "disconnected by test")
	}
	return len(list)
}

// DropConnections cuts every gateway connection without a close frame, as when the network fails
// (the client sees its read fail, not a close code); clients then reconnect. It returns the number of
// connections cut.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	var list []*gwConn
	for c := range s.conns {
		list = append(list, c)
	}
	s.mu.Unlock()
	for _, c := range list {
		_ = c.ws.Close()
	}
	return len(list)
}

// DropShard cuts, without a close frame, the gateway connections identified as shard id of count
// (as DropConnections does for all), leaving the other shards' connections open. It returns the number
// of connections cut.
func (s *Server) DropShard(id, count int) int {
	s.mu.Lock()
	var list []*gwConn
	for c := range s.conns {
		if c.identified && c.shard == [2]int{id, count} {
			list = append(list, c)
		}
	}
	s.mu.Unlock()
	for _, c := range list {
		_ = c.ws.Close()
	}
	return len(list)
}

// WaitReady returns once a client has identified and received READY and
// every GUILD_CREATE on a connection that is still open.
func (s *Server) WaitReady(ctx context.Context) error {
	return s.WaitFor(ctx, func() bool { return s.readyConn() != nil })
}

// WaitSessions returns once n IDENTIFYs have been answered and a connection
// is ready, e.g. after a bot restarted.
func (s *Server) WaitSessions(ctx context.Context, n int) error {
	return s.WaitFor(ctx, func() bool { return s.Sessions() >= n && s.readyConn() != nil })
}

// Sessions returns how many IDENTIFYs were accepted (answered with READY).
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Identifies returns the "d" of every accepted IDENTIFY (they contain the
// bot token), oldest first.
func (s *Server) Identifies() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.identifies...)
}
