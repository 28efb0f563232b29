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

// BenchmarkInsert measures Insert on a table of 10,000 jobs: one at a time (each its own commit), and 16
// callers at once (group commit batches them). A member's jobs are queued ones, as a /render makes.
//
//	GOTOOLCHAIN=auto go test -run '^$' -bench Insert ./store/
func BenchmarkInsert(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		db := openTest(b)
		seedInsertBench(b, db)
		var n int64
		for b.Loop() {
			n++
			if err := db.Insert(b.Context(), benchJob(n, fmt.Sprint("user", n%50))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("16-at-once", func(b *testing.B) {
		db := openTest(b)
		seedInsertBench(b, db)
		var n atomic.Int64
		for b.Loop() {
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					i := n.Add(1)
					if err := db.Insert(b.Context(), benchJob(i, fmt.Sprint("user", i%50))); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
		}
	})
}
