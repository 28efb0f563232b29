package viggle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testKey is distinctive so a leak into an error string is easy to find.
const testKey = "sk-SECRET-abc123"

// fastRetry keeps retry tests quick.
var fastRetry = RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond, MaxRetryAfter: 10 * time.Millisecond}

// setup starts an API server with an empty mux and a client pointed at it (go-github style).
func setup(t testing.TB, opts ...Option) (*http.ServeMux, *Client, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	all := append([]Option{WithBaseURL(srv.URL), WithRetryPolicy(fastRetry)}, opts...)
	c, err := NewClient(testKey, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return mux, c, srv
}

// newServer starts a second server (a CDN, a redirect target).
func newServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func testMethod(t testing.TB, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
}

func testHeader(t testing.TB, r *http.Request, name, want string) {
	t.Helper()
	if got := r.Header.Get(name); got != want {
		t.Errorf("header %s = %q, want %q", name, got, want)
	}
}

// testAPIHeaders checks the headers every API request carries.
func testAPIHeaders(t testing.TB, r *http.Request) {
	t.Helper()
	testHeader(t, r, "Authorization", "Bearer "+testKey)
	testHeader(t, r, "Accept", "application/json")
	if ua := r.Header.Get("User-Agent"); ua == "" || strings.HasPrefix(ua, "Go-http-client") {
		t.Errorf("User-Agent = %q, want the client's own", ua)
	}
}

// noKey fails if the API key shows in any rendering of err.
func noKey(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, testKey) || strings.Contains(s, "SECRET") {
			t.Errorf("error leaks the API key: %s", s)
		}
	}
}

// counter counts requests to a handler.
type counter struct{ n atomic.Int32 }

func (c *counter) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		h(w, r)
	}
}

func (c *counter) get() int { return int(c.n.Load()) }

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []Option
		wantErr string // substring; "" = success
	}{
		{"defaults", nil, ""},
		{"base with slash", []Option{WithBaseURL("http://127.0.0.1:1/")}, ""},
		{"base with prefix", []Option{WithBaseURL("https://example.com/prefix/")}, ""},
		{"relative base", []Option{WithBaseURL("apis.viggle.ai")}, "scheme"},
		{"ftp base", []Option{WithBaseURL("ftp://apis.viggle.ai")}, "scheme"},
		{"no host", []Option{WithBaseURL("https://")}, "no host"},
		{"base with query", []Option{WithBaseURL("https://apis.viggle.ai/?sig=x")}, "query"},
		{"base with user", []Option{WithBaseURL("https://u:p@apis.viggle.ai")}, "user info"},
		{"nil http client", []Option{WithHTTPClient(nil)}, "HTTP client"},
		{"empty user agent", []Option{WithUserAgent(" ")}, "user agent"},
		{"user agent with newline", []Option{WithUserAgent("a\r\nX: y")}, "line break"},
		{"nil limiter", []Option{WithLimiter(nil)}, "limiter"},
		{"negative retry", []Option{WithRetryPolicy(RetryPolicy{BaseDelay: -1})}, "negative"},
		{"errors joined", []Option{WithHTTPClient(nil), WithLimiter(nil)}, "HTTP client is nil\nlimiter is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(testKey, tt.opts...)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("NewClient: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewClient error = %v, want one containing %q", err, tt.wantErr)
			}
			noKey(t, err)
		})
	}
}

func TestNewClientDefaults(t *testing.T) {
	t.Parallel()
	c, err := NewClient(testKey)
	if err != nil {
		t.Fatal(err)
	}
	if c.baseStr != DefaultBaseURL {
		t.Errorf("base = %q, want %q", c.baseStr, DefaultBaseURL)
	}
	want := RetryPolicy{MaxAttempts: 5, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second, MaxRetryAfter: time.Minute}
	if c.retry != want {
		t.Errorf("retry = %+v, want %+v", c.retry, want)
	}
	c, err = NewClient(testKey, WithRetryPolicy(RetryPolicy{MaxAttempts: 2}))
	if err != nil {
		t.Fatal(err)
	}
	want.MaxAttempts = 2
	if c.retry != want {
		t.Errorf("retry = %+v, want %+v", c.retry, want)
	}
}

func TestClientStringHidesKey(t *testing.T) {
	t.Parallel()
	c, err := NewClient(testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c)} {
		if strings.Contains(s, testKey) {
			t.Errorf("client prints its key: %s", s)
		}
		if !strings.Contains(s, "REDACTED") {
			t.Errorf("client string %q does not say the key is redacted", s)
		}
	}
}

func TestHeadersOnEveryCall(t *testing.T) {
	t.Parallel()
	mux, c, _ := setup(t, WithUserAgent("viggle-bot-test/1"))
	mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		testAPIHeaders(t, r)
		testHeader(t, r, "User-Agent", "viggle-bot-test/1")
		fmt.Fprint(w, `{"job_id":"j1","status":"queued"}`)
	})
	mux.HandleFunc("DELETE /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		testAPIHeaders(t, r)
		testHeader(t, r, "User-Agent", "viggle-bot-test/1")
		w.WriteHeader(http.StatusNoContent)
	})
	if _, err := c.GetRender(t.Context(), "j1"); err != nil {
		t.Errorf("GetRender: %v", err)
	}
	if err := c.CancelRender(t.Context(), "j1"); err != nil {
		t.Errorf("CancelRender: %v", err)
	}
}

func TestEmptyKeySendsNoAuthorization(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	srv := newServer(t, mux.ServeHTTP)
	mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := r.Header["Authorization"]; ok {
			t.Errorf("Authorization sent without a key: %q", v)
		}
		fmt.Fprint(w, `{"job_id":"j1","status":"queued"}`)
	})
	c, err := NewClient("", WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRender(t.Context(), "j1"); err != nil {
		t.Fatal(err)
	}
}

func TestBaseURLWithPrefix(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	srv := newServer(t, mux.ServeHTTP)
	mux.HandleFunc("GET /prefix/api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"job_id":"j1","status":"queued"}`)
	})
	for _, base := range []string{srv.URL + "/prefix", srv.URL + "/prefix/"} {
		c, err := NewClient(testKey, WithBaseURL(base))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetRender(t.Context(), "j1"); err != nil {
			t.Errorf("base %s: %v", base, err)
		}
	}
}

// The caller's own redirect policy still runs, and the caller's http.Client is not modified.
func TestWithHTTPClientKeepsCallerPolicy(t *testing.T) {
	t.Parallel()
	mux, _, srv := setup(t)
	mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	errStop := errors.New("caller stopped the redirect")
	var called atomic.Bool
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		called.Store(true)
		return errStop
	}}
	orig := hc.CheckRedirect
	c, err := NewClient(testKey, WithBaseURL(srv.URL), WithHTTPClient(hc), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRender(t.Context(), "j1")
	if !errors.Is(err, errStop) || !called.Load() {
		t.Errorf("GetRender error = %v, want the caller's redirect error", err)
	}
	if fmt.Sprintf("%p", hc.CheckRedirect) != fmt.Sprintf("%p", orig) {
		t.Error("caller's http.Client was modified")
	}
}

func TestContextDeadlineOnCall(t *testing.T) {
	t.Parallel()
	mux, c, _ := setup(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.GetRender(ctx, "j1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	noKey(t, err)
}
