package store

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx", for plainSQL

	"github.com/viggle-bot/viggle-bot/internal/pgtest"
)

// The store's tests are one suite run against each backend: TestMain runs it on SQLite, then runs this
// test binary again, with the same flags, on PostgreSQL (storeBackendEnv=postgres), where openTest opens
// a fresh PostgreSQL schema instead of a SQLite file. Tests of what only one engine has (SQLite's pragmas,
// files, VACUUM INTO) say so with sqliteOnly. Without a PostgreSQL server the second run is skipped with
// pgtest's message, except in CI, where it fails (pgtest.Available).
const storeBackendEnv = "VIGGLE_STORE_TEST_BACKEND"

// testBackend is the backend this run of the suite tests.
var testBackend = SQLite

func TestMain(m *testing.M) {
	if os.Getenv(storeBackendEnv) == string(Postgres) {
		testBackend = Postgres
		os.Exit(m.Run())
	}
	code := m.Run()
	if _, ok, why := pgtest.Available(); !ok {
		fmt.Fprintf(os.Stderr, "store: the suite on PostgreSQL is skipped: %s\n", why)
		if pgtest.Required() {
			code = max(code, 1)
		}
		os.Exit(code)
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), storeBackendEnv+"="+string(Postgres))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Fprintln(os.Stderr, "store: running the suite again on PostgreSQL")
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "store: the suite on PostgreSQL: %v\n", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// sqliteOnly skips a test of something only SQLite has when the suite runs on PostgreSQL.
func sqliteOnly(tb testing.TB) {
	tb.Helper()
	if testBackend != SQLite {
		tb.Skip("SQLite only")
	}
}

// openBackend opens a fresh, empty database of the backend under test (a new PostgreSQL schema, dropped
// at cleanup), and closes it at cleanup.
func openBackend(tb testing.TB) *DB {
	tb.Helper()
	u := pgtest.URL(tb)
	db, err := OpenPostgres(tb.Context(), u, nil)
	if err != nil {
		tb.Fatalf("OpenPostgres: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	testURLs.Store(db, u)
	return db
}

var testURLs sync.Map // *DB → the URL openBackend opened it at

// plainSQL returns a pool on db's database without the store's placeholder and bool rewriting, for
// tools that write PostgreSQL's own types (goose writes booleans), or db.SQL() on SQLite.
func plainSQL(tb testing.TB, db *DB) *sql.DB {
	tb.Helper()
	u, ok := testURLs.Load(db)
	if !ok {
		return db.SQL()
	}
	p, err := sql.Open("pgx", u.(string))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}
