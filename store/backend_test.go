package store

import (
	"database/sql"
	"os"
	"path/filepath"
	"slices"
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
	}
	os.Exit(pgtest.RunAgainOnPostgres(m, "store", storeBackendEnv))
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

// openTwice opens one fresh database of the backend under test twice, as two processes would.
func openTwice(t *testing.T) []*DB {
	t.Helper()
	if testBackend == SQLite {
		path := filepath.Join(t.TempDir(), "bot.db")
		return []*DB{openAt(t, path), openAt(t, path)}
	}
	first := openBackend(t)
	u, _ := testURLs.Load(first)
	second, err := OpenPostgres(t.Context(), u.(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	return []*DB{first, second}
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

// TestSchemasMatch checks that the two migration folders make the same tables with the same columns,
// each NOT NULL or not alike, and the same indexes: a migration added to one folder only fails here.
func TestSchemasMatch(t *testing.T) {
	t.Parallel()
	if testBackend != Postgres {
		t.Skip("compares with PostgreSQL: runs in the suite's PostgreSQL run")
	}
	lite := openAt(t, filepath.Join(t.TempDir(), "bot.db"))
	pg := openTest(t)
	want := schemaOf(t, lite, `SELECT m.name || '.' || p.name || CASE WHEN p."notnull" OR p.pk THEN ' not null' ELSE '' END
		FROM sqlite_schema m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'goose_%'
		UNION ALL SELECT 'index ' || name FROM sqlite_schema
		WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY 1`)
	got := schemaOf(t, pg, `SELECT table_name || '.' || column_name || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE 'goose_%'
		UNION ALL SELECT 'index ' || indexname FROM pg_indexes
		WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'
			AND indexname NOT LIKE 'goose_%'
		ORDER BY 1`)
	if len(want) < 80 {
		t.Fatalf("read only %d columns and indexes of SQLite's schema: %v", len(want), want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("PostgreSQL schema differs from SQLite's:\nonly in SQLite: %v\nonly in PostgreSQL: %v",
			minus(want, got), minus(got, want))
	}
}

func schemaOf(t *testing.T, db *DB, query string) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out) // the two engines sort text alike only under "C"
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
