// Package keyring keeps the guilds' own Viggle keys: it checks a key with Viggle, stores it sealed
// (AES-256-GCM with BOT_ENCRYPTION_KEY, the guild id bound as additional data), and turns a key
// reference (a job's, a scene's, a character's key_ref) back into a Viggle client, one per key, each
// with its own request limiter.
//
// A key reference "" is the bot's shared key (VIGGLE_API_KEY); any other is the id of a stored guild
// key. A retired key (replaced or cleared) still resolves while its row exists: the store keeps it
// while an unfinished job, scene or character uses it, and PurgeRetiredKeys deletes it afterwards.
//
// The clear key is never put in an error, a log line or a change-log row: only its last four
// characters are shown ("…abcd").
package keyring

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// Errors. ErrUnavailable is wrapped by every error of Client and ForGuild that trying again cannot fix
// (the key was purged, cannot be decrypted, or there is no key to use), together with the cause.
var (
	ErrNoEncryption  = errors.New("keyring: BOT_ENCRYPTION_KEY is not set")
	ErrNoKey         = errors.New("keyring: this server has no Viggle key and the shared key is not allowed")
	ErrKeyRefused    = errors.New("keyring: Viggle refused the key")             // GET /api/credits answered 401/403
	ErrUndecryptable = errors.New("keyring: the stored key cannot be decrypted") // wrong guild, wrong BOT_ENCRYPTION_KEY, tampered
	ErrKeyGone       = errors.New("keyring: the key is no longer stored")        // purged (or never stored)
	ErrUnavailable   = errors.New("keyring: the Viggle key is unavailable")      // see above
	ErrEmptyKey      = errors.New("keyring: the key is empty")                   // Set with nothing
	errNoGuild       = errors.New("keyring: a guild key needs a guild id")
)

// Store is what the keyring needs of the database. *store.DB implements it.
type Store interface {
	CurrentGuildKey(ctx context.Context, guildID string) (*store.GuildKey, error)
	GuildKeyByID(ctx context.Context, id string) (*store.GuildKey, error)
	SetGuildKey(ctx context.Context, k *store.GuildKey, c store.Change) error
	ClearGuildKey(ctx context.Context, guildID string, c store.Change) (bool, error)
	PurgeRetiredKeys(ctx context.Context, retiredBefore time.Time) (int, error)
}

// Options configure a Ring.
type Options struct {
	Shared      *viggle.Client // the VIGGLE_API_KEY client (the bot's); nil: none
	AllowShared bool           // ALLOW_SHARED_KEY: guilds without a key of their own use Shared
	Sealer      *Sealer        // nil: no BOT_ENCRYPTION_KEY (Set refuses with ErrNoEncryption)
	// NewClient builds a client for one key, with its OWN rate limiter (main builds it). Required for
	// guild keys: without it Set and Client fail.
	NewClient func(apiKey string) (*viggle.Client, error)
	Logger    *slog.Logger
	Now       func() time.Time // stamps GuildKey.CreatedAt; default time.Now
	// RetiredGrace is how long a retired key is kept at least, even when nothing uses it: a render that
	// read the key just before it was replaced may not have recorded its job yet. Default 1h; negative:
	// none (tests).
	RetiredGrace time.Duration
}

// Ring resolves key references to Viggle clients and sets and clears the guilds' keys. It is safe for
// concurrent use.
type Ring struct {
	st  Store
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	clients map[string]*entry         // guild key id → its client (being) built
	byKey   map[keySum]*viggle.Client // the same Viggle key under two ids (two guilds) shares one client
}

// keySum identifies a clear key in memory without keeping it as a map key.
type keySum [sha256.Size]byte

// entry is one key's client, built once: ready is closed when c or err is set.
type entry struct {
	ready chan struct{}
	c     *viggle.Client
	sum   keySum
	err   error
}

// New returns a Ring over st.
func New(st Store, o Options) *Ring {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.RetiredGrace == 0:
		o.RetiredGrace = time.Hour
	case o.RetiredGrace < 0:
		o.RetiredGrace = 0
	}
	return &Ring{st: st, o: o, log: o.Logger, clients: make(map[string]*entry), byKey: make(map[keySum]*viggle.Client)}
}

// unavailable wraps cause (one of the package's sentinels) as ErrUnavailable.
func unavailable(what string, cause error) error {
	return fmt.Errorf("keyring: %s: %w: %w", what, ErrUnavailable, cause)
}

// Client returns the client of a key reference: "" → the shared client (whatever AllowShared says: a
// job made with it keeps it), else the stored key with that id (retired ones too), decrypted; one
// client per key id for the life of the Ring. Errors that retrying cannot fix wrap ErrUnavailable
// (with ErrKeyGone, ErrUndecryptable, ErrNoEncryption or ErrNoKey); others (the database) are
// transient.
func (r *Ring) Client(ctx context.Context, keyRef string) (*viggle.Client, error) {
	if keyRef == "" {
		if r.o.Shared == nil {
			return nil, unavailable("the shared key", ErrNoKey)
		}
		return r.o.Shared, nil
	}
	return r.client(ctx, keyRef, nil)
}

// client returns the cached client of key id, building it (from row when given, else from the store)
// the first time. Concurrent first calls build it once; a failed build is not cached.
func (r *Ring) client(ctx context.Context, id string, row *store.GuildKey) (*viggle.Client, error) {
	r.mu.Lock()
	e, ok := r.clients[id]
	if !ok {
		e = &entry{ready: make(chan struct{})}
		r.clients[id] = e
	}
	r.mu.Unlock()
	if ok {
		select {
		case <-e.ready:
			return e.c, e.err
		case <-ctx.Done():
			return nil, fmt.Errorf("keyring: key %s: %w", id, ctx.Err())
		}
	}
	e.c, e.sum, e.err = r.build(ctx, id, row)
	r.mu.Lock()
	if e.err != nil {
		delete(r.clients, id)
	} else if c, ok := r.byKey[e.sum]; ok {
		e.c = c // built meanwhile for the same key under another id
	} else {
		r.byKey[e.sum] = e.c
	}
	r.mu.Unlock()
	close(e.ready)
	return e.c, e.err
}

// build reads (unless given), opens and wraps one stored key: the client of the same key under
// another id when there is one, else a new one.
func (r *Ring) build(ctx context.Context, id string, row *store.GuildKey) (*viggle.Client, keySum, error) {
	if row == nil {
		k, err := r.st.GuildKeyByID(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound): // not wrapped: callers take store.ErrNotFound for their own row
			return nil, keySum{}, unavailable("key "+id, ErrKeyGone)
		case err != nil:
			return nil, keySum{}, fmt.Errorf("keyring: read key %s: %w", id, err)
		}
		row = k
	}
	if r.o.Sealer == nil {
		return nil, keySum{}, unavailable("key "+id, ErrNoEncryption)
	}
	apiKey, err := r.o.Sealer.Open(row.GuildID, row.Sealed)
	if err != nil {
		return nil, keySum{}, unavailable("key "+id, err)
	}
	sum := keySum(sha256.Sum256([]byte(apiKey)))
	if c := r.known(sum); c != nil {
		return c, sum, nil
	}
	c, err := r.newClient(apiKey)
	if err != nil {
		return nil, keySum{}, unavailable("key "+id, err)
	}
	return c, sum, nil
}

// known is the client already built for the key with sum, or nil.
func (r *Ring) known(sum keySum) *viggle.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byKey[sum]
}

// newClient builds a client for apiKey through Options.NewClient; its error never holds the key.
func (r *Ring) newClient(apiKey string) (*viggle.Client, error) {
	if r.o.NewClient == nil {
		return nil, errors.New("keyring: no NewClient to build a guild key's client")
	}
	c, err := r.o.NewClient(apiKey)
	if err != nil {
		return nil, redact(fmt.Errorf("keyring: build a client: %w", err), apiKey)
	}
	if c == nil {
		return nil, errors.New("keyring: NewClient returned no client")
	}
	return c, nil
}

// ForGuild is the key a guild's new work uses: its current key, else "" and the shared client when
// AllowShared (and there is one), else ErrNoKey (wrapped in ErrUnavailable). A current key that cannot
// be used is an error, never a silent fall back to the shared key.
func (r *Ring) ForGuild(ctx context.Context, guildID string) (keyRef string, c *viggle.Client, err error) {
	if guildID != "" {
		k, err := r.st.CurrentGuildKey(ctx, guildID)
		switch {
		case err == nil:
			c, err := r.client(ctx, k.ID, k)
			if err != nil {
				return "", nil, err
			}
			return k.ID, c, nil
		case !errors.Is(err, store.ErrNotFound):
			return "", nil, fmt.Errorf("keyring: read the key of guild %s: %w", guildID, err)
		}
	}
	if !r.o.AllowShared || r.o.Shared == nil {
		return "", nil, unavailable("guild "+guildID, ErrNoKey)
	}
	return "", r.o.Shared, nil
}

// Set checks apiKey with Viggle (GET /api/credits through a client of its own, rate-limited like any)
// and stores it sealed as guildID's key, retiring the one before; the change log says
// "Viggle key set (ends with …abcd)". The guild's current key set again is returned as it is (same ID).
// Errors: ErrNoEncryption (nothing asked of Viggle), ErrEmptyKey,
// ErrKeyRefused (Viggle answered 401 or 403: nothing stored; the *viggle.APIError is wrapped too), or
// the Viggle or store error wrapped. The key is in none of them.
func (r *Ring) Set(ctx context.Context, guildID, actorID, apiKey string) (*store.GuildKey, error) {
	apiKey = strings.TrimSpace(apiKey)
	switch {
	case r.o.Sealer == nil:
		return nil, ErrNoEncryption
	case guildID == "":
		return nil, errNoGuild
	case apiKey == "":
		return nil, ErrEmptyKey
	}
	// The same key set again keeps its row: a new one would hide the scenes and characters made with it
	// (they are found by key row), for no change at all. Nothing is asked of Viggle or logged.
	if cur, err := r.st.CurrentGuildKey(ctx, guildID); err == nil {
		if old, err := r.o.Sealer.Open(guildID, cur.Sealed); err == nil && subtle.ConstantTimeCompare([]byte(old), []byte(apiKey)) == 1 {
			return cur, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("keyring: set the key of guild %s: read the current one: %w", guildID, err)
	}
	// The key's client when it is in use already (another guild's, or this one set again), so that
	// the check counts against its limiter; else a new one, kept only if the key is stored.
	sum := keySum(sha256.Sum256([]byte(apiKey)))
	c := r.known(sum)
	if c == nil {
		var err error
		if c, err = r.newClient(apiKey); err != nil {
			return nil, fmt.Errorf("keyring: set the key of guild %s: %w", guildID, err)
		}
	}
	if _, err := c.Credits(ctx); err != nil {
		var apiErr *viggle.APIError
		if errors.As(err, &apiErr) && (apiErr.HTTPStatus == http.StatusUnauthorized || apiErr.HTTPStatus == http.StatusForbidden) {
			r.log.Info("Viggle key refused", "guild", guildID, "by", actorID, "http_status", apiErr.HTTPStatus, "code", apiErr.Code)
			return nil, redact(fmt.Errorf("keyring: set the key of guild %s: %w (%w)", guildID, ErrKeyRefused, err), apiKey)
		}
		return nil, redact(fmt.Errorf("keyring: set the key of guild %s: check it with Viggle: %w", guildID, err), apiKey)
	}
	sealed, err := r.o.Sealer.Seal(guildID, apiKey)
	if err != nil {
		return nil, fmt.Errorf("keyring: set the key of guild %s: %w", guildID, err)
	}
	k := &store.GuildKey{
		ID:        store.NewID(),
		GuildID:   guildID,
		Sealed:    sealed,
		Last4:     last4(apiKey),
		CreatedBy: actorID,
		CreatedAt: r.o.Now(),
	}
	what := "Viggle key set"
	if k.Last4 != "" {
		what += " (ends with …" + k.Last4 + ")"
	}
	if err := r.st.SetGuildKey(ctx, k, store.Change{GuildID: guildID, ActorID: actorID, What: what, At: k.CreatedAt}); err != nil {
		return nil, fmt.Errorf("keyring: set the key of guild %s: %w", guildID, err)
	}
	// The checked client is the key's client from now on: its limiter has counted the check.
	r.mu.Lock()
	if known, ok := r.byKey[sum]; ok {
		c = known
	} else {
		r.byKey[sum] = c
	}
	if _, ok := r.clients[k.ID]; !ok {
		e := &entry{ready: make(chan struct{}), c: c, sum: sum}
		close(e.ready)
		r.clients[k.ID] = e
	}
	r.mu.Unlock()
	r.log.Info("Viggle key set", "guild", guildID, "by", actorID, "key_id", k.ID)
	r.purge(ctx)
	return k, nil
}

// Clear retires guildID's key (the change log says "Viggle key cleared"); false when it had none. Jobs
// under way keep using it; it is purged once nothing unfinished does.
func (r *Ring) Clear(ctx context.Context, guildID, actorID string) (bool, error) {
	if guildID == "" {
		return false, errNoGuild
	}
	ok, err := r.st.ClearGuildKey(ctx, guildID, store.Change{GuildID: guildID, ActorID: actorID, What: "Viggle key cleared", At: r.o.Now()})
	if err != nil {
		return false, fmt.Errorf("keyring: clear the key of guild %s: %w", guildID, err)
	}
	if ok {
		r.log.Info("Viggle key cleared", "guild", guildID, "by", actorID)
	}
	r.purge(ctx)
	return ok, nil
}

// Purge deletes the retired keys that nothing unfinished uses any more (main calls it at start; Set
// and Clear call it too) and forgets their clients. It returns how many were deleted.
func (r *Ring) Purge(ctx context.Context) (int, error) {
	n, err := r.st.PurgeRetiredKeys(ctx, r.o.Now().Add(-r.o.RetiredGrace))
	if err != nil {
		return 0, fmt.Errorf("keyring: purge retired keys: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	r.log.Info("retired Viggle keys purged", "count", n)
	r.mu.Lock()
	var ids []string
	for id, e := range r.clients {
		select {
		case <-e.ready:
			ids = append(ids, id)
		default: // being built: a build that finds no row caches nothing
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		if _, err := r.st.GuildKeyByID(ctx, id); errors.Is(err, store.ErrNotFound) {
			r.forget(id)
		}
	}
	return n, nil
}

// forget drops the client of key id, and the key's client when no other id uses it.
func (r *Ring) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.clients[id]
	if !ok {
		return
	}
	delete(r.clients, id)
	for _, other := range r.clients {
		select {
		case <-other.ready:
			if other.err == nil && other.sum == e.sum {
				return
			}
		default:
		}
	}
	delete(r.byKey, e.sum)
}

// purge is Purge for Set and Clear, whose work is done: a failure is logged, not returned.
func (r *Ring) purge(ctx context.Context) {
	if _, err := r.Purge(ctx); err != nil {
		r.log.Warn("could not purge retired Viggle keys", "err", err)
	}
}

// last4 is the key's last four characters, shown as "…abcd"; "" for a key too short to show any of.
func last4(apiKey string) string {
	n := utf8.RuneCountInString(apiKey)
	if n < 12 {
		return ""
	}
	r := []rune(apiKey)
	return string(r[n-4:])
}

// redact replaces the key in err's text; errors.Is and errors.As still see err's chain.
func redact(err error, apiKey string) error {
	if err == nil || apiKey == "" || !strings.Contains(err.Error(), apiKey) {
		return err
	}
	return &redacted{err: err, msg: strings.ReplaceAll(err.Error(), apiKey, "[REDACTED]")}
}

type redacted struct {
	err error
	msg string
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

var _ Store = (*store.DB)(nil)
