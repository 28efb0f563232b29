package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/spec"
)

// seedInsertBench writes 10,000 jobs of 50 members of guild g (a year of history), as a busy bot has.
func seedInsertBench(b *testing.B, db *DB) {
	b.Helper()
	tx, err := db.SQL().BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Add(-365 * 24 * time.Hour).UnixMilli()
	for i := range 10_000 {
		state, closed := "delivered", any(start+int64(i)*3_000_000+1000)
		if i%100 == 0 {
			state, closed = "running", nil
		}
		at := start + int64(i)*3_000_000
		if _, err := tx.ExecContext(b.Context(), `INSERT INTO jobs
			(id, origin, owner_id, guild_id, interaction_id, scene_id, mapping, state, created_at, submitted_at,
			 closed_at, updated_at)
			VALUES (?, 'discord', ?, 'g', ?, 's', '[]', ?, ?, ?, ?, ?)`,
			fmt.Sprint("seed", i), fmt.Sprint("user", i%50), fmt.Sprint("seedix", i), state, at, at+10, closed, at); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func benchJob(n int64, owner string) *Job {
	return &Job{ID: fmt.Sprintf("bench%07d", n), Origin: OriginDiscord, OwnerID: owner, GuildID: "g",
		InteractionID: fmt.Sprintf("benchix%d", n), InteractionToken: "tok",
		Request: spec.Request{SceneID: "s", Mapping: []spec.Pair{{Person: "p1", Character: "c1"}}}}
}

// limitedGuilds is how many guilds the limited benchmarks spread their jobs over: each gets 500 jobs of
// the day, half its daily limit, so that a job's guild count reads 250 index entries on average.
const limitedGuilds = 200

// setBenchLimits gives the guilds lim0 … lim199 every limit, none of which the benchmark reaches.
func setBenchLimits(b *testing.B, db *DB) {
	b.Helper()
	for i := range limitedGuilds {
		if _, err := db.SQL().ExecContext(b.Context(), `INSERT INTO guild_settings (guild_id, concurrent_per_user,
			renders_per_user_per_day, cooldown_seconds, guild_renders_per_day, updated_at) VALUES (?, 3, 1000, 30, 1000, 1)`,
			fmt.Sprint("lim", i)); err != nil {
			b.Fatal(err)
		}
	}
}

// limitedJob is benchJob in a guild with limits, by a member of its own (whose cooldown and counts it
// does not reach).
func limitedJob(n int64) *Job {
	j := benchJob(n, fmt.Sprint("member", n))
	j.GuildID = fmt.Sprint("lim", n/500%limitedGuilds)
	return j
}

// BenchmarkInsert measures Insert on a table of 10,000 jobs: one at a time (each its own commit), and 16
// callers at once (group commit batches them). A member's jobs are queued ones, as a /render makes. The
// -limited variants insert into guilds with every limit set (the checks run; none is reached).
//
//	GOTOOLCHAIN=auto go test -run '^$' -bench Insert ./store/
func BenchmarkInsert(b *testing.B) {
	for _, limited := range []bool{false, true} {
		job := func(n int64) *Job { return benchJob(n, fmt.Sprint("user", n%50)) }
		suffix := ""
		if limited {
			job, suffix = limitedJob, "-limited"
		}
		b.Run("serial"+suffix, func(b *testing.B) {
			db := openTest(b)
			seedInsertBench(b, db)
			setBenchLimits(b, db)
			var n int64
			for b.Loop() {
				n++
				if err := db.Insert(b.Context(), job(n)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("16-at-once"+suffix, func(b *testing.B) {
			db := openTest(b)
			seedInsertBench(b, db)
			setBenchLimits(b, db)
			var n atomic.Int64
			for b.Loop() {
				var wg sync.WaitGroup
				for range 16 {
					wg.Go(func() {
						if err := db.Insert(b.Context(), job(n.Add(1))); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
		})
	}
}
