package commands

import (
	"context"
	"log/slog"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// Engine is what the handlers need of the render engine.
type Engine interface {
	Create(ctx context.Context, nj jobs.NewJob) (*store.Job, error)
	// Acknowledged records that Discord took the job's acknowledgement and lets the engine send it.
	Acknowledged(ctx context.Context, id string) error
	Abandon(ctx context.Context, id, reason string) error
	Cancel(ctx context.Context, id, userID string) (jobs.CancelResult, error)
	Get(ctx context.Context, id string) (*store.Job, error)
}

// Store is what the handlers read directly.
type Store interface {
	ListByOwner(ctx context.Context, f store.ListFilter) ([]*store.Job, error)
	CountByOwner(ctx context.Context, f store.ListFilter) (int, error)
}

// DefaultUploadLimit applies when an interaction carries no attachment_size_limit.
const DefaultUploadLimit = 10 << 20

// table is the route table: one line per command, button or modal (each defined in its own file,
// definition beside handler).
func (r *Router) table() []Route {
	routes := []Route{
		r.renderRoute(),
		r.jobsRoute(),
		r.jobsPageRoute(),
		r.cancelRoute(),
		r.retryRoute(),
		r.reviewRoute(),
	}
	routes = append(routes, r.jobRoutes()...)
	routes = append(routes, r.sceneRoutes()...)
	routes = append(routes, r.characterRoutes()...)
	routes = append(routes, r.creditsRoutes()...)
	routes = append(routes, r.configRoutes()...)
	routes = append(routes, r.statsRoutes()...)
	return routes
}

// Definitions returns the slash commands, registered by bulk overwrite at start.
func Definitions() []*discordgo.ApplicationCommand {
	return definitions((&Router{}).table())
}

// NewHandler returns the router of the bot's interactions. owners are the user ids of the bot's
// owners (routes with PermOwners); now is the clock of recorded times (nil: time.Now).
func NewHandler(eng Engine, st Store, log *slog.Logger, now func() time.Time, owners []string) *Router {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{eng: eng, st: st, log: log, now: now, owners: map[string]bool{}, deferAfter: DefaultDeferAfter}
	for _, id := range owners {
		r.owners[id] = true
	}
	r.setRoutes(r.table())
	r.chain = chain(handle, r.middleware()...)
	return r
}
