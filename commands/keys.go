package commands

import (
	"context"
	"fmt"

	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// Keys chooses the Viggle key of a guild's calls and keeps the guilds' own keys (/config key).
// *keyring.Ring implements it.
type Keys interface {
	// ForGuild is the key the guild's calls use now: its own, else the shared one ("", when allowed).
	ForGuild(ctx context.Context, guildID string) (keyRef string, c *viggle.Client, err error)
	// Set validates apiKey with Viggle and stores it, encrypted, as the guild's key.
	Set(ctx context.Context, guildID, actorID, apiKey string) (*store.GuildKey, error)
	// Clear removes the guild's key (false: it had none).
	Clear(ctx context.Context, guildID, actorID string) (bool, error)
}

// keys is the router's Keys, or nil (every guild uses the shared key).
func (r *Router) keys() Keys {
	if c, ok := r.st.(*Catalogued); ok && c.Keys != nil {
		return c.Keys
	}
	return nil
}

// guildKey is the key reference and the Viggle client of the guild's calls. Without Keys it is the
// shared key and the router's credit reader (which may be nil).
func (r *Router) guildKey(ctx context.Context, guildID string) (string, CreditsReader, error) {
	k := r.keys()
	if k == nil {
		return "", r.credits(), nil
	}
	ref, c, err := k.ForGuild(ctx, guildID)
	if err != nil {
		return "", nil, err
	}
	if c == nil {
		return ref, nil, nil
	}
	return ref, c, nil
}

// keyOrRefusal is the key of the guild's new work (its reference and client), or the refusal when there
// is no usable one (ephemeral, saying what to do), or the error to report.
func (r *Router) keyOrRefusal(ctx context.Context, e *Event) (string, CreditsReader, *Response, error) {
	ref, c, err := r.guildKey(ctx, e.GuildID)
	if msg := keyRefusal(err); msg != "" {
		e.SetOutcome("refused: key")
		return "", nil, ephemeralText(msg), nil
	}
	if err != nil {
		return "", nil, nil, tell("I could not read this server's Viggle key just now. Nothing was sent to Viggle: please try again in a moment.",
			fmt.Errorf("the Viggle key of guild %s: %w", e.GuildID, err))
	}
	return ref, c, nil, nil
}
