package store

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// addScene imports a ready scene with one person, Viggle id id, and fails the test on error.
func addScene(tb testing.TB, db *DB, guild, id, name string) *Scene {
	tb.Helper()
	return putScene(tb, db, &Scene{GuildID: guild, Name: name, TemplateID: "tpl_" + id, ImportedBy: "u1"}, StatusReady, id)
}

// putScene inserts s (submitting), then, unless st is StatusSubmitting, records Viggle's answer
// with status st, Viggle id viggleID (none for unknown) and one person; it fails the test on error.
func putScene(tb testing.TB, db *DB, s *Scene, st Status, viggleID string) *Scene {
	tb.Helper()
	if err := db.InsertScene(tb.Context(), s); err != nil {
		tb.Fatalf("InsertScene(%s, %q): %v", s.GuildID, s.Name, err)
	}
	if st == StatusSubmitting {
		return s
	}
	up := &Scene{ID: s.ID, Status: st, Persons: []Person{{UUID: "person_" + viggleID, Type: "human"}}}
	if st != StatusUnknown {
		up.ViggleID = viggleID
	}
	if err := db.UpdateScene(tb.Context(), up); err != nil {
		tb.Fatalf("UpdateScene(%s, %s): %v", s.ID, st, err)
	}
	return up
}

// sceneIDs returns the scenes' Viggle ids.
func sceneIDs(scenes []*Scene) []string {
	ids := make([]string, len(scenes))
	for i, s := range scenes {
		ids[i] = s.ViggleID
	}
	return ids
}

func TestSceneRoundTrip(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	now := time.UnixMilli(1_700_000_000_123).UTC()
	db.now = func() time.Time { return now }

	// Recorded before the import is sent: a bot id, no Viggle id, submitting.
	in := &Scene{GuildID: "g1", KeyRef: "k1", Name: "  Macarena ", TemplateID: "tpl_9", ImportedBy: "u1"}
	if err := db.InsertScene(t.Context(), in); err != nil {
		t.Fatalf("InsertScene: %v", err)
	}
	if len(in.ID) != 10 || in.Status != StatusSubmitting || in.Name != "Macarena" || in.ViggleID != "" ||
		!in.CreatedAt.Equal(now) || !in.UpdatedAt.Equal(now) {
		t.Errorf("after InsertScene: %+v; want a bot id, submitting, \"Macarena\", no Viggle id, now", in)
	}
	got, err := db.GetScene(t.Context(), in.ID)
	if err != nil {
		t.Fatalf("GetScene: %v", err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("GetScene = %+v, want %+v", got, in)
	}
	if got.Duration != 0 || got.Persons != nil {
		t.Errorf("unknown duration and persons read back as %v, %v; want 0, nil", got.Duration, got.Persons)
	}

	// Viggle's answer records its id, then following the import fills in the rest.
	later := now.Add(time.Minute)
	db.now = func() time.Time { return later }
	if err := db.UpdateScene(t.Context(), &Scene{ID: in.ID, ViggleID: "scene_1", Status: StatusPending}); err != nil {
		t.Fatalf("UpdateScene(pending): %v", err)
	}
	up := &Scene{ID: in.ID, Status: StatusReady, Duration: 12500 * time.Millisecond,
		Persons: []Person{{UUID: "person_b", Type: "human"}, {UUID: "person_a", Type: "dog"}}}
	if err := db.UpdateScene(t.Context(), up); err != nil {
		t.Fatalf("UpdateScene: %v", err)
	}
	want := *in
	want.ViggleID, want.Status, want.Duration, want.Persons, want.UpdatedAt = "scene_1", up.Status, up.Duration, up.Persons, later
	if !reflect.DeepEqual(up, &want) {
		t.Errorf("UpdateScene wrote back %+v, want %+v", up, &want)
	}
	for _, get := range []func() (*Scene, error){
		func() (*Scene, error) { return db.GetScene(t.Context(), in.ID) },
		func() (*Scene, error) { return db.SceneByViggleID(t.Context(), "g1", "scene_1") },
		func() (*Scene, error) { return db.SceneByName(t.Context(), "g1", "MACARENA") },
		func() (*Scene, error) { return db.SceneByName(t.Context(), "g1", " macarena") },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("read back %+v, want %+v (persons in order)", got, &want)
		}
	}

	// A failure and its reason; a duration under a millisecond is not lost; the Viggle id stays.
	up = &Scene{ID: in.ID, Status: StatusFailed, Error: "bad template", Duration: time.Microsecond}
	if err := db.UpdateScene(t.Context(), up); err != nil {
		t.Fatal(err)
	}
	if up.Status != StatusFailed || up.Error != "bad template" || up.Duration != time.Millisecond || up.Name != "Macarena" ||
		up.ViggleID != "scene_1" {
		t.Errorf("after a failure: %+v", up)
	}
	if err := db.UpdateScene(t.Context(), &Scene{ID: in.ID, ViggleID: "scene_2", Status: StatusReady}); !errors.Is(err, ErrConflict) {
		t.Errorf("UpdateScene with another Viggle id = %v, want ErrConflict", err)
	}
}

func TestSceneErrors(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	dance := addScene(t, db, "g1", "scene_1", "Dance")
	// A row still submitting, or of unknown outcome, holds its name too.
	putScene(t, db, &Scene{GuildID: "g1", Name: "Sent"}, StatusSubmitting, "")
	lost := putScene(t, db, &Scene{GuildID: "g1", Name: "Lost"}, StatusUnknown, "")

	for _, err := range []error{
		func() error { _, err := db.GetScene(t.Context(), "nothere"); return err }(),
		func() error { _, err := db.GetScene(t.Context(), "scene_1"); return err }(), // a Viggle id is not a bot id
		func() error { _, err := db.SceneByViggleID(t.Context(), "g1", "scene_2"); return err }(),
		func() error { _, err := db.SceneByViggleID(t.Context(), "g1", "SCENE_1"); return err }(), // ids are case-sensitive
		func() error { _, err := db.SceneByViggleID(t.Context(), "g2", "scene_1"); return err }(),
		func() error { _, err := db.SceneByName(t.Context(), "g2", "dance"); return err }(),
		db.UpdateScene(t.Context(), &Scene{ID: "nothere", Status: StatusReady, ViggleID: "v"}),
		db.DeleteScene(t.Context(), "nothere"),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	}
	_, err := db.SceneByViggleID(t.Context(), "g1", "scene_2")
	if want := "store: scene scene_2 not found in guild g1"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}

	// Unique per guild: the name in any case (in any status), the bot id, the Viggle id; another
	// guild may have both.
	for _, s := range []*Scene{
		{GuildID: "g1", Name: "DANCE", ImportedBy: "u"},
		{GuildID: "g1", Name: " dance ", ImportedBy: "u"},
		{GuildID: "g1", Name: "sent", ImportedBy: "u"},
		{GuildID: "g1", Name: "LOST", ImportedBy: "u"},
		{GuildID: "g2", ID: dance.ID, Name: "Other", ImportedBy: "u"},
	} {
		err := db.InsertScene(t.Context(), s)
		if !errors.Is(err, ErrDuplicate) || errors.Is(err, ErrNotFound) {
			t.Errorf("InsertScene(%s, %q) = %v, want ErrDuplicate", s.ID, s.Name, err)
		}
	}
	if err := db.UpdateScene(t.Context(), &Scene{ID: lost.ID, ViggleID: "scene_1", Status: StatusReady}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("recording a Viggle scene the guild has = %v, want ErrDuplicate", err)
	}
	addScene(t, db, "g2", "scene_1", "dance")

	for _, s := range []*Scene{
		{GuildID: "", Name: "x"},
		{GuildID: "g1", Name: "  "},
		{GuildID: "g1", Name: "x", Status: "done"},
		{GuildID: "g1", Name: "x", Status: StatusReady}, // only submitting before the POST
		{GuildID: "g1", Name: "x", ViggleID: "scene_9"}, // no Viggle id before the POST
		{GuildID: "g1", Name: "x", Duration: -time.Second},
		{GuildID: "g1", Name: "x", Persons: []Person{{Type: "human"}}},
	} {
		if err := db.InsertScene(t.Context(), s); err == nil || errors.Is(err, ErrDuplicate) {
			t.Errorf("InsertScene(%+v) = %v, want a validation error", s, err)
		}
	}
	for _, up := range []*Scene{
		{ID: lost.ID},
		{ID: lost.ID, Status: "done", ViggleID: "scene_9"},
		{ID: lost.ID, Status: StatusReady}, // ready without a Viggle id
		{ID: lost.ID, Status: StatusProcessing},
	} {
		if err := db.UpdateScene(t.Context(), up); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateScene(%+v) = %v, want a validation error", up, err)
		}
	}
}

func TestListAndDeleteScenes(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	addScene(t, db, "g1", "s_b", "bravo")
	addScene(t, db, "g1", "s_a", "Alpha")
	addScene(t, db, "g1", "s_c", "charlie")
	addScene(t, db, "g2", "s_a", "zulu")

	list := func(guild string) []string {
		t.Helper()
		scenes, err := db.ListScenes(t.Context(), guild)
		if err != nil {
			t.Fatalf("ListScenes(%s): %v", guild, err)
		}
		return sceneIDs(scenes)
	}
	if got, want := list("g1"), []string{"s_a", "s_b", "s_c"}; !slices.Equal(got, want) {
		t.Errorf("ListScenes(g1) = %v, want %v (by name, case-insensitive)", got, want)
	}
	if got := list("g3"); len(got) != 0 {
		t.Errorf("ListScenes(g3) = %v, want none", got)
	}
	alpha, err := db.SceneByViggleID(t.Context(), "g1", "s_a")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteScene(t.Context(), alpha.ID); err != nil {
		t.Fatalf("DeleteScene: %v", err)
	}
	if got, want := list("g1"), []string{"s_b", "s_c"}; !slices.Equal(got, want) {
		t.Errorf("after DeleteScene: ListScenes(g1) = %v, want %v", got, want)
	}
	if got, want := list("g2"), []string{"s_a"}; !slices.Equal(got, want) {
		t.Errorf("another guild's copy: ListScenes(g2) = %v, want %v", got, want)
	}
	if err := db.DeleteScene(t.Context(), alpha.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteScene = %v, want ErrNotFound", err)
	}
	addScene(t, db, "g1", "s_new", "alpha") // the name is free again
}

func TestSuggestScenes(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	add := func(guild, id, name string, st Status) {
		t.Helper()
		putScene(t, db, &Scene{GuildID: guild, Name: name, ImportedBy: "u"}, st, id)
	}
	add("g1", "scene_d1", "Dance Off", StatusReady)
	add("g1", "scene_d2", "dance party", StatusProcessing)
	add("g1", "scene_d3", "DANCE battle", StatusReady)
	add("g1", "scene_d4", "dancefloor", StatusFailed)
	add("g1", "scene_d5", "dance pending", StatusPending)
	add("g1", "scene_m1", "Macarena", StatusReady)
	add("g1", "dance_x", "zzz by id", StatusReady)
	add("g1", "scene_p1", "100% real", StatusReady)
	add("g1", "scene_p2", "100 percent", StatusReady)
	add("g1", "scene_u1", "a_b", StatusReady)
	add("g1", "scene_u2", "axb", StatusReady)
	add("g1", "scene_e1", `back\slash`, StatusReady)
	add("g1", "scene_e2", `backxslash`, StatusReady)
	add("g1", "scene_ü", "Über", StatusReady)
	add("g2", "scene_o1", "dance elsewhere", StatusReady)
	add("g1", "", "dance submitting", StatusSubmitting) // no Viggle id yet: never suggested
	add("g1", "", "dance unknown", StatusUnknown)       // ...
	add("g1", "", "dance refused", StatusFailed)        // failed with no Viggle id: suggested by name

	tests := []struct {
		prefix string
		limit  int
		want   []string
	}{
		// Ready ones first, then processing, pending, failed; by name within each; id matches after name matches.
		{"dance", 0, []string{"scene_d3", "scene_d1", "dance_x", "scene_d2", "scene_d5", "", "scene_d4"}},
		{"DANCE ", 0, []string{"scene_d3", "scene_d1", "scene_d2", "scene_d5", ""}},
		{"  dAnCe o", 0, []string{"scene_d1"}},
		{"dance", 2, []string{"scene_d3", "scene_d1"}},
		{"dance", 3, []string{"scene_d3", "scene_d1", "dance_x"}},
		// By id, case-insensitively; a scene matched twice comes once.
		{"SCENE_M", 0, []string{"scene_m1"}},
		{"scene_d", 0, []string{"scene_d1", "scene_d3", "scene_d2", "scene_d5", "scene_d4"}},
		{"mac", 0, []string{"scene_m1"}},
		// LIKE wildcards and the escape character are plain characters.
		{"100%", 0, []string{"scene_p1"}},
		{"a_", 0, []string{"scene_u1"}},
		{`back\`, 0, []string{"scene_e1"}},
		{"%", 0, nil},
		{"_", 0, nil},
		// Unicode case folding.
		{"üb", 0, []string{"scene_ü"}},
		{"ÜBER", 0, []string{"scene_ü"}},
		{"nothing", 0, nil},
	}
	for _, tt := range tests {
		scenes, err := db.SuggestScenes(t.Context(), "g1", tt.prefix, tt.limit)
		if err != nil {
			t.Fatalf("SuggestScenes(%q): %v", tt.prefix, err)
		}
		if got := sceneIDs(scenes); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("SuggestScenes(g1, %q, %d) = %v, want %v", tt.prefix, tt.limit, got, tt.want)
		}
	}

	// Another guild's scenes are never suggested, whatever the prefix.
	all, err := db.SuggestScenes(t.Context(), "g1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.GuildID != "g1" || s.Status == StatusSubmitting || s.Status == StatusUnknown {
			t.Errorf("suggested %+v to g1", s)
		}
	}
	if len(all) != 15 {
		t.Errorf("SuggestScenes(g1, \"\") returned %d scenes, want all 15 with a Viggle status", len(all))
	}
	other, err := db.SuggestScenes(t.Context(), "g3", "", 0)
	if err != nil || len(other) != 0 {
		t.Errorf("SuggestScenes(g3) = %v, %v; want none", sceneIDs(other), err)
	}
}

func TestSuggestScenesLimit(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	for i := range 40 {
		addScene(t, db, "g", fmt.Sprintf("scene_%02d", i), fmt.Sprintf("name %02d", i))
	}
	for _, tt := range []struct{ limit, want int }{{0, 25}, {-1, 25}, {1, 1}, {25, 25}, {26, 25}, {1000, 25}} {
		for _, prefix := range []string{"", "name", "scene_"} {
			scenes, err := db.SuggestScenes(t.Context(), "g", prefix, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(scenes) != tt.want {
				t.Errorf("SuggestScenes(%q, limit %d) returned %d, want %d", prefix, tt.limit, len(scenes), tt.want)
			}
			if ids := sceneIDs(scenes); !slices.IsSorted(ids) {
				t.Errorf("SuggestScenes(%q, limit %d) = %v, want them by name", prefix, tt.limit, ids)
			}
		}
	}
}

// explainPlan returns the lines of SQLite's query plan of query, or PostgreSQL's with sequential scans
// disabled (its tables are a few rows here, which a planner reads whole; disabled, it still takes a
// sequential scan where no index fits, so an index named in the plan is one the query can use).
func explainPlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	if testBackend == Postgres {
		return explainPostgres(t, db, query, args...)
	}
	rows, err := db.SQL().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
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
	return plan.String()
}

func explainPostgres(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	tx, err := db.SQL().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(t.Context(), "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(t.Context(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// TestSuggestPlans checks that every part of the suggestion statements is an index range scan read
// in index order: no table scan, and no temporary B-tree (which SQLite would use to sort an ORDER
// BY the index does not give, or for a UNION's de-duplication), so an answer reads about as many
// rows as it returns, whatever the table's size.
func TestSuggestPlans(t *testing.T) {
	t.Parallel()
	sqliteOnly(t) // SQLite's plan words (SEARCH, TEMP B-TREE); the PostgreSQL run checks the results
	db := openTest(t)
	// The check can fail: a part ordered by a column no index gives is sorted in a temp B-tree.
	if plan := explainPlan(t, db, `SELECT * FROM (SELECT id FROM scenes INDEXED BY scenes_guild_key_status_name_idx
		WHERE guild_id = ? AND key_ref = '' AND status = 'ready' ORDER BY error LIMIT 25)`, "g"); !strings.Contains(plan, "USE TEMP B-TREE") {
		t.Fatalf("a sorted part's plan has no temp B-tree; the check below proves nothing:\n%s", plan)
	}
	for _, q := range []struct {
		name, query string
		args        []any
		indexes     []string
	}{
		{"scenes", suggestScenesSQL, []any{"g", "da", "db", "da", "db", 25, "k"},
			[]string{"scenes_guild_key_status_name_idx (guild_id=? AND key_ref=? AND status=? AND name_key>? AND name_key<?)",
				"scenes_guild_key_status_id_idx (guild_id=? AND key_ref=? AND status=? AND <expr>>? AND <expr><?)"}},
		{"characters", suggestCharactersSQL, []any{"u", "da", "db", "g", 25, "k"},
			[]string{"characters_owner_key_status_name_idx (owner_id=? AND key_ref=? AND status=? AND name_key>? AND name_key<?)",
				"characters_shared_key_status_name_idx (guild_id=? AND key_ref=? AND status=? AND name_key>? AND name_key<?)"}},
	} {
		plan := explainPlan(t, db, q.query, q.args...)
		for _, idx := range q.indexes {
			if n := strings.Count(plan, idx); n != len(suggestOrder) {
				t.Errorf("%s: plan uses %q %d times, want %d (once per status):\n%s", q.name, idx, n, len(suggestOrder), plan)
			}
		}
		if strings.Contains(plan, "SCAN characters") || strings.Contains(plan, "SCAN scenes") {
			t.Errorf("%s: plan scans a table:\n%s", q.name, plan)
		}
		if strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan sorts or de-duplicates in a temp B-tree:\n%s", q.name, plan)
		}
	}
}

// TestScenesForKey checks that the lookups for renders see only the scenes imported with the guild's
// current key, and that the management lookups still see every scene of the guild.
func TestScenesForKey(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	add := func(guild, key, id, name string) {
		t.Helper()
		putScene(t, db, &Scene{GuildID: guild, KeyRef: key, Name: name, ImportedBy: "u"}, StatusReady, id)
	}
	add("g1", "", "scene_shared", "dance shared")
	add("g1", "key1", "scene_own", "dance own")
	add("g1", "key2", "scene_old", "dance old")
	add("g2", "key1", "scene_elsewhere", "dance elsewhere")

	for _, tt := range []struct {
		key  string
		want []string
	}{
		{"", []string{"scene_shared"}},
		{"key1", []string{"scene_own"}},
		{"key2", []string{"scene_old"}},
		{"key3", nil},
	} {
		got, err := db.SuggestScenesForKey(t.Context(), "g1", tt.key, "dance", 0)
		if err != nil {
			t.Fatal(err)
		}
		if ids := sceneIDs(got); !slices.Equal(ids, tt.want) {
			t.Errorf("SuggestScenesForKey(g1, %q) = %v, want %v", tt.key, ids, tt.want)
		}
		list, err := db.ListScenesForKey(t.Context(), "g1", tt.key)
		if err != nil {
			t.Fatal(err)
		}
		if ids := sceneIDs(list); !slices.Equal(ids, tt.want) {
			t.Errorf("ListScenesForKey(g1, %q) = %v, want %v", tt.key, ids, tt.want)
		}
	}
	if s, err := db.SceneByNameForKey(t.Context(), "g1", "key1", "DANCE OWN"); err != nil || s.ViggleID != "scene_own" {
		t.Errorf("SceneByNameForKey(key1, own) = %+v, %v", s, err)
	}
	if _, err := db.SceneByNameForKey(t.Context(), "g1", "key1", "dance old"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SceneByNameForKey(key1) of key2's scene: %v, want ErrNotFound", err)
	}
	if s, err := db.SceneByViggleIDForKey(t.Context(), "g1", "", "scene_shared"); err != nil || s.Name != "dance shared" {
		t.Errorf("SceneByViggleIDForKey(shared) = %+v, %v", s, err)
	}
	if _, err := db.SceneByViggleIDForKey(t.Context(), "g1", "", "scene_own"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SceneByViggleIDForKey(\"\") of key1's scene: %v, want ErrNotFound", err)
	}
	// The name stays held by the other key's scene; the lookups of every key find it.
	if s, err := db.SceneByName(t.Context(), "g1", "dance old"); err != nil || s.KeyRef != "key2" {
		t.Errorf("SceneByName(dance old) = %+v, %v; want key2's scene", s, err)
	}
	if err := db.InsertScene(t.Context(), &Scene{GuildID: "g1", KeyRef: "key1", Name: "Dance Old", ImportedBy: "u"}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("InsertScene of a name held by another key's scene: %v, want ErrDuplicate", err)
	}
	if list, err := db.ListScenes(t.Context(), "g1"); err != nil || len(list) != 3 {
		t.Errorf("ListScenes(g1) = %v, %v; want the 3 scenes of every key", sceneIDs(list), err)
	}
	// The deprecated SuggestScenes is the shared key's.
	if got, err := db.SuggestScenes(t.Context(), "g1", "dance", 0); err != nil || !slices.Equal(sceneIDs(got), []string{"scene_shared"}) {
		t.Errorf("SuggestScenes = %v, %v", sceneIDs(got), err)
	}
}
