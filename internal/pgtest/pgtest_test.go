package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// admin is the test's own connection to the admin URL, to look at the server from outside pgtest.
func admin(t *testing.T) *sql.DB {
	t.Helper()
	s := need(t)
	db, err := sql.Open("pgx", s.url.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openDB(t *testing.T, u string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatalf("opening %s: %v", u, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func schemaOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Query().Get("search_path")
	if !strings.HasPrefix(s, "t_") {
		t.Fatalf("URL's search_path = %q, want t_<random>", s)
	}
	return s
}

func exists(t *testing.T, db *sql.DB, query, arg string) bool {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctx(t), query, arg).Scan(&n); err != nil {
		t.Fatalf("%s [%s]: %v", query, arg, err)
	}
	return n > 0
}

const (
	schemaExists   = "SELECT count(*) FROM pg_namespace WHERE nspname = $1"
	databaseExists = "SELECT count(*) FROM pg_database WHERE datname = $1"
)

func TestURLTablesLandInTheSchema(t *testing.T) {
	t.Parallel()
	u := URL(t)
	schema := schemaOf(t, u)
	db := openDB(t, u)
	c := ctx(t)
	if _, err := db.ExecContext(c, "CREATE TABLE x (id integer PRIMARY KEY, v text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.QueryRowContext(c, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'x' AND table_schema = current_schema()").Scan(&got); err != nil {
		t.Fatalf("finding table x: %v", err)
	}
	if got != schema {
		t.Errorf("table x is in schema %q, want %q", got, schema)
	}
	// And from outside, by its qualified name.
	if !exists(t, admin(t), "SELECT count(*) FROM pg_class WHERE oid = to_regclass($1)", schema+".x") {
		t.Errorf("the admin connection sees no table %s.x", schema)
	}
}

func TestURLsAreIsolated(t *testing.T) {
	t.Parallel()
	c := ctx(t)
	var dbs []*sql.DB
	for i := range 2 {
		db := openDB(t, URL(t))
		// The same table name in both: it would clash if they shared a schema.
		if _, err := db.ExecContext(c, "CREATE TABLE x (v integer NOT NULL)"); err != nil {
			t.Fatalf("URL %d: %v", i, err)
		}
		if _, err := db.ExecContext(c, "INSERT INTO x (v) VALUES ($1)", i); err != nil {
			t.Fatalf("URL %d: %v", i, err)
		}
		dbs = append(dbs, db)
	}
	for i, db := range dbs {
		var vs []int
		rows, err := db.QueryContext(c, "SELECT v FROM x")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		_ = rows.Close()
		if fmt.Sprint(vs) != fmt.Sprint([]int{i}) {
			t.Errorf("URL %d's table x holds %v, want [%d]", i, vs, i)
		}
	}
}

func TestURLSchemaIsDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	adm := admin(t)
	var schema string
	t.Run("user", func(t *testing.T) {
		u := URL(t)
		schema = schemaOf(t, u)
		db := openDB(t, u) // closed by its cleanup, before URL's drops the schema
		if _, err := db.ExecContext(ctx(t), "CREATE TABLE x (v integer)"); err != nil {
			t.Fatal(err)
		}
		if !exists(t, adm, schemaExists, schema) {
			t.Fatalf("schema %s does not exist during the test", schema)
		}
	})
	if schema == "" {
		t.Fatal("the subtest did not run")
	}
	if exists(t, adm, schemaExists, schema) {
		t.Errorf("schema %s is still there after the test's cleanup", schema)
	}
}

func TestDatabaseIsFreshAndDroppedEvenWhileConnected(t *testing.T) {
	t.Parallel()
	adm := admin(t)
	var dbname string
	var left *sql.Conn // a connection the subtest leaves open, as a killed bot process would
	t.Run("user", func(t *testing.T) {
		u := Database(t)
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		dbname = strings.TrimPrefix(p.Path, "/")
		if !strings.HasPrefix(dbname, "t_") {
			t.Fatalf("Database's URL names database %q, want t_<random>", dbname)
		}
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		c := ctx(t)
		if _, err := db.ExecContext(c, "CREATE TABLE x (v integer)"); err != nil {
			t.Fatal(err)
		}
		var tables int
		if err := db.QueryRowContext(c, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 1 {
			t.Errorf("database %s has %d tables in public after creating one, want 1 (not fresh)", dbname, tables)
		}
		if left, err = db.Conn(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !exists(t, adm, databaseExists, dbname) {
			t.Fatalf("database %s does not exist during the test", dbname)
		}
	})
	if left != nil {
		defer func() { _ = left.Close() }()
	}
	if dbname == "" {
		t.Fatal("the subtest did not run")
	}
	if exists(t, adm, databaseExists, dbname) {
		t.Errorf("database %s is still there after the test's cleanup", dbname)
	}
}

// fakeTB records how need ended a test instead of ending it.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	how     string // "skip" or "fatal"
	message string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) end(how, format string, args ...any) {
	f.mu.Lock()
	f.how, f.message = how, fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any)  { f.end("skip", format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.end("fatal", format, args...) }
func (f *fakeTB) Cleanup(func())                    { panic("a test without a server registered a cleanup") }

// outcome runs URL on a fake test and says how it ended.
func outcome(t *testing.T) (how, message string) {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if u := URL(f); u != "" {
			t.Errorf("URL returned %q without a server", u)
		}
	}()
	<-done
	return f.how, f.message
}

func TestWithoutAServer(t *testing.T) {
	// Port 1 on loopback refuses connections; the password must appear in no message.
	const secret = "s3cret-pw"
	unreachable := "postgres://someone:" + secret + "@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5"
	for _, tc := range []struct {
		name, url, required, how string
		says                     []string
	}{
		{"unset skips", "", "", "skip", []string{"PostgreSQL tests skipped", EnvURL + "=postgres://", ".ci/run"}},
		{"unset fails in CI", "", "1", "fatal", []string{EnvRequired + "=1", EnvURL + " is unset"}},
		{"unreachable skips", unreachable, "", "skip", []string{"PostgreSQL tests skipped", "127.0.0.1:1", "someone"}},
		{"unreachable fails in CI", unreachable, "1", "fatal", []string{EnvRequired + "=1", "127.0.0.1:1"}},
		{"not a URL", "host=127.0.0.1 password=" + secret, "", "skip", []string{"not a postgres://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvURL, tc.url)
			t.Setenv(EnvRequired, tc.required)
			how, msg := outcome(t)
			shown := strings.ReplaceAll(msg, secret, "<password>") // not even a test's password goes to the log
			if how != tc.how {
				t.Errorf("the test ended with %q (%s), want %q", how, shown, tc.how)
			}
			for _, s := range tc.says {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not say %q", shown, s)
				}
			}
			if strings.Contains(msg, secret) {
				t.Error("message shows the password")
			}
			_, ok, why := Available()
			switch {
			case ok || why == "":
				t.Errorf("Available() = ok %v, why %q; want not ok and a reason", ok, why)
			case strings.Contains(why, secret):
				t.Error("Available's reason shows the password")
			}
		})
	}
}
