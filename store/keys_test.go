package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestGuildKeys(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := t.Context()
	fixClock(db, ms(10_000))

	if _, err := db.CurrentGuildKey(ctx, "g1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CurrentGuildKey of a guild without a key: %v, want ErrNotFound", err)
	}
	sealed := []byte{0x00, 0x01, 0xfe, 0xff, 'n', 'o', 'n', 'c', 'e'}
	k1 := &GuildKey{GuildID: "g1", Sealed: slices.Clone(sealed), Last4: "abcd", CreatedBy: "admin"}
	if err := db.SetGuildKey(ctx, k1, Change{ActorID: "admin", What: "Viggle key set (ends with …abcd)"}); err != nil {
		t.Fatalf("SetGuildKey: %v", err)
	}
	if len(k1.ID) != 10 || !k1.CreatedAt.Equal(ms(10_000)) {
		t.Errorf("SetGuildKey wrote back id %q, created %v", k1.ID, k1.CreatedAt)
	}
	cur, err := db.CurrentGuildKey(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	want := GuildKey{ID: k1.ID, GuildID: "g1", Sealed: sealed, Last4: "abcd", CreatedBy: "admin", CreatedAt: ms(10_000)}
	if !bytes.Equal(cur.Sealed, sealed) || cur.String() != want.String() || !cur.CreatedAt.Equal(want.CreatedAt) ||
		cur.CreatedBy != "admin" || !cur.RetiredAt.IsZero() {
		t.Errorf("CurrentGuildKey = %#v sealed %x, want %#v sealed %x", cur, cur.Sealed, want, sealed)
	}
	// The sealed bytes are stored as given, as a BLOB.
	var typ string
	var raw []byte
	typeOf, blob := "typeof(sealed)", "blob"
	if testBackend == Postgres {
		typeOf, blob = "pg_typeof(sealed)::text", "bytea"
	}
	if err := db.SQL().QueryRowContext(ctx, `SELECT `+typeOf+`, sealed FROM guild_keys WHERE id = ?`, k1.ID).Scan(&typ, &raw); err != nil {
		t.Fatal(err)
	}
	if typ != blob || !bytes.Equal(raw, sealed) {
		t.Errorf("sealed column = %s %x, want blob %x", typ, raw, sealed)
	}

	// Replacing retires the old key (kept, found by id) in the same transaction.
	fixClock(db, ms(20_000))
	k2 := &GuildKey{ID: "key2", GuildID: "g1", Sealed: []byte("second"), Last4: "wxyz", CreatedBy: "admin2"}
	if err := db.SetGuildKey(ctx, k2, Change{ActorID: "admin2", What: "Viggle key set (ends with …wxyz)"}); err != nil {
		t.Fatal(err)
	}
	if cur, err := db.CurrentGuildKey(ctx, "g1"); err != nil || cur.ID != "key2" {
		t.Errorf("current after replacing = %v, %v; want key2", cur, err)
	}
	old, err := db.GuildKeyByID(ctx, k1.ID)
	if err != nil || !old.RetiredAt.Equal(ms(20_000)) || !bytes.Equal(old.Sealed, sealed) {
		t.Errorf("the replaced key = %v (retired %v), %v; want it kept, retired at 20000", old, old.RetiredAt, err)
	}
	if err := db.SetGuildKey(ctx, &GuildKey{ID: "key2", GuildID: "g1", Sealed: []byte("x")}, Change{What: "dup"}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("SetGuildKey with an existing id: %v, want ErrDuplicate", err)
	}
	if cur, err := db.CurrentGuildKey(ctx, "g1"); err != nil || cur.ID != "key2" {
		t.Errorf("a refused SetGuildKey changed the current key: %v, %v", cur, err)
	}
	for _, bad := range []*GuildKey{
		{GuildID: "", Sealed: []byte("x")},
		{GuildID: "g1"},
		{GuildID: "g1", Sealed: []byte("x"), RetiredAt: ms(1)},
	} {
		if err := db.SetGuildKey(ctx, bad, Change{What: "bad"}); err == nil {
			t.Errorf("SetGuildKey(%#v) succeeded", bad)
		}
	}
	// Another guild's key is apart.
	if err := db.SetGuildKey(ctx, &GuildKey{ID: "key3", GuildID: "g2", Sealed: []byte("g2")}, Change{What: "g2 set"}); err != nil {
		t.Fatal(err)
	}

	// Clearing retires the current key; clearing again says there was none and logs nothing.
	fixClock(db, ms(30_000))
	if ok, err := db.ClearGuildKey(ctx, "g1", Change{ActorID: "admin", What: "Viggle key cleared"}); !ok || err != nil {
		t.Fatalf("ClearGuildKey = %v, %v", ok, err)
	}
	if _, err := db.CurrentGuildKey(ctx, "g1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CurrentGuildKey after clearing: %v, want ErrNotFound", err)
	}
	if k, err := db.GuildKeyByID(ctx, "key2"); err != nil || !k.RetiredAt.Equal(ms(30_000)) {
		t.Errorf("cleared key = %v, %v", k, err)
	}
	if ok, err := db.ClearGuildKey(ctx, "g1", Change{ActorID: "admin", What: "cleared again"}); ok || err != nil {
		t.Errorf("second ClearGuildKey = %v, %v; want false, nil", ok, err)
	}
	if k, err := db.CurrentGuildKey(ctx, "g2"); err != nil || k.ID != "key3" {
		t.Errorf("g2's key after clearing g1's = %v, %v", k, err)
	}
	changes, err := db.RecentChanges(ctx, "g1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := whats(changes); !slices.Equal(got, []string{"Viggle key cleared", "Viggle key set (ends with …wxyz)", "Viggle key set (ends with …abcd)"}) {
		t.Errorf("change log = %q", got)
	}
	if _, err := db.GuildKeyByID(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GuildKeyByID(unknown): %v, want ErrNotFound", err)
	}
	// %v never prints the sealed bytes.
	if s := fmt.Sprintf("%v %+v %#v", *k1, *k1, *k1); bytes.Contains([]byte(s), sealed[4:]) {
		t.Errorf("formatted key shows its sealed bytes: %s", s)
	}
}

// TestOneCurrentKeyPerGuild checks the partial unique index: a second current key of a guild is refused
// by the database itself, whoever writes it.
func TestOneCurrentKeyPerGuild(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ins := `INSERT INTO guild_keys (id, guild_id, sealed, last4, created_by, created_at, retired_at) VALUES (?, 'g', ?, '', '', 1, ?)`
	if _, err := db.SQL().ExecContext(t.Context(), ins, "a", []byte{1}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(t.Context(), ins, "b", []byte{1}, 5); err != nil {
		t.Errorf("a retired key beside the current one: %v", err)
	}
	if _, err := db.SQL().ExecContext(t.Context(), ins, "c", []byte{1}, nil); !isUnique(err) {
		t.Errorf("a second current key: %v, want a unique violation", err)
	}
}

// TestSetGuildKeyConcurrent sets keys of one guild from two processes at once: each set retires the
// one before it, and the guild ends with exactly one current key.
func TestSetGuildKeyConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bot.db")
	dbs := []*DB{openAt(t, path), openAt(t, path)}
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- dbs[i%2].SetGuildKey(t.Context(), &GuildKey{GuildID: "g", Sealed: []byte{byte(i)}}, Change{What: "set"})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var current, all int
	if err := dbs[0].SQL().QueryRowContext(t.Context(),
		`SELECT COUNT(*) FILTER (WHERE retired_at IS NULL), COUNT(*) FROM guild_keys`).Scan(&current, &all); err != nil {
		t.Fatal(err)
	}
	if current != 1 || all != n {
		t.Errorf("%d current keys of %d, want 1 of %d", current, all, n)
	}
}

func TestPurgeRetiredKeys(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := t.Context()
	set := func(id string) {
		t.Helper()
		if err := db.SetGuildKey(ctx, &GuildKey{ID: id, GuildID: "g", Sealed: []byte(id)}, Change{What: "set " + id}); err != nil {
			t.Fatal(err)
		}
	}
	// kjob: used by an unfinished job; kdone: by a closed one only; kscene: by a scene being imported;
	// kchar: by a character being made; kready: by a ready scene and a failed character; kfree: by nothing.
	for _, id := range []string{"kjob", "kdone", "kscene", "kchar", "kready", "kfree", "kcur"} {
		set(id)
	}
	j := testJob("j1", OriginDiscord, "u", "g", ms(1))
	j.KeyRef = "kjob"
	done := testJob("j2", OriginDiscord, "u", "g", ms(2))
	done.KeyRef, done.State, done.ClosedAt = "kdone", StateDelivered, ms(3)
	insert(t, db, j, done)
	putScene(t, db, &Scene{GuildID: "g", KeyRef: "kscene", Name: "importing", ImportedBy: "u"}, StatusPending, "scene_1")
	putScene(t, db, &Scene{GuildID: "g", KeyRef: "kready", Name: "ready", ImportedBy: "u"}, StatusReady, "scene_2")
	putCharacter(t, db, &Character{OwnerID: "u", GuildID: "g", KeyRef: "kchar", Name: "making"}, StatusSubmitting)
	putCharacter(t, db, &Character{OwnerID: "u", GuildID: "g", KeyRef: "kready", Name: "failed"}, StatusFailed)

	// Keys retired after retiredBefore are kept, whatever uses them (a render may be about to record its
	// job with one).
	if n, err := db.PurgeRetiredKeys(ctx, time.Now().Add(-time.Hour)); n != 0 || err != nil {
		t.Fatalf("a purge of keys retired over an hour ago deleted %d (%v), want none", n, err)
	}
	n, err := db.PurgeRetiredKeys(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("PurgeRetiredKeys deleted %d, want 3 (kdone, kready, kfree)", n)
	}
	for id, kept := range map[string]bool{"kjob": true, "kdone": false, "kscene": true, "kchar": true, "kready": false, "kfree": false, "kcur": true} {
		_, err := db.GuildKeyByID(ctx, id)
		if kept != (err == nil) {
			t.Errorf("after the purge, GuildKeyByID(%s): %v; want kept %v", id, err, kept)
		}
	}
	// Once the job is closed, its key goes too; the current key never does.
	j.State, j.ClosedAt = StateCancelled, ms(10)
	if err := db.Update(ctx, j, StateQueued); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PurgeRetiredKeys(ctx, time.Now().Add(time.Hour)); n != 1 || err != nil {
		t.Errorf("second purge = %d, %v; want kjob", n, err)
	}
	if _, err := db.CurrentGuildKey(ctx, "g"); err != nil {
		t.Errorf("the current key was purged: %v", err)
	}
}

// TestSealedKeyOnlyAsGiven checks that a guild key reaches the database file as the sealed bytes given
// and nothing else of the key: the store never sees it in clear, and Last4 is all it keeps of it.
func TestSealedKeyOnlyAsGiven(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	sealed := []byte("SEALED-BYTES-7f3a")
	if err := db.SetGuildKey(t.Context(), &GuildKey{GuildID: "g", Sealed: sealed, Last4: "9xyz", CreatedBy: "u"},
		Change{ActorID: "u", What: "Viggle key set (ends with …9xyz)"}); err != nil {
		t.Fatal(err)
	}
	var file []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		file = append(file, b...)
	}
	if !bytes.Contains(file, sealed) {
		t.Errorf("the sealed bytes are not in the database files as given")
	}
}
