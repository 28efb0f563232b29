// Package store keeps render jobs in a SQLite database (github.com/mattn/go-sqlite3) or, for operators
// who run several bot processes, in PostgreSQL (OpenPostgres, jackc/pgx/v5): one DB type, one set of
// queries (postgres.go rewrites their placeholders), two migration folders with the same numbers.
//
// Open applies the embedded goose migrations and returns a DB with a single pooled connection,
// so writes from one process never contend with each other. Every connection gets its settings
// from the DSN (WAL, busy timeout, foreign keys, immediate transactions, synchronous FULL).
// State changes are single conditional UPDATE statements, so a job changed by someone else is
// reported as ErrConflict rather than overwritten.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	sqlite3 "github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"

	"github.com/viggle-bot/viggle-bot/migrations"
)

// Errors returned by the store, wrapped with what was being done; test them with errors.Is.
var (
	ErrNotFound      = errors.New("store: job not found")
	ErrDuplicate     = errors.New("store: duplicate job")            // interaction id (or id) already exists
	ErrConflict      = errors.New("store: job changed concurrently") // conditional update matched no row (state or lease differ)
	ErrBadTransition = errors.New("store: transition not allowed")
	ErrLeased        = errors.New("store: job is leased by another process")
)

// DB is the job store. It is safe for concurrent use; all statements share one connection.
type DB struct {
	sql  *sql.DB
	log  *slog.Logger
	now  func() time.Time // clock for updated_at; time.Now outside tests
	gate gate             // who uses the connection next (see gate.go)
	pg   bool             // PostgreSQL (OpenPostgres) rather than SQLite

	pmu     sync.Mutex
	pending []*insertReq // inserts waiting to be committed together

	stmts insertStmts // prepared once at Open
}

// insertStmts are the statements of the insert path (insertGrouped), prepared once at Open rather
// than in each group commit (preparing them cost more than running them): a transaction uses them
// through Tx.StmtContext, which reuses the prepared statement of its connection.
type insertStmts struct {
	insert, limits, counts, recent *sql.Stmt
}

func (db *DB) prepareStmts(ctx context.Context) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&db.stmts.insert, insertSQL},
		{&db.stmts.limits, limitsSQL},
		{&db.stmts.counts, countsSQL},
		{&db.stmts.recent, recentSQL},
	} {
		stmt, err := db.sql.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", strings.Fields(p.query)[0]+" …", err)
		}
		*p.dst = stmt
	}
	return nil
}

// busyTimeoutMS is how long a statement waits for another connection's write lock.
const busyTimeoutMS = 5000

// dsnParams are applied by the driver to every new connection. The driver sets busy_timeout
// before journal_mode whatever their order here, and applies _synchronous after _journal_mode
// (WAL alone would lower it to NORMAL).
var dsnParams = "_busy_timeout=" + strconv.Itoa(busyTimeoutMS) + "&_journal_mode=WAL&_foreign_keys=on&_txlock=immediate&_synchronous=FULL"

// DSN returns the go-sqlite3 data source name used for the database file at path: a "file:" URI
// with the path percent-escaped (so '?', '#' and '%' in names are safe) and the connection
// settings as query parameters.
func DSN(path string) string {
	p := filepath.ToSlash(filepath.Clean(path))
	if filepath.VolumeName(path) != "" {
		p = "/" + p // file:/C:/dir/db on Windows
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + dsnParams
}

// Open opens (creating if needed) the database at path, creates its folder with mode 0700 when
// missing, applies pending migrations and checks that the journal is in WAL mode. log receives
// goose's migration messages; nil discards them.
func Open(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: open: empty database path")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: open: create database folder: %w", err)
	}
	sqldb, err := sql.Open("sqlite3", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// One writer: no lock contention inside the process.
	sqldb.SetMaxOpenConns(1)
	sqldb.SetMaxIdleConns(1)
	sqldb.SetConnMaxLifetime(0)
	sqldb.SetConnMaxIdleTime(0)

	db := &DB{sql: sqldb, log: log, now: time.Now}
	if err := db.init(ctx, path); err != nil {
		sqldb.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) init(ctx context.Context, path string) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	// goose takes no lock: processes opening one database at once (shards starting together, `check`
	// or `backup` beside a starting bot) would apply the same migration twice ("table jobs already
	// exists"). They take turns on a lock file beside the database (gofrs/flock: flock(2), or
	// LockFileEx on Windows), held only while migrating.
	lock := flock.New(path + ".migrate-lock")
	locked, err := lock.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil || !locked {
		return fmt.Errorf("store: open %s: wait for another process's migrations: %w", path, errors.Join(err, ctx.Err()))
	}
	err = migrate(ctx, db.sql, db.log)
	if uerr := lock.Unlock(); uerr != nil {
		db.log.Warn("store: release the migration lock", "err", uerr)
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	var mode string
	if err := db.sql.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("store: open %s: read journal_mode: %w", path, err)
	}
	if mode != "wal" {
		return fmt.Errorf("store: open %s: journal_mode is %q, want \"wal\"", path, mode)
	}
	if err := db.prepareStmts(ctx); err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	return nil
}

// migrate applies the pending migrations of package migrations, each in its own transaction
// together with its goose_db_version row, and logs what it applied. goose itself is kept quiet
// (its verbose mode logs every statement) but bound to log, so it never writes to the standard
// logger.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	return up(ctx, log, goose.DialectSQLite3, db, migrations.FS, "")
}

// up applies the pending migrations of files with goose's provider and logs each one applied (source
// prefixed with dir).
func up(ctx context.Context, log *slog.Logger, dialect goose.Dialect, db *sql.DB, files fs.FS, dir string, opts ...goose.ProviderOption) error {
	p, err := goose.NewProvider(dialect, db, files,
		append([]goose.ProviderOption{goose.WithSlog(log), goose.WithDisableGlobalRegistry(true)}, opts...)...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	for _, r := range results {
		log.LogAttrs(ctx, slog.LevelInfo, "store: applied migration",
			slog.String("source", dir+filepath.Base(r.Source.Path)),
			slog.Int64("version", r.Source.Version),
			slog.Duration("duration", r.Duration))
	}
	return nil
}

// Close closes the database. Statements in progress finish first.
func (db *DB) Close() error {
	for _, s := range []*sql.Stmt{db.stmts.insert, db.stmts.limits, db.stmts.counts, db.stmts.recent} {
		if s != nil {
			_ = s.Close()
		}
	}
	if err := db.sql.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// SQL returns the underlying pool (one connection) for tests and health checks. Holding a
// connection, a transaction or open rows from it blocks every store method until released.
func (db *DB) SQL() *sql.DB {
	return db.sql
}

// inTx runs fn in one transaction (BEGIN IMMEDIATE through the DSN), committing when fn
// returns nil and rolling back otherwise.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint violation, of either engine.
func isUnique(err error) bool {
	if isPostgresUnique(err) {
		return true
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique ||
			se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	return false
}
