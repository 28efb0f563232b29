package store

import (
	"fmt"
	"testing"
)

// BenchmarkUpdate measures a progress update with 10,000 unfinished jobs in the table.
// Each Update is its own commit, so with synchronous=FULL the disk's fsync time dominates.
func BenchmarkUpdate(b *testing.B) {
	db := openTest(b)
	const n = 10_000
	tx, err := db.SQL().BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := tx.ExecContext(b.Context(), `INSERT INTO jobs
			(id, origin, owner_id, guild_id, interaction_id, scene_id, mapping, state, viggle_job_id,
			 created_at, updated_at, lease_owner)
			VALUES (?, 'discord', ?, 'g', ?, 's', '[]', 'running', ?, ?, ?, 'bench')`,
			fmt.Sprint("job", i), fmt.Sprint("user", i%50), fmt.Sprint("ix", i), fmt.Sprint("vj", i), i, i); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	jobs, err := db.Unfinished(b.Context(), OriginDiscord)
	if err != nil || len(jobs) != n {
		b.Fatalf("Unfinished: %d jobs, %v", len(jobs), err)
	}
	for i := 0; b.Loop(); i++ {
		j := jobs[i%n]
		j.Progress = i % 100
		if err := db.Update(b.Context(), j, StateRunning); err != nil {
			b.Fatal(err)
		}
	}
}
