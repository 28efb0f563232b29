package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// CancelResult says what a cancel request did.
type CancelResult int

const (
	// CancelRequested: Viggle accepted the cancel; the job ends cancelled once a status poll confirms it
	// (the Notifier's Cancelled is called then). A job not yet sent ends cancelled without a POST.
	CancelRequested CancelResult = iota
	// CancelPending: the render is being sent right now; it is cancelled as soon as the POST returns.
	CancelPending
	// CancelTooLate: the render already finished; its video is (being) delivered.
	CancelTooLate
	// CancelNotCancellable: Viggle answered that the job cannot be cancelled (404 or 409).
	CancelNotCancellable
	// CancelAlreadyEnded: the job had already failed, been cancelled or been interrupted.
	CancelAlreadyEnded
)

func (r CancelResult) String() string {
	switch r {
	case CancelRequested:
		return "requested"
	case CancelPending:
		return "pending"
	case CancelTooLate:
		return "too late"
	case CancelNotCancellable:
		return "not cancellable"
	case CancelAlreadyEnded:
		return "already ended"
	}
	return fmt.Sprintf("CancelResult(%d)", int(r))
}

// Cancel asks for the job to be cancelled on behalf of userID, who must own it. The cancel is recorded
// in the job row first, so that a job being submitted is cancelled right after its POST returns, and a
// queued job is never sent. For a running job it sends DELETE to Viggle; the job ends cancelled once
// Viggle confirms.
func (e *Engine) Cancel(ctx context.Context, id, userID string) (CancelResult, error) {
	j, err := e.store.Get(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("jobs: cancel %s: %w", id, err)
	}
	if j.OwnerID != userID {
		return 0, ErrNotOwner
	}
	if r, over := cancelTooLate(j.State); over {
		return r, nil
	}
	j, err = e.store.RequestCancel(ctx, id, userID, e.opts.Now())
	if err != nil {
		return 0, fmt.Errorf("jobs: cancel %s: %w", id, err)
	}
	switch j.State {
	case store.StateQueued:
		e.wakeLocal(id)
		return CancelRequested, nil
	case store.StateSubmitting:
		return CancelPending, nil
	case store.StateRunning:
	default:
		r, _ := cancelTooLate(j.State)
		return r, nil
	}
	vg, err := e.viggleFor(ctx, j)
	if err != nil {
		e.wakeLocal(id) // a key gone for good fails the job at its next step
		return 0, fmt.Errorf("jobs: cancel %s: %w", id, err)
	}
	err = vg.CancelRender(ctx, j.ViggleJobID)
	var apiErr *viggle.APIError
	switch {
	case err == nil:
	case errors.As(err, &apiErr) && (apiErr.HTTPStatus == http.StatusNotFound || apiErr.HTTPStatus == http.StatusConflict):
		// Viggle will not cancel it: most likely it has just finished. Look before answering.
		e.wakeLocal(id)
		if r, gerr := vg.GetRender(ctx, j.ViggleJobID); gerr == nil && r.Status == viggle.StatusComplete {
			return CancelTooLate, nil
		}
		return CancelNotCancellable, nil
	default:
		return 0, fmt.Errorf("jobs: cancel %s at viggle (job %s): %w", id, j.ViggleJobID, err)
	}
	j.Logger(e.log).Info("cancel sent", "viggle_job_id", j.ViggleJobID, "by", userID)
	e.wakeLocal(id)
	return CancelRequested, nil
}

func cancelTooLate(s store.State) (CancelResult, bool) {
	switch s {
	case store.StateComplete, store.StateDelivering, store.StateDelivered, store.StateUndeliverable:
		return CancelTooLate, true
	case store.StateFailed, store.StateCancelled, store.StateInterrupted:
		return CancelAlreadyEnded, true
	}
	return 0, false
}

// wakeLocal makes the job's next step due now if this process is working on it.
func (e *Engine) wakeLocal(id string) {
	if s := e.sched.Load(); s != nil {
		s.wake(id)
	}
}
