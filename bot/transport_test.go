package bot

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// recordingRT records the request it was given and answers 200.
type recordingRT struct{ got *http.Request }

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = req
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

func TestRewriteTransport(t *testing.T) {
	tests := []struct {
		name   string
		origin string
		in     string
		want   string
	}{
		{"REST call to the fake", "http://127.0.0.1:1234", "https://discord.com/api/v9/users/@me", "http://127.0.0.1:1234/api/v9/users/@me"},
		{"path and query kept", "http://127.0.0.1:1234", "https://discord.com/api/v9/webhooks/1/tok/messages/@original?wait=true&thread_id=2", "http://127.0.0.1:1234/api/v9/webhooks/1/tok/messages/@original?wait=true&thread_id=2"},
		{"https origin with port", "https://proxy.example:8443", "https://discord.com/api/v9/gateway", "https://proxy.example:8443/api/v9/gateway"},
		{"host case-insensitive", "http://127.0.0.1:1234", "https://Discord.COM/api/v9/gateway", "http://127.0.0.1:1234/api/v9/gateway"},
		{"CDN attachment untouched", "http://127.0.0.1:1234", "https://cdn.discordapp.com/attachments/1/2/v.mp4?ex=1&is=2&hm=3", "https://cdn.discordapp.com/attachments/1/2/v.mp4?ex=1&is=2&hm=3"},
		{"subdomain untouched", "http://127.0.0.1:1234", "https://ptb.discord.com/api/v9/gateway", "https://ptb.discord.com/api/v9/gateway"},
		{"gateway host untouched", "http://127.0.0.1:1234", "https://gateway.discord.gg/?v=9", "https://gateway.discord.gg/?v=9"},
		{"look-alike host untouched", "http://127.0.0.1:1234", "https://discord.com.evil.example/api", "https://discord.com.evil.example/api"},
		{"discord.com origin is a pass-through", "https://discord.com", "https://discord.com/api/v9/users/@me", "https://discord.com/api/v9/users/@me"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin, err := ParseOrigin(tt.origin)
			if err != nil {
				t.Fatal(err)
			}
			next := &recordingRT{}
			rt := newRewriteTransport(origin, next)
			req, err := http.NewRequestWithContext(t.Context(), "POST", tt.in, strings.NewReader("body"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bot secret")
			before := req.URL.String()
			beforeHost := req.Host
			if _, err := rt.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			if got := next.got.URL.String(); got != tt.want {
				t.Errorf("sent to %s, want %s", got, tt.want)
			}
			if req.URL.String() != before || req.Host != beforeHost {
				t.Errorf("input request mutated: %s host %q, was %s host %q", req.URL, req.Host, before, beforeHost)
			}
			if next.got.Header.Get("Authorization") != "Bot secret" {
				t.Errorf("Authorization header lost")
			}
			rewritten := tt.want != tt.in
			if rewritten == (next.got == req) {
				t.Errorf("rewritten=%v but same request object=%v (rewrites must clone, pass-throughs need not)", rewritten, next.got == req)
			}
			if rewritten && next.got.Host != "" {
				t.Errorf("clone keeps Host %q; it must follow the new URL", next.got.Host)
			}
		})
	}
}

func TestRewriteTransportRealServer(t *testing.T) {
	var gotPath, gotQuery, gotAuth, gotHost string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery, gotAuth, gotHost = r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Host
		io.WriteString(w, `{"url":"wss://gateway.example"}`)
	}))
	defer srv.Close()
	origin, err := ParseOrigin(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: newRewriteTransport(origin, http.DefaultTransport)}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "https://discord.com/api/v9/gateway?x=1", nil)
	req.Header.Set("Authorization", "Bot tok")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(srv.URL)
	if gotPath != "/api/v9/gateway" || gotQuery != "x=1" || gotAuth != "Bot tok" || gotHost != u.Host {
		t.Errorf("server saw path %q query %q auth %q host %q", gotPath, gotQuery, gotAuth, gotHost)
	}
}

func TestParseOrigin(t *testing.T) {
	for _, ok := range []string{"https://discord.com", "http://127.0.0.1:1234", "http://localhost:80/"} {
		if _, err := ParseOrigin(ok); err != nil {
			t.Errorf("ParseOrigin(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "discord.com", "ftp://discord.com", "https://discord.com/api/v9", "https://discord.com?x=1", "https://", "https://u:p@discord.com"} {
		if _, err := ParseOrigin(bad); err == nil {
			t.Errorf("ParseOrigin(%q) accepted", bad)
		}
	}
}

// TestTransportKeepsABurstsConnections: after a burst of concurrent requests over HTTP/1.1 (one
// connection each), the next burst reuses those connections instead of dialling them again.
func TestTransportKeepsABurstsConnections(t *testing.T) {
	const burst = 60
	var mu sync.Mutex
	dialled := 0
	arrived := make(chan struct{}, burst)
	var release chan struct{} // the current burst's; guarded by mu
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ch := release
		mu.Unlock()
		arrived <- struct{}{}
		<-ch // hold every request until the whole burst is in, so each needs its own connection
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			dialled++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	tr := newHTTPTransport(newConnTracker().DialContext)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	for round := range 2 {
		ch := make(chan struct{})
		mu.Lock()
		release = ch
		mu.Unlock()
		errs := make(chan error, burst)
		for range burst {
			go func() {
				resp, err := client.Get(srv.URL)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				errs <- err
			}()
		}
		for range burst {
			<-arrived
		}
		close(ch)
		for range burst {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if dialled != burst {
		t.Fatalf("%d connections for two bursts of %d, want %d (the second burst reusing the first's)", dialled, burst, burst)
	}
}
