package store

import (
	"database/sql"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/viggle-bot/viggle-bot/migrations"
)

// TestMigrateFrom00005WithRows opens a database left at version 5 (before issue 10), with rows in every
// table, and checks that the rows are kept with the new columns' defaults.
func TestMigrateFrom00005WithRows(t *testing.T) {
	t.Parallel()
	sqliteOnly(t) // a SQLite file left at version 5
	path := filepath.Join(t.TempDir(), "bot.db")
	old, err := sql.Open("sqlite3", DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, old, migrations.FS,
		goose.WithSlog(slog.New(slog.DiscardHandler)), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), 5); err != nil {
		t.Fatalf("UpTo(5): %v", err)
	}
	for _, q := range []string{
		`INSERT INTO jobs (id, origin, owner_id, guild_id, interaction_id, scene_id, mapping, state, created_at,
			updated_at, estimated_credits) VALUES ('oldjob0001', 'discord', 'u1', 'g1', 'ix1', 'scene_1', '[]',
			'running', 1000, 1000, 12)`,
		`INSERT INTO scenes (id, guild_id, viggle_id, name, name_key, status, imported_by, created_at, updated_at)
			VALUES ('oldscene01', 'g1', 'scene_1', 'Dance', 'dance', 'ready', 'u1', 1000, 1000)`,
		`INSERT INTO characters (id, owner_id, guild_id, viggle_id, name, name_key, shared, status, created_at,
			updated_at) VALUES ('oldchar001', 'u1', 'g1', 'char_1', 'Alice', 'alice', 1, 'ready', 1000, 1000)`,
	} {
		if _, err := old.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("seed at version 5: %v\n%s", err, q)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db := openAt(t, path)
	if got := appliedVersions(t, db); !slices.Equal(got, []int64{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("versions = %v", got)
	}
	j := get(t, db, "oldjob0001")
	if j.KeyRef != "" || j.EstimatedCredits != 12 || j.State != StateRunning {
		t.Errorf("job after migrating: %+v key_ref %q", j, j.KeyRef)
	}
	if s, err := db.SceneByNameForKey(t.Context(), "g1", "", "dance"); err != nil || s.ID != "oldscene01" {
		t.Errorf("scene after migrating: %+v, %v", s, err)
	}
	c, err := db.ResolveCharacter(t.Context(), "u2", "g1", "", "ALICE")
	if err != nil || c.ID != "oldchar001" || c.Review != "" || c.ReviewedBy != "" || !c.ReviewedAt.IsZero() {
		t.Errorf("shared character after migrating: %+v, %v; want it usable, never reviewed", c, err)
	}
	if s, err := db.GuildSettings(t.Context(), "g1"); err != nil || s.Limits != (Limits{}) {
		t.Errorf("settings after migrating: %+v, %v; want the defaults", s, err)
	}
	// The new tables take rows.
	if err := db.Insert(t.Context(), testJob("newjob0001", OriginDiscord, "u1", "g1", ms(2000))); err != nil {
		t.Errorf("Insert after migrating: %v", err)
	}
	// The indexes built by the migration hold the old rows: u1's old running job counts as in progress.
	setLimits(t, db, "g1", Limits{ConcurrentPerUser: 2})
	if err := db.Insert(t.Context(), testJob("newjob0002", OriginDiscord, "u1", "g1", ms(3000))); limitOf(err) == nil {
		t.Errorf("third job in progress of u1 after migrating: %v, want refused", err)
	}
}
