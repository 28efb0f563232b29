package commands

import (
	"context"

	"github.com/viggle-bot/viggle-bot/store"
)

// Names is what /render, /job and Re-render read of the guild's scenes and the members' characters:
// SQLite only, never Viggle. *store.DB implements it; the router uses it when its Store does.
type Names interface {
	SuggestScenes(ctx context.Context, guildID, prefix string, limit int) ([]*store.Scene, error)
	SceneByViggleID(ctx context.Context, guildID, viggleID string) (*store.Scene, error)
	SceneByName(ctx context.Context, guildID, name string) (*store.Scene, error)
	SuggestCharacters(ctx context.Context, ownerID, guildID, keyRef, prefix string, limit int) ([]*store.Character, error)
	ResolveCharacter(ctx context.Context, ownerID, guildID, keyRef, name string) (*store.Character, error)
	CharacterByViggleID(ctx context.Context, viggleID string) (*store.Character, error)
}

// names is the router's Names, or nil when its Store reads no scenes or characters (then every scene
// is unknown here, every character an id, and nothing is suggested).
func (r *Router) names() Names {
	n, _ := r.st.(Names)
	return n
}

// jobRoutes are the routes of /job and its Re-render button (issue 9): none until they are built.
func (r *Router) jobRoutes() []Route { return nil }
