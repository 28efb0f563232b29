package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/metrics"
)

func TestViggleEndpoint(t *testing.T) {
	cases := []struct{ method, path, want string }{
		{"POST", "/api/render", "POST /api/render"},
		{"GET", "/api/render/job_123", "GET /api/render/{id}"},
		{"DELETE", "/api/render/job_123", "DELETE /api/render/{id}"},
		{"GET", "/api/render/job_123/download", "GET /api/render/{id}/download"},
		{"GET", "/prefix/v1/api/render/a%2Fb", "GET /api/render/{id}"}, // a base URL's prefix; an escaped slash
		{"POST", "/api/characters/preprocess", "POST /api/characters/preprocess"},
		{"GET", "/api/characters/3f2a-uuid", "GET /api/characters/{id}"},
		{"POST", "/api/scenes/import", "POST /api/scenes/import"},
		{"GET", "/api/scenes/scene_9", "GET /api/scenes/{id}"},
		{"GET", "/api/credits", "GET /api/credits"},
		{"GET", "/api/credits/", "GET /api/credits"},
		{"GET", "/cdn/videos/job_123.mp4", "GET asset"},
		{"GET", "/api/render/job_1/mask/x", "GET /api/other"},
		{"GET", "/api/render/job_1/status", "GET /api/other"},
		{"GET", "/api/scenes/import/download", "GET /api/other"},
		{"GET", "/api/admin/users", "GET /api/other"},
		{"GET", "/api/", "GET /api/other"},
		{"BREW", "/api/render", "OTHER /api/render"},
		{"", "/api/credits", "GET /api/credits"},
	}
	for _, c := range cases {
		if got := metrics.ViggleEndpoint(c.method, c.path); got != c.want {
			t.Errorf("ViggleEndpoint(%q, %q) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

func TestViggleTransportCounts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/credits":
			fmt.Fprint(w, `{"balance": 5}`)
		case strings.HasPrefix(r.URL.Path, "/api/render/"):
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	m := metrics.New(nil)
	hc := &http.Client{Transport: m.ViggleTransport(nil)}
	gotConn := false
	for _, p := range []string{"/api/credits", "/api/credits", "/api/render/job_a", "/api/render/job_b"} {
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn = true }})
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+p+"?token=x", nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if !gotConn {
		t.Error("the caller's httptrace hooks did not fire through the transport")
	}
	// No answer at all.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	if _, err := hc.Post(deadURL+"/api/render", "text/plain", nil); err == nil {
		t.Fatal("a closed server answered")
	}
	text := scrape(t, m.Handler())
	wantLines(t, text,
		`viggle_bot_viggle_requests_total{endpoint="GET /api/credits",status="200"} 2`,
		`viggle_bot_viggle_requests_total{endpoint="GET /api/render/{id}",status="503"} 2`,
		`viggle_bot_viggle_requests_total{endpoint="POST /api/render",status="error"} 1`,
	)
	for _, leak := range []string{"job_a", "token", "127.0.0.1"} {
		if strings.Contains(text, leak) {
			t.Errorf("a label carries %q", leak)
		}
	}
}

func TestDiscordTransportCountsCodesAndKeepsTheBody(t *testing.T) {
	long := `{"code": 50035, "message": "Invalid Form Body", "errors": {"content": "` + strings.Repeat("x", 100<<10) + `"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v9/ok":
			fmt.Fprint(w, `{"id": "1"}`)
		case "/api/v9/gone":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message": "Unknown interaction", "code": 10062}`)
		case "/api/v9/long":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, long)
		case "/api/v9/limited":
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message": "You are being rate limited.", "retry_after": 0.5, "global": false, "code": 0}`)
		case "/api/v9/html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>bad gateway</html>")
		}
	}))
	defer srv.Close()
	m := metrics.New(nil)
	hc := &http.Client{Transport: m.DiscordTransport(nil)}
	get := func(path string) string {
		t.Helper()
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if b := get("/api/v9/ok"); b != `{"id": "1"}` {
		t.Fatalf("a success's body %q", b)
	}
	if b := get("/api/v9/gone"); b != `{"message": "Unknown interaction", "code": 10062}` {
		t.Fatalf("an error's body after its code was read: %q", b)
	}
	get("/api/v9/gone")
	if b := get("/api/v9/long"); b != long {
		t.Fatalf("a long error body came back with %d bytes, want %d", len(b), len(long))
	}
	get("/api/v9/limited")
	if b := get("/api/v9/html"); b != "<html>bad gateway</html>" {
		t.Fatalf("an HTML error body %q", b)
	}
	text := scrape(t, m.Handler())
	wantLines(t, text,
		`viggle_bot_discord_rest_errors_total{code="10062"} 2`,
		`viggle_bot_discord_rest_errors_total{code="http_400"} 1`, // its code lies past what is read
		`viggle_bot_discord_rest_errors_total{code="http_502"} 1`,
		`viggle_bot_discord_rest_errors_total{code="http_429"} 1`, // code 0 says less than the status
	)
	if strings.Contains(text, `code="200"`) || strings.Contains(text, "http_200") {
		t.Error("a success was counted as an error")
	}

	// discordgo itself still sees the error with its code through the transport.
	s, err := discordgo.New("Bot x")
	if err != nil {
		t.Fatal(err)
	}
	s.Client = &http.Client{Transport: m.DiscordTransport(nil)}
	_, err = s.RequestWithBucketID("GET", srv.URL+"/api/v9/gone", nil, "gone")
	if re, ok := err.(*discordgo.RESTError); !ok || re.Message == nil || re.Message.Code != 10062 {
		t.Fatalf("discordgo got %v, want its RESTError with code 10062", err)
	}
	wantLines(t, scrape(t, m.Handler()), `viggle_bot_discord_rest_errors_total{code="10062"} 3`)
}

func TestDiscordCodesAreCapped(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"code": %d}`, 10000+n)
	}))
	defer srv.Close()
	m := metrics.New(nil)
	hc := &http.Client{Transport: m.DiscordTransport(nil)}
	for range 150 {
		resp, err := hc.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	text := scrape(t, m.Handler())
	wantLines(t, text, `viggle_bot_discord_rest_errors_total{code="other"} 50`)
	if got := strings.Count(text, "\nviggle_bot_discord_rest_errors_total{"); got != 101 {
		t.Fatalf("%d label values, want 100 codes and other", got)
	}
}

func TestDiscordNetworkErrors(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	u := dead.URL
	dead.Close()
	m := metrics.New(nil)
	hc := &http.Client{Transport: m.DiscordTransport(nil)}
	if _, err := hc.Get(u); err == nil {
		t.Fatal("a closed server answered")
	}
	// A call its caller abandoned is not Discord's error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	if _, err := hc.Do(req); err == nil {
		t.Fatal("a cancelled call answered")
	}
	wantLines(t, scrape(t, m.Handler()), `viggle_bot_discord_rest_errors_total{code="network"} 1`)
}
