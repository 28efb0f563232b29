package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"
)

// What the operations endpoints read (HTTP_ADDR: /metrics and /readyz).

// States are every job state, in the order of a job's life, then the final ones.
var States = []State{StateQueued, StateSubmitting, StateRunning, StateComplete, StateDelivering,
	StateDelivered, StateFailed, StateCancelled, StateInterrupted, StateUndeliverable}

// CountByState counts the jobs of every origin by state. Every state of States is in the map (0 when no
// job has it), so a gauge of each exists from the start. It reads the whole jobs table at the gate's low
// priority: about 40 ms for 200,000 jobs, so a caller polling it (a metrics scrape) caches it.
func (db *DB) CountByState(ctx context.Context) (map[State]int, error) {
	counts := make(map[State]int, len(States))
	for _, s := range States {
		counts[s] = 0
	}
	err := db.queryRows(ctx, func(s scanner) error {
		var st State
		var n int
		if err := s.Scan(&st, &n); err != nil {
			return err
		}
		counts[st] = n
		return nil
	}, `SELECT state, COUNT(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("store: count jobs by state: %w", err)
	}
	return counts, nil
}

// Writable checks that the database takes writes now: it begins an immediate transaction (SQLite's
// write lock, which a read-only file, a broken disk or another process holding the lock refuses) and
// rolls it back, through the gate like every other statement. It writes nothing. ctx bounds the wait:
// the gate's queue, and SQLite's busy wait for another connection's lock, which the driver's interrupt
// does not cut short, so the check lowers the connection's busy timeout to ctx's deadline for its own
// BEGIN (and puts it back).
func (db *DB) Writable(ctx context.Context) error {
	if err := db.gate.lock(ctx, false); err != nil {
		return fmt.Errorf("store: check the database is writable: wait for the connection: %w", err)
	}
	defer db.gate.unlock()
	if db.pg {
		return db.writablePostgres(ctx)
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: check the database is writable: %w", err)
	}
	defer conn.Close()
	wait := time.Duration(busyTimeoutMS) * time.Millisecond
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, max(time.Until(d), time.Millisecond))
	}
	if wait < busyTimeoutMS*time.Millisecond {
		if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(wait.Milliseconds(), 10)); err != nil {
			return fmt.Errorf("store: check the database is writable: set the busy timeout: %w", err)
		}
		defer func() {
			// The connection is the store's only one: its usual busy timeout must come back, even
			// when ctx is over.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if _, err := conn.ExecContext(rctx, "PRAGMA busy_timeout = "+strconv.Itoa(busyTimeoutMS)); err != nil {
				db.log.Warn("store: could not restore the busy timeout after a writability check; closing the connection", "err", err)
				_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // a new connection gets the DSN's settings
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (the DSN's _txlock)
	if err != nil {
		return fmt.Errorf("store: check the database is writable: %w", err)
	}
	if err := tx.Rollback(); err != nil {
		return fmt.Errorf("store: check the database is writable: roll back: %w", err)
	}
	return nil
}

// writablePostgres begins a read-write transaction and rolls it back: a server that takes no writes (a
// standby in recovery, a database set read-only) refuses SET TRANSACTION READ WRITE. pgx cancels the
// statement when ctx ends.
func (db *DB) writablePostgres(ctx context.Context) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: check the database is writable: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET TRANSACTION READ WRITE"); err != nil {
		return fmt.Errorf("store: check the database is writable: %w", err)
	}
	return nil
}
