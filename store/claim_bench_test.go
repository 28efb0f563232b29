package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/pgtest"
)

// claimSeed is how many queued jobs the one-process claim benchmark claims among.
const claimSeed = 10_000

// claimWorkers is how many goroutines of one process claim at once: the engine's default Workers (16).
const claimWorkers = 16

// seedQueued writes n queued, unleased jobs with ids prefix0000000… in one transaction and returns the ids.
func seedQueued(b *testing.B, db *DB, prefix string, n int) []string {
	b.Helper()
	tx, err := db.SQL().BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now().UnixMilli()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s%07d", prefix, i)
		if _, err := tx.ExecContext(b.Context(), `INSERT INTO jobs
			(id, origin, owner_id, guild_id, interaction_id, scene_id, mapping, state, created_at, updated_at)
			VALUES (?, 'discord', ?, 'g', ?, 's', '[]', 'queued', ?, ?)`,
			ids[i], fmt.Sprint("user", i%50), "ix-"+ids[i], now, now); err != nil {
			b.Fatalf("seed job %d: %v", i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return ids
}

// openShared opens one fresh database of the backend under test twice, as two bot processes would
// (each *DB has its own gate and connections), and closes both at cleanup.
func openShared(b *testing.B) (*DB, *DB) {
	b.Helper()
	if testBackend == Postgres {
		u := pgtest.URL(b)
		var dbs [2]*DB
		for i := range dbs {
			db, err := OpenPostgres(b.Context(), u, nil)
			if err != nil {
				b.Fatalf("OpenPostgres: %v", err)
			}
			b.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		return dbs[0], dbs[1]
	}
	path := filepath.Join(b.TempDir(), "bot.db")
	return openAt(b, path), openAt(b, path)
}

// BenchmarkClaim measures the engine's lease on a job: DB.Claim as the engine calls it (a lease of a
// minute, no takeover), on the backend of this run of the suite (TestMain runs the benchmarks again on
// PostgreSQL when it has a server; see backend_test.go):
//
//   - one-process: 16 goroutines of one *DB (the engine's workers) each Claim a job among 10,000 queued
//     ones and Release it, as a job's run begins and ends; one op = one Claim plus one Release.
//   - two-processes-apart: the same on two *DB on one database (two bot processes), 16 goroutines each,
//     each process on its own half of the jobs: if this is about twice one-process, what bounds one
//     process is its store (the gate: one statement at a time per process), not the database.
//   - two-processes: two *DB on the same database (two bot processes), 16 goroutines each, both walking
//     the same b.N queued jobs in the same order and claiming each with an hour's lease, so that they
//     race for every row; one op = one job claimed (two attempts). It fails unless every job was won by
//     exactly one of them and its row is leased to the winner.
//
// One command prints both backends:
//
//	VIGGLE_TEST_POSTGRES_URL=postgres://… GOTOOLCHAIN=auto go test -run '^$' -bench Claim -count 5 ./store/
func BenchmarkClaim(b *testing.B) {
	b.Run(string(testBackend), func(b *testing.B) {
		b.Run("one-process", func(b *testing.B) { benchClaimOne(b, 1) })
		b.Run("two-processes-apart", func(b *testing.B) { benchClaimOne(b, 2) })
		b.Run("two-processes", benchClaimTwo)
	})
}

// benchClaimOne runs procs processes (each *DB on one database) of claimWorkers goroutines each, every
// goroutine claiming and releasing jobs of its process's share of claimSeed queued ones.
func benchClaimOne(b *testing.B, procs int) {
	dbs := []*DB{openTest(b)}
	if procs == 2 {
		a, c := openShared(b)
		dbs = []*DB{a, c}
	}
	ids := seedQueued(b, dbs[0], "claim", claimSeed)
	share := claimSeed / procs
	ctx := b.Context()
	var next, claims atomic.Int64
	b.SetParallelism((procs*claimWorkers + 1) / 2) // × GOMAXPROCS (2 here) goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		p := int(next.Add(1)-1) % procs // goroutines alternate between the processes
		db, owner := dbs[p], fmt.Sprint("bench-", p)
		for pb.Next() {
			id := ids[p*share+int(claims.Add(1))%share]
			now := time.Now()
			// One owner per process, as the engine's: two goroutines on the same job (after the walk
			// wraps) both succeed, as the engine's own re-claim does.
			if _, err := db.Claim(ctx, id, owner, now, now.Add(time.Minute), ""); err != nil {
				b.Error(err)
				return
			}
			if err := db.Release(ctx, id, owner); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
}

func benchClaimTwo(b *testing.B) {
	procs := [2]*DB{}
	procs[0], procs[1] = openShared(b)
	ids := seedQueued(b, procs[0], "race", b.N)
	ctx := b.Context()
	owners := [2]string{"proc-a", "proc-b"}
	winner := make([]atomic.Int32, b.N) // bit p set: process p claimed the job
	var lost atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{}) // both processes' workers begin together
	b.ResetTimer()
	for p, db := range procs {
		var next atomic.Int64 // each process walks every job, in the same order as the other
		for range claimWorkers {
			wg.Go(func() {
				<-start
				for {
					i := next.Add(1) - 1
					if i >= int64(len(ids)) {
						return
					}
					now := time.Now()
					_, err := db.Claim(ctx, ids[i], owners[p], now, now.Add(time.Hour), "")
					switch {
					case err == nil:
						winner[i].Or(1 << p)
					case errors.Is(err, ErrLeased):
						lost.Add(1)
					default:
						b.Errorf("%s: %v", owners[p], err)
						return
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	b.StopTimer()
	elapsed := b.Elapsed().Seconds()

	rows, err := procs[1].SQL().QueryContext(ctx, `SELECT id, lease_owner FROM jobs WHERE id LIKE 'race%'`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	holder := make(map[string]string, len(ids))
	for rows.Next() {
		var id, owner string
		if err := rows.Scan(&id, &owner); err != nil {
			b.Fatal(err)
		}
		holder[id] = owner
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	bad := 0
	for i, id := range ids {
		w := winner[i].Load()
		ok := (w == 1 && holder[id] == owners[0]) || (w == 2 && holder[id] == owners[1])
		if !ok {
			if bad < 5 {
				b.Errorf("job %s: claimed by %s (bits %02b), row leased to %q; want exactly one winner holding it",
					id, winners(w, owners), w, holder[id])
			}
			bad++
		}
	}
	if bad > 0 || lost.Load() != int64(len(ids)) {
		b.Fatalf("%d of %d jobs not won by exactly one process; %d claims refused, want %d",
			bad, len(ids), lost.Load(), len(ids))
	}
	b.ReportMetric(float64(b.N)/elapsed, "claims/s")
	b.ReportMetric(float64(2*b.N)/elapsed, "attempts/s")
	var a int
	for i := range winner {
		if winner[i].Load() == 1 {
			a++
		}
	}
	b.ReportMetric(float64(a)/float64(b.N), "won-by-a")
}

func winners(w int32, owners [2]string) []string {
	var out []string
	for p, o := range owners {
		if w&(1<<p) != 0 {
			out = append(out, o)
		}
	}
	return out
}
