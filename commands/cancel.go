package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// cancelRoute is a render's Cancel button (cancelID): only the job's owner may use it.
func (r *Router) cancelRoute() Route {
	return Route{Kind: RouteComponent, ID: cancelID, Handle: r.cancel}
}

func (r *Router) cancel(ctx context.Context, e *Event) (*Response, error) {
	id := e.Args.String("job")
	if _, refusal, err := r.ownJob(ctx, e, id, "cancel it."); refusal != nil || err != nil {
		return refusal, err
	}
	// Acknowledge first (a deferred update): asking Viggle may take a while.
	if err := e.Defer(ctx); err != nil {
		return nil, fmt.Errorf("acknowledge the cancel of job %s: %w", id, err)
	}
	res, err := r.eng.Cancel(ctx, id, e.User())
	switch {
	case err != nil:
		return nil, tell("Viggle did not answer the cancel request. Please try again in a moment.", fmt.Errorf("cancel job %s: %w", id, err))
	case res == jobs.CancelTooLate:
		return ephemeralText("Too late: this render has already finished."), nil
	case res == jobs.CancelNotCancellable:
		return ephemeralText("Viggle says this render cannot be cancelled any more."), nil
	case res == jobs.CancelAlreadyEnded:
		return ephemeralText("This render has already ended."), nil
	}
	// CancelRequested / CancelPending: the message says "Cancelled" once Viggle confirms.
	return nil, nil
}

// ownJob reads the job a button names and checks that the clicking member started it. Otherwise it
// returns the private answer for them (what names what only the owner may do), or the error of the read.
func (r *Router) ownJob(ctx context.Context, e *Event, id, what string) (*store.Job, *Response, error) {
	j, err := r.eng.Get(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.SetOutcome("no such job")
		return nil, ephemeralText("I can't find that render any more."), nil
	case err != nil:
		return nil, nil, tell("I could not read that render just now. Please try again in a moment.", fmt.Errorf("read job %s of a button: %w", id, err))
	case j.OwnerID != e.User():
		e.SetOutcome("refused")
		return nil, ephemeralText(fmt.Sprintf("Only <@%s>, who started this render, can %s", j.OwnerID, what)), nil
	}
	return j, nil, nil
}
