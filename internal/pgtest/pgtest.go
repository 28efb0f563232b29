// Package pgtest gives tests a PostgreSQL of their own on the server named by VIGGLE_TEST_POSTGRES_URL:
// a fresh schema (URL) or a fresh database (Database), dropped when the test ends. Only tests import it.
//
// The server is one its URL's user may create schemas and databases on. .ci/run starts a throwaway one
// (.ci/postgres start DIR prints its URL) and sets VIGGLE_TEST_POSTGRES_REQUIRED=1, under which a test
// that cannot reach it fails. Outside CI, without the variable, the tests that need PostgreSQL skip and
// say how to run them:
//
//	url=$(.ci/postgres start /tmp/pg)
//	VIGGLE_TEST_POSTGRES_URL=$url go test ./...
//	.ci/postgres stop /tmp/pg
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

const (
	// EnvURL names the variable holding the admin URL of the server the tests use, such as
	// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
	EnvURL = "VIGGLE_TEST_POSTGRES_URL"
	// EnvRequired names the variable that, set to 1 (as .ci/run does), makes a test fail rather than
	// skip when the server is not configured or cannot be reached.
	EnvRequired = "VIGGLE_TEST_POSTGRES_REQUIRED"
)

// how says how to get the PostgreSQL tests run, for skip messages.
const how = "set " + EnvURL + "=postgres://USER@127.0.0.1:5432/postgres?sslmode=disable " +
	"(a server where USER may create schemas and databases), or run .ci/run, which starts one " +
	"(`.ci/postgres start DIR` starts one and prints its URL; `.ci/postgres stop DIR` stops it)"

// opTimeout bounds each statement pgtest runs on the admin connection, and the first connection to it.
const opTimeout = 30 * time.Second

// server is the admin connection to one URL, opened once per test process.
type server struct {
	url *url.URL
	db  *sql.DB
	err error // why the server cannot be used; nil if it can
}

var (
	mu      sync.Mutex
	servers = map[string]*server{} // by the raw admin URL
)

// Required says whether a test that needs PostgreSQL must fail rather than skip when it has none
// (VIGGLE_TEST_POSTGRES_REQUIRED=1, as in CI).
func Required() bool {
	v := os.Getenv(EnvRequired)
	return v == "1" || v == "true"
}

// Available connects to the server named by VIGGLE_TEST_POSTGRES_URL, once per process and URL, for
// callers that decide once (a TestMain) whether to run PostgreSQL tests. It returns that URL and ok if
// the server answers; otherwise why says what is wrong and how to fix it, with no password in it.
// Available neither skips nor fails: see Required.
func Available() (adminURL string, ok bool, why string) {
	raw := os.Getenv(EnvURL)
	s := connect(raw)
	if s.err != nil {
		return raw, false, s.err.Error()
	}
	return raw, true, ""
}

// connect returns the server for raw, connecting on first use.
func connect(raw string) *server {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := servers[raw]; ok {
		return s
	}
	s := open(raw)
	servers[raw] = s
	return s
}

func open(raw string) *server {
	if raw == "" {
		return &server{err: errors.New(EnvURL + " is unset: " + how)}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		// url.Parse's error repeats the input, password and all: say only what is wrong.
		return &server{err: fmt.Errorf("%s is not a postgres://user@host:port/database URL: %s", EnvURL, how)}
	}
	db, err := sql.Open("pgx", raw)
	if err != nil {
		return &server{err: fmt.Errorf("opening PostgreSQL at %s (%s): %w", u.Redacted(), EnvURL, err)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return &server{err: fmt.Errorf("connecting to PostgreSQL at %s (%s): %w; is the server running? "+
			"`.ci/postgres start DIR` starts one and prints its URL", u.Redacted(), EnvURL, err)}
	}
	// Tests create and drop schemas in parallel; a few connections serve them, the rest are the tests'.
	db.SetMaxOpenConns(4)
	return &server{url: u, db: db}
}

// need returns the server for the test, or skips the test (fails it, if Required) when there is none.
func need(tb testing.TB) *server {
	tb.Helper()
	s := connect(os.Getenv(EnvURL))
	if s.err == nil {
		return s
	}
	if Required() {
		tb.Fatalf("PostgreSQL tests cannot run, and %s=1 requires them: %v", EnvRequired, s.err)
	} else {
		tb.Skipf("PostgreSQL tests skipped: %v", s.err)
	}
	return nil
}

// name returns a fresh identifier, t_ and 16 hex digits: no quoting needed, and no clash in practice.
func name() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "t_" + hex.EncodeToString(b)
}

// exec runs stmt on the admin connection with its own deadline: cleanups run after the test's context
// is done.
func (s *server) exec(stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := s.db.ExecContext(ctx, stmt)
	return err
}

// URL returns a database URL whose unqualified names land in a fresh, empty schema of the test's own:
// the admin URL with search_path=t_<random> (pgx passes it to the server as a runtime parameter). The
// schema, and all in it, is dropped when the test and its subtests end; close what the test opened on it
// in an earlier-registered cleanup or before. Without a server the test skips (fails, if Required).
func URL(tb testing.TB) string {
	tb.Helper()
	s := need(tb)
	if s == nil {
		return ""
	}
	schema := name()
	if err := s.exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("creating schema %s on %s: %v", schema, s.url.Redacted(), err)
		return ""
	}
	tb.Cleanup(func() {
		if err := s.exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("dropping schema %s on %s: %v", schema, s.url.Redacted(), err)
		}
	})
	u := *s.url
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Database returns the URL of a fresh database of the test's own (UTF8, C collation, from template0),
// for tests that run whole bot processes against it. It is dropped, WITH (FORCE) so connections left
// over from killed processes do not keep it, when the test and its subtests end. Without a server the
// test skips (fails, if Required).
func Database(tb testing.TB) string {
	tb.Helper()
	s := need(tb)
	if s == nil {
		return ""
	}
	db := name()
	if err := s.exec("CREATE DATABASE " + db + " TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"); err != nil {
		tb.Fatalf("creating database %s on %s: %v", db, s.url.Redacted(), err)
		return ""
	}
	tb.Cleanup(func() {
		if err := s.exec("DROP DATABASE " + db + " WITH (FORCE)"); err != nil {
			tb.Errorf("dropping database %s on %s: %v", db, s.url.Redacted(), err)
		}
	})
	u := *s.url
	u.Path = "/" + db
	u.RawPath = ""
	return u.String()
}

// RunAgainOnPostgres is a TestMain's body for a package whose suite runs on both stores: with env set to
// "postgres" (the second run) it runs the suite once, as the run on PostgreSQL. Otherwise it runs the
// suite (on SQLite), then, when a server is available, this test binary again with the same flags and
// env=postgres, and returns the worse exit code. Without a server the second run is skipped with a
// message, or counted as a failure when Required.
func RunAgainOnPostgres(m *testing.M, pkg, env string) int {
	if os.Getenv(env) == "postgres" {
		return m.Run()
	}
	code := m.Run()
	if _, ok, why := Available(); !ok {
		fmt.Fprintf(os.Stderr, "%s: the suite on PostgreSQL is skipped: %s\n", pkg, why)
		if Required() {
			code = max(code, 1)
		}
		return code
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), env+"=postgres")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Fprintf(os.Stderr, "%s: running the suite again on PostgreSQL\n", pkg)
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: the suite on PostgreSQL: %v\n", pkg, err)
		code = max(code, 1)
	}
	return code
}
