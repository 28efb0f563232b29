package jobs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// TestSubmitAnswersThatMayHaveCreatedARender: a 5xx (with or without Viggle's error body), a 4xx that is
// not Viggle's error (a proxy's page) and a connection cut after the request was written may all follow
// a render that Viggle created: the job ends interrupted (outcome unknown) after exactly one POST, and it
// is not sent again when run once more. Only Viggle's own 4xx is a refusal.
func TestSubmitAnswersThatMayHaveCreatedARender(t *testing.T) {
	cases := []struct {
		name  string
		sc    viggletest.Scenario
		proxy func(w http.ResponseWriter, r *http.Request) bool // answers the POST itself when set
		fact  string
	}{
		{name: "502 with Viggle's body", sc: viggletest.Scenario{SubmitStatus: http.StatusBadGateway, SubmitMessage: "upstream"}, fact: "HTTP 502"},
		{name: "500 with a code", sc: viggletest.Scenario{SubmitStatus: http.StatusInternalServerError, SubmitCode: "CS-X", SubmitMessage: "oops"}, fact: "HTTP 500"},
		{name: "bare 502 from the gateway", sc: viggletest.Scenario{SubmitStatus: http.StatusBadGateway}, fact: "HTTP 502"},
		{name: "cut after the request (fake)", sc: viggletest.Scenario{SubmitCut: true}},
		{name: "cut after the render was made (fake)", sc: viggletest.Scenario{SubmitCut: true, SubmitCutCreates: true}},
		{name: "2xx without a job id", sc: viggletest.Scenario{SubmitNoJobID: true}},
		{name: "400 from a proxy", proxy: func(w http.ResponseWriter, r *http.Request) bool {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "<html><body>400 Bad Request</body></html>")
			return true
		}, fact: "HTTP 400"},
		{name: "connection cut after the request", proxy: func(w http.ResponseWriter, r *http.Request) bool {
			io.Copy(io.Discard, r.Body)
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return true
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, map[string]viggletest.Scenario{"scene_x": tc.sc})
			e := h.engine(t)
			var posts atomic.Int32
			if tc.proxy != nil {
				fake, err := url.Parse(h.url)
				if err != nil {
					t.Fatal(err)
				}
				rest := httputil.NewSingleHostReverseProxy(fake)
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPost && r.URL.Path == "/api/render" {
						posts.Add(1)
						tc.proxy(w, r)
						return
					}
					rest.ServeHTTP(w, r)
				}))
				t.Cleanup(srv.Close)
				if e, err = jobs.New(h.db, newClient(t, srv.URL), h.rec, h.opts); err != nil {
					t.Fatal(err)
				}
			}
			j := h.create(t, e, request(t, "scene_x", "a=b"))
			got, err := e.Run(t.Context(), j.ID)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if got.State != store.StateInterrupted || got.ErrorCode != jobs.CodeOutcomeUnknown || got.ErrorMessage != tc.fact {
				t.Fatalf("ended %s %q %q, want interrupted %s %q", got.State, got.ErrorCode, got.ErrorMessage, jobs.CodeOutcomeUnknown, tc.fact)
			}
			if s := explain.Outcome(*got); !strings.Contains(s, "may have reached Viggle") || !strings.Contains(s, "credits") {
				t.Errorf("explained as %q", s)
			}
			if _, err := e.Run(t.Context(), j.ID); err != nil {
				t.Fatalf("second run: %v", err)
			}
			if n := h.fake.Creates() + int(posts.Load()); n != 1 {
				t.Fatalf("%d POSTs, want exactly 1", n)
			}
			if n := h.rec.count("interrupted", j.ID); n != 1 {
				t.Fatalf("owner told %d times, want 1", n)
			}
		})
	}
}

// TestSubmitRefusedByViggle: Viggle's own 4xx error is a refusal: failed with its code and message.
func TestSubmitRefusedByViggle(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_x": {SubmitStatus: http.StatusPaymentRequired,
		SubmitCode: viggletest.CodeInsufficientCredits, SubmitMessage: "Insufficient credits"}})
	e := h.engine(t)
	j := h.create(t, e, request(t, "scene_x", "a=b"))
	got, err := e.Run(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.StateFailed || got.ErrorCode != viggletest.CodeInsufficientCredits || got.ErrorMessage != "Insufficient credits" {
		t.Fatalf("ended %s %q %q, want failed with Viggle's code and message", got.State, got.ErrorCode, got.ErrorMessage)
	}
}
