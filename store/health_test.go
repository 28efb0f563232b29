package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"testing"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

func TestCountByState(t *testing.T) {
	db := openTest(t)
	got, err := db.CountByState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[State]int{}
	for _, s := range States {
		if !s.Valid() {
			t.Errorf("States has %q, not a valid state", s)
		}
		want[s] = 0
	}
	if !maps.Equal(got, want) {
		t.Fatalf("empty database: %v, want every state at 0", got)
	}
	for i, st := range []State{StateQueued, StateQueued, StateRunning, StateDelivered} {
		j := testJob(fmt.Sprint("j", i), OriginDiscord, "u", "g", ms(int64(i)))
		insert(t, db, j)
		if _, err := db.SQL().ExecContext(t.Context(), `UPDATE jobs SET state = ? WHERE id = ?`, st, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	insert(t, db, testJob("term", OriginTerminal, "u", "", ms(9))) // every origin counts
	got, err = db.CountByState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want[StateQueued], want[StateRunning], want[StateDelivered] = 3, 1, 1
	if !maps.Equal(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
}

func TestWritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	if err := db.Writable(t.Context()); err != nil {
		t.Fatalf("a fresh database: %v", err)
	}

	// Another connection (another process, a backup tool) holds the write lock: not writable, and the
	// check ends with its context rather than after SQLite's 5 s busy wait.
	other := openAt(t, path)
	tx, err := other.SQL().BeginTx(t.Context(), nil) // BEGIN IMMEDIATE
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	start := time.Now()
	err = db.Writable(ctx)
	cancel()
	if se := (sqlite3.Error{}); !errors.As(err, &se) || se.Code != sqlite3.ErrBusy {
		t.Fatalf("writable while another connection holds the write lock: %v, want SQLITE_BUSY", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the check took %v; its context allowed 300ms", d)
	}
	// The connection's busy timeout, lowered for the check, is back.
	var ms int
	if err := db.SQL().QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&ms); err != nil || ms != busyTimeoutMS {
		t.Fatalf("busy_timeout after the check = %d (%v), want %d", ms, err, busyTimeoutMS)
	}
	// It wrote and left nothing: the database works as before once the lock is gone.
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := db.Writable(t.Context()); err != nil {
		t.Fatalf("after the other connection let go: %v", err)
	}
	insert(t, db, testJob("after", OriginDiscord, "u", "g", time.UnixMilli(1)))

	// A context already done: the gate refuses at once.
	done, cancel := context.WithCancel(t.Context())
	cancel()
	if err := db.Writable(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("with a done context: %v", err)
	}
}
