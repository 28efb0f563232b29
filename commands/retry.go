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
	return r.again(ctx, e, j, j.ID)
}

// again starts a new render with j's parameters (Retry, Re-render; retryOf is the job a Retry retries):
// only in j's own server (a button in a DM, or a job of another server, would escape that server's
// rules and key), under that server's rules and key of today, with the key j was made with (its scene
// and characters belong to that key's Viggle account), and with j's characters checked again as /render
// checks them (held for review, or made elsewhere and unreviewed where approval is on).
func (r *Router) again(ctx context.Context, e *Event, j *store.Job, retryOf string) (*Response, error) {
	if e.GuildID == "" || e.GuildID != j.GuildID {
		e.SetOutcome("refused: other server")
		return ephemeralText("This render belongs to another server (or this is a direct message): render it again in that server, with /job or /render. Nothing was sent to Viggle."), nil
	}
	settings, keyRef, refusal, err := r.gate(ctx, e)
	if refusal != nil || err != nil {
		return refusal, err
	}
	if keyRef != j.KeyRef {
		e.SetOutcome("refused: key changed")
		return ephemeralText("This server's Viggle key changed since this render, and its scene and characters belong to the other key's Viggle account: run /render again. Nothing was sent to Viggle."), nil
	}
	for _, p := range j.Request.Mapping {
		why, err := r.idRefusal(ctx, j.GuildID, settings.Approval, p.Character) // the job holds Viggle ids
		if err != nil {
			return nil, tell("I could not read this server's characters just now. Nothing was sent to Viggle: please try again in a moment.", err)
		}
		if why != "" {
			e.SetOutcome("refused: character")
			return ephemeralText("This render can't be made again: " + why + ". Nothing was sent to Viggle."), nil
		}
	}
	return r.start(ctx, e, j.Request, retryOf, r.estimate(ctx, j.GuildID, keyRef, j.Request), keyRef)
}
