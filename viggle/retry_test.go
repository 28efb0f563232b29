package viggle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// countingLimiter counts waits and optionally fails them.
type countingLimiter struct {
	n   atomic.Int32
	err error
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.n.Add(1)
	if l.err != nil {
		return l.err
	}
	return ctx.Err()
}

func (l *countingLimiter) calls() int { return int(l.n.Load()) }

func contextCancelled(t testing.TB) (context.Context, context.CancelFunc) {
	t.Helper()
	return context.WithCancel(t.Context())
}

// answer is one canned response of a scripted handler.
type answer struct {
	status int
	header map[string]string
	body   string
}

// script answers requests in order, repeating the last answer.
func script(n *counter, answers ...answer) http.HandlerFunc {
	return n.wrap(func(w http.ResponseWriter, r *http.Request) {
		a := answers[min(int(n.get()), len(answers))-1]
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
	})
}

const okStatus = `{"job_id":"job_1","status":"complete"}`

func TestGetRenderRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		answers  []answer
		wantReqs int
		wantErr  int // APIError status; 0 = success; -1 = other error
	}{
		{"429, 503, malformed, then ok", []answer{{status: 429}, {status: 503, body: "busy"}, {status: 200, body: `{"job_id":`}, {status: 200, body: okStatus}}, 4, 0},
		{"502 html then ok", []answer{{status: 502, body: "<html>bad gateway</html>"}, {status: 200, body: okStatus}}, 2, 0},
		{"non-object 2xx then ok", []answer{{status: 200, body: `"hello"`}, {status: 200, body: okStatus}}, 2, 0},
		{"404 not retried", []answer{{status: 404, body: `{"detail":"Job not found"}`}}, 1, 404},
		{"400 not retried", []answer{{status: 400}}, 1, 400},
		{"401 not retried", []answer{{status: 401}}, 1, 401},
		{"503 until exhausted", []answer{{status: 503}}, fastRetry.MaxAttempts, 503},
		{"malformed until exhausted", []answer{{status: 200, body: "not json"}}, fastRetry.MaxAttempts, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lim := &countingLimiter{}
			mux, c, _ := setup(t, WithLimiter(lim))
			var n counter
			mux.HandleFunc("GET /api/render/{id}", script(&n, tt.answers...))
			r, err := c.GetRender(t.Context(), "job_1")
			switch {
			case tt.wantErr == 0:
				if err != nil || r.Status != StatusComplete {
					t.Fatalf("GetRender = %+v, %v; want complete", r, err)
				}
			case tt.wantErr > 0:
				var ae *APIError
				if !errors.As(err, &ae) || ae.HTTPStatus != tt.wantErr {
					t.Fatalf("error = %v, want *APIError %d", err, tt.wantErr)
				}
			default:
				var ae *APIError
				if err == nil || errors.As(err, &ae) {
					t.Fatalf("error = %v, want a non-API error", err)
				}
			}
			if n.get() != tt.wantReqs {
				t.Errorf("%d requests, want %d", n.get(), tt.wantReqs)
			}
			if lim.calls() != tt.wantReqs {
				t.Errorf("%d limiter waits, want one per attempt (%d)", lim.calls(), tt.wantReqs)
			}
			noKey(t, err)
		})
	}
}

func TestGetRenderRetriesNetworkErrors(t *testing.T) {
	t.Parallel()
	lim := &countingLimiter{}
	c, err := NewClient(testKey, WithBaseURL("http://"+closedAddr(t)), WithRetryPolicy(fastRetry), WithLimiter(lim))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRender(t.Context(), "job_1")
	if err == nil {
		t.Fatal("GetRender of a closed port succeeded")
	}
	if lim.calls() != fastRetry.MaxAttempts {
		t.Errorf("%d attempts, want %d", lim.calls(), fastRetry.MaxAttempts)
	}
	noKey(t, err)
}

// A huge Retry-After is capped at MaxRetryAfter; APIError keeps the uncapped value.
func TestRetryAfterCapped(t *testing.T) {
	t.Parallel()
	policy := RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxRetryAfter: 50 * time.Millisecond}
	for name, header := range map[string]string{
		"seconds":   "3600",
		"HTTP date": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t, WithRetryPolicy(policy))
			var n counter
			mux.HandleFunc("GET /api/render/{id}", script(&n,
				answer{status: 429, header: map[string]string{"Retry-After": header}},
				answer{status: 200, body: okStatus}))
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if _, err := c.GetRender(ctx, "job_1"); err != nil {
				t.Fatalf("GetRender: %v (Retry-After not capped?)", err)
			}
			if n.get() != 2 {
				t.Errorf("%d requests, want 2", n.get())
			}
		})
	}
	t.Run("uncapped in APIError", func(t *testing.T) {
		t.Parallel()
		mux, c, _ := setup(t, WithRetryPolicy(policy))
		var n counter
		mux.HandleFunc("GET /api/render/{id}", script(&n, answer{status: 503, header: map[string]string{"Retry-After": "3600"}}))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.GetRender(ctx, "job_1")
		var ae *APIError
		if !errors.As(err, &ae) || ae.RetryAfter != time.Hour {
			t.Fatalf("error = %v (%+v), want *APIError with RetryAfter 1h", err, ae)
		}
		if n.get() != policy.MaxAttempts {
			t.Errorf("%d requests, want %d", n.get(), policy.MaxAttempts)
		}
	})
}

// Cancelling the context while waiting to retry returns at once with the context's error.
func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	slow := RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}
	mux, c, _ := setup(t, WithRetryPolicy(slow))
	var n counter
	hit := make(chan struct{}, 10)
	mux.HandleFunc("GET /api/render/{id}", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.(http.Flusher).Flush()
		hit <- struct{}{}
	}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.GetRender(ctx, "job_1")
		done <- err
	}()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	select {
	case <-hit:
	case <-deadline.C:
		t.Fatal("no request arrived")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
		noKey(t, err)
	case <-deadline.C:
		t.Fatal("GetRender did not return after cancel")
	}
	if n.get() != 1 {
		t.Errorf("%d requests, want 1", n.get())
	}
}

func TestLimiterEveryAttempt(t *testing.T) {
	t.Parallel()
	t.Run("create waits once", func(t *testing.T) {
		t.Parallel()
		lim := &countingLimiter{}
		mux, c, _ := setup(t, WithLimiter(lim))
		mux.HandleFunc("POST /api/render", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"job_id":"j"}`)
		})
		if _, err := c.CreateRender(t.Context(), RenderRequest{SceneID: "s", CharacterMapping: `{}`}); err != nil {
			t.Fatal(err)
		}
		if lim.calls() != 1 {
			t.Errorf("%d waits, want 1", lim.calls())
		}
	})
	t.Run("cancel retries wait each time", func(t *testing.T) {
		t.Parallel()
		lim := &countingLimiter{}
		mux, c, _ := setup(t, WithLimiter(lim))
		var n counter
		mux.HandleFunc("DELETE /api/render/{id}", script(&n, answer{status: 500}, answer{status: 429}, answer{status: 204}))
		if err := c.CancelRender(t.Context(), "j"); err != nil {
			t.Fatal(err)
		}
		if lim.calls() != 3 || n.get() != 3 {
			t.Errorf("%d waits, %d requests; want 3 and 3", lim.calls(), n.get())
		}
	})
	t.Run("limiter error stops a GET", func(t *testing.T) {
		t.Parallel()
		lim := &countingLimiter{err: errors.New("would exceed deadline")}
		mux, c, _ := setup(t, WithLimiter(lim))
		var n counter
		mux.HandleFunc("/", n.wrap(func(http.ResponseWriter, *http.Request) {}))
		_, err := c.GetRender(t.Context(), "j")
		if !errors.Is(err, lim.err) {
			t.Fatalf("error = %v, want the limiter's error", err)
		}
		if lim.calls() != 1 || n.get() != 0 {
			t.Errorf("%d waits, %d requests; want 1 and 0", lim.calls(), n.get())
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxRetryAfter: 2 * time.Second}.withDefaults()
	for n, full := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		for range 50 {
			if d := p.backoff(n); d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, full/2, full)
			}
		}
	}
	if d := p.delay(1, &APIError{HTTPStatus: 429, RetryAfter: time.Hour}); d != 2*time.Second {
		t.Errorf("delay with Retry-After 1h = %v, want the 2s cap", d)
	}
	if d := p.delay(1, fmt.Errorf("wrapped: %w", &APIError{HTTPStatus: 503, RetryAfter: 1500 * time.Millisecond})); d != 1500*time.Millisecond {
		t.Errorf("delay with Retry-After 1.5s = %v, want 1.5s", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"-5", 0, false},
		{"soon", 0, false},
		{"99999999999999999", time.Duration(1<<63-1) / time.Second * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
