package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/viggle-bot/viggle-bot/backoff"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// The catalog: scenes imported from templates and characters preprocessed from photos. Each create
// may cost credits and Viggle documents no idempotency key, so, as for renders, the row is recorded
// before the POST, the POST is sent once and never again (not after a crash either), and Viggle's
// answer is recorded right after it; then the row is followed until Viggle says ready or failed.

// CatalogViggle is what the catalog needs of Viggle. *viggle.Client implements it.
type CatalogViggle interface {
	ImportScene(ctx context.Context, templateID, name string) (*viggle.Scene, error)
	GetScene(ctx context.Context, id string) (*viggle.Scene, error)
	PreprocessCharacter(ctx context.Context, name, imageURL string) (*viggle.Character, error)
	GetCharacter(ctx context.Context, id string) (*viggle.Character, error)
}

// CatalogStore is what the catalog needs of the store. *store.DB implements it.
type CatalogStore interface {
	InsertScene(ctx context.Context, s *store.Scene) error
	UpdateScene(ctx context.Context, s *store.Scene) error
	AbandonScene(ctx context.Context, id, fact string) (*store.Scene, error)
	UnfinishedScenes(ctx context.Context) ([]*store.Scene, error)

	ReplaceCharacter(ctx context.Context, c *store.Character) (*store.Character, error)
	UpdateCharacter(ctx context.Context, c *store.Character) error
	AbandonCharacter(ctx context.Context, id, fact string) (*store.Character, error)
	UnfinishedCharacters(ctx context.Context) ([]*store.Character, error)
}

// CatalogOptions configure a Catalog. Zero values take the defaults.
type CatalogOptions struct {
	PollInterval time.Duration // default 3s (main passes VIGGLE_POLL_INTERVAL)
	Follow       time.Duration // how long one call follows before it returns the row as it is; default 10m
	// SubmitTimeout bounds one create POST, which is not abandoned when the caller's context ends (its
	// answer, a Viggle id, must be recorded); default 2m.
	SubmitTimeout time.Duration
	// MaxNotFound is how many 404 answers in a row to a status poll end a followed row failed (Viggle no
	// longer knows it); default 5.
	MaxNotFound int
	Now         func() time.Time // measures Follow; default time.Now
	Logger      *slog.Logger
	// ViggleFor returns the client of a row's key reference (KeyRef: "" is the shared key), asked for
	// the create and for every status poll of its follow (and Resume's). An error wrapping
	// keyring.ErrUnavailable refuses a create before anything is recorded or sent, and ends a
	// followed row failed with FactKeyUnavailable; any other is tried again at the next poll.
	// nil: the client given to NewCatalog, for every key reference.
	ViggleFor func(ctx context.Context, keyRef string) (CatalogViggle, error)
	// OwnsGuild, when set, limits Resume to the rows of the guilds it accepts ("" for a character made
	// outside a guild), as Options.OwnsGuild does for jobs: with several gateway shards on one database,
	// a process neither follows nor closes another shard's imports and characters (one in submitting
	// may be being sent by it right now). nil: every row.
	OwnsGuild func(guildID string) bool
}

func (o *CatalogOptions) defaults() {
	orDefault(&o.PollInterval, 3*time.Second)
	orDefault(&o.Follow, 10*time.Minute)
	orDefault(&o.SubmitTimeout, 2*time.Minute)
	orDefault(&o.MaxNotFound, 5)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Facts stored in a row's Error when Viggle gave no message of its own (views word them).
const (
	FactNotSent     = "not sent"            // failed: the create never left the bot
	FactNoAnswer    = "no answer"           // unknown: the create may have reached Viggle, no usable answer came
	FactInterrupted = "interrupted"         // unknown: the bot stopped while the create was being sent
	FactNoReason    = "no reason given"     // failed: Viggle said failed without a message
	FactNotFound    = "not found at Viggle" // failed: Viggle answered 404 to MaxNotFound status polls in a row
	factHTTP        = "HTTP %d"             // a refusal or an unknown outcome with an HTTP status and no message
)

// Catalog imports scenes and preprocesses characters. It is safe for concurrent use.
type Catalog struct {
	st  CatalogStore
	vg  CatalogViggle
	o   CatalogOptions
	log *slog.Logger

	mu     sync.Mutex
	busy   map[string]bool // rows this process is sending or following ("s:" or "c:" + bot id)
	bg     context.Context // Resume's context: rows still pending after a call are followed under it
	wg     sync.WaitGroup  // calls and background follows under way
	closed bool            // Close was called: no new call or follow starts
}

// failureOf is the failure recorded for a scene or character in status st ("" unless failed): Viggle's
// message followed by its code in parentheses, so that the code is kept for support
// (explain.CatalogFailure reads it back), or FactNoReason when Viggle gave neither.
func failureOf(st store.Status, failure, code string) string {
	if st != store.StatusFailed {
		return ""
	}
	code = strings.TrimSpace(code)
	switch {
	case failure == "":
		return FactNoReason
	case code == "" || failure == code || strings.HasSuffix(failure, "("+code+")"):
		return failure
	}
	return failure + " (" + code + ")"
}

// ErrCatalogClosed is returned by ImportScene and CreateCharacter after Close.
var ErrCatalogClosed = errors.New("jobs: the catalog is shutting down")

// enter counts a call under way, unless the catalog is closed.
func (c *Catalog) enter() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrCatalogClosed
	}
	c.wg.Add(1)
	return nil
}

// Close refuses new calls and waits for the calls and background follows under way (cancel Resume's
// context first so that the follows end): after it returns, nothing of the catalog uses the store.
func (c *Catalog) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
}

// NewCatalog returns a Catalog over st and vg.
func NewCatalog(st CatalogStore, vg CatalogViggle, o CatalogOptions) *Catalog {
	o.defaults()
	return &Catalog{st: st, vg: vg, o: o, log: o.Logger, busy: make(map[string]bool)}
}

// SceneImport asks for a scene imported into a guild.
type SceneImport struct{ GuildID, UserID, KeyRef, TemplateID, Name string } // Name "" → the template id

// CharacterCreate asks for a character made by a member. Review is copied onto the row:
// store.ReviewPending holds it for a moderator's review (the guild's approval is on), "" needs none.
type CharacterCreate struct{ OwnerID, GuildID, KeyRef, Name, ImageURL, Review string }

// claim marks a row as worked on by this process; false when it already is.
func (c *Catalog) claim(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy[key] {
		return false
	}
	c.busy[key] = true
	return true
}

func (c *Catalog) unclaim(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.busy, key)
}

// handOff is called when a call stops following a row that is not finished: under Resume's context
// it is followed on in the background (and stays claimed), else it is released (the next Resume
// follows it).
func (c *Catalog) handOff(key string, follow func(ctx context.Context)) {
	c.mu.Lock()
	bg := c.bg
	if bg == nil || bg.Err() != nil || c.closed {
		delete(c.busy, key)
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		defer c.unclaim(key)
		follow(bg)
	}()
}

// Wait returns when every background follow has ended (its row finished, or Resume's context
// ended).
func (c *Catalog) Wait() { c.wg.Wait() }

// durable returns a context for a write that must not be lost when the caller's context ends.
func durableCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
}

// recordPolicy spaces the attempts to record a create's answer (a Viggle id must not be lost).
var recordPolicy = backoff.Policy{Base: 100 * time.Millisecond, Cap: 2 * time.Second, Jitter: backoff.Equal}

// record runs write until it succeeds, for up to a minute whatever ctx does; ErrNotFound,
// ErrDuplicate and ErrConflict are not retried.
func (c *Catalog) record(ctx context.Context, what string, write func(ctx context.Context) error) error {
	dctx, cancel := durableCtx(ctx)
	defer cancel()
	var last error
	err := recordPolicy.Do(dctx, func(ctx context.Context, attempt int) error {
		err := write(ctx)
		if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrDuplicate) ||
			errors.Is(err, store.ErrConflict) {
			return err
		}
		last = err
		c.log.Warn("catalog commit failed; trying again", "what", what, "attempt", attempt, "err", err)
		return backoff.Retryable(err)
	})
	if err != nil && dctx.Err() != nil && last != nil {
		return last
	}
	return err
}

// createOutcome classifies a create's error: the status and Error to record, and whether Viggle
// refused it (a decodable 4xx).
func createOutcome(err error) (store.Status, string) {
	var apiErr *viggle.APIError
	switch {
	case errors.Is(err, viggle.ErrNotSent):
		return store.StatusFailed, FactNotSent
	case !errors.Is(err, viggle.ErrOutcomeUnknown) && errors.As(err, &apiErr) && apiErr.Decoded &&
		apiErr.HTTPStatus >= 400 && apiErr.HTTPStatus <= 499:
		if msg := strings.TrimSpace(apiErr.Message); msg != "" {
			return store.StatusFailed, msg
		}
		if apiErr.Code != "" {
			return store.StatusFailed, apiErr.Code
		}
		return store.StatusFailed, fmt.Sprintf(factHTTP, apiErr.HTTPStatus)
	case errors.As(err, &apiErr):
		return store.StatusUnknown, fmt.Sprintf(factHTTP, apiErr.HTTPStatus)
	}
	return store.StatusUnknown, FactNoAnswer
}

// statusOf maps a Viggle status to a row's: an unknown value is in progress.
func statusOf(s string) store.Status {
	switch s {
	case "pending":
		return store.StatusPending
	case "ready":
		return store.StatusReady
	case "failed":
		return store.StatusFailed
	}
	return store.StatusProcessing
}

func finished(s store.Status) bool { return s == store.StatusReady || s == store.StatusFailed }

// ImportScene records the scene (status submitting, name reserved: store.ErrDuplicate when the guild has one
// of that name), sends POST /api/scenes/import once, records the answer (Viggle id, persons in order, duration),
// then follows it (GET /api/scenes/{id} every PollInterval) until ready or failed, or until ctx ends or Follow
// passes, and returns the row as it then is. Errors: a refusal (a decodable 4xx: *viggle.APIError, row failed),
// ErrOutcomeUnknown-wrapped (row unknown: may exist at Viggle; never re-sent), ErrNotSent-wrapped (row failed,
// nothing sent). A scene still pending when it returns is followed by Resume later.
func (c *Catalog) ImportScene(ctx context.Context, r SceneImport) (*store.Scene, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.wg.Done()
	name := strings.TrimSpace(r.Name)
	if name == "" {
		name = r.TemplateID
	}
	vg, err := c.viggleFor(ctx, r.KeyRef) // a key that cannot be used: nothing recorded, nothing sent
	if err != nil {
		return nil, fmt.Errorf("jobs: import scene from template %q: %w", r.TemplateID, err)
	}
	s := &store.Scene{ID: store.NewID(), GuildID: r.GuildID, KeyRef: r.KeyRef, Name: name,
		TemplateID: r.TemplateID, ImportedBy: r.UserID}
	key := "s:" + s.ID
	c.claim(key)
	if err := c.st.InsertScene(ctx, s); err != nil {
		c.unclaim(key)
		return nil, fmt.Errorf("jobs: import scene from template %q: %w", r.TemplateID, err)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.SubmitTimeout)
	vs, err := vg.ImportScene(pctx, r.TemplateID, name)
	cancel()
	if err != nil {
		defer c.unclaim(key)
		s.Status, s.Error = createOutcome(err)
		c.log.Warn("scene import not made", "scene", s.ID, "template", r.TemplateID, "status", s.Status, "err", err)
		if rerr := c.record(ctx, "scene "+s.ID, func(ctx context.Context) error { return c.st.UpdateScene(ctx, s) }); rerr != nil {
			c.log.Error("scene import outcome not recorded", "scene", s.ID, "status", s.Status, "err", rerr)
		}
		return s, fmt.Errorf("jobs: import scene %s from template %q: %w", s.ID, r.TemplateID, err)
	}
	s.ViggleID = vs.ID
	c.applyScene(s, vs)
	if err := c.record(ctx, "scene "+s.ID, func(ctx context.Context) error { return c.st.UpdateScene(ctx, s) }); err != nil {
		c.unclaim(key)
		c.log.Error("viggle imported the scene but its id could not be saved", "scene", s.ID, "viggle_scene_id", vs.ID, "err", err)
		return s, fmt.Errorf("jobs: record import of scene %s (Viggle %s): %w", s.ID, vs.ID, err)
	}
	c.log.Info("scene import sent", "scene", s.ID, "viggle_scene_id", s.ViggleID, "persons", len(s.Persons))
	c.followScene(ctx, s, c.o.Follow)
	if finished(s.Status) {
		c.unclaim(key)
	} else {
		cp := *s
		c.handOff(key, func(ctx context.Context) { c.followScene(ctx, &cp, 0) })
	}
	return s, nil
}

// applyScene copies what Viggle said of a scene onto its row: status, failure, duration, and the
// persons when the row has none yet (only the import answer documents them).
func (c *Catalog) applyScene(s *store.Scene, vs *viggle.Scene) {
	s.Status = statusOf(string(vs.Status))
	if vs.Status != "" && !vs.Status.Known() {
		c.log.Info("unknown viggle scene status, treated as in progress", "scene", s.ID, "status", vs.Status)
	}
	s.Error = failureOf(s.Status, vs.Failure(), vs.ErrorCode)
	if d, ok := vs.Duration(); ok {
		s.Duration = d
	}
	if len(s.Persons) == 0 && len(vs.Segments) > 0 {
		s.Persons = make([]store.Person, len(vs.Segments))
		for i, seg := range vs.Segments {
			s.Persons[i] = store.Person{UUID: seg.UUID, Type: seg.Type}
		}
	}
}

// followScene polls the scene until it is finished, ctx ends or limit (0: none) passes, recording
// each change in s.
func (c *Catalog) followScene(ctx context.Context, s *store.Scene, limit time.Duration) {
	c.follow(ctx, limit, "scene", s.ID, func() bool { return finished(s.Status) },
		func(ctx context.Context) error {
			vg, err := c.viggleFor(ctx, s.KeyRef)
			if err != nil {
				return err
			}
			vs, err := vg.GetScene(ctx, s.ViggleID)
			if err != nil {
				return err
			}
			next := *s
			c.applyScene(&next, vs)
			if next.Status == s.Status && next.Error == s.Error && next.Duration == s.Duration &&
				len(next.Persons) == len(s.Persons) {
				return nil
			}
			if err := c.record(ctx, "scene "+s.ID, func(ctx context.Context) error { return c.st.UpdateScene(ctx, &next) }); err != nil {
				return fmt.Errorf("record scene %s: %w", s.ID, err)
			}
			*s = next
			c.log.Info("scene status", "scene", s.ID, "viggle_scene_id", s.ViggleID, "status", s.Status)
			return nil
		},
		func(ctx context.Context, fact string) error {
			next := *s
			next.Status, next.Error = store.StatusFailed, fact
			if err := c.record(ctx, "scene "+s.ID, func(ctx context.Context) error { return c.st.UpdateScene(ctx, &next) }); err != nil {
				return err
			}
			*s = next
			return nil
		})
}

// follow polls (poll) until done, ctx ends or limit (0: none) passes by the options' clock. After
// MaxNotFound 404 answers in a row it calls fail with FactNotFound, and at once with
// FactKeyUnavailable when the row's key cannot be used any more (fail ends the row failed). Other
// errors are logged and polled again after PollInterval.
func (c *Catalog) follow(ctx context.Context, limit time.Duration, kind, id string, done func() bool,
	poll func(ctx context.Context) error, fail func(ctx context.Context, fact string) error) {
	start := c.o.Now()
	notFound := 0
	for !done() {
		if limit > 0 && c.o.Now().Sub(start) >= limit {
			return
		}
		t := time.NewTimer(c.o.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		err := poll(ctx)
		if err == nil {
			notFound = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if keyUnavailable(err) {
			c.log.Error("the Viggle key of a followed "+kind+" is unavailable: it fails", kind, id, "err", err)
			if err := fail(ctx, FactKeyUnavailable); err != nil {
				c.log.Error("could not record a "+kind+" whose key is unavailable", kind, id, "err", err)
			}
			return
		}
		var apiErr *viggle.APIError
		if errors.As(err, &apiErr) && apiErr.HTTPStatus == http.StatusNotFound {
			if notFound++; notFound >= c.o.MaxNotFound {
				if err := fail(ctx, FactNotFound); err != nil {
					c.log.Error("could not record a "+kind+" Viggle no longer knows", kind, id, "err", err)
				}
				return
			}
		}
		c.log.Warn(kind+" status poll failed", kind, id, "err", err)
	}
}

// CreateCharacter is the same for POST /api/characters/preprocess (name unique per owner, case-insensitive:
// a failed or unknown row of that name is replaced, any other → store.ErrDuplicate).
func (c *Catalog) CreateCharacter(ctx context.Context, r CharacterCreate) (*store.Character, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.wg.Done()
	vg, err := c.viggleFor(ctx, r.KeyRef) // a key that cannot be used: nothing recorded, nothing sent
	if err != nil {
		return nil, fmt.Errorf("jobs: create character %q: %w", strings.TrimSpace(r.Name), err)
	}
	ch := &store.Character{ID: store.NewID(), OwnerID: r.OwnerID, GuildID: r.GuildID, KeyRef: r.KeyRef,
		Name: strings.TrimSpace(r.Name), Review: r.Review}
	key := "c:" + ch.ID
	c.claim(key)
	old, err := c.st.ReplaceCharacter(ctx, ch)
	if err != nil {
		c.unclaim(key)
		return nil, fmt.Errorf("jobs: create character %q: %w", ch.Name, err)
	}
	if old != nil {
		c.log.Info("character replaced", "character", ch.ID, "old", old.ID, "old_status", old.Status)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.SubmitTimeout)
	vc, err := vg.PreprocessCharacter(pctx, ch.Name, r.ImageURL)
	cancel()
	if err != nil {
		defer c.unclaim(key)
		ch.Status, ch.Error = createOutcome(err)
		c.log.Warn("character not made", "character", ch.ID, "status", ch.Status, "err", err)
		if rerr := c.record(ctx, "character "+ch.ID, func(ctx context.Context) error { return c.st.UpdateCharacter(ctx, ch) }); rerr != nil {
			c.log.Error("character outcome not recorded", "character", ch.ID, "status", ch.Status, "err", rerr)
		}
		return ch, fmt.Errorf("jobs: create character %s: %w", ch.ID, err)
	}
	ch.ViggleID = vc.ID
	c.applyCharacter(ch, vc)
	if err := c.record(ctx, "character "+ch.ID, func(ctx context.Context) error { return c.st.UpdateCharacter(ctx, ch) }); err != nil {
		c.unclaim(key)
		c.log.Error("viggle made the character but its id could not be saved", "character", ch.ID, "viggle_character_id", vc.ID, "err", err)
		return ch, fmt.Errorf("jobs: record character %s (Viggle %s): %w", ch.ID, vc.ID, err)
	}
	c.log.Info("character preprocess sent", "character", ch.ID, "viggle_character_id", ch.ViggleID)
	c.followCharacter(ctx, ch, c.o.Follow)
	if finished(ch.Status) {
		c.unclaim(key)
	} else {
		cp := *ch
		c.handOff(key, func(ctx context.Context) { c.followCharacter(ctx, &cp, 0) })
	}
	return ch, nil
}

// applyCharacter copies what Viggle said of a character onto its row.
func (c *Catalog) applyCharacter(ch *store.Character, vc *viggle.Character) {
	ch.Status = statusOf(string(vc.Status))
	if vc.Status != "" && !vc.Status.Known() {
		c.log.Info("unknown viggle character status, treated as in progress", "character", ch.ID, "status", vc.Status)
	}
	ch.Error = failureOf(ch.Status, vc.Failure(), vc.ErrorCode)
	if vc.ThumbnailURL != "" {
		ch.ThumbnailURL = vc.ThumbnailURL
	}
}

// followCharacter is followScene for a character.
func (c *Catalog) followCharacter(ctx context.Context, ch *store.Character, limit time.Duration) {
	c.follow(ctx, limit, "character", ch.ID, func() bool { return finished(ch.Status) },
		func(ctx context.Context) error {
			vg, err := c.viggleFor(ctx, ch.KeyRef)
			if err != nil {
				return err
			}
			vc, err := vg.GetCharacter(ctx, ch.ViggleID)
			if err != nil {
				return err
			}
			next := *ch
			c.applyCharacter(&next, vc)
			if next.Status == ch.Status && next.Error == ch.Error && next.ThumbnailURL == ch.ThumbnailURL {
				return nil
			}
			if err := c.record(ctx, "character "+ch.ID, func(ctx context.Context) error { return c.st.UpdateCharacter(ctx, &next) }); err != nil {
				return fmt.Errorf("record character %s: %w", ch.ID, err)
			}
			*ch = next
			c.log.Info("character status", "character", ch.ID, "viggle_character_id", ch.ViggleID, "status", ch.Status)
			return nil
		},
		func(ctx context.Context, fact string) error {
			next := *ch
			next.Status, next.Error = store.StatusFailed, fact
			if err := c.record(ctx, "character "+ch.ID, func(ctx context.Context) error { return c.st.UpdateCharacter(ctx, &next) }); err != nil {
				return err
			}
			*ch = next
			return nil
		})
}

// Resume, at start: rows left in submitting by a crash become unknown (never re-sent); rows pending or
// processing are followed in the background until ready or failed (or ctx ends). Returns at once.
// Only the rows of CatalogOptions.OwnsGuild's guilds are touched.
//
// Rows this process is sending or following are left alone, and so are rows in submitting updated less
// than SubmitTimeout ago: with several processes on one database (PostgreSQL), another process of the
// same shard may be sending one right now, and its POST ends within SubmitTimeout; a later Resume (main
// runs one every minute) closes it if it is still submitting then. From then on, a row still unfinished when
// ImportScene or CreateCharacter returns is followed on in the background under ctx. Wait waits for
// the background follows.
func (c *Catalog) Resume(ctx context.Context) error {
	c.mu.Lock()
	c.bg = ctx
	c.mu.Unlock()
	scenes, err := c.st.UnfinishedScenes(ctx)
	if err != nil {
		return fmt.Errorf("jobs: resume scenes: %w", err)
	}
	chars, err := c.st.UnfinishedCharacters(ctx)
	if err != nil {
		return fmt.Errorf("jobs: resume characters: %w", err)
	}
	var errs []error
	owns := func(guildID string) bool { return c.o.OwnsGuild == nil || c.o.OwnsGuild(guildID) }
	for _, s := range scenes {
		key := "s:" + s.ID
		if !owns(s.GuildID) || !c.claim(key) {
			continue
		}
		if s.Status == store.StatusSubmitting || s.ViggleID == "" {
			if c.o.Now().Sub(s.UpdatedAt) < c.o.SubmitTimeout {
				c.unclaim(key) // perhaps being sent by another process: not yet
				continue
			}
			_, err := c.st.AbandonScene(ctx, s.ID, FactInterrupted)
			c.unclaim(key)
			if err != nil && !errors.Is(err, store.ErrConflict) {
				errs = append(errs, fmt.Errorf("jobs: resume scene %s: %w", s.ID, err))
				continue
			}
			c.log.Warn("scene import interrupted while being sent: outcome unknown, not sent again", "scene", s.ID,
				"guild", s.GuildID, "since", s.UpdatedAt)
			continue
		}
		c.spawn(ctx, key, func(ctx context.Context) { c.followScene(ctx, s, 0) })
	}
	for _, ch := range chars {
		key := "c:" + ch.ID
		if !owns(ch.GuildID) || !c.claim(key) {
			continue
		}
		if ch.Status == store.StatusSubmitting || ch.ViggleID == "" {
			if c.o.Now().Sub(ch.UpdatedAt) < c.o.SubmitTimeout {
				c.unclaim(key) // perhaps being sent by another process: not yet
				continue
			}
			_, err := c.st.AbandonCharacter(ctx, ch.ID, FactInterrupted)
			c.unclaim(key)
			if err != nil && !errors.Is(err, store.ErrConflict) {
				errs = append(errs, fmt.Errorf("jobs: resume character %s: %w", ch.ID, err))
				continue
			}
			c.log.Warn("character preprocess interrupted while being sent: outcome unknown, not sent again",
				"character", ch.ID, "owner", ch.OwnerID, "since", ch.UpdatedAt)
			continue
		}
		c.spawn(ctx, key, func(ctx context.Context) { c.followCharacter(ctx, ch, 0) })
	}
	return errors.Join(errs...)
}

// spawn follows a claimed row in the background, releasing it at the end.
func (c *Catalog) spawn(ctx context.Context, key string, follow func(ctx context.Context)) {
	c.mu.Lock()
	if c.closed {
		delete(c.busy, key)
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		defer c.unclaim(key)
		follow(ctx)
	}()
}

var (
	_ CatalogStore  = (*store.DB)(nil)
	_ CatalogViggle = (*viggle.Client)(nil)
)
