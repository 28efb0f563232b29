package commands

import (
	"context"
	"errors"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// What /scene, /character and /credits need besides the engine: the catalog that imports scenes and
// makes characters, the reader of the credit balance, and the rows of scenes and characters.

// Catalog imports scenes and makes characters at Viggle, following each until it is ready or failed.
// *jobs.Catalog implements it.
type Catalog interface {
	ImportScene(ctx context.Context, r jobs.SceneImport) (*store.Scene, error)
	CreateCharacter(ctx context.Context, r jobs.CharacterCreate) (*store.Character, error)
}

// CreditsReader reads the credit balance of the Viggle key in use. *viggle.Client implements it.
type CreditsReader interface {
	Credits(ctx context.Context) (*viggle.Balance, error)
}

// SceneStore is what /scene and /character read and change of the guild's scenes and the members'
// characters (SQLite only). *store.DB implements it; the router uses it when its Store does.
type SceneStore interface {
	ListScenes(ctx context.Context, guildID string) ([]*store.Scene, error)
	SceneByName(ctx context.Context, guildID, name string) (*store.Scene, error)
	DeleteScene(ctx context.Context, id string) error
	SuggestScenesForKey(ctx context.Context, guildID, keyRef, prefix string, limit int) ([]*store.Scene, error)

	ListCharacters(ctx context.Context, ownerID, guildID string) ([]*store.Character, error)
	ResolveCharacter(ctx context.Context, ownerID, guildID, keyRef, name string) (*store.Character, error)
	DeleteCharacter(ctx context.Context, id string) error
	ShareCharacter(ctx context.Context, ownerID, guildID, name string) (*store.Character, error)
	SuggestCharacters(ctx context.Context, ownerID, guildID, keyRef, prefix string, limit int) ([]*store.Character, error)
}

// Catalogued is the Store of a router that also answers /scene import, /character create and
// /credits: the bot's database (which the other commands read as before) with the catalog and the
// credit reader. Pass it to NewHandler as its st:
//
//	commands.NewHandler(eng, &commands.Catalogued{DB: db, Catalog: catalog, Credits: viggleClient}, log, now, owners)
//
// With a plain *store.DB those commands say they are not available; the lists still work.
type Catalogued struct {
	*store.DB
	Catalog Catalog       // nil: /scene import and /character create are not available
	Credits CreditsReader // nil: /credits is not available
	Keys    Keys          // nil: every guild uses the shared key and /config key is not available
}

// What main passes implements what the router asks of it (the names of /render and /job included).
var (
	_ Store         = (*Catalogued)(nil)
	_ SceneStore    = (*Catalogued)(nil)
	_ Names         = (*Catalogued)(nil)
	_ Catalog       = (*jobs.Catalog)(nil)
	_ CreditsReader = (*viggle.Client)(nil)
)

// scenes is the router's SceneStore, or nil when its Store keeps none.
func (r *Router) scenes() SceneStore {
	s, _ := r.st.(SceneStore)
	return s
}

// catalog is the router's Catalog, or nil.
func (r *Router) catalog() Catalog {
	if c, ok := r.st.(*Catalogued); ok && c.Catalog != nil {
		return c.Catalog
	}
	return nil
}

// credits is the router's CreditsReader, or nil.
func (r *Router) credits() CreditsReader {
	if c, ok := r.st.(*Catalogued); ok && c.Credits != nil {
		return c.Credits
	}
	return nil
}

// notAvailable is the answer of a command whose dependency the bot was started without.
const notAvailable = "This isn't available on this bot right now: ask the bot's admin."

// viggleFailure reports whether err came from a call to Viggle (refused, not sent, or of unknown
// outcome), which explain.ViggleError words; other errors are the bot's own.
func viggleFailure(err error) bool {
	var api *viggle.APIError
	return errors.Is(err, viggle.ErrNotSent) || errors.Is(err, viggle.ErrOutcomeUnknown) || errors.As(err, &api)
}
