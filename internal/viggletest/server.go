package viggletest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultRecordLimit is how many requests a Server keeps for Requests.
const DefaultRecordLimit = 10000

// DefaultCDNTTL is how long the signed CDN URLs handed out by the fake stay
// valid (measured with the server's clock).
const DefaultCDNTTL = time.Hour

// maxFormBytes bounds the body of POST /api/render.
const maxFormBytes = 10 << 20

// Server is a fake Viggle /api server. It is an http.Handler; use Start or
// httptest.NewServer to serve it. All methods are safe for concurrent use.
type Server struct {
	apiKeys     []string // accepted bearer keys; none: any key or none is accepted
	now         func() time.Time
	cdnTTL      time.Duration
	recordLimit int

	held chan struct{} // receives once per POST /api/render held by Hold

	charPolls int // status polls a new character takes (WithCharacterPolls)

	mu        sync.Mutex
	scenarios map[string]Scenario
	templates map[string]Template
	scenes    map[string]*sceneMem // scenes imported by this Server
	chars     map[string]*charMem  // characters created by this Server
	imports   int                  // scenes imported
	credits   int64                // GET /api/credits balance
	jobs      map[string]*jobMem   // in-memory bookkeeping, only for jobs that need it
	records   []Request            // ring buffer of at most recordLimit entries
	recNext   int                  // next slot to overwrite once records is full
	counts    map[string]int       // "METHOD path" -> requests served
	accepted  int                  // successful creates
	hold      *gate                // non-nil while Hold is in force
}

// jobMem is the in-memory state of one job: count-based progress, poll
// errors served, cancellation and CDN expiry. It is kept small because a
// benchmark creates thousands of jobs.
type jobMem struct {
	local       bool  // created by this Server: Polls applies
	polls       int32 // normal status polls served
	errs        int32 // PollErrors served
	cdnGen      int32 // CDN URLs with a lower generation are refused
	cdnExpired  bool  // the CDN already refused this job once (CDNExpired)
	doneAt      int64 // unix ms at which a count-based job finished
	cancelledAt int64 // unix ms of the cancellation, 0 if not cancelled
}

// gate is one Hold: closed when released.
type gate struct {
	ch   chan struct{}
	once sync.Once
}

func (g *gate) release() { g.once.Do(func() { close(g.ch) }) }

// Request is one request the Server received, as recorded for tests.
type Request struct {
	Method string
	Path   string
	Header http.Header
	// Form is the parsed form of POST /api/render and POST /api/characters/preprocess (multipart or
	// urlencoded; file parts left out), nil otherwise.
	Form url.Values
	// Body is the JSON body of POST /api/scenes/import, nil otherwise.
	Body []byte
	At   time.Time // by the server's clock
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	if r.Body != nil {
		r.Body = append([]byte(nil), r.Body...)
	}
	if r.Form != nil {
		r.Form = url.Values(maps.Clone(map[string][]string(r.Form)))
		for k, v := range r.Form {
			r.Form[k] = append([]string(nil), v...)
		}
	}
	return r
}

// Option configures a Server.
type Option func(*Server)

// WithAPIKey makes the Server require "Authorization: Bearer <key>" on every
// /api call. Without it, any key or none is accepted. /cdn/ paths never
// need a key. It replaces the keys of an earlier WithAPIKey or WithAPIKeys.
func WithAPIKey(key string) Option { return WithAPIKeys(key) }

// WithAPIKeys is WithAPIKey for several accounts: a bearer of any of keys is
// accepted, any other key answers 401. Empty keys are ignored (none left:
// any key or none is accepted). The fake keeps one account for all of them:
// a job created with one key can be polled with another (tests check which
// key each request carried with Requests).
func WithAPIKeys(keys ...string) Option {
	return func(s *Server) {
		s.apiKeys = nil
		for _, k := range keys {
			if k != "" {
				s.apiKeys = append(s.apiKeys, k)
			}
		}
	}
}

// WithClock sets the time source (default time.Now). It must be safe for
// concurrent use.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithScenarios replaces the default scenarios with m (copied). Use
// SetScenario to add to the defaults instead.
func WithScenarios(m map[string]Scenario) Option {
	return func(s *Server) { s.scenarios = maps.Clone(m) }
}

// WithCDNTTL sets how long handed-out CDN URLs stay valid (default
// DefaultCDNTTL).
func WithCDNTTL(d time.Duration) Option { return func(s *Server) { s.cdnTTL = d } }

// WithRecordLimit sets how many recent requests Requests keeps (default
// DefaultRecordLimit; 0 keeps none). Counters are not limited.
func WithRecordLimit(n int) Option { return func(s *Server) { s.recordLimit = max(n, 0) } }

// New returns a Server that knows DefaultScenarios(), or only the scenarios
// given with WithScenarios.
func New(opts ...Option) *Server {
	s := &Server{
		now:         time.Now,
		cdnTTL:      DefaultCDNTTL,
		recordLimit: DefaultRecordLimit,
		held:        make(chan struct{}),
		jobs:        make(map[string]*jobMem),
		counts:      make(map[string]int),
		scenes:      make(map[string]*sceneMem),
		chars:       make(map[string]*charMem),
		charPolls:   DefaultCharacterPolls,
		credits:     DefaultCredits,
	}
	for _, o := range opts {
		o(s)
	}
	if s.scenarios == nil {
		s.scenarios = DefaultScenarios()
	}
	if s.templates == nil {
		s.templates = DefaultTemplates()
	}
	return s
}

// SetScenario adds or replaces the scenario of sceneID. Scene ids of any
// length work; job ids of scenes over 64 bytes carry a hash of the id, which
// a Server resolves among the scenarios it knows.
func (s *Server) SetScenario(sceneID string, sc Scenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scenarios[sceneID] = sc
}

// sceneByHash returns the known scene id whose sceneHash is h.
func (s *Server) sceneByHash(h string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.scenarios {
		if len(id) > maxSceneIDLen && sceneHash(id) == h {
			return id, true
		}
	}
	return "", false
}

// scenario is the render scenario of a scene: one of the Server's scenarios, or an imported scene's.
func (s *Server) scenario(sceneID string) (Scenario, bool) { return s.renderableScene(sceneID) }

// scenarioOnly is the scenario of sceneID among the Server's scenarios.
func (s *Server) scenarioOnly(sceneID string) (Scenario, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.scenarios[sceneID]
	return sc, ok
}

// Start serves the fake on 127.0.0.1 with a random port in a goroutine. It
// returns the base URL (http://127.0.0.1:port, no trailing slash) and a stop
// function that releases any Hold, shuts the server down (waiting up to 2 s
// for running requests) and can be called more than once.
func (s *Server) Start() (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("viggletest: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // always returns http.ErrServerClosed after stop
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			s.releaseHold()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			_ = srv.Close()
			<-done
		})
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// Hold makes every POST /api/render that arrives from now on block, after it
// has been recorded and authenticated and before it is validated, until
// release is called (or the server started by Start is stopped). A held POST
// still creates its job when released, even if its client has gone, as the
// real server would. release may be called more than once.
func (s *Server) Hold() (release func()) {
	g := &gate{ch: make(chan struct{})}
	s.mu.Lock()
	s.hold = g
	s.mu.Unlock()
	return func() {
		g.release()
		s.mu.Lock()
		if s.hold == g {
			s.hold = nil
		}
		s.mu.Unlock()
	}
}

// Held receives once for each POST /api/render that is being held by Hold
// (the POST waits until the value is received or the hold is released).
func (s *Server) Held() <-chan struct{} { return s.held }

func (s *Server) releaseHold() {
	s.mu.Lock()
	g := s.hold
	s.hold = nil
	s.mu.Unlock()
	if g != nil {
		g.release()
	}
}

func (s *Server) waitHold() {
	s.mu.Lock()
	g := s.hold
	s.mu.Unlock()
	if g == nil {
		return
	}
	select {
	case s.held <- struct{}{}:
	case <-g.ch:
		return
	}
	<-g.ch
}

// Requests returns copies of the recorded requests, oldest first (at most
// the record limit, the most recent ones).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, 0, len(s.records))
	for _, r := range s.records[s.recNext:] {
		out = append(out, r.clone())
	}
	for _, r := range s.records[:s.recNext] {
		out = append(out, r.clone())
	}
	return out
}

// Count returns how many requests with this method ("" for any) and a path
// starting with pathPrefix the Server has received since New, including
// refused ones. Counters are never trimmed.
func (s *Server) Count(method, pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.counts {
		m, p, _ := strings.Cut(k, " ")
		if (method == "" || m == method) && strings.HasPrefix(p, pathPrefix) {
			n += c
		}
	}
	return n
}

// Creates returns how many POST /api/render requests reached the Server,
// whether they created a job or were refused (auth, validation, scenario).
func (s *Server) Creates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts["POST /api/render"]
}

// Accepted returns how many jobs POST /api/render created.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Cancel cancels a job from the outside, like a DELETE: a job still in
// progress is "cancelled" from then on; finished, unknown or undecodable
// jobs are left alone.
func (s *Server) Cancel(jobID string) {
	j, ok := s.lookup(jobID)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelLocked(j, s.now())
}

func (s *Server) record(r *http.Request, form url.Values, body []byte, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[r.Method+" "+r.URL.Path]++
	if s.recordLimit == 0 {
		return
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form, Body: body, At: now}
	if len(s.records) < s.recordLimit {
		s.records = append(s.records, rec)
		return
	}
	s.records[s.recNext] = rec
	s.recNext = (s.recNext + 1) % s.recordLimit
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	path := r.URL.Path
	if name, ok := strings.CutPrefix(path, "/cdn/"); ok {
		s.record(r, nil, nil, now)
		if file, ok := strings.CutPrefix(name, "characters/"); ok {
			s.serveThumbnail(w, r, file)
			return
		}
		s.serveCDN(w, r, name, now)
		return
	}

	var form url.Values
	var formErr error
	var body []byte
	if (path == "/api/render" || path == "/api/characters/preprocess") && r.Method == http.MethodPost {
		form, formErr = parseForm(w, r)
		if r.MultipartForm != nil {
			defer func() { _ = r.MultipartForm.RemoveAll() }()
		}
	}
	if path == "/api/scenes/import" && r.Method == http.MethodPost {
		body, formErr = readImportBody(w, r)
	}
	s.record(r, form, body, now)

	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		writeDetailString(w, http.StatusNotFound, "Not Found")
		return
	}
	if !s.authorize(w, r) {
		return
	}
	switch {
	case rest == "render":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		s.handleCreate(w, r, form, formErr)
	case rest == "credits":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.mu.Lock()
		n := s.credits
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]int64{"balance": n})
	case rest == "scenes/import":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		s.handleImport(w, body, formErr)
	case rest == "characters/preprocess":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		s.handlePreprocess(w, r, form, formErr)
	case strings.HasPrefix(rest, "scenes/") || strings.HasPrefix(rest, "characters/"):
		kind, id, _ := strings.Cut(rest, "/")
		if id == "" || strings.Contains(id, "/") {
			writeDetailString(w, http.StatusNotFound, "Not Found")
			return
		}
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		if kind == "scenes" {
			s.handleScene(w, id)
		} else {
			s.handleCharacter(w, r, id)
		}
	case strings.HasPrefix(rest, "render/"):
		id := strings.TrimPrefix(rest, "render/")
		if id, ok := strings.CutSuffix(id, "/download"); ok && !strings.Contains(id, "/") {
			if r.Method != http.MethodGet {
				methodNotAllowed(w, http.MethodGet)
				return
			}
			s.handleDownload(w, r, id)
			return
		}
		if id == "" || strings.Contains(id, "/") {
			writeDetailString(w, http.StatusNotFound, "Not Found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.handleStatus(w, r, id)
		case http.MethodDelete:
			s.handleDelete(w, id)
		default:
			methodNotAllowed(w, http.MethodGet+", "+http.MethodDelete)
		}
	default:
		writeDetailString(w, http.StatusNotFound, "Not Found")
	}
}

// authorize checks the bearer key when WithAPIKey or WithAPIKeys was given,
// answering 401 in the two documented shapes.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if len(s.apiKeys) == 0 {
		return true
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeDetailString(w, http.StatusUnauthorized, "Not authenticated")
		return false
	}
	scheme, key, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || !s.knownKey(strings.TrimSpace(key)) {
		writeError(w, http.StatusUnauthorized, CodeInvalidKey, "Invalid or expired API key",
			"Check your API key in the Viggle dashboard")
		return false
	}
	return true
}

// knownKey reports whether key is one of the accepted keys, comparing with
// every one of them in constant time.
func (s *Server) knownKey(key string) bool {
	ok := false
	for _, k := range s.apiKeys {
		if constantTimeEqual(key, k) {
			ok = true
		}
	}
	return ok
}

// parseForm parses a multipart or urlencoded body and returns its values.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("unsupported content type %q", r.Header.Get("Content-Type"))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, fmt.Errorf("parse multipart form: %w", err)
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("parse form: %w", err)
		}
	default:
		return nil, fmt.Errorf("unsupported content type %q: use multipart/form-data", ct)
	}
	return r.PostForm, nil
}
