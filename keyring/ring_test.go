package keyring_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the raw connection that copies a row, as an attacker with the file could

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/keyring"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

const (
	sharedKey = "sk-shared-BOTKEY-000000000001"
	guildKey  = "sk-guild-SECRETVALUE-7777abcd" // the guild's own key: never in the database in clear
	guildKey2 = "sk-guild-SECONDVALUE-8888wxyz"
	badKey    = "sk-refused-NOTAKEY-99999999"
)

// syncBuffer is a log sink safe for the ring's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// valve is a test Limiter: open, every Wait passes; shut, Waits block until it opens again (a limiter
// whose budget is spent). It counts the Waits blocked and passed.
type valve struct {
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	waiting int
	passed  int
	changed chan struct{}
}

func newValve() *valve { return &valve{changed: make(chan struct{})} }

func (v *valve) notify() { close(v.changed); v.changed = make(chan struct{}) }

func (v *valve) Wait(ctx context.Context) error {
	v.mu.Lock()
	gate := v.gate
	if gate != nil {
		v.waiting++
		v.notify()
	}
	v.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		v.mu.Lock()
		v.waiting--
		v.mu.Unlock()
	}
	v.mu.Lock()
	v.passed++
	v.notify()
	v.mu.Unlock()
	return nil
}

func (v *valve) shut() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gate == nil {
		v.gate = make(chan struct{})
	}
}

func (v *valve) open() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gate != nil {
		close(v.gate)
		v.gate = nil
	}
}

// waitFor blocks until ok holds (checked under the valve's lock after every change), or fails.
func (v *valve) waitFor(t testing.TB, what string, ok func(waiting, passed int) bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		v.mu.Lock()
		if ok(v.waiting, v.passed) {
			v.mu.Unlock()
			return
		}
		ch := v.changed
		v.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for the limiter: %s", what)
		}
	}
}

// env is a Ring over a real SQLite file, the fake Viggle accepting the shared and the guild keys, and
// a NewClient that gives each key its own valve and counts the clients built per key.
type env struct {
	fake   *viggletest.Server
	url    string
	dbPath string
	db     *store.DB
	shared *viggle.Client
	logs   *syncBuffer

	mu     sync.Mutex
	built  map[string]int    // clients built, by key
	valves map[string]*valve // each key's limiter
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{logs: &syncBuffer{}, built: map[string]int{}, valves: map[string]*valve{}}
	e.fake = viggletest.New(viggletest.WithAPIKeys(sharedKey, guildKey, guildKey2))
	u, stop, err := e.fake.Start()
	if err != nil {
		t.Fatalf("start fake viggle: %v", err)
	}
	t.Cleanup(stop)
	e.url = u
	e.dbPath = filepath.Join(t.TempDir(), "bot.db")
	e.db, err = store.Open(t.Context(), e.dbPath, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { e.db.Close() })
	e.shared = e.client(t, sharedKey)
	t.Cleanup(func() {
		out := e.logs.String()
		for _, k := range []string{guildKey, guildKey2, badKey, "SECRETVALUE", "SECONDVALUE", "NOTAKEY"} {
			if strings.Contains(out, k) {
				t.Errorf("a key reached the logs:\n%s", out)
			}
		}
	})
	return e
}

// valve returns key's limiter (made on first use).
func (e *env) valve(key string) *valve {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.valves[key]
	if !ok {
		v = newValve()
		e.valves[key] = v
	}
	return v
}

func (e *env) newClient(apiKey string) (*viggle.Client, error) {
	e.mu.Lock()
	e.built[apiKey]++
	e.mu.Unlock()
	return viggle.NewClient(apiKey, viggle.WithBaseURL(e.url), viggle.WithLimiter(e.valve(apiKey)),
		viggle.WithRetryPolicy(viggle.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}))
}

func (e *env) client(t testing.TB, key string) *viggle.Client {
	t.Helper()
	c, err := viggle.NewClient(key, viggle.WithBaseURL(e.url))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) builtFor(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.built[key]
}

func (e *env) ring(mutate ...func(*keyring.Options)) *keyring.Ring {
	s, _ := keyring.NewSealer(secret(7))
	o := keyring.Options{
		RetiredGrace: -1, // purged as soon as nothing uses them (TestPurgeKeepsARecentlyRetiredKey checks the grace)
		Shared:       e.shared,
		AllowShared:  true,
		Sealer:       s,
		NewClient:    e.newClient,
		Logger:       slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&o)
	}
	return keyring.New(e.db, o)
}

// bearers returns the Authorization header of every request the fake got for path, in order.
func (e *env) bearers(path string) []string {
	var out []string
	for _, r := range e.fake.Requests() {
		if r.Path == path {
			out = append(out, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}
	}
	return out
}

// insertJob records an unfinished job made with keyRef (it keeps a retired key from being purged).
func (e *env) insertJob(t testing.TB, id, guildID, keyRef string) *store.Job {
	t.Helper()
	req, err := spec.NewRequest("scene_demo", "person_a=char_a", "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	j := &store.Job{ID: id, Origin: store.OriginDiscord, OwnerID: "u1", GuildID: guildID, KeyRef: keyRef,
		Request: req, State: store.StateQueued, CreatedAt: now, UpdatedAt: now}
	if err := e.db.Insert(t.Context(), j); err != nil {
		t.Fatalf("insert job: %v", err)
	}
	return j
}

// closeJob ends the job, so that its key may be purged.
func (e *env) closeJob(t testing.TB, j *store.Job) {
	t.Helper()
	from := j.State
	j.State, j.ErrorCode, j.ClosedAt, j.CompletedAt = store.StateCancelled, "CANCELLED_BEFORE_SEND", time.Now(), time.Now()
	if err := e.db.Update(t.Context(), j, from); err != nil {
		t.Fatalf("close job: %v", err)
	}
}

func TestSetStoresTheKeySealed(t *testing.T) {
	e := newEnv(t)
	r := e.ring()
	k, err := r.Set(t.Context(), "guild-a", "admin-1", "  "+guildKey+"\n")
	if err != nil {
		t.Fatalf("set: %v", err)
	}
	if k.ID == "" || k.GuildID != "guild-a" || k.Last4 != "abcd" || k.CreatedBy != "admin-1" || !k.RetiredAt.IsZero() {
		t.Errorf("set returned %+v", k)
	}
	// Checked with GET /api/credits, with the candidate key.
	if got := e.bearers("/api/credits"); len(got) != 1 || got[0] != guildKey {
		t.Errorf("credits bearers = %q, want the candidate key once", got)
	}
	row, err := e.db.CurrentGuildKey(t.Context(), "guild-a")
	if err != nil || row.ID != k.ID {
		t.Fatalf("current key = %+v, %v; want %s", row, err, k.ID)
	}
	if bytes.Contains(row.Sealed, []byte(guildKey)) {
		t.Error("the stored row holds the key in clear")
	}
	changes, err := e.db.RecentChanges(t.Context(), "guild-a", 5)
	if err != nil || len(changes) != 1 || changes[0].What != "Viggle key set (ends with …abcd)" || changes[0].ActorID != "admin-1" {
		t.Errorf("changes = %+v, %v; want one \"Viggle key set (ends with …abcd)\" by admin-1", changes, err)
	}
	// The clear key is in no file of the database (the main file, the WAL, the shared memory).
	e.db.Close() // flushes nothing away: whatever was written is in the files now
	files, _ := filepath.Glob(e.dbPath + "*")
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{guildKey, "SECRETVALUE"} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s holds the key in clear", filepath.Base(f))
			}
		}
	}
	db2, err := store.Open(t.Context(), e.dbPath, nil) // the check read something real
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	row, err = db2.GuildKeyByID(t.Context(), k.ID)
	if err != nil || len(row.Sealed) == 0 {
		t.Fatalf("reopened: key %+v, %v", row, err)
	}
}

// TestWALHoldsNoClearKey reads the WAL while the database is open (before any checkpoint), where a
// freshly written row lives.
func TestWALHoldsNoClearKey(t *testing.T) {
	e := newEnv(t)
	if _, err := e.ring().Set(t.Context(), "guild-a", "admin-1", guildKey); err != nil {
		t.Fatal(err)
	}
	wal, err := os.ReadFile(e.dbPath + "-wal")
	if err != nil {
		t.Fatalf("read the WAL: %v", err)
	}
	if len(wal) == 0 {
		t.Fatal("the WAL is empty: the test reads nothing")
	}
	if bytes.Contains(wal, []byte(guildKey)) {
		t.Error("the WAL holds the key in clear")
	}
	if !bytes.Contains(wal, []byte("ends with")) {
		t.Error("the WAL does not hold the change row either: the test reads the wrong file")
	}
}

func TestCopiedRowAndWrongSecretDoNotDecrypt(t *testing.T) {
	e := newEnv(t)
	r := e.ring()
	k, err := r.Set(t.Context(), "guild-a", "admin-1", guildKey)
	if err != nil {
		t.Fatal(err)
	}
	// Copy guild A's sealed row to guild B, as someone with the database file could.
	raw, err := sql.Open("sqlite3", store.DSN(e.dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(t.Context(), `INSERT INTO guild_keys (id, guild_id, sealed, last4, created_by, created_at)
		SELECT 'copiedkey1', 'guild-b', sealed, last4, created_by, created_at FROM guild_keys WHERE id = ?`, k.ID); err != nil {
		t.Fatalf("copy the row: %v", err)
	}
	fresh := e.ring() // nothing cached
	if _, err := fresh.Client(t.Context(), "copiedkey1"); !errors.Is(err, keyring.ErrUndecryptable) || !errors.Is(err, keyring.ErrUnavailable) {
		t.Errorf("client of the copied row: %v, want ErrUndecryptable (ErrUnavailable)", err)
	}
	// Guild B's renders do not fall back to the shared key either: its key is unusable.
	if ref, c, err := fresh.ForGuild(t.Context(), "guild-b"); !errors.Is(err, keyring.ErrUndecryptable) || c != nil || ref != "" {
		t.Errorf("ForGuild(guild-b) = %q, %v, %v; want ErrUndecryptable", ref, c, err)
	}
	// Guild A's own row still opens.
	if _, err := fresh.Client(t.Context(), k.ID); err != nil {
		t.Errorf("client of guild A's key: %v", err)
	}

	// Another BOT_ENCRYPTION_KEY opens nothing.
	other, _ := keyring.NewSealer(secret(8))
	wrong := e.ring(func(o *keyring.Options) { o.Sealer = other })
	if _, err := wrong.Client(t.Context(), k.ID); !errors.Is(err, keyring.ErrUndecryptable) {
		t.Errorf("client with a wrong BOT_ENCRYPTION_KEY: %v, want ErrUndecryptable", err)
	}
	if _, _, err := wrong.ForGuild(t.Context(), "guild-a"); !errors.Is(err, keyring.ErrUndecryptable) {
		t.Errorf("ForGuild with a wrong BOT_ENCRYPTION_KEY: %v, want ErrUndecryptable", err)
	}
	// None at all: the key cannot be opened, and cannot be set.
	none := e.ring(func(o *keyring.Options) { o.Sealer = nil })
	if _, err := none.Client(t.Context(), k.ID); !errors.Is(err, keyring.ErrNoEncryption) || !errors.Is(err, keyring.ErrUnavailable) {
		t.Errorf("client without BOT_ENCRYPTION_KEY: %v, want ErrNoEncryption", err)
	}
	before := len(e.fake.Requests())
	if _, err := none.Set(t.Context(), "guild-c", "admin-1", guildKey2); !errors.Is(err, keyring.ErrNoEncryption) {
		t.Errorf("set without BOT_ENCRYPTION_KEY: %v, want ErrNoEncryption", err)
	}
	if len(e.fake.Requests()) != before {
		t.Error("set without BOT_ENCRYPTION_KEY asked Viggle")
	}
}

func TestSetRefusedKeyStoresNothing(t *testing.T) {
	e := newEnv(t)
	r := e.ring()
	k, err := r.Set(t.Context(), "guild-a", "admin-1", badKey)
	if !errors.Is(err, keyring.ErrKeyRefused) || k != nil {
		t.Fatalf("set of a refused key = %+v, %v; want ErrKeyRefused", k, err)
	}
	var apiErr *viggle.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 401 || apiErr.Code != "CS-UORC01-007" {
		t.Errorf("the Viggle answer is not wrapped: %v", err)
	}
	if strings.Contains(err.Error(), badKey) || strings.Contains(err.Error(), "NOTAKEY") {
		t.Errorf("the error holds the key: %v", err)
	}
	if _, err := e.db.CurrentGuildKey(t.Context(), "guild-a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused key was stored: %v", err)
	}
	if changes, err := e.db.RecentChanges(t.Context(), "guild-a", 5); err != nil || len(changes) != 0 {
		t.Errorf("a refused key was logged: %+v, %v", changes, err)
	}
	if _, err := r.Set(t.Context(), "guild-a", "admin-1", "   "); !errors.Is(err, keyring.ErrEmptyKey) {
		t.Errorf("set of a blank key: %v, want ErrEmptyKey", err)
	}
	if got := e.bearers("/api/credits"); len(got) != 1 || got[0] != badKey {
		t.Errorf("credits bearers = %q, want the refused key once (the blank one not sent)", got)
	}
}

func TestForGuildAndClear(t *testing.T) {
	e := newEnv(t)
	r := e.ring()
	ctx := t.Context()

	ref, c, err := r.ForGuild(ctx, "guild-a")
	if err != nil || ref != "" || c != e.shared {
		t.Fatalf("ForGuild without a key = %q, %v, %v; want the shared client", ref, c, err)
	}
	if _, _, err := e.ring(func(o *keyring.Options) { o.AllowShared = false }).ForGuild(ctx, "guild-a"); !errors.Is(err, keyring.ErrNoKey) {
		t.Errorf("ForGuild without a key, shared not allowed: %v, want ErrNoKey", err)
	}
	if _, _, err := e.ring(func(o *keyring.Options) { o.Shared = nil }).ForGuild(ctx, "guild-a"); !errors.Is(err, keyring.ErrNoKey) {
		t.Errorf("ForGuild without a key or a shared client: %v, want ErrNoKey", err)
	}
	if c, err := r.Client(ctx, ""); err != nil || c != e.shared {
		t.Errorf("Client(\"\") = %v, %v; want the shared client", c, err)
	}

	k1, err := r.Set(ctx, "guild-a", "admin-1", guildKey)
	if err != nil {
		t.Fatal(err)
	}
	ref, c, err = r.ForGuild(ctx, "guild-a")
	if err != nil || ref != k1.ID {
		t.Fatalf("ForGuild after set = %q, %v; want %s", ref, err, k1.ID)
	}
	if _, err := c.Credits(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.bearers("/api/credits"); got[len(got)-1] != guildKey {
		t.Errorf("the guild's client sent %q, want its own key", got[len(got)-1])
	}
	// Another guild is unaffected.
	if ref, c, err := r.ForGuild(ctx, "guild-b"); err != nil || ref != "" || c != e.shared {
		t.Errorf("ForGuild(guild-b) = %q, %v, %v; want the shared client", ref, c, err)
	}

	// A job made with key 1 keeps it alive through a replacement and a clear.
	job := e.insertJob(t, "job-with-k1", "guild-a", k1.ID)
	k2, err := r.Set(ctx, "guild-a", "admin-2", guildKey2)
	if err != nil {
		t.Fatal(err)
	}
	if ref, _, _ := r.ForGuild(ctx, "guild-a"); ref != k2.ID {
		t.Errorf("ForGuild after the second set = %q, want %s", ref, k2.ID)
	}
	if ok, err := r.Clear(ctx, "guild-a", "admin-3"); !ok || err != nil {
		t.Fatalf("clear = %v, %v", ok, err)
	}
	if ok, err := r.Clear(ctx, "guild-a", "admin-3"); ok || err != nil {
		t.Errorf("second clear = %v, %v; want false", ok, err)
	}
	if ref, c, err := r.ForGuild(ctx, "guild-a"); err != nil || ref != "" || c != e.shared {
		t.Errorf("ForGuild after clear = %q, %v, %v; want the shared client", ref, c, err)
	}
	// Key 2 was used by nothing: purged at the clear. Key 1 still resolves, in this ring and a fresh one.
	if _, err := e.db.GuildKeyByID(ctx, k2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key 2 not purged: %v", err)
	}
	if _, err := e.ring().Client(ctx, k2.ID); !errors.Is(err, keyring.ErrKeyGone) || !errors.Is(err, keyring.ErrUnavailable) {
		t.Errorf("client of a purged key: %v, want ErrKeyGone", err)
	}
	for name, rr := range map[string]*keyring.Ring{"this ring": r, "a fresh ring": e.ring()} {
		c1, err := rr.Client(ctx, k1.ID)
		if err != nil {
			t.Fatalf("%s: client of the retired key in use: %v", name, err)
		}
		if _, err := c1.Credits(ctx); err != nil {
			t.Fatal(err)
		}
		if got := e.bearers("/api/credits"); got[len(got)-1] != guildKey {
			t.Errorf("%s: the retired key's client sent %q", name, got[len(got)-1])
		}
	}
	changes, err := e.db.RecentChanges(ctx, "guild-a", 5)
	if err != nil {
		t.Fatal(err)
	}
	var whats []string
	for _, c := range changes {
		whats = append(whats, c.ActorID+": "+c.What)
	}
	want := []string{"admin-3: Viggle key cleared", "admin-2: Viggle key set (ends with …wxyz)", "admin-1: Viggle key set (ends with …abcd)"}
	if strings.Join(whats, "|") != strings.Join(want, "|") {
		t.Errorf("changes = %q, want %q", whats, want)
	}

	// Once the job is closed, the next purge deletes key 1, and the ring forgets its client.
	e.closeJob(t, job)
	n, err := r.Purge(ctx)
	if err != nil || n != 1 {
		t.Fatalf("purge = %d, %v; want 1", n, err)
	}
	if _, err := r.Client(ctx, k1.ID); !errors.Is(err, keyring.ErrKeyGone) {
		t.Errorf("client of key 1 after its purge: %v, want ErrKeyGone", err)
	}
}

// TestEachKeyHasItsOwnLimiter: one client per key for the life of the ring (the one that checked it at
// Set included), each with its own limiter, so that a guild whose limiter is spent does not hold back
// another guild's calls.
func TestEachKeyHasItsOwnLimiter(t *testing.T) {
	e := newEnv(t)
	r := e.ring()
	ctx := t.Context()
	ka, err := r.Set(ctx, "guild-a", "admin-a", guildKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := r.Set(ctx, "guild-b", "admin-b", guildKey2)
	if err != nil {
		t.Fatal(err)
	}
	_, ca, err := r.ForGuild(ctx, "guild-a")
	if err != nil {
		t.Fatal(err)
	}
	_, cb, err := r.ForGuild(ctx, "guild-b")
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Client(ctx, ka.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ca == cb || ca != again {
		t.Errorf("clients: guild A %p, guild B %p, A again %p; want one per key", ca, cb, again)
	}
	if e.builtFor(guildKey) != 1 || e.builtFor(guildKey2) != 1 {
		t.Errorf("clients built: %d for key A, %d for key B; want one per key", e.builtFor(guildKey), e.builtFor(guildKey2))
	}
	// A third guild with guild A's key shares its client (the limit is Viggle's, per key).
	if _, err := r.Set(ctx, "guild-c", "admin-c", guildKey); err != nil {
		t.Fatal(err)
	}
	if _, cc, err := r.ForGuild(ctx, "guild-c"); err != nil || cc != ca {
		t.Errorf("guild C with guild A's key: client %p, %v; want guild A's %p", cc, err, ca)
	}
	if e.builtFor(guildKey) != 1 {
		t.Errorf("clients built for the key of guilds A and C: %d, want 1", e.builtFor(guildKey))
	}
	// A fresh ring (a restart) builds each key's client once, however many ask at once.
	fresh := e.ring()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := fresh.Client(ctx, kb.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := e.builtFor(guildKey2); got != 2 {
		t.Errorf("clients built for key B after a restart with 8 callers: %d, want 2 (one per ring)", got)
	}
	kc, err := e.db.CurrentGuildKey(ctx, "guild-c")
	if err != nil {
		t.Fatal(err)
	}
	fa, err := fresh.Client(ctx, ka.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fc, err := fresh.Client(ctx, kc.ID); err != nil || fc != fa {
		t.Errorf("after a restart, guilds A and C (one key) have clients %p and %p (%v); want one", fa, fc, err)
	}
	if got := e.builtFor(guildKey); got != 2 {
		t.Errorf("clients built for the key of guilds A and C after a restart: %d, want 2 (one per ring)", got)
	}

	// Guild A's limiter is spent: its call waits in it...
	va, vb := e.valve(guildKey), e.valve(guildKey2)
	va.shut()
	done := make(chan error, 1)
	go func() {
		_, err := ca.Credits(ctx)
		done <- err
	}()
	va.waitFor(t, "guild A's call waits in its limiter", func(waiting, _ int) bool { return waiting == 1 })
	// ...while guild B's call goes through its own, reaches Viggle with B's key and returns.
	passedB := func() int { vb.mu.Lock(); defer vb.mu.Unlock(); return vb.passed }()
	if _, err := cb.Credits(ctx); err != nil {
		t.Fatalf("guild B's call while guild A's limiter is spent: %v", err)
	}
	if got := func() int { vb.mu.Lock(); defer vb.mu.Unlock(); return vb.passed }(); got != passedB+1 {
		t.Errorf("guild B's limiter passed %d calls, want %d", got, passedB+1)
	}
	select {
	case err := <-done:
		t.Fatalf("guild A's call returned (%v) while its limiter was spent", err)
	default:
	}
	bearers := e.bearers("/api/credits")
	if bearers[len(bearers)-1] != guildKey2 {
		t.Errorf("last credits call carried %q, want guild B's key", bearers[len(bearers)-1])
	}
	va.open()
	if err := <-done; err != nil {
		t.Fatalf("guild A's call after its limiter opened: %v", err)
	}
	if bearers := e.bearers("/api/credits"); bearers[len(bearers)-1] != guildKey {
		t.Errorf("last credits call carried %q, want guild A's key", bearers[len(bearers)-1])
	}
}

// The guild's current key set again keeps its row (the scenes and characters made with it stay
// offered): no new row, no Viggle call, no change-log line.
func TestSetSameKeyAgainKeepsItsRow(t *testing.T) {
	e := newEnv(t)
	r := e.ring()
	first, err := r.Set(t.Context(), "guild-a", "admin-1", guildKey)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Set(t.Context(), "guild-a", "admin-2", " "+guildKey+" ")
	if err != nil || again.ID != first.ID {
		t.Fatalf("set again = %+v, %v; want the row %s", again, err, first.ID)
	}
	if got := e.bearers("/api/credits"); len(got) != 1 {
		t.Errorf("%d credit checks, want the first set's only", len(got))
	}
	if changes, _ := e.db.RecentChanges(t.Context(), "guild-a", 5); len(changes) != 1 {
		t.Errorf("changes = %+v, want the first set's only", changes)
	}
	// Another guild setting the same key gets a row of its own (sealed for that guild).
	other, err := r.Set(t.Context(), "guild-b", "admin-1", guildKey)
	if err != nil || other.ID == first.ID {
		t.Fatalf("guild B's set = %+v, %v; want a row of its own", other, err)
	}
}

// A key replaced a moment ago is kept for RetiredGrace, even with nothing using it: a render that read
// it just before may not have recorded its job yet.
func TestPurgeKeepsARecentlyRetiredKey(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	clock := func() time.Time { return now }
	r := e.ring(func(o *keyring.Options) { o.RetiredGrace, o.Now = time.Hour, clock })
	old, err := r.Set(t.Context(), "guild-a", "admin-1", guildKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Set(t.Context(), "guild-a", "admin-1", guildKey2); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Client(t.Context(), old.ID); err != nil {
		t.Fatalf("the key replaced a moment ago no longer resolves: %v", err)
	}
	now = now.Add(2 * time.Hour)
	if n, err := r.Purge(t.Context()); err != nil || n != 1 {
		t.Fatalf("purge two hours later = %d, %v; want the old key", n, err)
	}
	if _, err := r.Client(t.Context(), old.ID); !errors.Is(err, keyring.ErrKeyGone) {
		t.Fatalf("the purged key resolves (%v)", err)
	}
}
