package store

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// addCharacter inserts a ready character and fails the test on error.
func addCharacter(tb testing.TB, db *DB, id, owner, guild, name string, shared bool) *Character {
	tb.Helper()
	c := &Character{ID: id, OwnerID: owner, GuildID: guild, Name: name, Shared: shared, Status: StatusReady}
	if err := db.InsertCharacter(tb.Context(), c); err != nil {
		tb.Fatalf("InsertCharacter(%s, %s, %q): %v", id, owner, name, err)
	}
	return c
}

func characterIDs(cs []*Character) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func TestCharacterRoundTrip(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	now := time.UnixMilli(1_700_000_000_456).UTC()
	db.now = func() time.Time { return now }

	in := &Character{ID: "char_1", OwnerID: "u1", GuildID: "g1", Name: " Alice  "}
	if err := db.InsertCharacter(t.Context(), in); err != nil {
		t.Fatalf("InsertCharacter: %v", err)
	}
	if in.Status != StatusPending || in.Name != "Alice" || !in.CreatedAt.Equal(now) || in.Shared {
		t.Errorf("after InsertCharacter: %+v", in)
	}
	got, err := db.GetCharacter(t.Context(), "char_1")
	if err != nil {
		t.Fatalf("GetCharacter: %v", err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("GetCharacter = %+v, want %+v", got, in)
	}

	later := now.Add(time.Minute)
	db.now = func() time.Time { return later }
	up := &Character{ID: "char_1", Status: StatusReady, ThumbnailURL: "https://cdn/t.png", ImageURL: "https://cdn/i.png"}
	if err := db.UpdateCharacter(t.Context(), up); err != nil {
		t.Fatalf("UpdateCharacter: %v", err)
	}
	want := *in
	want.Status, want.ThumbnailURL, want.ImageURL, want.UpdatedAt = StatusReady, up.ThumbnailURL, up.ImageURL, later
	if !reflect.DeepEqual(up, &want) {
		t.Errorf("UpdateCharacter wrote back %+v, want %+v", up, &want)
	}
	for _, name := range []string{"alice", "ALICE", " Alice"} {
		got, err := db.CharacterByName(t.Context(), "u1", name)
		if err != nil {
			t.Fatalf("CharacterByName(%q): %v", name, err)
		}
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("CharacterByName(%q) = %+v, want %+v", name, got, &want)
		}
	}

	shared, err := db.ShareCharacter(t.Context(), "u1", "ALICE")
	if err != nil {
		t.Fatalf("ShareCharacter: %v", err)
	}
	want.Shared = true
	if !reflect.DeepEqual(shared, &want) {
		t.Errorf("ShareCharacter = %+v, want %+v", shared, &want)
	}
	if again, err := db.ShareCharacter(t.Context(), "u1", "alice"); err != nil || !reflect.DeepEqual(again, &want) {
		t.Errorf("ShareCharacter again = %+v, %v; want %+v unchanged", again, err, &want)
	}
	got, err = db.SharedCharacterByName(t.Context(), "g1", "aLiCe")
	if err != nil || !reflect.DeepEqual(got, &want) {
		t.Errorf("SharedCharacterByName = %+v, %v; want %+v", got, err, &want)
	}

	if err := db.DeleteCharacter(t.Context(), "char_1"); err != nil {
		t.Fatalf("DeleteCharacter: %v", err)
	}
	if _, err := db.GetCharacter(t.Context(), "char_1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCharacter after delete = %v, want ErrNotFound", err)
	}
	if err := db.DeleteCharacter(t.Context(), "char_1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteCharacter again = %v, want ErrNotFound", err)
	}
	addCharacter(t, db, "char_2", "u1", "g1", "alice", true) // the names are free again
}

func TestCharacterUniqueness(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	addCharacter(t, db, "char_1", "u1", "g1", "Alice", true)

	// Unique per owner, case-insensitively, across guilds; the id is unique; a guild shares one per name.
	for _, c := range []*Character{
		{ID: "char_2", OwnerID: "u1", GuildID: "g1", Name: "ALICE"},
		{ID: "char_2", OwnerID: "u1", GuildID: "g2", Name: " alice "},
		{ID: "char_1", OwnerID: "u2", GuildID: "g1", Name: "bob"},
		{ID: "char_2", OwnerID: "u2", GuildID: "g1", Name: "alice", Shared: true},
	} {
		err := db.InsertCharacter(t.Context(), c)
		if !errors.Is(err, ErrDuplicate) || errors.Is(err, ErrNotFound) {
			t.Errorf("InsertCharacter(%+v) = %v, want ErrDuplicate", c, err)
		}
	}
	// Another owner may use the name, unshared, and share it in another guild; then not in g1.
	addCharacter(t, db, "char_3", "u2", "g1", "alice", false)
	addCharacter(t, db, "char_4", "u3", "g2", "alice", true)
	if _, err := db.ShareCharacter(t.Context(), "u2", "Alice"); !errors.Is(err, ErrDuplicate) {
		t.Errorf("sharing a second \"alice\" in g1 = %v, want ErrDuplicate", err)
	}
	if c, err := db.GetCharacter(t.Context(), "char_3"); err != nil || c.Shared {
		t.Errorf("refused share left %+v, %v; want it unshared", c, err)
	}

	for _, err := range []error{
		func() error { _, err := db.ShareCharacter(t.Context(), "u1", "nobody"); return err }(),
		func() error { _, err := db.ShareCharacter(t.Context(), "u9", "alice"); return err }(),
		func() error { _, err := db.CharacterByName(t.Context(), "u9", "alice"); return err }(),
		func() error { _, err := db.SharedCharacterByName(t.Context(), "g3", "alice"); return err }(),
		func() error { _, err := db.GetCharacter(t.Context(), "CHAR_1"); return err }(),
		db.UpdateCharacter(t.Context(), &Character{ID: "char_9", Status: StatusReady}),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	}

	for _, c := range []*Character{
		{ID: "", OwnerID: "u1", Name: "x"},
		{ID: "char_9", OwnerID: "", Name: "x"},
		{ID: "char_9", OwnerID: "u1", Name: " "},
		{ID: "char_9", OwnerID: "u1", Name: "x", Status: "done"},
		{ID: "char_9", OwnerID: "u1", GuildID: "", Name: "x", Shared: true},
	} {
		if err := db.InsertCharacter(t.Context(), c); err == nil || errors.Is(err, ErrDuplicate) {
			t.Errorf("InsertCharacter(%+v) = %v, want a validation error", c, err)
		}
	}
	addCharacter(t, db, "char_dm", "u1", "", "made in a DM", false)
	if _, err := db.ShareCharacter(t.Context(), "u1", "made in a dm"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("sharing a character made outside a guild = %v, want an error", err)
	}
}

func TestResolveCharacter(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	addCharacter(t, db, "char_own", "u1", "g2", "Alice", false)   // the caller's, made in another guild
	addCharacter(t, db, "char_g1", "u2", "g1", "alice", true)     // shared here by someone else
	addCharacter(t, db, "char_bob", "u2", "g1", "Bob", true)      // shared here
	addCharacter(t, db, "char_carl", "u2", "g1", "carl", false)   // someone else's, not shared
	addCharacter(t, db, "char_dora", "u3", "g2", "dora", true)    // shared in another guild
	addCharacter(t, db, "char_own_s", "u1", "g1", "Emma", true)   // the caller's, shared here
	addCharacter(t, db, "char_emma2", "u3", "g2", "EMMA", true)   // another guild's Emma
	addCharacter(t, db, "char_ü", "u2", "g1", "Straße", true)     // folded: "strasse"
	addCharacter(t, db, "char_pct", "u2", "g1", "100% me", true)  // LIKE characters in the name
	addCharacter(t, db, "char_pct2", "u2", "g1", "100 me", true)  // ...
	addCharacter(t, db, "char_fred", "u1", "g1", "Fred!", false)  // the caller's
	addCharacter(t, db, "char_fred2", "u2", "g1", "fred!", false) // not shared: never resolved for u1

	tests := []struct{ owner, guild, name, want string }{
		{"u1", "g1", "alice", "char_own"}, // the caller's own first, wherever made
		{"u1", "g1", "ALICE", "char_own"},
		{"u3", "g1", "alice", "char_g1"}, // else the guild's shared one
		{"u1", "g1", "bob", "char_bob"},
		{"u1", "g1", "carl", ""}, // not shared
		{"u2", "g1", "carl", "char_carl"},
		{"u1", "g1", "dora", ""}, // shared elsewhere
		{"u1", "g2", "dora", "char_dora"},
		{"u1", "g1", "emma", "char_own_s"},
		{"u1", "g2", "emma", "char_own_s"}, // own beats g2's shared one
		{"u2", "g2", "emma", "char_emma2"},
		{"u1", "g1", "STRASSE", "char_ü"},
		{"u1", "g1", "100_ me", ""}, // no pattern matching in names
		{"u1", "g1", "100% me", "char_pct"},
		{"u2", "g1", "fred!", "char_fred2"},
		{"u3", "g1", "fred!", ""},
		{"u1", "", "bob", ""}, // outside a guild: own ones only
		{"u1", "", "alice", "char_own"},
	}
	for _, tt := range tests {
		c, err := db.ResolveCharacter(t.Context(), tt.owner, tt.guild, tt.name)
		switch {
		case tt.want == "" && !errors.Is(err, ErrNotFound):
			t.Errorf("ResolveCharacter(%s, %s, %q) = %v, %v; want ErrNotFound", tt.owner, tt.guild, tt.name, c, err)
		case tt.want != "" && (err != nil || c.ID != tt.want):
			t.Errorf("ResolveCharacter(%s, %s, %q) = %v, %v; want %s", tt.owner, tt.guild, tt.name, c, err, tt.want)
		}
	}

	list, err := db.ListCharacters(t.Context(), "u1", "g1")
	if err != nil {
		t.Fatal(err)
	}
	// Own ones by name (from every guild), then others' shared here by name.
	want := []string{"char_own", "char_own_s", "char_fred", "char_pct2", "char_pct", "char_g1", "char_bob", "char_ü"}
	if got := characterIDs(list); !slices.Equal(got, want) {
		t.Errorf("ListCharacters(u1, g1) = %v, want %v", got, want)
	}
}

func TestSuggestCharacters(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	add := func(id, owner, guild, name string, shared bool, st Status) {
		t.Helper()
		if err := db.InsertCharacter(t.Context(), &Character{ID: id, OwnerID: owner, GuildID: guild, Name: name,
			Shared: shared, Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	add("c_ann", "u1", "g1", "Ann", false, StatusReady)
	add("c_anna", "u1", "g2", "anna", false, StatusProcessing)
	add("c_anne", "u1", "g1", "ANNE", true, StatusReady)
	add("c_anf", "u1", "g1", "anfailed", false, StatusFailed)
	add("c_and", "u2", "g1", "andy", true, StatusReady)
	add("c_anp", "u2", "g1", "anpending", true, StatusPending)
	add("c_ant", "u3", "g1", "Anton", true, StatusReady)
	add("c_anx", "u2", "g1", "anx unshared", false, StatusReady) // someone else's, unshared
	add("c_any", "u3", "g2", "any elsewhere", true, StatusReady) // shared in another guild
	add("c_u", "u1", "g1", "a_b", false, StatusReady)
	add("c_ux", "u1", "g1", "axb", false, StatusReady)
	add("c_p", "u2", "g1", "50%", true, StatusReady)
	add("c_px", "u2", "g1", "50x", true, StatusReady)

	tests := []struct {
		owner, guild, prefix string
		limit                int
		want                 []string
	}{
		// Own ones first (ready, then processing … failed, by name), then others' shared ones here.
		{"u1", "g1", "an", 0, []string{"c_ann", "c_anne", "c_anna", "c_anf", "c_and", "c_ant", "c_anp"}},
		{"u1", "g1", "AN", 3, []string{"c_ann", "c_anne", "c_anna"}},
		{"u1", "g1", "ann", 0, []string{"c_ann", "c_anne", "c_anna"}},
		{"u1", "g1", "  Ann", 0, []string{"c_ann", "c_anne", "c_anna"}},
		{"u1", "g1", "anne", 0, []string{"c_anne"}},                                   // shared by its owner: once, as their own
		{"u2", "g1", "an", 0, []string{"c_and", "c_anx", "c_anp", "c_anne", "c_ant"}}, // never u1's unshared c_ann
		{"u1", "g2", "an", 0, []string{"c_ann", "c_anne", "c_anna", "c_anf", "c_any"}},
		{"u9", "g1", "an", 0, []string{"c_and", "c_anne", "c_ant", "c_anp"}},
		{"u9", "", "an", 0, nil},
		{"u1", "g1", "a_", 0, []string{"c_u"}},
		{"u1", "g1", "50%", 0, []string{"c_p"}},
		{"u1", "g1", "%", 0, nil},
		{"u1", "g1", "zz", 0, nil},
	}
	for _, tt := range tests {
		cs, err := db.SuggestCharacters(t.Context(), tt.owner, tt.guild, tt.prefix, tt.limit)
		if err != nil {
			t.Fatalf("SuggestCharacters(%q): %v", tt.prefix, err)
		}
		if got := characterIDs(cs); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("SuggestCharacters(%s, %s, %q, %d) = %v, want %v", tt.owner, tt.guild, tt.prefix, tt.limit, got, tt.want)
		}
		for _, c := range cs {
			if c.OwnerID != tt.owner && (!c.Shared || c.GuildID != tt.guild) {
				t.Errorf("suggested %s (owner %s, guild %s, shared %v) to %s in %s", c.ID, c.OwnerID, c.GuildID, c.Shared, tt.owner, tt.guild)
			}
		}
	}
}

func TestSuggestCharactersLimit(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	for i := range 20 {
		addCharacter(t, db, fmt.Sprintf("own_%02d", i), "u1", "g", fmt.Sprintf("c%02d", i), false)
		addCharacter(t, db, fmt.Sprintf("shr_%02d", i), fmt.Sprint("o", i), "g", fmt.Sprintf("c%02d", i), true)
	}
	for _, tt := range []struct{ limit, want int }{{0, 25}, {-5, 25}, {1, 1}, {20, 20}, {25, 25}, {99, 25}} {
		cs, err := db.SuggestCharacters(t.Context(), "u1", "g", "C", tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		ids := characterIDs(cs)
		if len(ids) != tt.want || !slices.IsSorted(ids) {
			t.Errorf("SuggestCharacters(limit %d) = %v, want the first %d of own_*, shr_*", tt.limit, ids, tt.want)
		}
	}
}
