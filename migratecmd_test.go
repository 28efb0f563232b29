package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/pgtest"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

// migratePassword is put in DATABASE_URL: the test server trusts loopback, so it is never checked,
// and it must never be printed.
const migratePassword = "pw-MIGRATE-never-shown-9731"

// migrateURL is a fresh PostgreSQL database's URL with migratePassword in it.
func migrateURL(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), migratePassword)
	return u.String()
}

// runMigrate runs migrate-to-postgres and fails the test if the password reached its output.
func runMigrate(t *testing.T, dbURL string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out bytes.Buffer
	code, msg := runCLI(t, t.Context(), map[string]string{"DATABASE_URL": dbURL}, &out, append([]string{"migrate-to-postgres"}, args...)...)
	for _, s := range []string{out.String(), msg} {
		if strings.Contains(s, migratePassword) || strings.Contains(s, url.QueryEscape(migratePassword)) {
			t.Fatalf("the password reached the output:\n%s", s)
		}
	}
	return code, out.String(), msg
}

// migrateFixture fills a SQLite database at path with rows in every table, through the store API.
type migrateFixture struct {
	jobs       []string
	scenes     []string // names, in guildID
	characters []string // ids of the kept ones
	deletedVID string   // Viggle id of the deleted character
	keyID      string
}

func migrateJob(id, interaction string, at time.Time) *store.Job {
	return &store.Job{ID: id, Origin: store.OriginDiscord, OwnerID: alice, GuildID: guildID, ChannelID: channelID,
		InteractionID: interaction, InteractionToken: "tok-" + id, CreatedAt: at, UpdatedAt: at,
		Request: spec.Request{SceneID: "scene_demo", Mapping: []spec.Pair{{Person: "a", Character: "char_x"}}}}
}

func fillSQLite(t *testing.T, ctx context.Context, path string) migrateFixture {
	t.Helper()
	db, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var f migrateFixture
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	past := time.Now().Add(-time.Hour) // every lease of the fixture has expired: no bot runs on it
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Jobs in several states: queued, delivered, failed, and one running whose worker's lease expired.
	steps := map[string][]store.State{
		"jqueued00":  nil,
		"jdeliver0":  {store.StateSubmitting, store.StateRunning, store.StateComplete, store.StateDelivering, store.StateDelivered},
		"jfailed00":  {store.StateFailed},
		"jrunning0":  {store.StateSubmitting, store.StateRunning},
		"jterminal":  nil,
		"jcancel00":  {store.StateCancelled},
		"jsubmitted": {store.StateSubmitting},
	}
	i := 0
	for _, id := range slices.Sorted(maps.Keys(steps)) {
		i++
		j := migrateJob(id, "ix-"+id, base.Add(time.Duration(i)*time.Minute))
		if id == "jterminal" {
			j.Origin, j.GuildID, j.InteractionID, j.InteractionToken, j.Target = store.OriginTerminal, "", "", "", "/tmp/out.mp4"
		}
		must(db.Insert(ctx, j))
		f.jobs = append(f.jobs, id)
		if len(steps[id]) == 0 {
			continue
		}
		j, err := db.Claim(ctx, id, "worker-1", past.Add(-time.Minute), past, "")
		must(err)
		for _, s := range steps[id] {
			from := j.State
			j.State = s
			switch s {
			case store.StateRunning:
				j.ViggleJobID, j.SubmittedAt, j.Progress = "vj-"+id, base.Add(time.Hour), 40
			case store.StateComplete:
				j.VideoURL, j.VideoSize, j.CompletedAt = "https://cdn.example/"+id+".mp4", 12345, base.Add(time.Hour)
			case store.StateDelivered:
				j.DeliveredAt, j.ClosedAt = base.Add(time.Hour), base.Add(time.Hour)
			case store.StateFailed, store.StateCancelled:
				j.ErrorCode, j.ErrorMessage, j.ClosedAt = "boom", "it broke: ü", base.Add(time.Hour)
			}
			must(db.Update(ctx, j, from))
		}
	}
	// Scenes.
	for _, name := range []string{"Dance Floor", "Épée"} {
		s := &store.Scene{GuildID: guildID, Name: name, TemplateID: "tpl-1", ImportedBy: alice}
		must(db.InsertScene(ctx, s))
		s.ViggleID, s.Status, s.Duration = "vs-"+s.ID, store.StatusReady, 4500*time.Millisecond
		s.Persons = []store.Person{{UUID: "p-1", Type: "person"}}
		must(db.UpdateScene(ctx, s))
		f.scenes = append(f.scenes, name)
	}
	// Characters: two kept (one shared), one deleted (deleted_characters gets its Viggle id).
	for _, name := range []string{"Alice", "Bob", "Gone"} {
		c := &store.Character{OwnerID: alice, GuildID: guildID, Name: name, Shared: name == "Bob"}
		must(db.InsertCharacter(ctx, c))
		c.ViggleID, c.Status, c.ThumbnailURL = "vc-"+c.ID, store.StatusReady, "https://cdn.example/"+c.ID+".png"
		must(db.UpdateCharacter(ctx, c))
		if name == "Gone" {
			must(db.DeleteCharacter(ctx, c.ID))
			f.deletedVID = c.ViggleID
			continue
		}
		f.characters = append(f.characters, c.ID)
	}
	// Settings, a change, and a sealed key (each of the last two logs a change).
	_, err = db.UpdateGuildSettings(ctx, guildID, store.Change{ActorID: alice, What: "limits: 2 at a time"},
		func(s *store.GuildSettings) {
			s.Limits.ConcurrentPerUser, s.Limits.Cooldown, s.Approval, s.DefaultFast = 2, 30*time.Second, true, true
			s.ChannelID = channelID
		})
	must(err)
	must(db.LogChange(ctx, store.Change{GuildID: guildID, ActorID: alice, What: "a plain change"}))
	k := &store.GuildKey{GuildID: guildID, Sealed: []byte{0, 1, 2, 0xff, 0xfe, 'x'}, Last4: "abcd", CreatedBy: alice}
	must(db.SetGuildKey(ctx, k, store.Change{ActorID: alice, What: "key set"}))
	f.keyID = k.ID
	return f
}

// snapshot is what the store API reads of the fixture's rows.
type snapshot struct {
	Jobs       []*store.Job
	Listed     []*store.Job
	Terminal   []*store.Job
	Scenes     []*store.Scene
	Characters []*store.Character
	Listed2    []*store.Character
	Deleted    bool
	Settings   *store.GuildSettings
	Changes    []store.Change
	Key        *store.GuildKey
	CurrentKey *store.GuildKey
}

func readSnapshot(t *testing.T, ctx context.Context, db *store.DB, f migrateFixture) snapshot {
	t.Helper()
	var s snapshot
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range f.jobs {
		j, err := db.Get(ctx, id)
		must(err)
		s.Jobs = append(s.Jobs, j)
	}
	s.Listed, err = db.ListByOwner(ctx, store.ListFilter{Origin: store.OriginDiscord, GuildID: guildID, OwnerID: alice, Limit: 100})
	must(err)
	s.Terminal, err = db.ListByOwner(ctx, store.ListFilter{Origin: store.OriginTerminal, OwnerID: alice, Limit: 100})
	must(err)
	for _, name := range f.scenes {
		sc, err := db.SceneByName(ctx, guildID, name)
		must(err)
		s.Scenes = append(s.Scenes, sc)
	}
	for _, id := range f.characters {
		c, err := db.GetCharacter(ctx, id)
		must(err)
		s.Characters = append(s.Characters, c)
	}
	s.Listed2, err = db.ListCharacters(ctx, alice, guildID)
	must(err)
	s.Deleted, err = db.CharacterDeleted(ctx, f.deletedVID)
	must(err)
	s.Settings, err = db.GuildSettings(ctx, guildID)
	must(err)
	s.Changes, err = db.RecentChanges(ctx, guildID, store.MaxRecentChanges)
	must(err)
	s.Key, err = db.GuildKeyByID(ctx, f.keyID)
	must(err)
	s.CurrentKey, err = db.CurrentGuildKey(ctx, guildID)
	must(err)
	return s
}

// A SQLite database with rows in every table is copied into an empty PostgreSQL database: the store
// API reads the same rows from both; a second run copies nothing; the next change gets a fresh id.
func TestMigrateToPostgres(t *testing.T) {
	ctx := t.Context()
	dbURL := migrateURL(t)
	path := filepath.Join(t.TempDir(), "data", "bot.db")
	f := fillSQLite(t, ctx, path)

	code, out, msg := runMigrate(t, dbURL, "--from", path)
	if code != 0 {
		t.Fatalf("migrate-to-postgres exited %d: %s\n%s", code, msg, out)
	}
	for _, want := range []string{"jobs: 7 copied, 0 already there", "scenes: 2 copied, 0 already there",
		"characters: 2 copied, 0 already there", "guild_settings: 1 copied, 0 already there",
		"guild_changes: 3 copied, 0 already there", "guild_keys: 1 copied, 0 already there",
		"deleted_characters: 1 copied, 0 already there", "DATABASE_URL", path + " as a backup"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	src, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	pg, err := store.OpenPostgres(ctx, dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	want, got := readSnapshot(t, ctx, src, f), readSnapshot(t, ctx, pg, f)
	if len(want.Listed) != 6 || len(want.Terminal) != 1 || len(want.Changes) != 3 || !want.Deleted || want.Key == nil {
		t.Fatalf("the fixture is not what the test means: %d listed, %d terminal, %d changes, deleted %v",
			len(want.Listed), len(want.Terminal), len(want.Changes), want.Deleted)
	}
	if !reflect.DeepEqual(want, got) {
		wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
		for i := range wv.NumField() {
			if !reflect.DeepEqual(wv.Field(i).Interface(), gv.Field(i).Interface()) {
				t.Errorf("%s differs:\nSQLite:     %+v\nPostgreSQL: %+v", wv.Type().Field(i).Name, wv.Field(i).Interface(), gv.Field(i).Interface())
			}
		}
	}
	if !bytes.Equal(got.Key.Sealed, []byte{0, 1, 2, 0xff, 0xfe, 'x'}) {
		t.Errorf("sealed key bytes %x", got.Key.Sealed)
	}

	// A second run copies nothing and says so.
	code, out, msg = runMigrate(t, dbURL, "--from", path)
	if code != 0 || !strings.Contains(out, "jobs: 0 copied, 7 already there") ||
		!strings.Contains(out, "guild_changes: 0 copied, 3 already there") || !strings.Contains(out, "nothing new") {
		t.Fatalf("second run exited %d: %s\n%s", code, msg, out)
	}

	// The identity sequence was set past the copied ids: a new change gets a fresh one.
	if err := pg.LogChange(ctx, store.Change{GuildID: guildID, ActorID: alice, What: "after the move"}); err != nil {
		t.Fatalf("LogChange after the copy: %v", err)
	}
	var ids []int64
	rows, err := pg.SQL().QueryContext(ctx, `SELECT id FROM guild_changes ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 4 || ids[3] <= ids[2] {
		t.Errorf("guild_changes ids after a new change: %v", ids)
	}

	// Now that the bot wrote to PostgreSQL, a run from the file refuses: the new change is not in it.
	code, out, msg = runMigrate(t, dbURL, "--from", path)
	if code != 2 || !strings.Contains(msg, "guild_changes") || !strings.Contains(msg, "not in "+path) {
		t.Errorf("run after the bot wrote to PostgreSQL: exit %d: %s\n%s", code, msg, out)
	}
}

// An interrupted copy (a transaction never committed) leaves nothing behind; the next run copies all.
// A PostgreSQL database that already holds a part of FILE's rows (as a run that stopped halfway would,
// were it not one transaction) is completed.
func TestMigrateToPostgresCompletesAPartialCopy(t *testing.T) {
	ctx := t.Context()
	dbURL := migrateURL(t)
	path := filepath.Join(t.TempDir(), "bot.db")
	f := fillSQLite(t, ctx, path)
	// A part of the rows is already there: the first job and the guild's settings, as in FILE.
	src, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := store.OpenPostgres(ctx, dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	copyRow(t, ctx, src.SQL(), pg.SQL(), "jobs", "id", f.jobs[0])
	copyRow(t, ctx, src.SQL(), pg.SQL(), "guild_settings", "guild_id", guildID)
	src.Close()

	code, out, msg := runMigrate(t, dbURL, "--from", path)
	if code != 0 || !strings.Contains(out, "jobs: 6 copied, 1 already there") ||
		!strings.Contains(out, "guild_settings: 0 copied, 1 already there") {
		t.Fatalf("exit %d: %s\n%s", code, msg, out)
	}
	if _, err := pg.Get(ctx, f.jobs[len(f.jobs)-1]); err != nil {
		t.Errorf("the last job after completing the copy: %v", err)
	}
}

// copyRow copies one row of table from SQLite to PostgreSQL with the columns both have.
func copyRow(t *testing.T, ctx context.Context, from, to *sql.DB, table, key, value string) {
	t.Helper()
	rows, err := from.QueryContext(ctx, "SELECT * FROM "+table+" WHERE "+key+" = ?", value)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatalf("no row %s=%s in %s", key, value, table)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	if _, err := to.ExecContext(ctx, q, vals...); err != nil {
		t.Fatal(err)
	}
}

// A PostgreSQL database where a bot already runs (a job that is not in FILE) is refused, and nothing
// is copied into it.
func TestMigrateToPostgresRefusesAForeignDatabase(t *testing.T) {
	ctx := t.Context()
	dbURL := migrateURL(t)
	path := filepath.Join(t.TempDir(), "bot.db")
	fillSQLite(t, ctx, path)
	pg, err := store.OpenPostgres(ctx, dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := pg.Insert(ctx, migrateJob("foreign01", "ix-foreign01", time.Now())); err != nil {
		t.Fatal(err)
	}
	code, out, msg := runMigrate(t, dbURL, "--from", path)
	if code != 2 || !strings.Contains(msg, `"foreign01"`) || !strings.Contains(msg, "a bot already runs") {
		t.Fatalf("exit %d: %s\n%s", code, msg, out)
	}
	var n int
	if err := pg.SQL().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM scenes)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d rows in PostgreSQL after the refusal, want the foreign job alone", n)
	}

	// A row with FILE's key but other values is refused as well.
	if _, err := pg.SQL().ExecContext(ctx, `DELETE FROM jobs`); err != nil {
		t.Fatal(err)
	}
	if err := pg.Insert(ctx, migrateJob("jqueued00", "ix-other", time.Now())); err != nil {
		t.Fatal(err)
	}
	code, out, msg = runMigrate(t, dbURL, "--from", path)
	if code != 2 || !strings.Contains(msg, `"jqueued00"`) || !strings.Contains(msg, "differs") {
		t.Fatalf("a changed row: exit %d: %s\n%s", code, msg, out)
	}
}

// A missing FILE is refused and not created; so are a missing DATABASE_URL and bad arguments; a job
// with a live lease (a bot running on FILE) is refused with "stop the bot first"; --help says it.
func TestMigrateToPostgresRefusals(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "bot.db")
	fakeURL := "postgres://viggle:" + migratePassword + "@127.0.0.1:1/viggle?sslmode=disable"
	code, _, msg := runMigrate(t, fakeURL, "--from", missing)
	if code != 2 || !strings.Contains(msg, "no SQLite database at "+missing) {
		t.Errorf("missing FILE: exit %d: %s", code, msg)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the missing FILE's folder was created: %v", err)
	}
	if code, _, msg := runMigrate(t, fakeURL); code != 2 || !strings.Contains(msg, "--from") {
		t.Errorf("no --from: exit %d: %s", code, msg)
	}
	if code, _, msg := runMigrate(t, fakeURL, "--from", missing, "extra"); code != 2 || !strings.Contains(msg, "extra") {
		t.Errorf("extra argument: exit %d: %s", code, msg)
	}
	path := filepath.Join(dir, "bot.db")
	db, err := store.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(t.Context(), migrateJob("jlive0001", "ix-live", time.Now())); err != nil {
		t.Fatal(err)
	}
	if code, _, msg := runMigrate(t, "", "--from", path); code != 2 || !strings.Contains(msg, "DATABASE_URL is not set") {
		t.Errorf("no DATABASE_URL: exit %d: %s", code, msg)
	}
	if _, err := db.Claim(t.Context(), "jlive0001", "bot-pid-1", time.Now(), time.Now().Add(time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, _, msg = runMigrate(t, fakeURL, "--from", path)
	if code != 2 || !strings.Contains(msg, "stop the bot first") || !strings.Contains(msg, "bot-pid-1") {
		t.Errorf("a live lease: exit %d: %s", code, msg)
	}
	// An unreachable server: a local error, and the password is not in it (runMigrate checks).
	db, err = store.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Release(t.Context(), "jlive0001", "bot-pid-1"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, _, msg = runMigrate(t, fakeURL, "--from", path)
	if code != 4 || !strings.Contains(msg, "xxxxx") {
		t.Errorf("an unreachable server: exit %d: %s", code, msg)
	}

	var out bytes.Buffer
	if code, _ := runCLI(t, t.Context(), nil, &out, "migrate-to-postgres", "--help"); code != 0 ||
		!strings.Contains(out.String(), "Stop the bot first") {
		t.Errorf("--help: exit %d:\n%s", code, out.String())
	}
	out.Reset()
	if code, _ := runCLI(t, t.Context(), nil, &out, "--help"); code != 0 || !strings.Contains(out.String(), "migrate-to-postgres --from") {
		t.Errorf("the command list lacks migrate-to-postgres:\n%s", out.String())
	}
}

// Every table of the schema is one migrate-to-postgres copies: a new migration's table must be added.
func TestMigrateTablesAreTheSchema(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "bot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if want := slices.Sorted(slices.Values(migrateTables)); !slices.Equal(tables, want) {
		t.Errorf("the schema's tables %v, migrate-to-postgres copies %v", tables, want)
	}
}
