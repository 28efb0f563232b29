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

// addCharacter inserts a ready character made with the shared key ("") and fails the test on error.
func addCharacter(tb testing.TB, db *DB, id, owner, guild, name string, shared bool) *Character {
	tb.Helper()
	return putCharacter(tb, db, &Character{ID: id, OwnerID: owner, GuildID: guild, Name: name, Shared: shared}, StatusReady)
}

// putCharacter inserts c (submitting), then, unless st is StatusSubmitting, records Viggle's answer
// with status st and Viggle id "vg_" + c.ID (none for unknown); it fails the test on error.
func putCharacter(tb testing.TB, db *DB, c *Character, st Status) *Character {
	tb.Helper()
	if err := db.InsertCharacter(tb.Context(), c); err != nil {
		tb.Fatalf("InsertCharacter(%s, %s, %q): %v", c.ID, c.OwnerID, c.Name, err)
	}
	if st == StatusSubmitting {
		return c
	}
	up := &Character{ID: c.ID, Status: st}
	if st != StatusUnknown {
		up.ViggleID = "vg_" + c.ID
	}
	if err := db.UpdateCharacter(tb.Context(), up); err != nil {
		tb.Fatalf("UpdateCharacter(%s, %s): %v", c.ID, st, err)
	}
	return up
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

	// Recorded before the create is sent: a bot id, no Viggle id, submitting.
	in := &Character{OwnerID: "u1", GuildID: "g1", KeyRef: "k1", Name: " Alice  "}
	if err := db.InsertCharacter(t.Context(), in); err != nil {
		t.Fatalf("InsertCharacter: %v", err)
	}
	if len(in.ID) != 10 || in.Status != StatusSubmitting || in.Name != "Alice" || !in.CreatedAt.Equal(now) ||
		in.Shared || in.ViggleID != "" {
		t.Errorf("after InsertCharacter: %+v", in)
	}
	got, err := db.GetCharacter(t.Context(), in.ID)
	if err != nil {
		t.Fatalf("GetCharacter: %v", err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("GetCharacter = %+v, want %+v", got, in)
	}

	// Viggle's answer, then its progress: the id is recorded once.
	later := now.Add(time.Minute)
	db.now = func() time.Time { return later }
	up := &Character{ID: in.ID, ViggleID: "char_v1", Status: StatusPending}
	if err := db.UpdateCharacter(t.Context(), up); err != nil {
		t.Fatalf("UpdateCharacter: %v", err)
	}
	up = &Character{ID: in.ID, Status: StatusReady, ThumbnailURL: "https://cdn/t.png"}
	if err := db.UpdateCharacter(t.Context(), up); err != nil {
		t.Fatalf("UpdateCharacter: %v", err)
	}
	want := *in
	want.ViggleID, want.Status, want.ThumbnailURL, want.UpdatedAt = "char_v1", StatusReady, up.ThumbnailURL, later
	if !reflect.DeepEqual(up, &want) {
		t.Errorf("UpdateCharacter wrote back %+v, want %+v", up, &want)
	}
	if err := db.UpdateCharacter(t.Context(), &Character{ID: in.ID, ViggleID: "char_v2", Status: StatusReady}); !errors.Is(err, ErrConflict) {
		t.Errorf("UpdateCharacter with another Viggle id = %v, want ErrConflict", err)
	}
	if got, err := db.CharacterByViggleID(t.Context(), "char_v1"); err != nil || !reflect.DeepEqual(got, &want) {
		t.Errorf("CharacterByViggleID = %+v, %v; want %+v", got, err, &want)
	}
	for _, name := range []string{"alice", "ALICE", " Alice"} {
		got, err := db.CharacterByName(t.Context(), "u1", "k1", name)
		if err != nil {
			t.Fatalf("CharacterByName(%q): %v", name, err)
		}
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("CharacterByName(%q) = %+v, want %+v", name, got, &want)
		}
	}
	if _, err := db.CharacterByName(t.Context(), "u1", "", "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CharacterByName with another key = %v, want ErrNotFound", err)
	}

	shared, err := db.ShareCharacter(t.Context(), "u1", "g1", "ALICE")
	if err != nil {
		t.Fatalf("ShareCharacter: %v", err)
	}
	want.Shared = true
	if !reflect.DeepEqual(shared, &want) {
		t.Errorf("ShareCharacter = %+v, want %+v", shared, &want)
	}
	if again, err := db.ShareCharacter(t.Context(), "u1", "g1", "alice"); err != nil || !reflect.DeepEqual(again, &want) {
		t.Errorf("ShareCharacter again = %+v, %v; want %+v unchanged", again, err, &want)
	}
	got, err = db.SharedCharacterByName(t.Context(), "g1", "k1", "aLiCe")
	if err != nil || !reflect.DeepEqual(got, &want) {
		t.Errorf("SharedCharacterByName = %+v, %v; want %+v", got, err, &want)
	}
	if _, err := db.SharedCharacterByName(t.Context(), "g1", "", "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SharedCharacterByName with another key = %v, want ErrNotFound", err)
	}

	if err := db.DeleteCharacter(t.Context(), in.ID); err != nil {
		t.Fatalf("DeleteCharacter: %v", err)
	}
	if _, err := db.GetCharacter(t.Context(), in.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCharacter after delete = %v, want ErrNotFound", err)
	}
	if err := db.DeleteCharacter(t.Context(), in.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteCharacter again = %v, want ErrNotFound", err)
	}
	addCharacter(t, db, "char_2", "u1", "g1", "alice", true) // the names are free again
}

func TestCharacterUniqueness(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	addCharacter(t, db, "char_1", "u1", "g1", "Alice", true)
	// A row still submitting, or of unknown outcome, holds its name too.
	putCharacter(t, db, &Character{ID: "char_s", OwnerID: "u1", GuildID: "g1", Name: "Sent"}, StatusSubmitting)
	putCharacter(t, db, &Character{ID: "char_u", OwnerID: "u1", GuildID: "g1", Name: "Lost"}, StatusUnknown)

	// Unique per owner, case-insensitively, across guilds and keys; the id is unique; a guild shares one per name.
	for _, c := range []*Character{
		{ID: "char_2", OwnerID: "u1", GuildID: "g1", Name: "ALICE"},
		{ID: "char_2", OwnerID: "u1", GuildID: "g2", Name: " alice ", KeyRef: "k2"},
		{ID: "char_2", OwnerID: "u1", GuildID: "g1", Name: "sent"},
		{ID: "char_2", OwnerID: "u1", GuildID: "g1", Name: "LOST"},
		{ID: "char_1", OwnerID: "u2", GuildID: "g1", Name: "bob"},
		{ID: "char_2", OwnerID: "u2", GuildID: "g1", Name: "alice", Shared: true},
	} {
		err := db.InsertCharacter(t.Context(), c)
		if !errors.Is(err, ErrDuplicate) || errors.Is(err, ErrNotFound) {
			t.Errorf("InsertCharacter(%+v) = %v, want ErrDuplicate", c, err)
		}
	}
	// A Viggle id is recorded for one row only.
	if err := db.UpdateCharacter(t.Context(), &Character{ID: "char_s", ViggleID: "vg_char_1", Status: StatusPending}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("recording another row's Viggle id = %v, want ErrDuplicate", err)
	}
	// Another owner may use the name, unshared, and share it in another guild; then not in g1.
	addCharacter(t, db, "char_3", "u2", "g1", "alice", false)
	addCharacter(t, db, "char_4", "u3", "g2", "alice", true)
	if _, err := db.ShareCharacter(t.Context(), "u2", "g1", "Alice"); !errors.Is(err, ErrDuplicate) {
		t.Errorf("sharing a second \"alice\" in g1 = %v, want ErrDuplicate", err)
	}
	if c, err := db.GetCharacter(t.Context(), "char_3"); err != nil || c.Shared {
		t.Errorf("refused share left %+v, %v; want it unshared", c, err)
	}

	for _, err := range []error{
		func() error { _, err := db.ShareCharacter(t.Context(), "u1", "g1", "nobody"); return err }(),
		func() error { _, err := db.ShareCharacter(t.Context(), "u9", "g1", "alice"); return err }(),
		func() error { _, err := db.CharacterByName(t.Context(), "u9", "", "alice"); return err }(),
		func() error { _, err := db.SharedCharacterByName(t.Context(), "g3", "", "alice"); return err }(),
		func() error { _, err := db.GetCharacter(t.Context(), "CHAR_1"); return err }(),
		func() error { _, err := db.CharacterByViggleID(t.Context(), "VG_CHAR_1"); return err }(),
		db.UpdateCharacter(t.Context(), &Character{ID: "char_9", Status: StatusReady}),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	}

	for _, c := range []*Character{
		{ID: "char_9", OwnerID: "", Name: "x"},
		{ID: "char_9", OwnerID: "u1", Name: " "},
		{ID: "char_9", OwnerID: "u1", Name: "x", Status: "done"},
		{ID: "char_9", OwnerID: "u1", Name: "x", Status: StatusReady}, // only submitting before the POST
		{ID: "char_9", OwnerID: "u1", Name: "x", ViggleID: "char_v"},  // no Viggle id before the POST
		{ID: "char_9", OwnerID: "u1", GuildID: "", Name: "x", Shared: true},
	} {
		if err := db.InsertCharacter(t.Context(), c); err == nil || errors.Is(err, ErrDuplicate) {
			t.Errorf("InsertCharacter(%+v) = %v, want a validation error", c, err)
		}
	}
	for _, up := range []*Character{
		{ID: "char_s", Status: "done", ViggleID: "v9"},
		{ID: "char_s", Status: StatusReady}, // ready without a Viggle id
		{ID: "char_s", Status: StatusPending},
	} {
		if err := db.UpdateCharacter(t.Context(), up); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateCharacter(%+v) = %v, want a validation error", up, err)
		}
	}
	// A refused create fails with no Viggle id.
	if err := db.UpdateCharacter(t.Context(), &Character{ID: "char_s", Status: StatusFailed, Error: "refused"}); err != nil {
		t.Errorf("UpdateCharacter(failed, no Viggle id) = %v", err)
	}
}

func TestShareCharacterOtherGuild(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	addCharacter(t, db, "char_g2", "u1", "g2", "Alice", false)
	addCharacter(t, db, "char_dm", "u1", "", "made in a DM", false)
	for _, tt := range []struct{ guild, name, madeIn string }{
		{"g1", "alice", "g2"},
		{"", "alice", "g2"},
		{"g1", "made in a dm", ""},
		{"", "made in a dm", ""},
	} {
		c, err := db.ShareCharacter(t.Context(), "u1", tt.guild, tt.name)
		var og *OtherGuildError
		if !errors.As(err, &og) || og.MadeIn != tt.madeIn || og.Guild != tt.guild {
			t.Errorf("ShareCharacter(u1, %q, %q) = %v, %v; want an *OtherGuildError (made in %q)", tt.guild, tt.name, c, err, tt.madeIn)
		}
	}
	for _, id := range []string{"char_g2", "char_dm"} {
		if c, err := db.GetCharacter(t.Context(), id); err != nil || c.Shared {
			t.Errorf("refused share left %+v, %v; want it unshared", c, err)
		}
	}
	if c, err := db.ShareCharacter(t.Context(), "u1", "g2", "ALICE"); err != nil || !c.Shared {
		t.Errorf("ShareCharacter in the guild it was made in = %+v, %v", c, err)
	}
}

func TestReplaceCharacter(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	putCharacter(t, db, &Character{ID: "c_failed", OwnerID: "u1", GuildID: "g1", Name: "Alice", Shared: true}, StatusFailed)
	putCharacter(t, db, &Character{ID: "c_unknown", OwnerID: "u1", GuildID: "g1", Name: "Bob"}, StatusUnknown)
	for _, st := range []Status{StatusSubmitting, StatusPending, StatusProcessing, StatusReady} {
		putCharacter(t, db, &Character{ID: "c_" + string(st), OwnerID: "u1", GuildID: "g1", Name: "is " + string(st)}, st)
	}

	// A failed or unknown row of the name is replaced in one transaction; the old one is returned.
	for _, tt := range []struct{ name, old string }{{"ALICE", "c_failed"}, {"bob", "c_unknown"}, {"free", ""}} {
		c := &Character{OwnerID: "u1", GuildID: "g1", Name: tt.name, Shared: tt.old == "c_failed"}
		old, err := db.ReplaceCharacter(t.Context(), c)
		if err != nil {
			t.Fatalf("ReplaceCharacter(%q): %v", tt.name, err)
		}
		if (old == nil && tt.old != "") || (old != nil && old.ID != tt.old) {
			t.Errorf("ReplaceCharacter(%q) replaced %+v, want %q", tt.name, old, tt.old)
		}
		if got, err := db.GetCharacter(t.Context(), c.ID); err != nil || got.Status != StatusSubmitting || got.Name != tt.name {
			t.Errorf("the new row = %+v, %v; want it submitting", got, err)
		}
		if tt.old != "" {
			if _, err := db.GetCharacter(t.Context(), tt.old); !errors.Is(err, ErrNotFound) {
				t.Errorf("replaced row %s still there: %v", tt.old, err)
			}
		}
	}
	// Any other status holds the name: nothing changes.
	for _, st := range []Status{StatusSubmitting, StatusPending, StatusProcessing, StatusReady} {
		c := &Character{OwnerID: "u1", GuildID: "g1", Name: "IS " + string(st)}
		if old, err := db.ReplaceCharacter(t.Context(), c); !errors.Is(err, ErrDuplicate) || old != nil {
			t.Errorf("ReplaceCharacter over a %s one = %+v, %v; want ErrDuplicate", st, old, err)
		}
		if got, err := db.GetCharacter(t.Context(), "c_"+string(st)); err != nil || got.Status != st {
			t.Errorf("the %s row after a refused replace: %+v, %v", st, got, err)
		}
		if _, err := db.GetCharacter(t.Context(), c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused replace inserted %s: %v", c.ID, err)
		}
	}
	// A replacement that cannot be inserted leaves the failed row in place (one transaction).
	putCharacter(t, db, &Character{ID: "c_f2", OwnerID: "u1", GuildID: "g1", Name: "Carl"}, StatusFailed)
	addCharacter(t, db, "c_carl2", "u2", "g1", "carl", true)
	if _, err := db.ReplaceCharacter(t.Context(), &Character{OwnerID: "u1", GuildID: "g1", Name: "carl", Shared: true}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("ReplaceCharacter with a shared name taken = %v, want ErrDuplicate", err)
	}
	if _, err := db.GetCharacter(t.Context(), "c_f2"); err != nil {
		t.Errorf("a refused replace deleted the failed row: %v", err)
	}
	// InsertCharacter never replaces.
	putCharacter(t, db, &Character{ID: "c_f3", OwnerID: "u1", GuildID: "g1", Name: "Dora"}, StatusFailed)
	if err := db.InsertCharacter(t.Context(), &Character{OwnerID: "u1", GuildID: "g1", Name: "dora"}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("InsertCharacter over a failed one = %v, want ErrDuplicate", err)
	}
}

func TestNameKeyNFC(t *testing.T) {
	t.Parallel()
	const precomposed, combining = "Ren\u00e9e", "Rene\u0301e" // "Renée" both ways
	if nameKey(precomposed) != nameKey(combining) || nameKey(precomposed) != nameKey("RENE\u0301E") {
		t.Fatalf("nameKey(%q) = %q, nameKey(%q) = %q; want one key", precomposed, nameKey(precomposed), combining, nameKey(combining))
	}
	db := openTest(t)
	addCharacter(t, db, "c_renee", "u1", "g1", precomposed, true)
	if err := db.InsertCharacter(t.Context(), &Character{OwnerID: "u1", Name: combining}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("InsertCharacter(%q) beside %q = %v, want ErrDuplicate", combining, precomposed, err)
	}
	for _, name := range []string{combining, "RENE\u0301E", "ren\u00c9e"} {
		if c, err := db.ResolveCharacter(t.Context(), "u2", "g1", "", name); err != nil || c.ID != "c_renee" {
			t.Errorf("ResolveCharacter(%q) = %+v, %v; want c_renee", name, c, err)
		}
	}
	for _, prefix := range []string{"rene\u0301", "REN\u00c9"} {
		if cs, err := db.SuggestCharacters(t.Context(), "u1", "g1", "", prefix, 0); err != nil || !slices.Equal(characterIDs(cs), []string{"c_renee"}) {
			t.Errorf("SuggestCharacters(%q) = %v, %v; want c_renee", prefix, characterIDs(cs), err)
		}
	}
	addScene(t, db, "g1", "scene_r", combining)
	if s, err := db.SceneByName(t.Context(), "g1", precomposed); err != nil || s.ViggleID != "scene_r" {
		t.Errorf("SceneByName(%q) = %+v, %v; want scene_r", precomposed, s, err)
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
	// Made with other keys: found only by renders that use the same key.
	putCharacter(t, db, &Character{ID: "char_gina", OwnerID: "u1", GuildID: "g2", KeyRef: "k2", Name: "Gina"}, StatusReady)
	putCharacter(t, db, &Character{ID: "char_hank", OwnerID: "u2", GuildID: "g3", KeyRef: "k3", Name: "Hank", Shared: true}, StatusReady)
	putCharacter(t, db, &Character{ID: "char_ivy", OwnerID: "u1", GuildID: "g1", KeyRef: "k1", Name: "Ivy"}, StatusReady)
	putCharacter(t, db, &Character{ID: "char_ivy2", OwnerID: "u2", GuildID: "g1", KeyRef: "", Name: "ivy", Shared: true}, StatusReady)

	tests := []struct{ owner, guild, key, name, want string }{
		{"u1", "g1", "", "alice", "char_own"}, // the caller's own first, wherever made (with this key)
		{"u1", "g1", "", "ALICE", "char_own"},
		{"u3", "g1", "", "alice", "char_g1"}, // else the guild's shared one
		{"u1", "g1", "", "bob", "char_bob"},
		{"u1", "g1", "", "carl", ""}, // not shared
		{"u2", "g1", "", "carl", "char_carl"},
		{"u1", "g1", "", "dora", ""}, // shared elsewhere
		{"u1", "g2", "", "dora", "char_dora"},
		{"u1", "g1", "", "emma", "char_own_s"},
		{"u1", "g2", "", "emma", "char_own_s"}, // own beats g2's shared one
		{"u2", "g2", "", "emma", "char_emma2"},
		{"u1", "g1", "", "STRASSE", "char_ü"},
		{"u1", "g1", "", "100_ me", ""}, // no pattern matching in names
		{"u1", "g1", "", "100% me", "char_pct"},
		{"u2", "g1", "", "fred!", "char_fred2"},
		{"u3", "g1", "", "fred!", ""},
		{"u1", "", "", "bob", ""}, // outside a guild: own ones only
		{"u1", "", "", "alice", "char_own"},
		// Own ones in any guild, but only with the key they were made with.
		{"u1", "g1", "", "gina", ""},
		{"u1", "g2", "", "gina", ""},
		{"u1", "g2", "k2", "gina", "char_gina"},
		{"u1", "g1", "k2", "gina", "char_gina"},
		{"u1", "g1", "k2", "alice", ""}, // char_own was made with the shared key
		{"u1", "g3", "k3", "hank", "char_hank"},
		{"u1", "g3", "", "hank", ""},
		{"u1", "g1", "k1", "ivy", "char_ivy"},
		{"u1", "g1", "", "ivy", "char_ivy2"}, // own one made with another key: the shared one here
		{"u3", "g1", "k1", "ivy", ""},
	}
	for _, tt := range tests {
		c, err := db.ResolveCharacter(t.Context(), tt.owner, tt.guild, tt.key, tt.name)
		switch {
		case tt.want == "" && !errors.Is(err, ErrNotFound):
			t.Errorf("ResolveCharacter(%s, %s, %q, %q) = %v, %v; want ErrNotFound", tt.owner, tt.guild, tt.key, tt.name, c, err)
		case tt.want != "" && (err != nil || c.ID != tt.want):
			t.Errorf("ResolveCharacter(%s, %s, %q, %q) = %v, %v; want %s", tt.owner, tt.guild, tt.key, tt.name, c, err, tt.want)
		}
	}

	list, err := db.ListCharacters(t.Context(), "u1", "g1")
	if err != nil {
		t.Fatal(err)
	}
	// Own ones by name (from every guild), then others' shared here by name.
	want := []string{"char_own", "char_own_s", "char_fred", "char_gina", "char_ivy", "char_pct2", "char_pct", "char_g1",
		"char_bob", "char_ivy2", "char_ü"}
	if got := characterIDs(list); !slices.Equal(got, want) {
		t.Errorf("ListCharacters(u1, g1) = %v, want %v", got, want)
	}
}

func TestSuggestCharacters(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	add := func(id, owner, guild, name string, shared bool, st Status) {
		t.Helper()
		putCharacter(t, db, &Character{ID: id, OwnerID: owner, GuildID: guild, Name: name, Shared: shared}, st)
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
	add("c_ans", "u1", "g1", "ansubmitting", true, StatusSubmitting) // no Viggle id yet: never suggested
	add("c_anu", "u2", "g1", "anunknown", true, StatusUnknown)       // ...
	putCharacter(t, db, &Character{ID: "c_ank", OwnerID: "u1", GuildID: "g2", KeyRef: "k2", Name: "ankey"}, StatusReady)
	putCharacter(t, db, &Character{ID: "c_ank2", OwnerID: "u2", GuildID: "g1", KeyRef: "k1", Name: "ankey2", Shared: true}, StatusReady)

	tests := []struct {
		owner, guild, key, prefix string
		limit                     int
		want                      []string
	}{
		// Own ones first (ready, then processing … failed, by name), then others' shared ones here.
		{"u1", "g1", "", "an", 0, []string{"c_ann", "c_anne", "c_anna", "c_anf", "c_and", "c_ant", "c_anp"}},
		{"u1", "g1", "", "AN", 3, []string{"c_ann", "c_anne", "c_anna"}},
		{"u1", "g1", "", "ann", 0, []string{"c_ann", "c_anne", "c_anna"}},
		{"u1", "g1", "", "  Ann", 0, []string{"c_ann", "c_anne", "c_anna"}},
		{"u1", "g1", "", "anne", 0, []string{"c_anne"}},                                   // shared by its owner: once, as their own
		{"u2", "g1", "", "an", 0, []string{"c_and", "c_anx", "c_anp", "c_anne", "c_ant"}}, // never u1's unshared c_ann
		{"u1", "g2", "", "an", 0, []string{"c_ann", "c_anne", "c_anna", "c_anf", "c_any"}},
		{"u9", "g1", "", "an", 0, []string{"c_and", "c_anne", "c_ant", "c_anp"}},
		{"u9", "", "", "an", 0, nil},
		{"u1", "g1", "", "a_", 0, []string{"c_u"}},
		{"u1", "g1", "", "50%", 0, []string{"c_p"}},
		{"u1", "g1", "", "%", 0, nil},
		{"u1", "g1", "", "zz", 0, nil},
		// Only characters made with the key the guild's renders use, own ones from any guild.
		{"u1", "g1", "k2", "an", 0, []string{"c_ank"}},
		{"u1", "g1", "k1", "an", 0, []string{"c_ank2"}},
		{"u2", "g1", "k1", "an", 0, []string{"c_ank2"}},
		{"u1", "g1", "k9", "an", 0, nil},
	}
	for _, tt := range tests {
		cs, err := db.SuggestCharacters(t.Context(), tt.owner, tt.guild, tt.key, tt.prefix, tt.limit)
		if err != nil {
			t.Fatalf("SuggestCharacters(%q): %v", tt.prefix, err)
		}
		if got := characterIDs(cs); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("SuggestCharacters(%s, %s, %q, %q, %d) = %v, want %v", tt.owner, tt.guild, tt.key, tt.prefix, tt.limit, got, tt.want)
		}
		for _, c := range cs {
			if c.KeyRef != tt.key || c.ViggleID == "" || (c.OwnerID != tt.owner && (!c.Shared || c.GuildID != tt.guild)) {
				t.Errorf("suggested %+v to %s in %s with key %q", c, tt.owner, tt.guild, tt.key)
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
		cs, err := db.SuggestCharacters(t.Context(), "u1", "g", "", "C", tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		ids := characterIDs(cs)
		if len(ids) != tt.want || !slices.IsSorted(ids) {
			t.Errorf("SuggestCharacters(limit %d) = %v, want the first %d of own_*, shr_*", tt.limit, ids, tt.want)
		}
	}
}

// TestCharacterReview follows characters held for review: invisible to renders until approved, a
// rejected one never usable, every decision logged, a second decision refused.
func TestCharacterReview(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := t.Context()
	fixClock(db, ms(1000))
	held := func(id, owner, name string, shared bool, st Status) *Character {
		t.Helper()
		c := &Character{ID: id, OwnerID: owner, GuildID: "g1", Name: name, Shared: shared, Review: ReviewPending}
		putCharacter(t, db, c, st)
		return c
	}
	held("cpend01", "u1", "Alice", false, StatusReady)
	fixClock(db, ms(2000))
	held("cpend02", "u2", "Bob", false, StatusProcessing)
	held("cfail01", "u2", "Broken", false, StatusFailed)
	addCharacter(t, db, "cfree01", "u3", "g1", "alice", true)
	held("cpend04", "u3", "Carol", true, StatusReady)
	c := &Character{ID: "cpend03", OwnerID: "u4", GuildID: "g2", Name: "Elsewhere", Review: ReviewPending}
	putCharacter(t, db, c, StatusReady)

	// The pending ones are not offered for renders, and do not hide a shared one of their name.
	if _, err := db.SharedCharacterByName(ctx, "g1", "", "carol"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SharedCharacterByName of a pending character: %v, want ErrNotFound", err)
	}
	if r, err := db.ResolveCharacter(ctx, "u1", "g1", "", "alice"); err != nil || r.ID != "cfree01" {
		t.Errorf("u1's pending alice must not hide the alice u3 shares: %v, %v", r, err)
	}
	if _, err := db.ResolveCharacter(ctx, "u2", "g1", "", "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveCharacter of a pending character: %v, want ErrNotFound", err)
	}
	if _, err := db.CharacterByName(ctx, "u2", "", "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CharacterByName of a pending character: %v, want ErrNotFound", err)
	}
	if cs, err := db.SuggestCharacters(ctx, "u2", "g1", "", "", 0); err != nil || !slices.Equal(characterIDs(cs), []string{"cfree01"}) {
		t.Errorf("SuggestCharacters(u2) = %v, %v; want only the usable shared cfree01", characterIDs(cs), err)
	}
	// ...but the owner lists them, with their review.
	list, err := db.ListCharacters(ctx, "u2", "g1")
	if err != nil {
		t.Fatal(err)
	}
	if got := characterIDs(list); !slices.Equal(got, []string{"cpend02", "cfail01", "cfree01", "cpend04"}) {
		t.Errorf("ListCharacters(u2) = %v", got)
	}
	if list[0].Review != ReviewPending || list[0].ReviewedBy != "" || !list[0].ReviewedAt.IsZero() {
		t.Errorf("listed pending character: %+v", list[0])
	}

	pending, err := db.PendingCharacters(ctx, "g1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := characterIDs(pending); !slices.Equal(got, []string{"cpend01", "cpend02", "cpend04"}) {
		t.Errorf("PendingCharacters(g1) = %v, want the two not failed, oldest first", got)
	}
	if p, _ := db.PendingCharacters(ctx, "g1", 1); len(p) != 1 {
		t.Errorf("PendingCharacters(g1, 1) returned %d", len(p))
	}
	if plan := explainPlan(t, db, `SELECT `+characterColumns+` FROM characters
		WHERE guild_id = ? AND review = 'pending' AND status <> ? ORDER BY created_at, id LIMIT ?`, "g1", StatusFailed, 25); !strings.Contains(plan, "characters_pending_idx") {
		t.Errorf("PendingCharacters does not read its index:\n%s", plan)
	}

	// Approve: usable, recorded, logged.
	fixClock(db, ms(5000))
	got, err := db.ReviewCharacter(ctx, "cpend02", "mod1", true, Change{ActorID: "mod1", What: "approved character Bob of <@u2>"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Review != "" || got.ReviewedBy != "mod1" || !got.ReviewedAt.Equal(ms(5000)) || !got.UpdatedAt.Equal(ms(5000)) {
		t.Errorf("approved character = %+v", got)
	}
	if r, err := db.ResolveCharacter(ctx, "u2", "g1", "", "BOB"); err != nil || r.ID != "cpend02" {
		t.Errorf("ResolveCharacter after approval = %v, %v", r, err)
	}
	if cs, _ := db.SuggestCharacters(ctx, "u2", "g1", "", "b", 0); !slices.Equal(characterIDs(cs), []string{"cpend02"}) {
		t.Errorf("SuggestCharacters after approval = %v", characterIDs(cs))
	}
	// Reject: never usable.
	if _, err := db.ReviewCharacter(ctx, "cpend01", "mod2", false, Change{ActorID: "mod2", What: "rejected character Alice of <@u1>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReviewCharacter(ctx, "cpend04", "mod2", false, Change{ActorID: "mod2", What: "rejected character Carol of <@u3>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SharedCharacterByName(ctx, "g1", "", "carol"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SharedCharacterByName of a rejected character: %v, want ErrNotFound", err)
	}
	if _, err := db.CharacterByName(ctx, "u1", "", "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CharacterByName of a rejected character: %v, want ErrNotFound", err)
	}
	if r, err := db.ResolveCharacter(ctx, "u1", "g1", "", "alice"); err != nil || r.ID != "cfree01" {
		t.Errorf("u1's rejected alice must not hide the alice u3 shares: %v, %v", r, err)
	}
	// A second decision, or one on a character never held, is a conflict and logs nothing.
	for _, id := range []string{"cpend01", "cpend02", "cfree01"} {
		if _, err := db.ReviewCharacter(ctx, id, "mod3", true, Change{ActorID: "mod3", What: "again " + id}); !errors.Is(err, ErrConflict) {
			t.Errorf("ReviewCharacter(%s) again: %v, want ErrConflict", id, err)
		}
	}
	if _, err := db.ReviewCharacter(ctx, "nope", "mod3", true, Change{What: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReviewCharacter(unknown): %v, want ErrNotFound", err)
	}
	if r, _ := db.GetCharacter(ctx, "cpend01"); r.Review != ReviewRejected || r.ReviewedBy != "mod2" {
		t.Errorf("rejected character after a refused second decision = %+v", r)
	}

	// A moderator's deletion, logged in the character's guild.
	if err := db.DeleteCharacterLogged(ctx, "cfree01", Change{ActorID: "mod1", What: "deleted character alice of <@u3>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetCharacter(ctx, "cfree01"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted character: %v", err)
	}
	if err := db.DeleteCharacterLogged(ctx, "cfree01", Change{ActorID: "mod1", What: "deleted twice"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteCharacterLogged of a deleted character: %v, want ErrNotFound", err)
	}
	changes, err := db.RecentChanges(ctx, "g1", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"deleted character alice of <@u3>", "rejected character Carol of <@u3>",
		"rejected character Alice of <@u1>", "approved character Bob of <@u2>"}
	if got := whats(changes); !slices.Equal(got, want) {
		t.Errorf("change log of g1 = %q, want %q", got, want)
	}
	if p, _ := db.PendingCharacters(ctx, "g1", 0); len(p) != 0 {
		t.Errorf("still pending in g1: %v", characterIDs(p))
	}
	if p, _ := db.PendingCharacters(ctx, "g2", 0); !slices.Equal(characterIDs(p), []string{"cpend03"}) {
		t.Errorf("pending in g2: %v", characterIDs(p))
	}
}

func TestInsertCharacterReviewChecks(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	for _, c := range []*Character{
		{OwnerID: "u", GuildID: "g", Name: "a", Review: ReviewRejected},
		{OwnerID: "u", GuildID: "g", Name: "b", Review: "approved"},
		{OwnerID: "u", Name: "c", Review: ReviewPending},
		{OwnerID: "u", GuildID: "g", Name: "d", ReviewedBy: "mod"},
	} {
		if err := db.InsertCharacter(t.Context(), c); err == nil {
			t.Errorf("InsertCharacter(%+v) succeeded", c)
		}
	}
	// ReplaceCharacter keeps the new row's review.
	c := &Character{OwnerID: "u", GuildID: "g", Name: "e", Review: ReviewPending}
	if _, err := db.ReplaceCharacter(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetCharacter(t.Context(), c.ID); err != nil || got.Review != ReviewPending {
		t.Errorf("replaced character = %+v, %v", got, err)
	}
}

// Every deletion of a character records its Viggle id (owner's delete, a moderator's logged delete),
// so that the id cannot be rendered with any more; a character never given one records nothing.
func TestDeletedCharactersAreRemembered(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := t.Context()
	own := putCharacter(t, db, &Character{ID: "cown", OwnerID: "u1", GuildID: "g", Name: "mine"}, StatusReady)
	mod := putCharacter(t, db, &Character{ID: "cmod", OwnerID: "u2", GuildID: "g", Name: "theirs", Shared: true}, StatusReady)
	kept := putCharacter(t, db, &Character{ID: "ckept", OwnerID: "u1", GuildID: "g", Name: "kept"}, StatusReady)
	putCharacter(t, db, &Character{ID: "cnone", OwnerID: "u1", GuildID: "g", Name: "unsent"}, StatusSubmitting)
	if err := db.DeleteCharacter(ctx, own.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteCharacterLogged(ctx, mod.ID, Change{ActorID: "m", What: "deleted character theirs"}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteCharacter(ctx, "cnone"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{own.ViggleID: true, mod.ViggleID: true, kept.ViggleID: false, "": false, "vg_cnone": false} {
		if got, err := db.CharacterDeleted(ctx, id); err != nil || got != want {
			t.Errorf("CharacterDeleted(%q) = %v, %v; want %v", id, got, err, want)
		}
	}
}
