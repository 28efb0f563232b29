package store

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/viggle-bot/viggle-bot/migrations"
)

// openTest opens a fresh database of the backend under test (a file in a temporary folder for SQLite)
// and closes it at cleanup.
func openTest(tb testing.TB) *DB {
	tb.Helper()
	if testBackend == Postgres {
		return openBackend(tb)
	}
	return openAt(tb, filepath.Join(tb.TempDir(), "bot.db"))
}

// openAt opens the database at path and closes it at cleanup.
func openAt(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(tb.Context(), path, nil)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// appliedVersions returns the goose version rows, in the order they were written.
func appliedVersions(tb testing.TB, db *DB) []int64 {
	tb.Helper()
	rows, err := db.SQL().QueryContext(tb.Context(),
		`SELECT version_id FROM goose_db_version WHERE is_applied ORDER BY id`)
	if err != nil {
		tb.Fatalf("query goose_db_version: %v", err)
	}
	defer rows.Close()
	var got []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			tb.Fatalf("scan: %v", err)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("rows: %v", err)
	}
	return got
}

func TestOpenTwiceAppliesMigrationsOnce(t *testing.T) {
	sqliteOnly(t) // opens SQLite files of its own
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bot.db")
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))

	first, err := Open(t.Context(), path, log)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	if !strings.Contains(logs.String(), `"source":"00001_jobs.sql"`) {
		t.Errorf("first Open logged %q, want the applied migration 00001_jobs.sql", logs.String())
	}
	if err := first.Insert(t.Context(), testJob("j1", OriginTerminal, "u1", "", time.UnixMilli(1000))); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	want := []int64{0, 1, 2, 3, 4, 5, 6, 7}
	if got := appliedVersions(t, first); !slices.Equal(got, want) {
		t.Fatalf("versions after first Open = %v, want %v", got, want)
	}

	// A second Open while the first is still open (another process), then after closing both.
	logs.Reset()
	second, err := Open(t.Context(), path, log)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if logs.Len() != 0 {
		t.Errorf("second Open logged %q, want nothing (no migration to apply)", logs.String())
	}
	if got := appliedVersions(t, second); !slices.Equal(got, want) {
		t.Errorf("versions after second Open = %v, want %v", got, want)
	}
	for _, db := range []*DB{first, second} {
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}

	third := openAt(t, path)
	if got := appliedVersions(t, third); !slices.Equal(got, want) {
		t.Errorf("versions after reopening = %v, want %v", got, want)
	}
	if _, err := third.Get(t.Context(), "j1"); err != nil {
		t.Errorf("job written before reopening: %v", err)
	}
}

func TestOpenCreatesFolder(t *testing.T) {
	sqliteOnly(t) // opens SQLite files of its own
	t.Parallel()
	root := t.TempDir()
	openAt(t, filepath.Join(root, "a", "b", "bot.db"))
	for _, dir := range []string{"a", "a/b"} {
		fi, err := os.Stat(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("mode of created folder %s = %o, want 700", dir, got)
		}
	}

	// An existing folder is left as it is.
	existing := filepath.Join(root, "existing")
	if err := os.Mkdir(existing, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o750); err != nil { // whatever the umask
		t.Fatal(err)
	}
	openAt(t, filepath.Join(existing, "bot.db"))
	fi, err := os.Stat(existing)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o750 {
		t.Errorf("mode of existing folder = %o, want 750 (unchanged)", got)
	}
}

func TestOpenErrors(t *testing.T) {
	sqliteOnly(t) // opens SQLite files of its own
	t.Parallel()
	if _, err := Open(t.Context(), "", nil); err == nil {
		t.Error("Open(\"\") succeeded, want an error")
	}
	// The folder cannot be created below a regular file.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), filepath.Join(file, "bot.db"), nil); err == nil {
		t.Error("Open below a regular file succeeded, want an error")
	}
}

func TestDSN(t *testing.T) {
	sqliteOnly(t) // opens SQLite files of its own
	t.Parallel()
	const params = "?_busy_timeout=5000&_journal_mode=WAL&_foreign_keys=on&_txlock=immediate&_synchronous=FULL"
	tests := []struct{ path, want string }{
		{"/var/lib/bot/bot.db", "file:/var/lib/bot/bot.db" + params},
		{"data/bot.db", "file:data/bot.db" + params},
		{"//srv//x/../bot.db", "file:/srv/bot.db" + params},
		{"/tmp/a?b#c%d e/bot.db", "file:/tmp/a%3Fb%23c%25d%20e/bot.db" + params},
	}
	for _, tt := range tests {
		if got := DSN(tt.path); got != tt.want {
			t.Errorf("DSN(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestOpenPathWithURISpecialCharacters(t *testing.T) {
	sqliteOnly(t) // opens SQLite files of its own
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "we?ird #dir%41&x=y")
	path := filepath.Join(dir, "bot.db")
	openAt(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not created at the literal path: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "bot.db") {
			t.Errorf("unexpected file %q next to the database", e.Name())
		}
	}
}

// pragmas holds the per-connection settings the DSN must apply.
type pragmas struct {
	JournalMode string
	ForeignKeys int
	BusyTimeout int
	Synchronous int
}

var wantPragmas = pragmas{JournalMode: "wal", ForeignKeys: 1, BusyTimeout: 5000, Synchronous: 2}

func readPragmas(tb testing.TB, conn *sql.Conn) pragmas {
	tb.Helper()
	var p pragmas
	for _, q := range []struct {
		name string
		dest any
	}{
		{"journal_mode", &p.JournalMode},
		{"foreign_keys", &p.ForeignKeys},
		{"busy_timeout", &p.BusyTimeout},
		{"synchronous", &p.Synchronous},
	} {
		if err := conn.QueryRowContext(tb.Context(), "PRAGMA "+q.name).Scan(q.dest); err != nil {
			tb.Fatalf("PRAGMA %s: %v", q.name, err)
		}
	}
	return p
}

// TestPragmasOnEveryConnection checks that each new connection gets the DSN settings: it spoils
// the settings of a connection, discards it, and reads them again on the replacement.
func TestPragmasOnEveryConnection(t *testing.T) {
	sqliteOnly(t) // opens SQLite files of its own
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	other := openAt(t, path) // as another process would

	seen := map[any]bool{} // driver connections, kept alive so addresses are not reused
	for i := range 3 {
		conn, err := db.SQL().Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got := readPragmas(t, conn); got != wantPragmas {
			t.Errorf("connection %d: pragmas = %+v, want %+v", i, got, wantPragmas)
		}
		if _, err := conn.ExecContext(t.Context(),
			"PRAGMA foreign_keys = OFF; PRAGMA busy_timeout = 1; PRAGMA synchronous = OFF"); err != nil {
			t.Fatal(err)
		}
		err = conn.Raw(func(dc any) error {
			if seen[dc] {
				t.Errorf("connection %d reuses a discarded driver connection", i)
			}
			seen[dc] = true
			return driver.ErrBadConn // discard this connection
		})
		if !errors.Is(err, driver.ErrBadConn) {
			t.Fatalf("Raw: %v", err)
		}
		_ = conn.Close()
		if n := db.SQL().Stats().OpenConnections; n != 0 {
			t.Fatalf("open connections after discarding = %d, want 0", n)
		}
	}

	conn, err := other.SQL().Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := readPragmas(t, conn); got != wantPragmas {
		t.Errorf("second DB: pragmas = %+v, want %+v", got, wantPragmas)
	}
}

func TestSchemaHasIndexes(t *testing.T) {
	t.Parallel()
	sqliteOnly(t) // SQLite's plans; the PostgreSQL run checks the same indexes through explainPlan's tests
	db := openTest(t)
	for _, q := range []struct{ query, index string }{
		{`SELECT id FROM jobs WHERE origin = 'discord' AND guild_id = 'g' AND owner_id = 'u'
			ORDER BY created_at DESC, id DESC`, "jobs_owner_created_idx"},
		{`SELECT id FROM jobs WHERE origin = 'discord' AND closed_at IS NULL ORDER BY created_at`,
			"jobs_unfinished_idx"},
	} {
		rows, err := db.SQL().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q.query)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if !strings.Contains(plan.String(), q.index) {
			t.Errorf("plan for %q:\n%s\nwant it to use %s", q.query, plan.String(), q.index)
		}
	}
}

// TestMigrationsDownUp checks that every Down section undoes its Up section.
func TestMigrationsDownUp(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	dialect, files := goose.DialectSQLite3, fs.FS(migrations.FS)
	left := `SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'goose_%' ORDER BY name`
	if testBackend == Postgres {
		dialect, files = goose.DialectPostgres, migrations.PostgresFS
		left = `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relname NOT LIKE 'goose_%'
			UNION ALL SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = current_schema() ORDER BY 1`
	}
	p, err := goose.NewProvider(dialect, plainSQL(t, db), files,
		goose.WithSlog(slog.New(slog.DiscardHandler)), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 0); err != nil {
		t.Fatalf("DownTo(0): %v", err)
	}
	var remain []string
	rows, err := db.SQL().QueryContext(t.Context(), left)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		remain = append(remain, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(remain) != 0 {
		t.Errorf("tables or indexes left after migrating down: %v", remain)
	}
	if _, err := p.Up(t.Context()); err != nil {
		t.Fatalf("Up again: %v", err)
	}
	insert(t, db, testJob("j", OriginTerminal, "u", "", ms(1)))
	if err := db.InsertScene(t.Context(), &Scene{GuildID: "g", Name: "n", ImportedBy: "u"}); err != nil {
		t.Errorf("InsertScene after Up again: %v", err)
	}
	if err := db.InsertCharacter(t.Context(), &Character{OwnerID: "u", GuildID: "g", Name: "n", Shared: true}); err != nil {
		t.Errorf("InsertCharacter after Up again: %v", err)
	}
}

// Processes opening one new database at once (shards starting together) take turns to migrate: none
// fails, and each migration is applied once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	sqliteOnly(t) // opens SQLite files of its own
	for round := range 10 {
		path := filepath.Join(t.TempDir(), "bot.db")
		errs := make(chan error, 3)
		var dbs [3]*DB
		var wg sync.WaitGroup
		for k := range dbs {
			wg.Go(func() {
				db, err := Open(t.Context(), path, nil)
				dbs[k] = db
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if got := appliedVersions(t, dbs[0]); len(got) == 0 || got[len(got)-1] != 7 || len(got) != 8 {
			t.Fatalf("round %d: versions %v, each migration once up to 7", round, got)
		}
		for _, db := range dbs {
			db.Close()
		}
	}
}
