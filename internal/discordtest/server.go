package discordtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults used when no option overrides them.
const (
	// DefaultAppID is the application id, which is also the bot user's id.
	DefaultAppID = "100000000000000001"
	// DefaultGuildID is the one guild the bot is in unless WithGuild is given.
	DefaultGuildID = "200000000000000001"
	// DefaultChannelID is the text channel of DefaultGuildID.
	DefaultChannelID = "300000000000000001"
	// DefaultUserID is the member who plays the user in SendCommand and SendComponent.
	DefaultUserID = "400000000000000001"
	// DefaultUploadLimit is Discord's default per-file upload limit (10 MiB),
	// used when an interaction carries no attachment_size_limit.
	DefaultUploadLimit int64 = 10 << 20
	// TokenLifetime is how long an interaction token works for edits and follow-ups.
	TokenLifetime = 15 * time.Minute
	// AckDeadline is Discord's deadline for the first response to an interaction.
	AckDeadline = 3 * time.Second
	// DefaultHeartbeatInterval is the heartbeat_interval sent in HELLO.
	DefaultHeartbeatInterval = 41250 * time.Millisecond
)

// Discord permission bits used for default permissions.
const (
	permViewChannel        = 1 << 10
	permSendMessages       = 1 << 11
	permEmbedLinks         = 1 << 14
	permAttachFiles        = 1 << 15
	permReadMessageHistory = 1 << 16
	permMentionEveryone    = 1 << 17
	permUseExternalEmojis  = 1 << 18
	permUseAppCommands     = 1 << 31
)

// defaultAppPermissions is what the bot may do in a guild channel by default.
var defaultAppPermissions = strconv.FormatInt(permViewChannel|permSendMessages|permEmbedLinks|
	permAttachFiles|permReadMessageHistory|permUseExternalEmojis, 10)

// defaultMemberPermissions is what the invoking member may do by default.
var defaultMemberPermissions = strconv.FormatInt(permViewChannel|permSendMessages|permEmbedLinks|
	permAttachFiles|permReadMessageHistory|permUseExternalEmojis|permUseAppCommands, 10)

// dmAppPermissions is what Discord reports as app_permissions in a DM.
var dmAppPermissions = strconv.FormatInt(permAttachFiles|permEmbedLinks|permMentionEveryone|permUseExternalEmojis, 10)

// Option configures a Server.
type Option func(*Server)

// WithToken sets the bot token the fake accepts (with or without the "Bot "
// prefix). REST calls with another Authorization header answer 401 and a
// gateway IDENTIFY with another token is closed with 4004. Without this
// option any non-empty bot token is accepted.
func WithToken(botToken string) Option {
	return func(s *Server) { s.token = strings.TrimPrefix(botToken, "Bot ") }
}

// WithGuild adds a guild the bot is in; it is sent in GUILD_CREATE after READY.
// The first WithGuild replaces the default guild DefaultGuildID.
func WithGuild(id string) Option {
	return func(s *Server) {
		if !s.guildsSet {
			s.guildIDs = nil
			s.guildsSet = true
		}
		s.guildIDs = append(s.guildIDs, id)
	}
}

// WithClock sets the fake's clock (default time.Now). It drives snowflake
// timestamps, the acknowledgement deadline, token expiry, the enforce_nonce
// window and recorded times. now must be safe for concurrent use.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.clock = now }
}

// WithHeartbeatInterval sets the heartbeat_interval sent in HELLO.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(s *Server) { s.heartbeat = d }
}

// WithAckDeadline makes callbacks that arrive more than d after dispatch (by
// the fake's clock) fail with 404 / 10062 Unknown interaction, as Discord does
// after 3 s. Zero (the default) disables the check; SlashCommand.LateAck still works.
func WithAckDeadline(d time.Duration) Option {
	return func(s *Server) { s.ackDeadline = d }
}

// WithStrictAckDeadline is WithAckDeadline(AckDeadline): Discord's 3 s rule.
func WithStrictAckDeadline() Option { return WithAckDeadline(AckDeadline) }

// WithUploadLimit sets the per-file upload limit for uploads made with the bot
// token (channel messages) and for interactions that carry no
// attachment_size_limit (default DefaultUploadLimit).
func WithUploadLimit(n int64) Option {
	return func(s *Server) { s.uploadLimit = n }
}

// WithLenientCommands lets SendCommand send commands that were never
// registered (option types are then inferred from the Go values). By default
// a command must have been registered, as only registered commands can be
// invoked on Discord.
func WithLenientCommands() Option {
	return func(s *Server) { s.lenient = true }
}

// WithPrivilegedIntents declares which privileged intents the application was
// granted (GUILD_MEMBERS 1<<1, GUILD_PRESENCES 1<<8, MESSAGE_CONTENT 1<<15).
// IDENTIFY asking for any other privileged intent is closed with 4014.
func WithPrivilegedIntents(mask int64) Option {
	return func(s *Server) { s.grantedIntents = mask }
}

// WithShards sets the shard count GET /gateway/bot recommends (default 1). Whatever the count, a
// connection that identifies as shard [id, n] hears only of the guilds with (guild_id >> 22) % n == id
// (READY, GUILD_CREATE, and the interactions SendCommand and SendComponent dispatch); direct messages
// go to shard 0.
func WithShards(n int) Option {
	return func(s *Server) { s.shards = max(n, 1) }
}

// WithMaxConcurrency sets the max_concurrency GET /gateway/bot's session_start_limit gives (default 1):
// how many shards Discord lets identify per 5 seconds. The fake announces it and enforces nothing.
func WithMaxConcurrency(n int) Option {
	return func(s *Server) { s.maxConcurrency = max(n, 1) }
}

// Failure is a scripted answer for FailNext.
type Failure struct {
	// Status is the HTTP status. Zero means: 429 when RetryAfter is set, the
	// status Discord uses for Code otherwise (10062 → 404, 50027 → 401, …),
	// 500 when neither is set; and with only Delay set, no failure at all.
	Status int
	// Code is the JSON error code (0 when Discord sends none).
	Code int
	// Message is the JSON error message; a default fits Status and Code.
	Message string
	// RetryAfter is the 429 body's retry_after in seconds; also sent in the
	// Retry-After and X-RateLimit-Reset-After headers.
	RetryAfter float64
	// Global marks a 429 as global (X-RateLimit-Global, scope "global").
	Global bool
	// Scope is X-RateLimit-Scope on a 429 (default "user", or "global").
	Scope string
	// Body, when set, is sent as is with Content-Type text/html (e.g. a
	// Cloudflare error page) instead of Discord's JSON.
	Body string
	// Delay holds the answer back this long (or until the client gives up).
	Delay time.Duration
	// DelayAfter processes the request normally (the message is created), then holds the answer back
	// this long: the window in which a client may crash after Discord acted but before it learnt so.
	DelayAfter time.Duration
}

// passThrough reports whether f only delays a normal answer.
func (f Failure) passThrough() bool {
	return f.Status == 0 && f.Code == 0 && f.RetryAfter == 0 && f.Body == "" && f.Message == ""
}

// File is an uploaded file: a multipart part of a request, or an attachment
// of a stored message (then ID, URL and Description are set).
type File struct {
	Field       string // form field name, e.g. "files[0]" (request files only)
	Name        string // file name
	ContentType string
	Data        []byte
	ID          string // attachment id (message attachments only)
	Description string
	URL         string // where the fake serves the bytes (message attachments only)
}

// Request is one recorded REST request and the fake's answer.
type Request struct {
	Method     string
	Path       string // as received, e.g. /api/v9/users/@me
	Route      string // Path without the /api or /api/vN prefix, e.g. /users/@me
	APIVersion int    // 9, 10, … or 0 when the path carried no version
	Query      url.Values
	Header     http.Header
	Body       []byte
	JSON       []byte // the JSON body, or the payload_json part of a multipart body
	Files      []File // multipart file parts
	At         time.Time
	Status     int    // status the fake answered with
	Response   []byte // body the fake answered with
}

// Server is a fake Discord. The zero value is not usable; call New.
type Server struct {
	// configuration, fixed after New
	appID          string
	token          string
	botName        string
	guildIDs       []string
	guildsSet      bool
	clock          func() time.Time
	heartbeat      time.Duration
	ackDeadline    time.Duration
	uploadLimit    int64
	lenient        bool
	grantedIntents int64
	shards         int // GET /gateway/bot's recommended shard count
	maxConcurrency int // GET /gateway/bot's session_start_limit.max_concurrency

	mu            sync.Mutex
	origin        string             // the fake's own origin, once started
	endpoint      string             // the interactions endpoint URL (SetInteractionsEndpoint); "" = gateway
	endpointKey   ed25519.PrivateKey // signs what is POSTed to endpoint
	changed       chan struct{}
	requests      []Request
	arrived       []arrival // every REST request as it arrived, before any answer
	failures      []failRule
	lastSnowflake int64
	interactions  map[string]*interactionState
	byToken       map[string]*interactionState
	expired       map[string]bool
	lateAck       map[string]bool
	messages      map[string]*message
	channels      map[string]*channel
	guildChannels map[string][]string
	dmByUser      map[string]string
	blockedDMs    map[string]bool
	users         map[string]*user
	commands      map[string][]map[string]any // "" = global, else guild id
	nonces        map[string]nonceEntry       // channel id + "\x00" + nonce
	sessions      int
	identifies    []json.RawMessage
	conns         map[*gwConn]struct{}
	current       *gwConn
	stopped       bool
	gatewayFault  GatewayFault
	gwAttempts    int
}

// New returns a fake Discord configured by opts.
func New(opts ...Option) *Server {
	s := &Server{
		appID:          DefaultAppID,
		botName:        "viggle-test-bot",
		guildIDs:       []string{DefaultGuildID},
		clock:          time.Now,
		heartbeat:      DefaultHeartbeatInterval,
		shards:         1,
		maxConcurrency: 1,
		uploadLimit:    DefaultUploadLimit,
		changed:        make(chan struct{}),
		interactions:   map[string]*interactionState{},
		byToken:        map[string]*interactionState{},
		expired:        map[string]bool{},
		lateAck:        map[string]bool{},
		messages:       map[string]*message{},
		channels:       map[string]*channel{},
		guildChannels:  map[string][]string{},
		dmByUser:       map[string]string{},
		blockedDMs:     map[string]bool{},
		users:          map[string]*user{},
		commands:       map[string][]map[string]any{},
		nonces:         map[string]nonceEntry{},
		conns:          map[*gwConn]struct{}{},
	}
	for _, o := range opts {
		o(s)
	}
	s.users[s.appID] = &user{ID: s.appID, Username: s.botName, Bot: true}
	s.users[DefaultUserID] = &user{ID: DefaultUserID, Username: "tester", GlobalName: "Tester"}
	for i, g := range s.guildIDs {
		ch := DefaultChannelID
		if g != DefaultGuildID || i > 0 {
			ch = s.snowflakeLocked()
		}
		s.addChannelLocked(g, ch)
	}
	return s
}

// Start serves the fake on 127.0.0.1 with a random port over plain HTTP.
// baseURL is the origin to use in place of https://discord.com (e.g. as
// DISCORD_API_URL); stop shuts the server and all gateway connections down.
func (s *Server) Start() (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("discordtest: listen: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	s.mu.Lock()
	s.origin = "http://" + ln.Addr().String()
	s.mu.Unlock()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			s.closeAllConns()
			_ = srv.Close()
			<-done
		})
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// AppID returns the application id (also the bot user's id).
func (s *Server) AppID() string { return s.appID }

// Guilds returns the ids of the guilds the bot is in.
func (s *Server) Guilds() []string { return append([]string(nil), s.guildIDs...) }

// DefaultChannel returns the id of the text channel the fake created for guildID.
func (s *Server) DefaultChannel(guildID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ids := s.guildChannels[guildID]; len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// BlockDMs makes messages to the DM channel of userID fail with 403 / 50007
// (the user closed their DMs).
func (s *Server) BlockDMs(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blockedDMs[userID] = true
}

// Now returns the fake's current time.
func (s *Server) Now() time.Time { return s.clock() }

// Changed returns a channel that is closed at the next recorded request or
// state change (and then replaced). Take the channel before checking a
// condition, then wait on it; WaitFor does exactly that.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// WaitFor waits until cond returns true, re-checking it at every change.
// cond must not call methods that block on another change; it may call any
// accessor of s.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		ch := s.Changed()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("discordtest: wait: %w", ctx.Err())
		}
	}
}

// notifyLocked wakes everyone waiting on Changed. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Requests returns every REST request received so far, oldest first. The
// returned values must not be modified.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// arrival is a REST request as it arrived.
type arrival struct{ method, route string }

// Arrived returns how many REST requests matching method and pathPattern (see FailNext) have
// arrived, including those whose answer is still being held back (Failure.Delay, DelayAfter) and so
// not yet in Requests.
func (s *Server) Arrived(method, pathPattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.arrived {
		if matchRequest(method, pathPattern, a.method, a.route) {
			n++
		}
	}
	return n
}

// Find returns the recorded requests whose method and route match; see
// FailNext for the pattern syntax.
func (s *Server) Find(method, pathPattern string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if matchRequest(method, pathPattern, r.Method, r.Route) {
			out = append(out, r)
		}
	}
	return out
}

// FailNext makes the next request matching method and pathPattern get f
// instead of its normal answer (the request is still recorded). Several
// calls queue up in order. method "" or "*" matches any method. The pattern
// is matched against the route without the /api/vN prefix (a prefix in the
// pattern is ignored); a segment "*" or "{name}" matches any one segment and
// a final "**" matches the rest, e.g. "/webhooks/*/*/messages/@original".
func (s *Server) FailNext(method, pathPattern string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failRule{method: method, pattern: pathPattern, f: f})
}

// FailNextIf is FailNext for the next matching request that match also accepts (it sees the request
// as received, body decoded: e.g. "carries a file"). match runs with the server's lock held: it must
// only read the request.
func (s *Server) FailNextIf(method, pathPattern string, match func(*Request) bool, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failRule{method: method, pattern: pathPattern, match: match, f: f})
}

// ExpireToken makes every call with this interaction token answer 401 / 50027
// Invalid Webhook Token, as after 15 minutes.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expired[token] = true
	s.notifyLocked()
}

type failRule struct {
	method  string
	pattern string
	match   func(*Request) bool // nil: any request matching method and pattern
	f       Failure
}

// takeFailureLocked removes and returns the first rule matching the request.
func (s *Server) takeFailureLocked(req *Request) (Failure, bool) {
	for i, fr := range s.failures {
		if matchRequest(fr.method, fr.pattern, req.Method, req.Route) && (fr.match == nil || fr.match(req)) {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			return fr.f, true
		}
	}
	return Failure{}, false
}

// matchRequest reports whether a request matches a FailNext/Find pattern.
func matchRequest(wantMethod, pattern, method, route string) bool {
	if wantMethod != "" && wantMethod != "*" && !strings.EqualFold(wantMethod, method) {
		return false
	}
	if r, _, ok := splitAPI(pattern); ok {
		pattern = r
	}
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	rs := strings.Split(strings.Trim(route, "/"), "/")
	for i, p := range ps {
		if p == "**" && i == len(ps)-1 {
			return true
		}
		if i >= len(rs) {
			return false
		}
		if p == "*" || (strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}")) {
			continue
		}
		if p != rs[i] {
			return false
		}
	}
	return len(ps) == len(rs)
}

// splitAPI splits "/api/v9/users/@me" into "/users/@me" and 9.
func splitAPI(p string) (route string, version int, ok bool) {
	rest, found := strings.CutPrefix(p, "/api")
	if !found || (rest != "" && rest[0] != '/') {
		return "", 0, false
	}
	if v, ok := strings.CutPrefix(rest, "/v"); ok {
		num, after, _ := strings.Cut(v, "/")
		if n, err := strconv.Atoi(num); err == nil {
			return "/" + after, n, true
		}
	}
	if rest == "" {
		rest = "/"
	}
	return rest, 0, true
}

// ServeHTTP serves the REST API under /api, the gateway at /gateway and
// uploaded attachments under /attachments.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/gateway" || r.URL.Path == "/gateway/" ||
		(r.URL.Path == "/" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")):
		s.serveGateway(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/attachments/"):
		s.serveAttachment(w, r)
		return
	}
	route, version, ok := splitAPI(r.URL.Path)
	if !ok {
		writeError(w, &apiError{status: http.StatusNotFound, message: "404: Not Found"}, "")
		return
	}
	s.serveREST(w, r, route, version)
}

// maxBody caps request bodies; larger bodies answer 413 / 40005.
const maxBody = 512 << 20

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, route string, version int) {
	at := s.clock()
	body, readErr := readBody(w, r)
	req := Request{
		Method:     r.Method,
		Path:       r.URL.Path,
		Route:      route,
		APIVersion: version,
		Query:      r.URL.Query(),
		Header:     r.Header.Clone(),
		Body:       body,
		At:         at,
	}
	ct := r.Header.Get("Content-Type")
	var parseErr *apiError
	if readErr == nil {
		req.JSON, req.Files, parseErr = parseBody(ct, body)
	}

	rec := &recorder{ResponseWriter: w}
	bucket := bucketFor(r.Method, route)
	defer func() {
		req.Status = rec.status
		if req.Status == 0 {
			req.Status = http.StatusOK
		}
		req.Response = rec.buf.Bytes()
		s.mu.Lock()
		s.requests = append(s.requests, req)
		if cb := callbackID(route); cb != "" {
			if st := s.interactions[cb]; st != nil {
				st.callbacks = append(st.callbacks, req)
			}
		}
		s.notifyLocked()
		s.mu.Unlock()
	}()

	s.mu.Lock()
	s.arrived = append(s.arrived, arrival{method: r.Method, route: route})
	f, failing := s.takeFailureLocked(&req)
	s.notifyLocked()
	s.mu.Unlock()
	if failing {
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		if !f.passThrough() {
			writeFailure(rec, f, bucket, s.clock())
			return
		}
	}

	if readErr != nil {
		writeError(rec, readErr, bucket)
		return
	}
	if e := s.checkAuth(r.Header.Get("Authorization"), route); e != nil {
		writeError(rec, e, bucket)
		return
	}
	if parseErr != nil {
		writeError(rec, parseErr, bucket)
		return
	}
	status, resp, e := s.route(r, &req)
	if failing && f.DelayAfter > 0 {
		t := time.NewTimer(f.DelayAfter)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if e != nil {
		writeError(rec, e, bucket)
		return
	}
	writeJSON(rec, status, resp, bucket, s.clock())
}

// readBody reads the whole body, capped at maxBody.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.Body == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge()
		}
		return nil, &apiError{status: http.StatusBadRequest, message: "400: Bad Request"}
	}
	return buf.Bytes(), nil
}

// callbackID returns the interaction id of a callback route, or "".
func callbackID(route string) string {
	seg := strings.Split(strings.Trim(route, "/"), "/")
	if len(seg) == 4 && seg[0] == "interactions" && seg[3] == "callback" {
		return seg[1]
	}
	return ""
}

// checkAuth applies Discord's authentication rules: bot-token routes need
// "Bot <token>"; webhook, interaction-callback and gateway routes work
// without one; a wrong token is refused everywhere.
func (s *Server) checkAuth(header, route string) *apiError {
	seg := strings.Split(strings.Trim(route, "/"), "/")
	optional := seg[0] == "webhooks" || seg[0] == "interactions" || (seg[0] == "gateway" && len(seg) == 1)
	if header == "" {
		if optional {
			return nil
		}
		return errUnauthorized()
	}
	tok, ok := strings.CutPrefix(header, "Bot ")
	if !ok || tok == "" || (s.token != "" && tok != s.token) {
		return errUnauthorized()
	}
	return nil
}

// validToken reports whether an IDENTIFY token is accepted.
func (s *Server) validToken(tok string) bool {
	tok = strings.TrimPrefix(tok, "Bot ")
	return tok != "" && (s.token == "" || tok == s.token)
}

// recorder captures the status and body of an answer for Requests.
type recorder struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

// writeJSON answers with v as JSON (204 when status is 204) and rate-limit headers.
func writeJSON(w http.ResponseWriter, status int, v any, bucket string, now time.Time) {
	setRateHeaders(w.Header(), bucket, now)
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"500: Internal Server Error","code":0}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// setRateHeaders sets the X-RateLimit-* headers of a normal answer: plenty
// remaining, so discordgo's limiter never waits.
func setRateHeaders(h http.Header, bucket string, now time.Time) {
	h.Set("X-RateLimit-Limit", "5")
	h.Set("X-RateLimit-Remaining", "4")
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(now.Add(time.Second).UnixMilli())/1000, 'f', 3, 64))
	h.Set("X-RateLimit-Reset-After", "1.000")
	if bucket != "" {
		h.Set("X-RateLimit-Bucket", bucket)
	}
}
