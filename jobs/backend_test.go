package jobs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/pgtest"
	"github.com/viggle-bot/viggle-bot/store"
)

// The engine's tests run on both stores, as the store's own do: TestMain runs them on SQLite, then this
// test binary again, with the same flags, on PostgreSQL (jobsBackendEnv=postgres), where each harness
// database is a fresh PostgreSQL schema. A harness names its database by a reference (h.dbPath): a
// SQLite file's path, or a PostgreSQL URL, which a restarted engine or a crash test's child process
// opens again with openRef.
const jobsBackendEnv = "VIGGLE_JOBS_TEST_BACKEND"

// newDBRef returns the reference of a fresh database of the backend under test.
func newDBRef(t testing.TB) string {
	t.Helper()
	if os.Getenv(jobsBackendEnv) == string(store.Postgres) {
		return pgtest.URL(t)
	}
	return filepath.Join(t.TempDir(), "data", "bot.db")
}

// openRef opens the database a reference names (see newDBRef).
func openRef(ctx context.Context, ref string) (*store.DB, error) {
	if strings.HasPrefix(ref, "postgres://") {
		return store.OpenPostgres(ctx, ref, nil)
	}
	return store.Open(ctx, ref, nil)
}
