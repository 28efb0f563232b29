package commands

import (
	"context"

	"github.com/viggle-bot/viggle-bot/store"
)

// retryRoute is the Retry button of a failed or interrupted job (retryID): its owner gets a new job with
// the same parameters (which costs credits again, as the button says), in a new message. Like /render
// it acknowledges by itself, with a new public message.
func (r *Router) retryRoute() Route {
	return Route{Kind: RouteComponent, ID: retryID, Handle: r.retry, Defer: DeferMessage, NoAutoDefer: true}
}

func (r *Router) retry(ctx context.Context, e *Event) (*Response, error) {
	j, refusal, err := r.ownJob(ctx, e, e.Args.String("job"), "retry it. You can start your own with /render.")
	if refusal != nil || err != nil {
		return refusal, err
	}
	if j.State != store.StateFailed && j.State != store.StateInterrupted {
		return ephemeralText("Only failed or interrupted renders can be retried."), nil
	}
	// The server's rules of today apply to the new render, and its key of today.
	_, keyRef, refusal, err := r.gate(ctx, e)
	if refusal != nil || err != nil {
		return refusal, err
	}
	return r.start(ctx, e, j.Request, j.ID, r.estimate(ctx, j.GuildID, keyRef, j.Request), keyRef)
}
