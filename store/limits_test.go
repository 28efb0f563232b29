package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/spec"
)

// setLimits gives the guild limits l.
func setLimits(tb testing.TB, db *DB, guild string, l Limits) {
	tb.Helper()
	if _, err := db.UpdateGuildSettings(tb.Context(), guild, Change{ActorID: "admin", What: "limits"},
		func(g *GuildSettings) { g.Limits = l }); err != nil {
		tb.Fatal(err)
	}
}

// renderJob is a queued Discord job of owner in guild created at `at`, as the engine makes it.
func renderJob(id, owner, guild string, at time.Time) *Job {
	return &Job{ID: id, Origin: OriginDiscord, OwnerID: owner, GuildID: guild, InteractionID: "ix-" + id,
		CreatedAt: at, UpdatedAt: at, Request: spec.Request{SceneID: "s"}}
}

// waitFor waits until cond holds, failing the test after 10 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// pendingInserts is how many inserts wait for the next group commit.
func pendingInserts(db *DB) int {
	db.pmu.Lock()
	defer db.pmu.Unlock()
	return len(db.pending)
}

// limitOf returns err's *LimitError, or nil.
func limitOf(err error) *LimitError {
	var le *LimitError
	if errors.As(err, &le) {
		return le
	}
	return nil
}

// insertAtOnce inserts jobs from one goroutine each and returns their errors, in the jobs' order. With
// oneBatch, every insert waits behind the held connection first, so that all of them are committed by
// one group commit (one transaction).
func insertAtOnce(t *testing.T, db *DB, oneBatch bool, jobs ...*Job) []error {
	t.Helper()
	if oneBatch {
		if err := db.gate.lock(t.Context(), false); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() { errs[i] = db.Insert(t.Context(), j) })
	}
	if oneBatch {
		waitFor(t, "every insert to wait for the connection", func() bool { return pendingInserts(db) == len(jobs) })
		db.gate.unlock()
	}
	wg.Wait()
	return errs
}

// TestConcurrentPerUserHundredClicks is the case: 100 simultaneous renders from one member with
// concurrent_per_user=2 insert exactly 2 jobs and refuse 98, whether the inserts share one group commit
// (the rows of a batch see each other) or are spread over several.
func TestConcurrentPerUserHundredClicks(t *testing.T) {
	t.Parallel()
	for _, oneBatch := range []bool{true, false} {
		t.Run(fmt.Sprint("one-batch=", oneBatch), func(t *testing.T) {
			t.Parallel()
			db := openTest(t)
			setLimits(t, db, "g", Limits{ConcurrentPerUser: 2})
			at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			var jobs []*Job
			for i := range 100 {
				jobs = append(jobs, renderJob(fmt.Sprintf("click%03d", i), "u1", "g", at))
			}
			var inserted, refused int
			for i, err := range insertAtOnce(t, db, oneBatch, jobs...) {
				le := limitOf(err)
				switch {
				case err == nil:
					inserted++
				case le != nil && errors.Is(err, ErrLimited) && le.Limit == LimitConcurrentPerUser && le.Max == 2 && le.RetryAt.IsZero():
					refused++
					if _, err := db.Get(t.Context(), jobs[i].ID); !errors.Is(err, ErrNotFound) {
						t.Errorf("refused job %s was written: %v", jobs[i].ID, err)
					}
				default:
					t.Errorf("insert %s: %v", jobs[i].ID, err)
				}
			}
			if inserted != 2 || refused != 98 {
				t.Fatalf("%d inserted, %d refused; want 2 and 98", inserted, refused)
			}
			if n := countRows(t, db, `SELECT COUNT(*) FROM jobs WHERE guild_id = 'g' AND owner_id = 'u1'`); n != 2 {
				t.Errorf("%d rows of u1, want 2", n)
			}
		})
	}
}

func countRows(tb testing.TB, db *DB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := db.SQL().QueryRowContext(tb.Context(), query, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestLimitsAcrossProcesses inserts from two processes (two Opens of one file) at once: the limit
// holds across them, since each group commit counts and inserts under SQLite's write lock, or
// PostgreSQL's advisory lock of the guild (two OpenPostgres of one schema).
func TestLimitsAcrossProcesses(t *testing.T) {
	t.Parallel()
	dbs := openTwice(t)
	setLimits(t, dbs[0], "g", Limits{ConcurrentPerUser: 2, RendersPerUserPerDay: 3, GuildRendersPerDay: 5})
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	const n = 60
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// u1 is held by concurrent_per_user=2; the others, one job each, by the guild's 5 a day.
			owner := "u1"
			if i%2 == 1 {
				owner = fmt.Sprint("other", i)
			}
			errs <- dbs[i%2].Insert(t.Context(), renderJob(fmt.Sprintf("proc%03d", i), owner, "g", at))
		})
	}
	wg.Wait()
	close(errs)
	var inserted int
	for err := range errs {
		switch {
		case err == nil:
			inserted++
		case !errors.Is(err, ErrLimited):
			t.Errorf("insert: %v", err)
		}
	}
	if inserted != 5 {
		t.Errorf("%d inserted from two processes, want 5 (the guild's limit)", inserted)
	}
	if got := countRows(t, dbs[1], `SELECT COUNT(*) FROM jobs WHERE owner_id = 'u1'`); got > 2 {
		t.Errorf("u1 has %d jobs, over its 2 at a time", got)
	}
}

// TestPerDayQuotaResetsAtUTCMidnight drives the clock (the jobs' CreatedAt, as the engine sets it from
// its Now) across a UTC midnight, with a job created in another time zone.
func TestPerDayQuotaResetsAtUTCMidnight(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	setLimits(t, db, "g", Limits{RendersPerUserPerDay: 2, GuildRendersPerDay: 3})
	eve := time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)
	midnight := time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)
	insert(t, db, renderJob("d1", "u1", "g", eve), renderJob("d2", "u1", "g", eve.Add(59*time.Minute)))

	// 23:59:59.999 UTC, given in UTC+14 (already the 11th there): still the 10th's quota.
	kiritimati := time.FixedZone("UTC+14", 14*3600)
	err := db.Insert(t.Context(), renderJob("d3", "u1", "g", midnight.Add(-time.Millisecond).In(kiritimati)))
	le := limitOf(err)
	if le == nil || le.Limit != LimitRendersPerUserPerDay || le.Max != 2 || !le.RetryAt.Equal(midnight) {
		t.Fatalf("third render of the day: %v (%+v); want renders_per_user_per_day 2 until %v", err, le, midnight)
	}
	if le.RetryAt.Location() != time.UTC {
		t.Errorf("RetryAt in %v, want UTC", le.RetryAt.Location())
	}
	// Another member still has the guild's last render of the day; then the guild is out too.
	insert(t, db, renderJob("o1", "u2", "g", eve.Add(30*time.Minute)))
	err = db.Insert(t.Context(), renderJob("o2", "u3", "g", eve.Add(45*time.Minute)))
	if le := limitOf(err); le == nil || le.Limit != LimitGuildRendersPerDay || le.Max != 3 || !le.RetryAt.Equal(midnight) {
		t.Fatalf("fourth render of the guild's day: %v; want guild_renders_per_day 3 until midnight", err)
	}
	// Another guild's day is its own.
	insert(t, db, renderJob("x1", "u1", "g-other", eve))

	// At midnight both quotas are new.
	insert(t, db, renderJob("n1", "u1", "g", midnight), renderJob("n2", "u1", "g", midnight.Add(time.Hour)))
	if err := db.Insert(t.Context(), renderJob("n3", "u1", "g", midnight.Add(2*time.Hour))); limitOf(err) == nil {
		t.Errorf("third render of the new day: %v, want refused", err)
	}
	// A render given a day-old clock still counts against that day.
	if err := db.Insert(t.Context(), renderJob("late", "u4", "g", eve)); limitOf(err) == nil {
		t.Errorf("a render created on the full day: %v, want refused", err)
	}
}

// TestJobsThatNeverReachedViggleDoNotCount checks which ended jobs count toward the per-day limits and
// the cooldown: those that ended without reaching Viggle do not (failed or cancelled, never submitted);
// those that may have reached it do (interrupted, or failed or cancelled after it accepted them).
func TestJobsThatNeverReachedViggleDoNotCount(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	seed := func(id string, st State, submitted bool) {
		t.Helper()
		j := renderJob(id, "u1", "g", at)
		j.State = st
		if submitted {
			j.SubmittedAt, j.ViggleJobID = at, "vj-"+id
		}
		if st.Final() {
			j.ClosedAt = at
		}
		insert(t, db, j)
	}
	// None of these count: cancelled while queued, never acknowledged or not sent, refused by Viggle.
	seed("cancelled-queued", StateCancelled, false)
	seed("not-acked", StateFailed, false)
	seed("refused", StateFailed, false)
	setLimits(t, db, "g", Limits{RendersPerUserPerDay: 2, Cooldown: time.Hour})
	if err := db.Insert(t.Context(), renderJob("first", "u1", "g", at.Add(time.Minute))); err != nil {
		t.Fatalf("with only unsent jobs today: %v", err)
	}

	db2 := openTest(t)
	at2 := at
	for _, c := range []struct {
		id        string
		st        State
		submitted bool
	}{
		{"interrupted", StateInterrupted, false}, // the POST's outcome is unknown: may have been charged
		{"failed-at-viggle", StateFailed, true},
		{"cancelled-at-viggle", StateCancelled, true},
		{"delivered", StateDelivered, true},
	} {
		j := renderJob(c.id, "u1", "g", at2)
		j.State = c.st
		if c.submitted {
			j.SubmittedAt, j.ViggleJobID = at2, "vj-"+c.id
		}
		j.ClosedAt = at2
		insert(t, db2, j)
		setLimits(t, db2, "g", Limits{RendersPerUserPerDay: 1})
		if err := db2.Insert(t.Context(), renderJob("after-"+c.id, "u1", "g", at2.Add(time.Minute))); limitOf(err) == nil {
			t.Errorf("after a %s job (submitted %v): %v, want it to count", c.st, c.submitted, err)
		}
		setLimits(t, db2, "g", Limits{Cooldown: time.Hour})
		if err := db2.Insert(t.Context(), renderJob("cool-"+c.id, "u1", "g", at2.Add(time.Minute))); limitOf(err) == nil {
			t.Errorf("cooldown after a %s job (submitted %v): %v, want it to count", c.st, c.submitted, err)
		}
		setLimits(t, db2, "g", Limits{})
		if _, err := db2.SQL().ExecContext(t.Context(), `DELETE FROM jobs`); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentCountsJobsInProgressOnly(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	setLimits(t, db, "g", Limits{ConcurrentPerUser: 1})
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	j := renderJob("c1", "u1", "g", at)
	j.LeaseOwner = "me"
	insert(t, db, j)
	for _, st := range []State{StateSubmitting, StateRunning} {
		j.State = st
		from := map[State]State{StateSubmitting: StateQueued, StateRunning: StateSubmitting}[st]
		if st == StateRunning {
			j.ViggleJobID, j.SubmittedAt = "vj-c1", at
		}
		if err := db.Update(t.Context(), j, from); err != nil {
			t.Fatal(err)
		}
		err := db.Insert(t.Context(), renderJob("c2-"+string(st), "u1", "g", at))
		if le := limitOf(err); le == nil || le.Limit != LimitConcurrentPerUser {
			t.Errorf("with one job %s: %v, want concurrent_per_user", st, err)
		}
	}
	// Another member, a terminal job and another guild are not held.
	insert(t, db, renderJob("c3", "u2", "g", at), renderJob("c4", "u1", "g2", at),
		&Job{ID: "term", Origin: OriginTerminal, OwnerID: "u1", Request: spec.Request{SceneID: "s"}})
	// Once Viggle finished it (complete: delivering is not rendering), the member may render again.
	j.State, j.VideoURL = StateComplete, "https://cdn.example/v.mp4"
	if err := db.Update(t.Context(), j, StateRunning); err != nil {
		t.Fatal(err)
	}
	insert(t, db, renderJob("c5", "u1", "g", at))
}

func TestCooldown(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	setLimits(t, db, "g", Limits{Cooldown: 30 * time.Second})
	t0 := time.Date(2026, 3, 10, 23, 59, 50, 0, time.UTC)
	insert(t, db, renderJob("k1", "u1", "g", t0))
	// Ten seconds later, after midnight: the cooldown runs across it.
	err := db.Insert(t.Context(), renderJob("k2", "u1", "g", t0.Add(15*time.Second)))
	le := limitOf(err)
	if le == nil || le.Limit != LimitCooldown || le.Max != 30 || !le.RetryAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("render 15 s after the last: %v (%+v); want cooldown_seconds 30 until %v", err, le, t0.Add(30*time.Second))
	}
	insert(t, db, renderJob("k3", "u2", "g", t0.Add(15*time.Second))) // another member's own cooldown
	insert(t, db, renderJob("k4", "u1", "g", t0.Add(30*time.Second)))
	// A refused render does not restart the cooldown; the latest inserted one does.
	err = db.Insert(t.Context(), renderJob("k5", "u1", "g", t0.Add(59*time.Second)))
	if le := limitOf(err); le == nil || !le.RetryAt.Equal(t0.Add(60*time.Second)) {
		t.Errorf("render 29 s after the latest: %v, want refused until 60 s", err)
	}
	// With several jobs in the window (made before the cooldown was set), the latest counts; one that
	// never reached Viggle does not.
	insert(t, db, renderJob("w1", "u5", "g2", t0), renderJob("w2", "u5", "g2", t0.Add(20*time.Second)))
	unsent := renderJob("w3", "u5", "g2", t0.Add(25*time.Second))
	unsent.State, unsent.ClosedAt = StateCancelled, t0.Add(26*time.Second)
	insert(t, db, unsent)
	setLimits(t, db, "g2", Limits{Cooldown: 30 * time.Second})
	err = db.Insert(t.Context(), renderJob("w4", "u5", "g2", t0.Add(27*time.Second)))
	if le := limitOf(err); le == nil || !le.RetryAt.Equal(t0.Add(50*time.Second)) {
		t.Errorf("render 7 s after the latest of several: %v, want refused until 50 s (w2's + 30 s)", err)
	}
}

// TestLimitFailsOnlyItsRow puts a refused job in one group commit with a duplicate and jobs that fit:
// each gets its own outcome, as a duplicate does.
func TestLimitFailsOnlyItsRow(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	insert(t, db, renderJob("old", "u9", "g", at))
	setLimits(t, db, "g", Limits{ConcurrentPerUser: 1})
	dup := renderJob("dup", "u3", "g2", at)
	dup.InteractionID = "ix-old"
	errs := insertAtOnce(t, db, true,
		renderJob("a", "u1", "g", at), renderJob("b", "u1", "g", at), dup, renderJob("c", "u2", "g", at),
		renderJob("d", "u9", "g", at))
	want := map[string]string{"a": "ok", "b": "limit", "dup": "duplicate", "c": "ok", "d": "limit"}
	for i, id := range []string{"a", "b", "dup", "c", "d"} {
		got := "ok"
		switch err := errs[i]; {
		case limitOf(err) != nil:
			got = "limit"
		case errors.Is(err, ErrDuplicate):
			got = "duplicate"
		case err != nil:
			got = err.Error()
		}
		// Which of a and b gets the slot depends on the order of the batch; one of them does.
		if id == "a" || id == "b" {
			continue
		}
		if got != want[id] {
			t.Errorf("%s: %s, want %s", id, got, want[id])
		}
	}
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Errorf("a and b: %v, %v; want one inserted and one refused", errs[0], errs[1])
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM jobs`); n != 3 {
		t.Errorf("%d rows, want old, one of a and b, c", n)
	}
}

func TestLimitOrder(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	insert(t, db, renderJob("o1", "u1", "g", at))
	for _, tt := range []struct {
		limits Limits
		want   string
	}{
		{Limits{ConcurrentPerUser: 1, RendersPerUserPerDay: 1, Cooldown: time.Hour, GuildRendersPerDay: 1}, LimitGuildRendersPerDay},
		{Limits{ConcurrentPerUser: 1, RendersPerUserPerDay: 1, Cooldown: time.Hour, GuildRendersPerDay: 2}, LimitRendersPerUserPerDay},
		{Limits{ConcurrentPerUser: 1, RendersPerUserPerDay: 2, Cooldown: time.Hour}, LimitConcurrentPerUser},
		{Limits{ConcurrentPerUser: 2, Cooldown: time.Hour}, LimitCooldown},
	} {
		setLimits(t, db, "g", tt.limits)
		err := db.Insert(t.Context(), renderJob("o2", "u1", "g", at.Add(time.Minute)))
		if le := limitOf(err); le == nil || le.Limit != tt.want {
			t.Errorf("limits %+v: %v, want %s", tt.limits, err, tt.want)
		}
	}
}

func TestLimitError(t *testing.T) {
	t.Parallel()
	e := &LimitError{Limit: LimitCooldown, Max: 30, RetryAt: time.Date(2026, 3, 10, 12, 0, 30, 0, time.UTC)}
	wrapped := fmt.Errorf("store: insert job x: %w", e)
	if !errors.Is(wrapped, ErrLimited) || errors.Is(wrapped, ErrDuplicate) || errors.Is(ErrLimited, e) {
		t.Error("errors.Is of a LimitError")
	}
	if got := e.Error(); got != "store: limit reached: cooldown_seconds 30, until 2026-03-10T12:00:30Z" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&LimitError{Limit: LimitConcurrentPerUser, Max: 2}).Error(); got != "store: limit reached: concurrent_per_user 2" {
		t.Errorf("Error() = %q", got)
	}
}

// TestLimitPlans checks that every count reads a range of an index: none scans the jobs table (or a whole
// index), whose size grows with the bot's history.
func TestLimitPlans(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	plan := explainPlan(t, db, countsSQL, "g", OriginDiscord, "u", 1, 2, 3, 4, 5) +
		explainPlan(t, db, recentSQL, "g", OriginDiscord, "u", 1)
	if testBackend == Postgres {
		// The planner picks among the indexes by their statistics (on a few rows here, jobs_guild_created_idx
		// for the member's day too): what matters is that no count reads the table whole.
		for _, idx := range []string{"jobs_guild_created_idx", "jobs_active_idx"} {
			if !strings.Contains(plan, " using "+idx+" ") {
				t.Errorf("plan of the limit counts:\n%s\nwant a scan using %s", plan, idx)
			}
		}
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("plan of the limit counts scans jobs:\n%s", plan)
		}
		return
	}
	for _, idx := range []string{
		"SEARCH jobs USING COVERING INDEX jobs_guild_created_idx (guild_id=? AND created_at>? AND created_at<?)",
		"SEARCH jobs USING INDEX jobs_owner_created_idx (origin=? AND guild_id=? AND owner_id=? AND created_at>? AND created_at<?)",
		"SEARCH jobs USING INDEX jobs_active_idx (guild_id=? AND owner_id=?)",
		"SEARCH jobs USING INDEX jobs_owner_created_idx (origin=? AND guild_id=? AND owner_id=? AND created_at>?)",
	} {
		if !strings.Contains(plan, idx) {
			t.Errorf("plan of the limit counts:\n%s\nwant %s", plan, idx)
		}
	}
	if strings.Contains(plan, "SCAN jobs") {
		t.Errorf("plan of the limit counts scans jobs:\n%s", plan)
	}
}
