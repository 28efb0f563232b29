package jobs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// fakeChild serves the fake Viggle from a separate process, so that the benchmark's memory figures are
// the engine's alone. It prints its URL and serves until its standard input closes. GET /_count answers
// the number of status polls and POSTs so far.
func fakeChild() int {
	fake := viggletest.New(viggletest.WithScenarios(map[string]viggletest.Scenario{
		"scene_bench": {Stuck: true, Steps: 1},
	}))
	mux := http.NewServeMux()
	mux.Handle("/", fake)
	mux.HandleFunc("GET /_count", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]int{
			"get": fake.Count("GET", "/api/render/"), "post": fake.Count("POST", "/api/render"),
		})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	go http.Serve(l, mux)
	fmt.Println("URL http://" + l.Addr().String())
	io.Copy(io.Discard, os.Stdin)
	return 0
}

type counts struct{ Get, Post int }

func fakeCounts(b *testing.B, u string) counts {
	b.Helper()
	resp, err := http.Get(u + "/_count")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct{ Get, Post int }
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		b.Fatal(err)
	}
	return counts(c)
}

func liveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// BenchmarkJobsInFlight keeps 10,000 renders running at the fake Viggle (in another process) with a
// fast poll and no rate cap, and reports the engine's memory per job and its status requests per job
// per poll interval. Run it with: go test -run '^$' -bench JobsInFlight -benchtime 1x ./jobs/
func BenchmarkJobsInFlight(b *testing.B) {
	const n = 10_000
	const interval = 2 * time.Second
	const window = 10 * interval

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JOBS_FAKE_CHILD=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "URL ") {
		b.Fatalf("fake viggle did not start: %q", sc.Text())
	}
	u := strings.TrimPrefix(sc.Text(), "URL ")

	// The ledger on tmpfs: this measures memory and requests, not the disk's fsync rate (one fsync per
	// commit with synchronous=FULL; see BENCHMARKS.md for that figure).
	dir := b.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "viggle-bench-")
		if err == nil {
			dir = d
			defer os.RemoveAll(d)
		}
	}
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	vc, err := viggle.NewClient("sk-bench", viggle.WithBaseURL(u), viggle.WithHTTPClient(&http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second},
	}))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		e, err := jobs.New(db, vc, nopNotifier{}, jobs.Options{
			Origin: store.OriginDiscord, PollInterval: interval, Workers: 32, WorkDir: b.TempDir(),
		})
		if err != nil {
			b.Fatal(err)
		}
		req := request(b, "scene_bench", "person_a=char_x, person_b=char_y")
		for i := range n {
			if _, err := e.Create(ctx, jobs.NewJob{OwnerID: fmt.Sprint("user", i%500), GuildID: "g", Request: req}); err != nil {
				b.Fatal(err)
			}
		}
		before := liveBytes()
		if err := e.Start(ctx); err != nil {
			b.Fatal(err)
		}
		// Wait until every job runs at Viggle.
		deadline := time.Now().Add(10 * time.Minute)
		for fakeCounts(b, u).Post < n {
			if time.Now().After(deadline) {
				b.Fatal("jobs never all submitted")
			}
			time.Sleep(100 * time.Millisecond) // a benchmark's progress wait, not a test's synchronisation
		}
		c0 := fakeCounts(b, u)
		time.Sleep(window)
		c1 := fakeCounts(b, u)
		after := liveBytes()
		if got := e.Active(); got != n {
			b.Fatalf("%d jobs in flight, want %d", got, n)
		}
		perJob := float64(after-before) / n
		polls := float64(c1.Get-c0.Get) / n / float64(window/interval)
		b.ReportMetric(perJob, "B/job")
		b.ReportMetric(polls, "polls/job/interval")
		b.ReportMetric(float64(c1.Post)/n, "posts/job")
		if err := e.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

type nopNotifier struct{}

func (nopNotifier) Progress(context.Context, store.Job) error { return nil }
func (nopNotifier) Done(context.Context, store.Job, jobs.Video) (store.Delivery, error) {
	return store.Delivery{Where: store.WhereMessage, MessageID: "nop"}, nil
}
func (nopNotifier) Failed(context.Context, store.Job) (store.Delivery, error) {
	return store.Delivery{}, nil
}
func (nopNotifier) Cancelled(context.Context, store.Job) (store.Delivery, error) {
	return store.Delivery{}, nil
}
func (nopNotifier) Interrupted(context.Context, store.Job) (store.Delivery, error) {
	return store.Delivery{}, nil
}
func (nopNotifier) FollowUp(context.Context, store.Job) (bool, error) { return false, nil }
func (nopNotifier) Forget(string)                                     {}
