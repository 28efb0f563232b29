package jobs_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// countingStore counts the engine's calls of each store method (each one statement or one transaction)
// and the wall time spent in them (the wait for the store's gate included).
type countingStore struct {
	jobs.Store
	mu sync.Mutex
	n  map[string]int
	dm map[string]time.Duration
	d  time.Duration
}

// count counts a call of method m that began at start; use as defer c.count("M", time.Now()).
func (c *countingStore) count(m string, start time.Time) {
	d := time.Since(start)
	c.mu.Lock()
	c.n[m]++
	c.dm[m] += d
	c.d += d
	c.mu.Unlock()
}

func (c *countingStore) spent() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.d
}

func (c *countingStore) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, n := range c.n {
		t += n
	}
	return t
}

// perJob lists the calls of each method per job, and the mean wall time of one.
func (c *countingStore) perJob(jobs int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for m, n := range c.n {
		out = append(out, fmt.Sprintf("%s %.2f (%.0f µs each)", m, float64(n)/float64(jobs),
			float64(c.dm[m].Microseconds())/float64(n)))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func (c *countingStore) Insert(ctx context.Context, j *store.Job) error {
	defer c.count("Insert", time.Now())
	return c.Store.Insert(ctx, j)
}
func (c *countingStore) Get(ctx context.Context, id string) (*store.Job, error) {
	defer c.count("Get", time.Now())
	return c.Store.Get(ctx, id)
}
func (c *countingStore) Claim(ctx context.Context, id, owner string, now, until time.Time, takeover string) (*store.Job, error) {
	defer c.count("Claim", time.Now())
	return c.Store.Claim(ctx, id, owner, now, until, takeover)
}
func (c *countingStore) Release(ctx context.Context, id, owner string) error {
	defer c.count("Release", time.Now())
	return c.Store.Release(ctx, id, owner)
}
func (c *countingStore) Acknowledge(ctx context.Context, id string, at time.Time) error {
	defer c.count("Acknowledge", time.Now())
	return c.Store.Acknowledge(ctx, id, at)
}
func (c *countingStore) Update(ctx context.Context, j *store.Job, from store.State) error {
	defer c.count("Update", time.Now())
	return c.Store.Update(ctx, j, from)
}
func (c *countingStore) RequestCancel(ctx context.Context, id, userID string, at time.Time) (*store.Job, error) {
	defer c.count("RequestCancel", time.Now())
	return c.Store.RequestCancel(ctx, id, userID, at)
}
func (c *countingStore) Unfinished(ctx context.Context, origin store.Origin) ([]*store.Job, error) {
	defer c.count("Unfinished", time.Now())
	return c.Store.Unfinished(ctx, origin)
}

// benchBackend names the store this run of the suite uses (see backend_test.go).
func benchBackend() string {
	if os.Getenv(jobsBackendEnv) == string(store.Postgres) {
		return string(store.Postgres)
	}
	return string(store.SQLite)
}

// BenchmarkEngineJob measures the engine's own cost of one render, on the store of this run of the suite
// (TestMain runs it again on PostgreSQL when it has a server, so one command prints both):
//
//	VIGGLE_TEST_POSTGRES_URL=postgres://… GOTOOLCHAIN=auto go test -run '^$' -bench EngineJob -count 5 ./jobs/
//
// One op is one whole job: Create (the insert, with its guild's limits checked), then Engine.Run: claim,
// POST to the fake Viggle (in-process, over loopback), one status poll that finds it complete (scenario
// Duration 0, polled 1 µs after the POST), the 1 KiB video downloaded, a no-op notifier's delivery
// recorded, the lease released. Nothing waits on Viggle, so what is left is the engine, its store and the
// loopback HTTP. serial runs one job at a time (µs/job is a job's latency, the engine's per-job overhead); 16-at-once runs 16 goroutines
// (jobs/s is throughput, as the scheduler's 16 workers would). store-calls/job counts the engine's calls
// of its store, each one statement or one transaction, and store-µs/job the wall time in them (in
// 16-at-once, summed over goroutines, so waits for the gate count once per waiter); the first run's breakdown per method is logged.
func BenchmarkEngineJob(b *testing.B) {
	b.Run(benchBackend(), func(b *testing.B) {
		b.Run("serial", func(b *testing.B) { benchEngineJob(b, 1) })
		b.Run("16-at-once", func(b *testing.B) { benchEngineJob(b, 16) })
	})
}

func benchEngineJob(b *testing.B, parallel int) {
	fake := viggletest.New(viggletest.WithAPIKey(testKey), viggletest.WithScenarios(map[string]viggletest.Scenario{
		"scene_instant": {Steps: 1, VideoSize: 1 << 10},
	}))
	u, stop, err := fake.Start()
	if err != nil {
		b.Fatalf("start fake viggle: %v", err)
	}
	b.Cleanup(stop)
	db := openDB(b, newDBRef(b))
	st := &countingStore{Store: db, n: map[string]int{}, dm: map[string]time.Duration{}}
	e, err := jobs.New(st, newClient(b, u), nopNotifier{}, jobs.Options{
		Origin: store.OriginDiscord, PollInterval: time.Microsecond, WorkDir: b.TempDir(),
	})
	if err != nil {
		b.Fatal(err)
	}
	req := request(b, "scene_instant", "person_a=char_x, person_b=char_y")
	ctx := b.Context()
	var n atomic.Int64
	one := func() error {
		i := n.Add(1)
		j, err := e.Create(ctx, jobs.NewJob{OwnerID: fmt.Sprint("user", i%50), GuildID: "g", Request: req})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		got, err := e.Run(ctx, j.ID)
		if err != nil {
			return fmt.Errorf("run %s: %w", j.ID, err)
		}
		if got.State != store.StateDelivered {
			return fmt.Errorf("job %s ended %s (%s %s), want delivered", j.ID, got.State, got.ErrorCode, got.ErrorMessage)
		}
		return nil
	}
	b.ResetTimer()
	if parallel == 1 {
		for b.Loop() {
			if err := one(); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism((parallel + 1) / 2) // × GOMAXPROCS (2 here) goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := one(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	jobsDone := int(n.Load())
	if posts := fake.Creates(); posts != jobsDone {
		b.Fatalf("%d POSTs for %d jobs, want one each", posts, jobsDone)
	}
	if parallel == 1 {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(jobsDone), "µs/job")
	}
	b.ReportMetric(float64(jobsDone)/b.Elapsed().Seconds(), "jobs/s")
	b.ReportMetric(float64(st.total())/float64(jobsDone), "store-calls/job")
	b.ReportMetric(float64(fake.Count("", "/"))/float64(jobsDone), "viggle-requests/job")
	b.ReportMetric(float64(st.spent().Microseconds())/float64(jobsDone), "store-µs/job")
	if b.N > 1 {
		b.Logf("store calls per job: %s", st.perJob(jobsDone))
	}
}
