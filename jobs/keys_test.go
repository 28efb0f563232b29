package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/keyring"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// The keys the fake accepts in these tests: the bot's shared key and two guild keys.
const (
	sharedKey = "sk-shared"
	guildKey  = "sk-guild"
	guildKey2 = "sk-guild-new"
)

// spyViggle records which key reference each engine call went through.
type spyViggle struct {
	jobs.Viggle
	ref string
	log *callLog
}

type call struct{ Ref, Method, ViggleJobID string }

type callLog struct {
	mu    sync.Mutex
	calls []call
}

func (l *callLog) add(c call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// of returns the calls made for a Viggle job (creates have no id yet: Method "create", ViggleJobID "").
func (l *callLog) of(vid string) []call {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []call
	for _, c := range l.calls {
		if c.ViggleJobID == vid {
			out = append(out, c)
		}
	}
	return out
}

func (s spyViggle) CreateRender(ctx context.Context, req viggle.RenderRequest) (*viggle.Submitted, error) {
	sub, err := s.Viggle.CreateRender(ctx, req)
	vid := ""
	if sub != nil {
		vid = sub.JobID
	}
	s.log.add(call{s.ref, "create", vid})
	return sub, err
}

func (s spyViggle) GetRender(ctx context.Context, id string) (*viggle.Render, error) {
	s.log.add(call{s.ref, "get", id})
	return s.Viggle.GetRender(ctx, id)
}

func (s spyViggle) CancelRender(ctx context.Context, id string) error {
	s.log.add(call{s.ref, "cancel", id})
	return s.Viggle.CancelRender(ctx, id)
}

func (s spyViggle) DownloadFrom(ctx context.Context, id string, a viggle.Asset, link string, w io.Writer, max int64) (int64, error) {
	s.log.add(call{s.ref, "download", id})
	return s.Viggle.DownloadFrom(ctx, id, a, link, w, max)
}

// newKeyHarness is newHarness with a fake that accepts the three keys; h.vc uses the shared one.
func newKeyHarness(t *testing.T, scenes map[string]viggletest.Scenario) *harness {
	t.Helper()
	h := &harness{clock: newClock(), rec: newRecorder()}
	h.fake = viggletest.New(viggletest.WithAPIKeys(sharedKey, guildKey, guildKey2), viggletest.WithScenarios(scenes),
		viggletest.WithClock(h.clock.Now))
	u, stop, err := h.fake.Start()
	if err != nil {
		t.Fatalf("start fake viggle: %v", err)
	}
	t.Cleanup(stop)
	h.url = u
	h.dbPath = newDBRef(t)
	h.db = openDB(t, h.dbPath)
	h.vc = keyClient(t, u, sharedKey)
	h.opts = jobs.Options{
		Origin:       store.OriginTerminal,
		PollInterval: 5 * time.Millisecond,
		LeaseTTL:     time.Minute,
		WorkDir:      t.TempDir(),
		Now:          h.clock.Now,
	}
	return h
}

func keyClient(t testing.TB, u, key string) *viggle.Client {
	t.Helper()
	c, err := viggle.NewClient(key, viggle.WithBaseURL(u), viggle.WithRetryPolicy(viggle.RetryPolicy{
		MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond,
	}))
	if err != nil {
		t.Fatalf("viggle client: %v", err)
	}
	return c
}

// ring is the keyring as main wires it: the shared client, a sealer, a client per guild key.
func (h *harness) ring(t *testing.T) *keyring.Ring {
	t.Helper()
	s, err := keyring.NewSealer(bytes.Repeat([]byte{9}, keyring.SecretSize))
	if err != nil {
		t.Fatal(err)
	}
	return keyring.New(h.db, keyring.Options{Shared: h.vc, AllowShared: true, Sealer: s, RetiredGrace: -1,
		NewClient: func(k string) (*viggle.Client, error) { return keyClient(t, h.url, k), nil }})
}

// viggleFor is Options.ViggleFor over r (as main wires it), with every call recorded in log.
func viggleFor(r *keyring.Ring, log *callLog) func(ctx context.Context, ref string) (jobs.Viggle, error) {
	return func(ctx context.Context, ref string) (jobs.Viggle, error) {
		c, err := r.Client(ctx, ref)
		if err != nil {
			return nil, err
		}
		return spyViggle{Viggle: c, ref: ref, log: log}, nil
	}
}

func (h *harness) createWith(t testing.TB, e *jobs.Engine, scene, guildID, keyRef string) *store.Job {
	t.Helper()
	j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "alice", GuildID: guildID, KeyRef: keyRef,
		Request: request(t, scene, "person_a=char_x")})
	if err != nil {
		t.Fatalf("create job: %v", err)
	}
	if j.KeyRef != keyRef || h.get(t, j.ID).KeyRef != keyRef {
		t.Fatalf("job key_ref = %q (row %q), want %q", j.KeyRef, h.get(t, j.ID).KeyRef, keyRef)
	}
	return j
}

// bearersOf returns, per request to Viggle's API for the job (its POST found by scene id, then its
// status polls, cancels and downloads), "METHOD path-kind: key".
func (h *harness) bearersOf(t testing.TB, j *store.Job) []string {
	t.Helper()
	vid := h.get(t, j.ID).ViggleJobID
	var out []string
	for _, r := range h.fake.Requests() {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case r.Method == http.MethodPost && r.Path == "/api/render" && r.Form.Get("scene_id") == j.Request.SceneID:
			out = append(out, "POST: "+key)
		case vid != "" && r.Path == "/api/render/"+vid:
			out = append(out, r.Method+": "+key)
		case vid != "" && r.Path == "/api/render/"+vid+"/download":
			out = append(out, "DOWNLOAD: "+key)
		}
	}
	return out
}

// allWith fails unless every request is made with key and every kind in kinds was made.
func allWith(t testing.TB, what string, got []string, key string, kinds ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, g := range got {
		kind, k, _ := strings.Cut(g, ": ")
		seen[kind] = true
		if k != key {
			t.Errorf("%s: %s request made with %q, want %q (all: %q)", what, kind, k, key, got)
		}
	}
	for _, k := range kinds {
		if !seen[k] {
			t.Errorf("%s: no %s request (all: %q)", what, k, got)
		}
	}
}

// TestJobUsesItsOwnKey: a job of guild A is submitted, polled, downloaded and cancelled with guild A's
// key, a job with the shared key reference with the shared key, through the real keyring.
func TestJobUsesItsOwnKey(t *testing.T) {
	h := newKeyHarness(t, map[string]viggletest.Scenario{
		"scene_a":     {Polls: 3, NoCDN: true}, // downloads through GET /api/render/{id}/download
		"scene_s":     {Polls: 3, NoCDN: true},
		"scene_stuck": {Stuck: true},
	})
	r := h.ring(t)
	k, err := r.Set(t.Context(), "guild-a", "admin", guildKey)
	if err != nil {
		t.Fatal(err)
	}
	log := &callLog{}
	e := h.engine(t, func(o *jobs.Options) { o.ViggleFor = viggleFor(r, log) })

	ja := h.createWith(t, e, "scene_a", "guild-a", k.ID)
	js := h.createWith(t, e, "scene_s", "guild-b", "")
	for _, j := range []*store.Job{ja, js} {
		got, err := e.Run(t.Context(), j.ID)
		if err != nil || got.State != store.StateDelivered {
			t.Fatalf("run %s: %v, %v", j.ID, got, err)
		}
		if d := h.rec.wait(t, "done", j.ID, nil); len(d.Data) == 0 {
			t.Fatalf("job %s delivered no file", j.ID)
		}
	}
	allWith(t, "guild A's job", h.bearersOf(t, ja), guildKey, "POST", "GET", "DOWNLOAD")
	allWith(t, "the shared job", h.bearersOf(t, js), sharedKey, "POST", "GET", "DOWNLOAD")

	// A cancel goes with the job's key too.
	jc := h.createWith(t, e, "scene_stuck", "guild-a", k.ID)
	ran := make(chan *store.Job, 1)
	go func() {
		got, err := e.Run(context.Background(), jc.ID)
		if err != nil {
			t.Errorf("run the stuck job: %v", err)
		}
		ran <- got
	}()
	h.waitState(t, jc.ID, store.StateRunning)
	if res, err := e.Cancel(t.Context(), jc.ID, "alice"); err != nil || res != jobs.CancelRequested {
		t.Fatalf("cancel = %v, %v", res, err)
	}
	if got := <-ran; got == nil || got.State != store.StateCancelled {
		t.Fatalf("the stuck job ended %v, want cancelled", got)
	}
	allWith(t, "guild A's cancelled job", h.bearersOf(t, jc), guildKey, "POST", "GET", "DELETE")

	// The engine asked for each job's own key reference for every call.
	for _, j := range []*store.Job{ja, js, jc} {
		vid := h.get(t, j.ID).ViggleJobID
		calls := log.of(vid)
		if len(calls) == 0 {
			t.Fatalf("no calls recorded for job %s", j.ID)
		}
		for _, c := range calls {
			if c.Ref != j.KeyRef {
				t.Errorf("job %s: %s went through key %q, want %q", j.ID, c.Method, c.Ref, j.KeyRef)
			}
		}
	}
}

// TestKeyChangedMidRender: the guild sets another key while its render runs; the render goes on with
// the key it was made with (retired, not purged: the job uses it), new renders use the new one, and
// the old key is purged once the job is closed.
func TestKeyChangedMidRender(t *testing.T) {
	h := newKeyHarness(t, map[string]viggletest.Scenario{"scene_a": {Polls: 6, NoCDN: true}, "scene_b": {Polls: 2, NoCDN: true}})
	r := h.ring(t)
	ctx := t.Context()
	k1, err := r.Set(ctx, "guild-a", "admin", guildKey)
	if err != nil {
		t.Fatal(err)
	}
	var (
		once   sync.Once
		newRef string
		setErr error
	)
	e := h.engine(t, func(o *jobs.Options) {
		o.ViggleFor = viggleFor(r, &callLog{})
		o.Hook = func(point string, j *store.Job) {
			if point == jobs.PointPolled && j.KeyRef == k1.ID {
				once.Do(func() {
					k2, err := r.Set(context.Background(), "guild-a", "admin", guildKey2)
					setErr = err
					if k2 != nil {
						newRef = k2.ID
					}
				})
			}
		}
	})
	ref, _, err := r.ForGuild(ctx, "guild-a")
	if err != nil || ref != k1.ID {
		t.Fatalf("ForGuild = %q, %v", ref, err)
	}
	old := h.createWith(t, e, "scene_a", "guild-a", ref)
	got, err := e.Run(ctx, old.ID)
	if err != nil || got.State != store.StateDelivered {
		t.Fatalf("run the old job: %v, %v", got, err)
	}
	if setErr != nil || newRef == "" {
		t.Fatalf("the key was not changed mid-render: %v", setErr)
	}
	allWith(t, "the job made before the change", h.bearersOf(t, old), guildKey, "POST", "GET", "DOWNLOAD")

	ref, _, err = r.ForGuild(ctx, "guild-a")
	if err != nil || ref != newRef {
		t.Fatalf("ForGuild after the change = %q, %v; want %s", ref, err, newRef)
	}
	fresh := h.createWith(t, e, "scene_b", "guild-a", ref)
	if got, err := e.Run(ctx, fresh.ID); err != nil || got.State != store.StateDelivered {
		t.Fatalf("run the new job: %v, %v", got, err)
	}
	allWith(t, "the job made after the change", h.bearersOf(t, fresh), guildKey2, "POST", "GET", "DOWNLOAD")

	if n, err := r.Purge(ctx); err != nil || n != 1 {
		t.Errorf("purge after the old job closed = %d, %v; want 1", n, err)
	}
	if _, err := h.db.GuildKeyByID(ctx, k1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old key is still stored: %v", err)
	}
}

// keySwitch is a ViggleFor whose references can be purged (or made to fail for a while) by the test.
type keySwitch struct {
	mu        sync.Mutex
	clients   map[string]jobs.Viggle
	transient map[string]int // errors still to return for a reference, as a locked database would
	asked     map[string]int
}

func (s *keySwitch) viggleFor(_ context.Context, ref string) (jobs.Viggle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked[ref]++
	if s.transient[ref] > 0 {
		s.transient[ref]--
		return nil, errors.New("store: database is locked")
	}
	c, ok := s.clients[ref]
	if !ok {
		return nil, fmt.Errorf("keyring: key %s: %w: %w", ref, keyring.ErrUnavailable, keyring.ErrKeyGone)
	}
	return c, nil
}

func (s *keySwitch) purge(ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, ref)
}

func newKeySwitch(h *harness, t *testing.T) *keySwitch {
	return &keySwitch{
		clients:   map[string]jobs.Viggle{"": h.vc, "key-a": keyClient(t, h.url, guildKey)},
		transient: map[string]int{},
		asked:     map[string]int{},
	}
}

// TestUnavailableKeyFailsTheJobOnce: a job whose key is gone fails with CodeKeyUnavailable, once: before
// submission nothing is sent; while running, no further poll is made.
func TestUnavailableKeyFailsTheJobOnce(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		h := newKeyHarness(t, map[string]viggletest.Scenario{"scene_a": {Polls: 2}})
		e := h.engine(t, func(o *jobs.Options) { o.ViggleFor = viggleFor(h.ring(t), &callLog{}) })
		j := h.createWith(t, e, "scene_a", "guild-a", "purgedkey1") // a key the keyring no longer has
		got, err := e.Run(t.Context(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != store.StateFailed || got.ErrorCode != jobs.CodeKeyUnavailable || got.ErrorMessage != jobs.KeyFactGone ||
			!got.SubmittedAt.IsZero() || got.ViggleJobID != "" {
			t.Fatalf("job = %s %s %q submitted %v", got.State, got.ErrorCode, got.ErrorMessage, got.SubmittedAt)
		}
		if n := len(h.fake.Requests()); n != 0 {
			t.Errorf("%d requests to Viggle, want none", n)
		}
		if n := h.rec.count("failed", j.ID); n != 1 {
			t.Errorf("owner told %d times, want once", n)
		}
	})

	t.Run("running", func(t *testing.T) {
		h := newKeyHarness(t, map[string]viggletest.Scenario{"scene_a": {Polls: 6}})
		ks := newKeySwitch(h, t)
		var pollsAtPurge int
		e := h.engine(t, func(o *jobs.Options) {
			o.ViggleFor = ks.viggleFor
			o.Hook = func(point string, j *store.Job) {
				if point == jobs.PointPolled && pollsAtPurge == 0 {
					ks.purge("key-a")
					pollsAtPurge = h.fake.Count(http.MethodGet, "/api/render/"+j.ViggleJobID)
				}
			}
		})
		j := h.createWith(t, e, "scene_a", "guild-a", "key-a")
		got, err := e.Run(t.Context(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != store.StateFailed || got.ErrorCode != jobs.CodeKeyUnavailable || got.ErrorMessage != jobs.KeyFactGone ||
			got.ViggleJobID == "" || got.SubmittedAt.IsZero() {
			t.Fatalf("job = %s %s %q viggle %q", got.State, got.ErrorCode, got.ErrorMessage, got.ViggleJobID)
		}
		if pollsAtPurge == 0 {
			t.Fatal("the key was never purged mid-render")
		}
		if n := h.fake.Count(http.MethodGet, "/api/render/"+got.ViggleJobID); n != pollsAtPurge {
			t.Errorf("%d polls, %d when the key was purged: polled without a key?", n, pollsAtPurge)
		}
		if n := h.fake.Count(http.MethodDelete, "/api/render/"); n != 0 {
			t.Errorf("%d cancels sent", n)
		}
		// Running it again (a restart) tells nobody again.
		if _, err := e.Run(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
		if n := h.rec.count("failed", j.ID); n != 1 {
			t.Errorf("owner told %d times, want once", n)
		}
	})

	t.Run("a passing failure is tried again", func(t *testing.T) {
		h := newKeyHarness(t, map[string]viggletest.Scenario{"scene_a": {Polls: 3}})
		ks := newKeySwitch(h, t)
		ks.transient["key-a"] = 3 // the submit's resolution, then two more
		e := h.engine(t, func(o *jobs.Options) { o.ViggleFor = ks.viggleFor })
		j := h.createWith(t, e, "scene_a", "guild-a", "key-a")
		got, err := e.Run(t.Context(), j.ID)
		if err != nil || got.State != store.StateDelivered {
			t.Fatalf("run = %v, %v; want delivered", got, err)
		}
		if n := h.rec.count("failed", j.ID); n != 0 {
			t.Errorf("owner told of a failure %d times", n)
		}
		allWith(t, "the job", h.bearersOf(t, j), guildKey, "POST", "GET")
		if ks.asked["key-a"] < 6 {
			t.Errorf("key asked %d times, want the 3 failures and the calls after them", ks.asked["key-a"])
		}
	})

	t.Run("complete", func(t *testing.T) {
		// The render is complete when the key goes: its link is delivered, without a download.
		h := newKeyHarness(t, map[string]viggletest.Scenario{"scene_a": {Polls: 2}})
		ks := newKeySwitch(h, t)
		n := &purgingNotifier{recorder: h.rec, purge: func() { ks.purge("key-a") }}
		o := h.opts
		o.ViggleFor = ks.viggleFor
		e, err := jobs.New(h.db, nil, n, o)
		if err != nil {
			t.Fatal(err)
		}
		j := h.createWith(t, e, "scene_a", "guild-a", "key-a")
		got, err := e.Run(t.Context(), j.ID)
		if err != nil || got.State != store.StateDelivered {
			t.Fatalf("run = %v, %v; want delivered", got, err)
		}
		done := h.rec.wait(t, "done", j.ID, nil)
		if done.V.File != "" || done.V.URL == "" || done.V.URL != got.VideoURL || !errors.Is(done.V.DownloadErr, keyring.ErrUnavailable) {
			t.Errorf("delivered %+v, want the link and the key's error", done.V)
		}
		if c := h.fake.Count(http.MethodGet, "/cdn/") + h.fake.Count(http.MethodGet, "/api/render/"+got.ViggleJobID+"/download"); c != 0 {
			t.Errorf("%d downloads without the key", c)
		}
	})
}

// purgingNotifier purges the job's key when it is told that the render is complete.
type purgingNotifier struct {
	*recorder
	purge func()
}

func (n *purgingNotifier) Progress(ctx context.Context, j store.Job) error {
	if j.State == store.StateComplete {
		n.purge()
	}
	return n.recorder.Progress(ctx, j)
}

func TestNewNeedsAClient(t *testing.T) {
	h := newKeyHarness(t, nil)
	if _, err := jobs.New(h.db, nil, h.rec, h.opts); err == nil {
		t.Error("New without a client nor ViggleFor accepted")
	}
}

// catalogKeyEnv is a catalog over a fake that accepts the shared and the guild key.
func newCatalogKeyEnv(t *testing.T) (*catalogEnv, *keySwitch) {
	t.Helper()
	env := &catalogEnv{clock: newClock()}
	env.fake = viggletest.New(viggletest.WithAPIKeys(sharedKey, guildKey), viggletest.WithTemplates(catalogTemplates),
		viggletest.WithClock(env.clock.Now), viggletest.WithCharacterPolls(2))
	u, stop, err := env.fake.Start()
	if err != nil {
		t.Fatalf("start fake viggle: %v", err)
	}
	t.Cleanup(stop)
	env.url = u
	env.db = openDB(t, filepath.Join(t.TempDir(), "bot.db"))
	env.vc = keyClient(t, u, sharedKey)
	ks := &keySwitch{clients: map[string]jobs.Viggle{}, transient: map[string]int{}, asked: map[string]int{}}
	return env, ks
}

// catalogKeys is CatalogOptions.ViggleFor over a keySwitch's references.
func catalogKeys(env *catalogEnv, t *testing.T, ks *keySwitch) func(ctx context.Context, ref string) (jobs.CatalogViggle, error) {
	ks.mu.Lock()
	ks.clients[""] = env.vc
	ks.clients["key-a"] = keyClient(t, env.url, guildKey)
	ks.mu.Unlock()
	return func(ctx context.Context, ref string) (jobs.CatalogViggle, error) {
		v, err := ks.viggleFor(ctx, ref)
		if err != nil {
			return nil, err
		}
		return v.(*viggle.Client), nil
	}
}

// catalogBearers returns the keys of the fake's requests whose path starts with prefix.
func catalogBearers(env *catalogEnv, prefix string) []string {
	var out []string
	for _, r := range env.fake.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}
	}
	return out
}

func onlyKey(t *testing.T, what string, got []string, key string) {
	t.Helper()
	if len(got) == 0 {
		t.Errorf("%s: no requests", what)
	}
	for _, g := range got {
		if g != key {
			t.Errorf("%s: a request made with %q, want %q (all %q)", what, g, key, got)
		}
	}
}

// TestCatalogUsesTheRowsKey: an import, a character and their follows (Resume's too) use the row's key.
func TestCatalogUsesTheRowsKey(t *testing.T) {
	env, ks := newCatalogKeyEnv(t)
	keys := catalogKeys(env, t, ks)
	c := jobs.NewCatalog(env.db, nil, jobs.CatalogOptions{PollInterval: time.Millisecond, Follow: time.Hour,
		Now: env.clock.Now, ViggleFor: keys})
	s, err := c.ImportScene(t.Context(), jobs.SceneImport{GuildID: "g1", UserID: "u1", KeyRef: "key-a", TemplateID: "tpl_duo"})
	if err != nil || s.Status != store.StatusReady || s.KeyRef != "key-a" {
		t.Fatalf("ImportScene = %+v, %v", s, err)
	}
	onlyKey(t, "the guild's import", catalogBearers(env, "/api/scenes/"), guildKey)

	ch, err := c.CreateCharacter(t.Context(), jobs.CharacterCreate{OwnerID: "u1", GuildID: "g1", Name: "ann",
		ImageURL: "https://cdn.example/a.png", Review: store.ReviewPending})
	if err != nil || ch.Status != store.StatusReady {
		t.Fatalf("CreateCharacter = %+v, %v", ch, err)
	}
	if got := env.character(t, ch.ID); got.Review != store.ReviewPending || got.KeyRef != "" {
		t.Errorf("character row: review %q key %q, want pending with the shared key", got.Review, got.KeyRef)
	}
	onlyKey(t, "the shared character", catalogBearers(env, "/api/characters/"), sharedKey)

	// A character left unfinished by a call is followed by Resume, with its own key.
	c1 := jobs.NewCatalog(env.db, nil, jobs.CatalogOptions{PollInterval: time.Millisecond, Follow: time.Minute,
		Now: stepClock(newClock()), ViggleFor: keys})
	left, err := c1.CreateCharacter(t.Context(), jobs.CharacterCreate{OwnerID: "u2", GuildID: "g1", KeyRef: "key-a",
		Name: "bo", ImageURL: "https://cdn.example/b.png"})
	if err != nil || left.Status == store.StatusReady {
		t.Fatalf("CreateCharacter = %+v, %v; want unfinished", left, err)
	}
	before := len(env.fake.Requests())
	c2 := jobs.NewCatalog(env.db, nil, jobs.CatalogOptions{PollInterval: time.Millisecond, Now: env.clock.Now, ViggleFor: keys})
	resume(t, c2)
	c2.Wait()
	if got := env.character(t, left.ID); got.Status != store.StatusReady {
		t.Fatalf("after Resume: %+v", got)
	}
	var resumed []string
	for _, r := range env.fake.Requests()[before:] {
		resumed = append(resumed, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}
	onlyKey(t, "Resume's follow", resumed, guildKey)
}

// TestCatalogUnavailableKey: a create with a key that cannot be used records and sends nothing; a
// followed row whose key goes ends failed with FactKeyUnavailable; a passing failure is polled again.
func TestCatalogUnavailableKey(t *testing.T) {
	env, ks := newCatalogKeyEnv(t)
	keys := catalogKeys(env, t, ks)
	c := jobs.NewCatalog(env.db, nil, jobs.CatalogOptions{PollInterval: time.Millisecond, Follow: time.Hour,
		Now: env.clock.Now, ViggleFor: keys})
	_, err := c.ImportScene(t.Context(), jobs.SceneImport{GuildID: "g1", UserID: "u1", KeyRef: "gone", TemplateID: "tpl_duo"})
	if !errors.Is(err, keyring.ErrUnavailable) {
		t.Errorf("import with a gone key: %v, want ErrUnavailable", err)
	}
	_, err = c.CreateCharacter(t.Context(), jobs.CharacterCreate{OwnerID: "u1", GuildID: "g1", KeyRef: "gone", Name: "x",
		ImageURL: "https://cdn.example/x.png"})
	if !errors.Is(err, keyring.ErrUnavailable) {
		t.Errorf("character with a gone key: %v, want ErrUnavailable", err)
	}
	if scenes, err := env.db.ListScenes(t.Context(), "g1"); err != nil || len(scenes) != 0 {
		t.Errorf("scenes recorded: %d, %v", len(scenes), err)
	}
	if chars, err := env.db.ListCharacters(t.Context(), "u1", "g1"); err != nil || len(chars) != 0 {
		t.Errorf("characters recorded: %d, %v", len(chars), err)
	}
	if n := len(env.fake.Requests()); n != 0 {
		t.Errorf("%d requests to Viggle, want none", n)
	}

	// A slow import is left pending, its key goes, Resume ends it failed (after two passing failures).
	c1 := jobs.NewCatalog(env.db, nil, jobs.CatalogOptions{PollInterval: time.Millisecond, Follow: 2 * time.Minute,
		Now: stepClock(newClock()), ViggleFor: keys})
	s, err := c1.ImportScene(t.Context(), jobs.SceneImport{GuildID: "g1", UserID: "u1", KeyRef: "key-a", TemplateID: "tpl_slow"})
	if err != nil || s.Status != store.StatusPending {
		t.Fatalf("ImportScene = %+v, %v; want pending", s, err)
	}
	ks.purge("key-a")
	ks.mu.Lock()
	ks.transient["key-a"] = 2
	asked := ks.asked["key-a"]
	ks.mu.Unlock()
	polls := env.fake.Count(http.MethodGet, "/api/scenes/")
	c2 := jobs.NewCatalog(env.db, nil, jobs.CatalogOptions{PollInterval: time.Millisecond, Now: env.clock.Now, ViggleFor: keys})
	resume(t, c2)
	c2.Wait()
	if got := env.scene(t, s.ID); got.Status != store.StatusFailed || got.Error != jobs.FactKeyUnavailable {
		t.Fatalf("after Resume: %+v, want failed with %q", got, jobs.FactKeyUnavailable)
	}
	if n := env.fake.Count(http.MethodGet, "/api/scenes/"); n != polls {
		t.Errorf("%d polls after the key went", n-polls)
	}
	if got := ks.asked["key-a"] - asked; got != 3 {
		t.Errorf("key asked %d times by Resume, want 3 (two passing failures, then gone)", got)
	}
}
