package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/viggle-bot/viggle-bot/metrics"
	"github.com/viggle-bot/viggle-bot/store"
)

// scrape GETs /metrics from h and returns the body.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// wantLines fails unless every line is in the exposition text.
func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("no line %q in /metrics", l)
		}
	}
}

func TestInteractionsAndAckLatency(t *testing.T) {
	m := metrics.New(nil)
	m.Interaction("render", "ok", 120*time.Millisecond, true)
	m.Interaction("render", "ok", 2100*time.Millisecond, true)
	m.Interaction("render", "refused: limit daily", 0, true)
	m.Interaction("scene import", "not answered", 0, false) // never acknowledged: no latency
	m.Delivered(1000)
	m.Delivered(0) // a link
	m.Delivered(24)
	text := scrape(t, m.Handler())
	wantLines(t, text,
		`viggle_bot_interactions_total{command="render",outcome="ok"} 2`,
		`viggle_bot_interactions_total{command="render",outcome="refused: limit daily"} 1`,
		`viggle_bot_interactions_total{command="scene import",outcome="not answered"} 1`,
		`viggle_bot_ack_latency_seconds_count 3`,
		`viggle_bot_ack_latency_seconds_bucket{le="0.25"} 2`,
		`viggle_bot_ack_latency_seconds_bucket{le="2"} 2`,
		`viggle_bot_ack_latency_seconds_bucket{le="2.5"} 3`,
		`viggle_bot_delivered_bytes_total 1024`,
	)
	// The process's own collectors are on the registry too.
	if !strings.Contains(text, "\ngo_goroutines ") || !strings.Contains(text, "\nprocess_start_time_seconds ") {
		t.Error("no Go runtime or process metrics")
	}
}

// counter is a JobCounter with a settable answer that counts its calls.
type counter struct {
	calls  atomic.Int32
	counts map[store.State]int
	err    error
}

func (c *counter) CountByState(context.Context) (map[store.State]int, error) {
	c.calls.Add(1)
	return c.counts, c.err
}

func TestJobsAndQueueDepth(t *testing.T) {
	m := metrics.New(nil)
	src := &counter{counts: map[store.State]int{store.StateDelivered: 1, store.StateRunning: 2, store.StateFailed: 0}}
	m.WatchJobs(src)
	depth := 3
	m.WatchQueue(func() int { return depth })
	h := m.Handler()
	text := scrape(t, h)
	wantLines(t, text,
		`viggle_bot_jobs{state="delivered"} 1`,
		`viggle_bot_jobs{state="running"} 2`,
		`viggle_bot_jobs{state="failed"} 0`,
		`viggle_bot_queue_depth 3`,
	)
	// A burst of scrapes counts once; the queue depth is read every time.
	depth = 0
	src.counts = map[store.State]int{store.StateDelivered: 5}
	text = scrape(t, h)
	wantLines(t, text, `viggle_bot_jobs{state="delivered"} 1`, `viggle_bot_queue_depth 0`)
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("%d counts for two scrapes in a row", n)
	}
}

func TestJobsCountFailureLeavesTheRest(t *testing.T) {
	m := metrics.New(nil)
	m.WatchJobs(&counter{err: errors.New("database is locked")})
	m.Interaction("jobs", "ok", time.Millisecond, true)
	text := scrape(t, m.Handler())
	wantLines(t, text, `viggle_bot_interactions_total{command="jobs",outcome="ok"} 1`)
	if strings.Contains(text, "viggle_bot_jobs{") {
		t.Fatalf("jobs reported though their count failed:\n%s", text)
	}
}

func TestLiveAndReady(t *testing.T) {
	m := metrics.New(nil)
	var gateway atomic.Bool
	dbErr := atomic.Pointer[error]{}
	h := m.Handler(
		metrics.Check{Name: "gateway", Func: func(context.Context) error {
			if !gateway.Load() {
				return errors.New("not connected to the Discord gateway")
			}
			return nil
		}},
		metrics.Check{Name: "database", Func: func(context.Context) error {
			if p := dbErr.Load(); p != nil {
				return *p
			}
			return nil
		}},
	)
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/livez"); code != 200 || body != "ok\n" {
		t.Fatalf("/livez: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 503 || body != "not ready: gateway: not connected to the Discord gateway\n" {
		t.Fatalf("/readyz while disconnected: %d %q", code, body)
	}
	gateway.Store(true)
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	e := errors.New("store: check the database is writable:\ndatabase is locked")
	dbErr.Store(&e)
	if code, body := get("/readyz"); code != 503 || body != "not ready: database: store: check the database is writable: database is locked\n" {
		t.Fatalf("/readyz with the database locked: %d %q", code, body)
	}
	if code, _ := get("/nothing"); code != 404 {
		t.Fatalf("an unknown path: %d", code)
	}
	if resp, err := http.Post(srv.URL+"/livez", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /livez: %v %v", resp, err)
	}
}

func TestReadyGivesUpOnACheckThatHangs(t *testing.T) {
	m := metrics.New(nil)
	release := make(chan struct{})
	defer close(release)
	h := m.Handler(metrics.Check{Name: "database", Func: func(ctx context.Context) error {
		<-release // ignores ctx
		return nil
	}})
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.HasPrefix(rec.Body.String(), "not ready: database: no answer within") {
		t.Fatalf("/readyz: %d %q", rec.Code, rec.Body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestServeStopsWithItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- metrics.Serve(ctx, ln, m.Handler()) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/livez")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /livez: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/livez"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestRegistryIsOwn(t *testing.T) {
	m := metrics.New(nil)
	m.Interaction("render", "ok", 0, true)
	if n := testutil.CollectAndCount(m.Registry(), "viggle_bot_interactions_total"); n != 1 {
		t.Fatalf("%d series", n)
	}
	// A second instance is independent (no global registry): nothing collides or is shared.
	m2 := metrics.New(nil)
	if n := testutil.CollectAndCount(m2.Registry(), "viggle_bot_interactions_total"); n != 0 {
		t.Fatalf("a new instance has %d series", n)
	}
}
