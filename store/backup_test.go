package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func countJobs(tb testing.TB, db *DB) int {
	tb.Helper()
	var n int
	if err := db.SQL().QueryRowContext(tb.Context(), `SELECT count(*) FROM jobs`).Scan(&n); err != nil {
		tb.Fatalf("count jobs: %v", err)
	}
	return n
}

// A backup taken while this handle and a second one (another process, as the bot is for `backup`)
// keep inserting is one consistent snapshot: it opens, holds every row committed before it began, and
// of each writer's sequence a prefix with no gap.
func TestBackupWhileWriting(t *testing.T) {
	sqliteOnly(t) // VACUUM INTO; on PostgreSQL Backup refuses (TestBackupPostgresRefuses)
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	other := openAt(t, path)
	for i := range 50 {
		insert(t, db, testJob(fmt.Sprintf("base-%02d", i), OriginDiscord, "u1", "g1", ms(int64(1000+i))))
	}

	// Each writer inserts rows in sequence until the backup is done, then ten more (so writes go on
	// during and after the copy), then stops.
	var wg sync.WaitGroup
	started := make(chan struct{}, 2)
	backupDone := make(chan struct{})
	for w, h := range []*DB{db, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			after := 0
			for i := 0; after < 10; i++ {
				if err := h.Insert(t.Context(), testJob(fmt.Sprintf("w%d-%05d", w, i), OriginDiscord, "u2", "g2", ms(int64(5000+i)))); err != nil {
					t.Errorf("writer %d: Insert: %v", w, err)
					return
				}
				if i == 5 {
					started <- struct{}{}
				}
				select {
				case <-backupDone:
					after++
				default:
				}
			}
		}()
	}
	<-started
	<-started
	out := filepath.Join(t.TempDir(), "copy.db")
	err := db.Backup(t.Context(), out)
	close(backupDone)
	wg.Wait() // the writers were not blocked by the backup: each wrote ten rows after it
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}

	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("backup mode %v, want 0600", perm)
	}
	// Only the copy was written next to it (no journal or temporary file left).
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("backup folder holds %v, want only copy.db", names)
	}

	cp := openAt(t, out)
	var check string
	if err := cp.SQL().QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the copy = %q, %v", check, err)
	}
	for i := range 50 {
		got := get(t, cp, fmt.Sprintf("base-%02d", i))
		if got.GuildID != "g1" || got.OwnerID != "u1" || got.InteractionToken != fmt.Sprintf("tok-base-%02d", i) {
			t.Fatalf("row base-%02d in the copy: %+v", i, got)
		}
	}
	rows, err := cp.SQL().QueryContext(t.Context(), `SELECT id FROM jobs WHERE id LIKE 'w%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seqs := map[string][]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		w, n, _ := strings.Cut(id, "-")
		i, _ := strconv.Atoi(n)
		seqs[w] = append(seqs[w], i)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for w, s := range seqs {
		sort.Ints(s)
		if s[len(s)-1] != len(s)-1 {
			t.Errorf("writer %s in the copy: %d rows up to %d, a gap (not one snapshot)", w, len(s), s[len(s)-1])
		}
	}
	if len(seqs["w0"]) < 6 || len(seqs["w1"]) < 6 {
		t.Errorf("the copy misses rows committed before the backup began: w0 %d, w1 %d", len(seqs["w0"]), len(seqs["w1"]))
	}
	if n := countJobs(t, cp); n >= countJobs(t, db) {
		t.Errorf("the copy has %d rows, as many as the database after the writers went on (%d)", n, countJobs(t, db))
	}
}

func TestBackupRefusesAnExistingFile(t *testing.T) {
	sqliteOnly(t) // VACUUM INTO; on PostgreSQL Backup refuses (TestBackupPostgresRefuses)
	t.Parallel()
	db := openTest(t)
	insert(t, db, testJob("j1", OriginTerminal, "u1", "", ms(1000)))
	dir := t.TempDir()
	for name, content := range map[string]string{"full.db": "keep me", "empty.db": ""} {
		out := filepath.Join(dir, name)
		if err := os.WriteFile(out, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		err := db.Backup(t.Context(), out)
		if !errors.Is(err, ErrBackupExists) || !strings.Contains(err.Error(), out) {
			t.Fatalf("Backup over %s = %v, want ErrBackupExists naming the file", name, err)
		}
		if got, _ := os.ReadFile(out); string(got) != content {
			t.Fatalf("%s was changed to %q", name, got)
		}
	}
	if err := db.Backup(t.Context(), filepath.Join(dir, "missing", "copy.db")); err == nil {
		t.Fatal("Backup into a missing folder succeeded")
	}
	if err := db.Backup(t.Context(), ""); err == nil {
		t.Fatal("Backup to an empty path succeeded")
	}
}

// A failed copy leaves no file behind (the next attempt with the same name must not be refused).
func TestBackupFailureLeavesNoFile(t *testing.T) {
	sqliteOnly(t) // VACUUM INTO; on PostgreSQL Backup refuses (TestBackupPostgresRefuses)
	t.Parallel()
	db := openTest(t)
	out := filepath.Join(t.TempDir(), "copy.db")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := db.Backup(ctx, out); err == nil {
		t.Fatal("Backup with a cancelled context succeeded")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed backup left %s: %v", out, err)
	}
	if err := db.Backup(t.Context(), out); err != nil {
		t.Fatalf("Backup after a failed one: %v", err)
	}
}

func TestBackupPostgresRefuses(t *testing.T) {
	t.Parallel()
	if testBackend != Postgres {
		t.Skip("PostgreSQL only")
	}
	db := openTest(t)
	out := filepath.Join(t.TempDir(), "copy.db")
	if err := db.Backup(t.Context(), out); !errors.Is(err, ErrBackupPostgres) || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("Backup on PostgreSQL = %v, want ErrBackupPostgres pointing to pg_dump", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Backup on PostgreSQL left %s: %v", out, err)
	}
}
