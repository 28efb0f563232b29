package jobs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// catalogTemplates are count-based (ready at the ImportPolls-th status poll), so no clock must move.
var catalogTemplates = map[string]viggletest.Template{
	"tpl_duo":    {Persons: 2, Duration: 8 * time.Second, ImportPolls: 2},
	"tpl_legacy": {Persons: 2, Duration: 10 * time.Second, ImportPolls: 1, Shape: viggletest.ShapeCharacterUUIDs},
	"tpl_plain":  {Duration: 6 * time.Second, ImportPolls: 1},
	"tpl_slow":   {Persons: 1, Duration: 5 * time.Second, ImportPolls: 8},
	"tpl_broken": {Persons: 2, ImportPolls: 2, FailMessage: "Template import failed: no person could be tracked in the video"},
}

type catalogEnv struct {
	fake  *viggletest.Server
	url   string // the fake's, or the proxy's in front of it
	db    *store.DB
	vc    *viggle.Client
	clock *testkit.Clock
	posts atomic.Int32 // create POSTs that reached the proxy (when there is one)
}

// newCatalogEnv starts the fake Viggle (behind cut, when set: a proxy that answers creates by
// closing the connection after reading them) and opens a real store.
func newCatalogEnv(t *testing.T, cut bool) *catalogEnv {
	t.Helper()
	env := &catalogEnv{clock: newClock()}
	env.fake = viggletest.New(viggletest.WithAPIKey(testKey), viggletest.WithTemplates(catalogTemplates),
		viggletest.WithClock(env.clock.Now), viggletest.WithCharacterPolls(2))
	u, stop, err := env.fake.Start()
	if err != nil {
		t.Fatalf("start fake viggle: %v", err)
	}
	t.Cleanup(stop)
	env.url = u
	if cut {
		target, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		rp := httputil.NewSingleHostReverseProxy(target)
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				env.posts.Add(1)
				io.Copy(io.Discard, r.Body)
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			rp.ServeHTTP(w, r)
		}))
		t.Cleanup(proxy.Close)
		env.url = proxy.URL
	}
	env.db = openDB(t, filepath.Join(t.TempDir(), "bot.db"))
	env.vc = newClient(t, env.url)
	return env
}

func (env *catalogEnv) catalog(mutate ...func(*jobs.CatalogOptions)) *jobs.Catalog {
	o := jobs.CatalogOptions{PollInterval: time.Millisecond, Follow: time.Hour, Now: env.clock.Now}
	for _, m := range mutate {
		m(&o)
	}
	return jobs.NewCatalog(env.db, env.vc, o)
}

// resume runs Resume under a context cancelled (and waited for) at the end of the test.
func resume(t *testing.T, c *jobs.Catalog) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); c.Wait() })
	if err := c.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}
}

func (env *catalogEnv) scene(t *testing.T, id string) *store.Scene {
	t.Helper()
	s, err := env.db.GetScene(context.Background(), id)
	if err != nil {
		t.Fatalf("get scene %s: %v", id, err)
	}
	return s
}

func (env *catalogEnv) character(t *testing.T, id string) *store.Character {
	t.Helper()
	c, err := env.db.GetCharacter(context.Background(), id)
	if err != nil {
		t.Fatalf("get character %s: %v", id, err)
	}
	return c
}

func noUnfinished(t *testing.T, db *store.DB) {
	t.Helper()
	ss, err := db.UnfinishedScenes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := db.UnfinishedCharacters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ss)+len(cs) != 0 {
		t.Errorf("rows left to resume: %d scenes, %d characters", len(ss), len(cs))
	}
}

func TestCatalogImportScene(t *testing.T) {
	cases := []struct {
		template, name string
		persons        int
		duration       time.Duration
		wantName       string
	}{
		{"tpl_duo", " Duo Dance ", 2, 8 * time.Second, "Duo Dance"},
		{"tpl_legacy", "", 2, 10 * time.Second, "tpl_legacy"},
		{"tpl_plain", "plain", 0, 6 * time.Second, "plain"},
	}
	for _, tc := range cases {
		t.Run(tc.template, func(t *testing.T) {
			env := newCatalogEnv(t, false)
			s, err := env.catalog().ImportScene(context.Background(), jobs.SceneImport{
				GuildID: "g1", UserID: "u1", KeyRef: "k1", TemplateID: tc.template, Name: tc.name})
			if err != nil {
				t.Fatalf("ImportScene: %v", err)
			}
			got := env.scene(t, s.ID)
			if got.Status != store.StatusReady || got.Error != "" || got.ViggleID == "" || got.Name != tc.wantName ||
				got.Duration != tc.duration || got.TemplateID != tc.template || got.ImportedBy != "u1" || got.KeyRef != "k1" {
				t.Fatalf("row = %+v", got)
			}
			if len(got.Persons) != tc.persons {
				t.Fatalf("persons = %+v, want %d", got.Persons, tc.persons)
			}
			// The persons are Viggle's, in its order: the fake derives them from the scene id.
			if want := fakePersons(got.ViggleID, tc.persons, tc.template != "tpl_legacy"); !slices.Equal(got.Persons, want) {
				t.Errorf("persons = %+v, want %+v", got.Persons, want)
			}
			if s.Status != got.Status || len(s.Persons) != len(got.Persons) {
				t.Errorf("returned %+v, stored %+v", s, got)
			}
			if n := env.fake.Imports(); n != 1 {
				t.Errorf("imports = %d, want 1", n)
			}
			noUnfinished(t, env.db)
		})
	}
}

// fakePersons are the persons the fake gives an imported scene: person_ and 8 hex digits of a hash of
// its id and index, type human in the documented shape ("" in character_uuids).
func fakePersons(sceneID string, n int, typed bool) []store.Person {
	var out []store.Person
	for i := range n {
		sum := sha256.Sum256([]byte(sceneID + "|person|" + strconv.Itoa(i)))
		p := store.Person{UUID: "person_" + hex.EncodeToString(sum[:4])}
		if typed {
			p.Type = "human"
		}
		out = append(out, p)
	}
	return out
}

func TestCatalogImportFailed(t *testing.T) {
	env := newCatalogEnv(t, false)
	s, err := env.catalog().ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_broken", Name: "b"})
	if err != nil {
		t.Fatalf("ImportScene: %v", err)
	}
	got := env.scene(t, s.ID)
	if got.Status != store.StatusFailed || got.Error != "Template import failed: no person could be tracked in the video" {
		t.Fatalf("row = %+v", got)
	}
	if len(got.Persons) != 2 {
		t.Errorf("persons = %+v (the import answer's)", got.Persons)
	}
	noUnfinished(t, env.db)
}

func TestCatalogImportRefused(t *testing.T) {
	env := newCatalogEnv(t, false)
	c := env.catalog()
	s, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_nope"})
	var apiErr *viggle.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusNotFound ||
		errors.Is(err, viggle.ErrOutcomeUnknown) || errors.Is(err, viggle.ErrNotSent) {
		t.Fatalf("err = %v, want Viggle's 404 refusal", err)
	}
	got := env.scene(t, s.ID)
	if got.Status != store.StatusFailed || got.Error != "Template not found" || got.ViggleID != "" {
		t.Fatalf("row = %+v", got)
	}
	noUnfinished(t, env.db)
	if n := env.fake.Count(http.MethodGet, "/api/scenes/"); n != 0 {
		t.Errorf("%d status polls of a refused import", n)
	}
}

func TestCatalogImportOutcomeUnknown(t *testing.T) {
	env := newCatalogEnv(t, true)
	c := env.catalog()
	s, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_duo", Name: "cut"})
	if !errors.Is(err, viggle.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
	}
	if s == nil {
		t.Fatal("no row returned")
	}
	got := env.scene(t, s.ID)
	if got.Status != store.StatusUnknown || got.Error != jobs.FactNoAnswer {
		t.Fatalf("row = %+v", got)
	}
	resume(t, c)
	c.Wait()
	if n := env.posts.Load(); n != 1 {
		t.Errorf("POSTs = %d, want exactly 1", n)
	}
	if got := env.scene(t, s.ID); got.Status != store.StatusUnknown {
		t.Errorf("after Resume: %+v", got)
	}
	// The name stays reserved: the scene may exist at Viggle.
	_, err = c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_duo", Name: "CUT"})
	if !errors.Is(err, store.ErrDuplicate) || env.posts.Load() != 1 {
		t.Errorf("second import: err = %v, POSTs = %d", err, env.posts.Load())
	}
}

func TestCatalogImportNotSent(t *testing.T) {
	env := newCatalogEnv(t, false)
	// A closed port: the dial fails, nothing is sent.
	l := httptest.NewServer(http.NotFoundHandler())
	dead := l.URL
	l.Close()
	c := jobs.NewCatalog(env.db, newClient(t, dead), jobs.CatalogOptions{PollInterval: time.Millisecond})
	s, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_duo"})
	if !errors.Is(err, viggle.ErrNotSent) {
		t.Fatalf("err = %v, want ErrNotSent", err)
	}
	if got := env.scene(t, s.ID); got.Status != store.StatusFailed || got.Error != jobs.FactNotSent {
		t.Fatalf("row = %+v", got)
	}
}

func TestCatalogImportDuplicateName(t *testing.T) {
	env := newCatalogEnv(t, false)
	c := env.catalog()
	if _, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_duo", Name: "Party"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u2", TemplateID: "tpl_plain", Name: " party "})
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("err = %v, want ErrDuplicate", err)
	}
	if n := env.fake.Imports(); n != 1 {
		t.Errorf("imports = %d, want 1 (no POST for a taken name)", n)
	}
	// Another guild may use the name.
	if _, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g2", UserID: "u2", TemplateID: "tpl_plain", Name: "party"}); err != nil {
		t.Fatalf("other guild: %v", err)
	}
}

// stepClock is a clock that moves a minute each time it is read.
func stepClock(c *testkit.Clock) func() time.Time {
	return func() time.Time {
		c.Advance(time.Minute)
		return c.Now()
	}
}

func TestCatalogFollowElapsesThenResumeFinishes(t *testing.T) {
	env := newCatalogEnv(t, false)
	c := env.catalog(func(o *jobs.CatalogOptions) {
		o.Follow = 3 * time.Minute
		o.Now = stepClock(testkit.NewClock(time.Unix(0, 0)))
	})
	s, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_slow"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != store.StatusPending {
		t.Fatalf("returned %+v, want pending", s)
	}
	polls := env.fake.Count(http.MethodGet, "/api/scenes/")
	if polls == 0 || polls >= 8 {
		t.Fatalf("%d polls before Follow passed", polls)
	}
	if got := env.scene(t, s.ID); got.Status != store.StatusPending {
		t.Fatalf("row = %+v", got)
	}
	// A new process resumes it.
	c2 := env.catalog()
	resume(t, c2)
	c2.Wait()
	got := env.scene(t, s.ID)
	if got.Status != store.StatusReady || got.Duration != 5*time.Second || len(got.Persons) != 1 {
		t.Fatalf("after Resume: %+v", got)
	}
	if n := env.fake.Imports(); n != 1 {
		t.Errorf("imports = %d, want 1", n)
	}
}

func TestCatalogFollowHandedOffAfterResume(t *testing.T) {
	env := newCatalogEnv(t, false)
	c := env.catalog(func(o *jobs.CatalogOptions) {
		o.Follow = 2 * time.Minute
		o.Now = stepClock(testkit.NewClock(time.Unix(0, 0)))
	})
	resume(t, c)
	s, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_slow"})
	if err != nil || s.Status != store.StatusPending {
		t.Fatalf("ImportScene = %+v, %v", s, err)
	}
	c.Wait()
	if got := env.scene(t, s.ID); got.Status != store.StatusReady {
		t.Fatalf("after the background follow: %+v", got)
	}
}

func TestCatalogResumeSubmittingBecomesUnknown(t *testing.T) {
	env := newCatalogEnv(t, false)
	ctx := context.Background()
	s := &store.Scene{GuildID: "g1", Name: "left", TemplateID: "tpl_duo", ImportedBy: "u1"}
	if err := env.db.InsertScene(ctx, s); err != nil {
		t.Fatal(err)
	}
	ch := &store.Character{OwnerID: "u1", GuildID: "g1", Name: "alice"}
	if err := env.db.InsertCharacter(ctx, ch); err != nil {
		t.Fatal(err)
	}
	// Just written: perhaps being sent by another process on the same database. Left alone.
	c := env.catalog()
	resume(t, c)
	c.Wait()
	if got := env.scene(t, s.ID); got.Status != store.StatusSubmitting {
		t.Errorf("a scene submitting for less than SubmitTimeout = %+v, want it left alone", got)
	}
	if got := env.character(t, ch.ID); got.Status != store.StatusSubmitting {
		t.Errorf("a character submitting for less than SubmitTimeout = %+v, want it left alone", got)
	}
	// Past SubmitTimeout nobody is sending it any more: closed as unknown, never sent again.
	c = env.catalog(func(o *jobs.CatalogOptions) { o.Now = afterSubmitTimeout })
	resume(t, c)
	c.Wait()
	if got := env.scene(t, s.ID); got.Status != store.StatusUnknown || got.Error != jobs.FactInterrupted {
		t.Errorf("scene = %+v", got)
	}
	if got := env.character(t, ch.ID); got.Status != store.StatusUnknown || got.Error != jobs.FactInterrupted {
		t.Errorf("character = %+v", got)
	}
	if n := len(env.fake.Requests()); n != 0 {
		t.Errorf("%d requests to Viggle, want none", n)
	}
	noUnfinished(t, env.db)
}

// afterSubmitTimeout is a clock past the default SubmitTimeout (2 min) from now.
func afterSubmitTimeout() time.Time { return time.Now().Add(2*time.Minute + time.Second) }

func TestCatalogCreateCharacter(t *testing.T) {
	env := newCatalogEnv(t, false)
	c := env.catalog()
	ctx := context.Background()
	ch, err := c.CreateCharacter(ctx, jobs.CharacterCreate{OwnerID: "u1", GuildID: "g1", KeyRef: "k1", Name: " Alice ",
		ImageURL: "https://cdn.example/attachments/1/alice.png?sig=secret"})
	if err != nil {
		t.Fatalf("CreateCharacter: %v", err)
	}
	got := env.character(t, ch.ID)
	if got.Status != store.StatusReady || got.ViggleID == "" || got.Name != "Alice" || got.ThumbnailURL == "" ||
		got.Error != "" || got.KeyRef != "k1" || got.Shared {
		t.Fatalf("row = %+v", got)
	}
	// A ready one holds the name: no POST.
	_, err = c.CreateCharacter(ctx, jobs.CharacterCreate{OwnerID: "u1", GuildID: "g2", Name: "ALICE", ImageURL: "https://cdn.example/b.png"})
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("err = %v, want ErrDuplicate", err)
	}
	if n := env.fake.Characters(); n != 1 {
		t.Errorf("preprocesses = %d, want 1", n)
	}
	noUnfinished(t, env.db)
}

func TestCatalogCharacterFailedThenReplaced(t *testing.T) {
	env := newCatalogEnv(t, false)
	c := env.catalog()
	ctx := context.Background()
	failed, err := c.CreateCharacter(ctx, jobs.CharacterCreate{OwnerID: "u1", GuildID: "g1", Name: "bob", ImageURL: "https://cdn.example/FAIL.png"})
	if err != nil {
		t.Fatalf("CreateCharacter: %v", err)
	}
	if got := env.character(t, failed.ID); got.Status != store.StatusFailed || got.Error != viggletest.CharacterFailMessage {
		t.Fatalf("row = %+v", got)
	}
	again, err := c.CreateCharacter(ctx, jobs.CharacterCreate{OwnerID: "u1", GuildID: "g1", Name: "Bob", ImageURL: "https://cdn.example/bob.png"})
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	if again.ID == failed.ID || again.Status != store.StatusReady {
		t.Fatalf("replacement = %+v", again)
	}
	if _, err := env.db.GetCharacter(ctx, failed.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed row still there: %v", err)
	}
}

func TestCatalogCharacterRefusedAndUnknown(t *testing.T) {
	t.Run("not sent", func(t *testing.T) {
		env := newCatalogEnv(t, false)
		// The client refuses an image URL that is not http(s) before sending anything.
		_, err := env.catalog().CreateCharacter(context.Background(), jobs.CharacterCreate{OwnerID: "u1", Name: "x", ImageURL: "ftp://x"})
		if !errors.Is(err, viggle.ErrNotSent) {
			t.Fatalf("err = %v, want ErrNotSent", err)
		}
		if strings.Contains(err.Error(), "ftp://x") {
			t.Errorf("error repeats the image URL: %v", err)
		}
		if n := env.fake.Characters(); n != 0 {
			t.Errorf("preprocesses = %d", n)
		}
	})
	t.Run("cut", func(t *testing.T) {
		env := newCatalogEnv(t, true)
		c := env.catalog()
		ch, err := c.CreateCharacter(context.Background(), jobs.CharacterCreate{OwnerID: "u1", Name: "cara", ImageURL: "https://cdn.example/c.png?sig=s3cret"})
		if !errors.Is(err, viggle.ErrOutcomeUnknown) {
			t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error repeats the image URL: %v", err)
		}
		if got := env.character(t, ch.ID); got.Status != store.StatusUnknown {
			t.Fatalf("row = %+v", got)
		}
		resume(t, c)
		c.Wait()
		if n := env.posts.Load(); n != 1 {
			t.Errorf("POSTs = %d, want 1", n)
		}
		// An unknown one may be replaced (the member was told it may exist): a new POST.
		again, err := c.CreateCharacter(context.Background(), jobs.CharacterCreate{OwnerID: "u1", Name: "Cara", ImageURL: "https://cdn.example/c2.png"})
		if !errors.Is(err, viggle.ErrOutcomeUnknown) || env.posts.Load() != 2 || again.ID == ch.ID {
			t.Fatalf("replace: %+v, %v, POSTs = %d", again, err, env.posts.Load())
		}
		if _, err := env.db.GetCharacter(context.Background(), ch.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown row still there: %v", err)
		}
	})
}

func TestCatalogCharacterFollowElapsesThenResume(t *testing.T) {
	env := newCatalogEnv(t, false)
	c := env.catalog(func(o *jobs.CatalogOptions) {
		o.Follow = time.Minute
		o.Now = stepClock(testkit.NewClock(time.Unix(0, 0)))
	})
	ch, err := c.CreateCharacter(context.Background(), jobs.CharacterCreate{OwnerID: "u1", Name: "dee", ImageURL: "https://cdn.example/d.png"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Status == store.StatusReady || ch.Status == store.StatusFailed {
		t.Fatalf("returned %+v, want unfinished", ch)
	}
	c2 := env.catalog()
	resume(t, c2)
	c2.Wait()
	if got := env.character(t, ch.ID); got.Status != store.StatusReady || got.ThumbnailURL == "" {
		t.Fatalf("after Resume: %+v", got)
	}
}

// TestCatalogCloseRefusesNewCalls: after Close nothing reaches Viggle or the store; Close itself waits
// for what was under way.
func TestCatalogCloseRefusesNewCalls(t *testing.T) {
	env := newCatalogEnv(t, false)
	c := env.catalog()
	if _, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_duo", Name: "Before"}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.ImportScene(context.Background(), jobs.SceneImport{GuildID: "g1", UserID: "u1", TemplateID: "tpl_duo", Name: "After"}); !errors.Is(err, jobs.ErrCatalogClosed) {
		t.Fatalf("ImportScene after Close = %v, want ErrCatalogClosed", err)
	}
	if _, err := c.CreateCharacter(context.Background(), jobs.CharacterCreate{OwnerID: "u1", GuildID: "g1", Name: "alice", ImageURL: "https://cdn.example/a.png"}); !errors.Is(err, jobs.ErrCatalogClosed) {
		t.Fatalf("CreateCharacter after Close = %v, want ErrCatalogClosed", err)
	}
	if n := env.fake.Imports(); n != 1 {
		t.Errorf("imports = %d, want only the one before Close", n)
	}
	if _, err := env.db.SceneByName(context.Background(), "g1", "After"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a row was written after Close: %v", err)
	}
}
