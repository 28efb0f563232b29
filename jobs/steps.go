package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/viggle-bot/viggle-bot/backoff"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// Error codes the engine itself sets in a job's error_code (Viggle's own codes look like CS-…). They say
// what happened; package explain says it in words. error_message then holds a short fact, or nothing.
const (
	// CodeTimeout: RENDER_TIMEOUT passed and the render was cancelled at Viggle. error_message: the
	// timeout (a time.Duration string).
	CodeTimeout = "RENDER_TIMEOUT"
	// CodeTimeoutUnconfirmed: RENDER_TIMEOUT passed; the cancel sent to Viggle was not confirmed, so the
	// render may still finish. error_message: the timeout.
	CodeTimeoutUnconfirmed = "RENDER_TIMEOUT_UNCONFIRMED"
	CodeNotSent            = "NOT_SENT"      // Viggle could not be reached; nothing was sent
	CodeNotFound           = "JOB_NOT_FOUND" // Viggle answered 404 to several status polls in a row (error_message: NotFoundFact)
	// CodeNotAcknowledged: the request was never acknowledged (Discord refused the late answer); the
	// job was closed without a POST.
	CodeNotAcknowledged = "NOT_ACKNOWLEDGED"
	// CodeSubmitCrashed: found in submitting after a crash: the POST may have reached Viggle; never resent.
	CodeSubmitCrashed = "SUBMIT_CRASHED"
	// CodeOutcomeUnknown: the POST was sent but no usable answer came back (a 5xx, an undecodable 4xx, a
	// timeout or a broken connection, a 2xx without a job id): the render may exist at Viggle; never
	// resent. error_message: the HTTP status ("HTTP 502") when there was one.
	CodeOutcomeUnknown      = "OUTCOME_UNKNOWN"
	CodeCancelledBeforeSend = "CANCELLED_BEFORE_SEND" // cancelled while queued: nothing was sent
	CodeCancelled           = "CANCELLED"             // cancelled at Viggle, as its owner asked
	CodeCancelledAtViggle   = "CANCELLED_AT_VIGGLE"   // Viggle reported it cancelled, not asked by us
	CodeUndeliverable       = "UNDELIVERABLE"         // rendered, but the video could not be delivered
)

// NotFoundFact is the error_message of CodeNotFound, a fmt format of the count of 404 answers.
const NotFoundFact = "HTTP 404 %d times"

// advance performs the next step of j and says when to call again. done means the job needs no more
// work from anybody. j is updated in place and always equals its committed row.
func (e *Engine) advance(ctx context.Context, j *store.Job) (next time.Duration, done bool, err error) {
	fresh, err := e.ensureLease(ctx, j, e.leaseFor(j.State))
	if err != nil {
		return 0, false, err
	}
	switch j.State {
	case store.StateQueued:
		return e.submit(ctx, j, fresh)
	case store.StateSubmitting:
		// Only a crashed process leaves a row here: the POST may or may not have reached Viggle.
		return e.end(ctx, j, store.StateInterrupted, CodeSubmitCrashed, "")
	case store.StateRunning:
		return e.poll(ctx, j)
	case store.StateComplete, store.StateDelivering:
		return e.deliver(ctx, j)
	case store.StateFailed, store.StateCancelled, store.StateInterrupted, store.StateDelivered, store.StateUndeliverable:
		switch {
		case !j.ClosedAt.IsZero():
			return 0, true, nil
		case j.State == store.StateUndeliverable:
			return e.close(ctx, j)
		case j.DeliveredAt.IsZero() && j.State != store.StateDelivered:
			return e.tell(ctx, j)
		}
		return e.followUp(ctx, j)
	}
	return 0, false, fmt.Errorf("jobs: job %s: unknown state %q", j.ID, j.State)
}

// save commits j, whose committed state was from.
func (e *Engine) save(ctx context.Context, j *store.Job, from store.State) error {
	if err := e.store.Update(ctx, j, from); err != nil {
		return fmt.Errorf("jobs: save job %s (%s→%s): %w", j.ID, from, j.State, err)
	}
	return nil
}

// leaseFor is how much lease the next step of a job in state needs: long steps (the POST, a delivery)
// ask for their whole timeout, so that no other process can take the job over while they run.
func (e *Engine) leaseFor(state store.State) time.Duration {
	switch state {
	case store.StateQueued:
		return e.opts.SubmitTimeout + time.Minute // the POST is not abandoned once sent
	case store.StateComplete, store.StateDelivering:
		return e.opts.DeliverTimeout + time.Minute
	}
	return e.opts.LeaseTTL / 2
}

// ensureLease makes sure the job's lease is ours for at least d more, extending it (to at least
// LeaseTTL) when it is not. fresh says that it did, and that j was reloaded with it: the fresh row
// also brings in what other parties wrote (a cancel request, the acknowledgement).
func (e *Engine) ensureLease(ctx context.Context, j *store.Job, d time.Duration) (fresh bool, err error) {
	now := e.opts.Now()
	if j.LeaseOwner == e.owner && j.LeaseExpiresAt.Sub(now) >= d {
		return false, nil
	}
	row, err := e.store.Claim(ctx, j.ID, e.owner, now, now.Add(max(d, e.opts.LeaseTTL)), "")
	if err != nil {
		return false, fmt.Errorf("jobs: renew lease of %s: %w", j.ID, err)
	}
	*j = *row
	return true, nil
}

func (e *Engine) hook(point string, j *store.Job) {
	if e.opts.Hook != nil {
		e.opts.Hook(point, j)
	}
}

func (e *Engine) progress(ctx context.Context, j *store.Job) {
	if err := e.notifier.Progress(ctx, *j); err != nil {
		j.Logger(e.log).Debug("progress notification failed", "err", err)
	}
}

// durable returns a context for steps that must finish even when ctx is cancelled (the POST and the
// commit of its answer): cancelling them would lose a paid render's id.
func durable(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

func renderRequest(r spec.Request) viggle.RenderRequest {
	return viggle.RenderRequest{
		SceneID:          r.SceneID,
		CharacterMapping: r.MappingJSON(),
		BackgroundMode:   r.Background,
		BGColor:          r.BGColor,
		Fast:             r.Fast,
		Model:            r.Model,
	}
}

// submit sends the render to Viggle, exactly once: the row says submitting before the POST, and the
// Viggle job id is committed right after it. fresh says that j was just reloaded (see ensureLease).
func (e *Engine) submit(ctx context.Context, j *store.Job, fresh bool) (time.Duration, bool, error) {
	if e.opts.RequireAck && j.AcknowledgedAt.IsZero() {
		if !fresh { // the acknowledgement may have been recorded since j was read
			row, err := e.store.Get(ctx, j.ID)
			if err != nil {
				return 0, false, fmt.Errorf("jobs: reload %s: %w", j.ID, err)
			}
			j.AcknowledgedAt, j.CancelRequestedAt, j.CancelRequestedBy = row.AcknowledgedAt, row.CancelRequestedAt, row.CancelRequestedBy
		}
		if j.AcknowledgedAt.IsZero() {
			if age := e.opts.Now().Sub(j.CreatedAt); age < e.opts.AckGrace {
				return e.opts.AckGrace - age, false, nil
			}
			if err := e.abandon(ctx, j, ""); err != nil {
				return 0, false, err
			}
			return 0, true, nil
		}
	}
	if !j.CancelRequestedAt.IsZero() {
		return e.end(ctx, j, store.StateCancelled, CodeCancelledBeforeSend, "")
	}
	if err := ctx.Err(); err != nil { // stopping: the job stays queued and nothing is sent
		return 0, false, err
	}
	vg, err := e.viggleFor(ctx, j) // resolved before submitting: a key that fails sends nothing
	if err != nil {
		return e.keyStep(ctx, j, err)
	}
	e.streaks.Delete(j.ID)
	j.State = store.StateSubmitting
	if err := e.save(ctx, j, store.StateQueued); err != nil {
		return 0, false, err
	}
	if !j.CancelRequestedAt.IsZero() { // asked while we were committing (Update returns the cancel fields)
		return e.end(ctx, j, store.StateCancelled, CodeCancelledBeforeSend, "")
	}
	e.hook(PointSubmitting, j)
	e.progress(ctx, j)

	pctx, cancel := durable(ctx, e.opts.SubmitTimeout)
	defer cancel()
	sub, err := vg.CreateRender(pctx, renderRequest(j.Request))
	e.hook(PointPosted, j)
	if err != nil {
		// Refused (nothing was created at Viggle) only on Viggle's own 4xx answer: anything else that may
		// have reached Viggle is an unknown outcome, never sent again.
		var apiErr *viggle.APIError
		switch {
		case errors.Is(err, viggle.ErrNotSent):
			j.Logger(e.log).Warn("render not sent", "err", err)
			return e.endDurable(ctx, j, store.StateFailed, CodeNotSent, "")
		case !errors.Is(err, viggle.ErrOutcomeUnknown) && errors.As(err, &apiErr) && apiErr.Decoded &&
			apiErr.HTTPStatus >= 400 && apiErr.HTTPStatus <= 499:
			msg := apiErr.Message
			if msg == "" {
				msg = httpFact(apiErr.HTTPStatus)
			}
			j.Logger(e.log).Info("viggle refused the render", "http_status", apiErr.HTTPStatus, "code", apiErr.Code)
			return e.endDurable(ctx, j, store.StateFailed, apiErr.Code, msg)
		default:
			fact := ""
			if errors.As(err, &apiErr) {
				fact = httpFact(apiErr.HTTPStatus)
			}
			j.Logger(e.log).Error("render outcome unknown", "err", err)
			return e.endDurable(ctx, j, store.StateInterrupted, CodeOutcomeUnknown, fact)
		}
	}
	now := e.opts.Now()
	j.State = store.StateRunning
	j.ViggleJobID = sub.JobID
	j.ViggleStatus = sub.Status
	if j.ViggleStatus == "" {
		j.ViggleStatus = string(viggle.StatusQueued)
	}
	j.SubmittedAt = now
	sctx, cancelSave := durable(ctx, 2*time.Minute)
	defer cancelSave()
	if err := e.saveHard(sctx, j, store.StateSubmitting); err != nil {
		// The render is running at Viggle but we could not record it: say so loudly, with its id.
		j.Logger(e.log).Error("viggle accepted the render but its id could not be saved", "viggle_job_id", sub.JobID, "err", err)
		return 0, false, err
	}
	j.Logger(e.log).Info("render submitted", "viggle_job_id", j.ViggleJobID)
	e.progress(ctx, j)

	// A cancel that arrived while the POST was in flight is carried out now. Update returned the cancel
	// fields as they were at the submitting→running commit: a cancel requested after it saw the job
	// running and sent the DELETE itself, so exactly one party sends it.
	if !j.CancelRequestedAt.IsZero() {
		if err := vg.CancelRender(sctx, j.ViggleJobID); err != nil {
			j.Logger(e.log).Warn("cancel after submit failed", "viggle_job_id", j.ViggleJobID, "err", err)
		}
		return 0, false, nil // poll at once to confirm
	}
	return e.opts.PollInterval, false, nil
}

// saveHard commits j like save, trying again for as long as ctx allows: for the one write that must
// not be lost (a paid render's Viggle id). A conflict (another process has the job) is not retried.
func (e *Engine) saveHard(ctx context.Context, j *store.Job, from store.State) error {
	var last error
	err := saveHardPolicy.Do(ctx, func(ctx context.Context, attempt int) error {
		err := e.save(ctx, j, from)
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrBadTransition) {
			return err
		}
		last = err
		j.Logger(e.log).Warn("commit failed; trying again", "attempt", attempt, "err", err)
		return backoff.Retryable(err)
	})
	if err != nil && ctx.Err() != nil && last != nil {
		return last // the commit's own error, as the caller logs it
	}
	return err
}

// saveHardPolicy spaces the attempts to commit a paid render's id: from 200ms, at most 5s apart, for as
// long as the caller's context allows.
var saveHardPolicy = backoff.Policy{Base: 200 * time.Millisecond, Cap: 5 * time.Second, Jitter: backoff.Equal}

// httpFact is the error_message recorded for an HTTP answer that carried no message of its own.
func httpFact(status int) string { return fmt.Sprintf("HTTP %d", status) }

// end moves j to a final outcome that the owner must be told about, then tells them.
func (e *Engine) end(ctx context.Context, j *store.Job, to store.State, code, msg string) (time.Duration, bool, error) {
	from := j.State
	j.State = to
	j.ErrorCode = code
	j.ErrorMessage = msg
	if j.CompletedAt.IsZero() { // when the outcome was reached: the delivery window counts from it
		j.CompletedAt = e.opts.Now()
	}
	if err := e.save(ctx, j, from); err != nil {
		return 0, false, err
	}
	j.Logger(e.log).Info("job ended", "state", to, "code", code)
	return e.tell(ctx, j)
}

// endDurable is end for outcomes of the POST, which must be committed even during shutdown.
func (e *Engine) endDurable(ctx context.Context, j *store.Job, to store.State, code, msg string) (time.Duration, bool, error) {
	dctx, cancel := durable(ctx, 30*time.Second)
	defer cancel()
	next, done, err := e.end(dctx, j, to, code, msg)
	if err == nil && ctx.Err() != nil && !done {
		return 0, false, ctx.Err()
	}
	return next, done, err
}

// tell informs the owner of a failed, cancelled or interrupted job and records where (see recordDelivery).
func (e *Engine) tell(ctx context.Context, j *store.Job) (time.Duration, bool, error) {
	var (
		d   store.Delivery
		err error
	)
	switch j.State {
	case store.StateFailed:
		d, err = e.notifier.Failed(ctx, *j)
	case store.StateCancelled:
		d, err = e.notifier.Cancelled(ctx, *j)
	case store.StateInterrupted:
		d, err = e.notifier.Interrupted(ctx, *j)
	}
	from := j.State
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		j.Attempts++
		if !e.outOfPatience(j) && !errors.Is(err, ErrUndeliverable) {
			if serr := e.save(ctx, j, from); serr != nil {
				return 0, false, serr
			}
			return e.backoff(j.Attempts), false, &DeliveryError{JobID: j.ID, Err: err}
		}
		j.Logger(e.log).Error("could not tell the owner; giving up", "state", j.State, "err", err)
		d = store.Delivery{Note: store.NoteOwnerNotTold}
	}
	return e.recordDelivery(ctx, j, from, d)
}

// recordDelivery records how the owner was shown the result (or told the outcome) and, when a
// follow-up is due, leaves the job open for the follow-up step; otherwise it closes the job.
func (e *Engine) recordDelivery(ctx context.Context, j *store.Job, from store.State, d store.Delivery) (time.Duration, bool, error) {
	e.streaks.Delete(j.ID) // failed polls before the end must not count against the follow-up
	now := e.opts.Now()
	j.Delivery = d
	if d.Where != store.WhereNone || j.State == store.StateDelivered {
		j.DeliveredAt = now // for an outcome: when its owner was told
	}
	last := !e.wantsFollowUp(j)
	if last {
		j.ClosedAt = now
	}
	// Recorded even while shutting down: the owner has been shown it.
	dctx, cancel := durable(ctx, 30*time.Second)
	defer cancel()
	if err := e.save(dctx, j, from); err != nil {
		return 0, false, err
	}
	return 0, last, nil
}

// wantsFollowUp reports whether the job's recorded delivery is followed by the FollowUp step: only
// when something was shown to the owner, and never for the terminal (its user is watching).
func (e *Engine) wantsFollowUp(j *store.Job) bool {
	return j.Origin != store.OriginTerminal && j.Delivery.Where != store.WhereNone
}

// close closes a job that needs nothing more.
func (e *Engine) close(ctx context.Context, j *store.Job) (time.Duration, bool, error) {
	j.ClosedAt = e.opts.Now()
	if err := e.save(ctx, j, j.State); err != nil {
		return 0, false, err
	}
	return 0, true, nil
}

// followUp calls the Notifier's FollowUp once the delivery is recorded, then records it (when the
// Notifier sent one) and closes the job in one write. It is best effort: after MaxDeliveryAttempts
// failures the job is closed anyway.
func (e *Engine) followUp(ctx context.Context, j *store.Job) (time.Duration, bool, error) {
	if !e.wantsFollowUp(j) {
		return e.close(ctx, j)
	}
	e.hook(PointFollowUp, j)
	// The call ends well within the lease this step holds (at least LeaseTTL/2), so that no other
	// process can take the job over and send the follow-up a second time while it runs.
	fctx, cancel := context.WithTimeout(ctx, e.opts.LeaseTTL/3)
	sent, err := e.notifier.FollowUp(fctx, *j)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		n := e.streak(j.ID, 1)
		if n < e.opts.MaxDeliveryAttempts {
			j.Logger(e.log).Warn("follow-up failed; trying again", "attempt", n, "err", err)
			return e.backoff(n), false, nil
		}
		j.Logger(e.log).Error("follow-up failed; closing the job without it", "attempts", n, "err", err)
		e.streaks.Delete(j.ID)
		return e.close(ctx, j)
	}
	e.streaks.Delete(j.ID)
	now := e.opts.Now()
	if sent {
		j.FollowedUpAt = now
	}
	j.ClosedAt = now
	dctx, cancel := durable(ctx, 30*time.Second)
	defer cancel()
	if err := e.save(dctx, j, j.State); err != nil {
		return 0, false, err
	}
	return 0, true, nil
}

// poll asks Viggle for the job's status once and acts on the answer.
func (e *Engine) poll(ctx context.Context, j *store.Job) (time.Duration, bool, error) {
	vg, err := e.viggleFor(ctx, j)
	if err != nil {
		return e.keyStep(ctx, j, err)
	}
	overdue := e.opts.Now().Sub(j.SubmittedAt) > e.opts.RenderTimeout
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	r, err := vg.GetRender(pctx, j.ViggleJobID)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		streak := e.streak(j.ID, 1)
		var apiErr *viggle.APIError
		if errors.As(err, &apiErr) && apiErr.HTTPStatus == http.StatusNotFound {
			j.PollFailures++
			if j.PollFailures >= e.opts.MaxNotFound {
				e.streaks.Delete(j.ID)
				return e.end(ctx, j, store.StateFailed, CodeNotFound, fmt.Sprintf(NotFoundFact, j.PollFailures))
			}
			if err := e.save(ctx, j, j.State); err != nil {
				return 0, false, err
			}
		}
		j.Logger(e.log).Warn("status poll failed", "viggle_job_id", j.ViggleJobID, "failures", streak, "err", err)
		if overdue {
			return e.timeout(ctx, j, vg)
		}
		return e.backoff(streak), false, nil
	}
	e.streaks.Delete(j.ID)
	reset := j.PollFailures > 0 // saved with whatever this poll changes, or alone
	j.PollFailures = 0
	if r.Status.Terminal() {
		return e.finished(ctx, j, r)
	}
	if overdue {
		return e.timeout(ctx, j, vg)
	}
	pct := int(r.Percent())
	changed := pct != j.Progress || string(r.Status) != j.ViggleStatus || r.Checkpoint != j.Stage
	if changed && !r.Status.Known() {
		j.Logger(e.log).Info("unknown viggle status, treated as in progress", "status", r.Status)
	}
	j.Progress, j.ViggleStatus, j.Stage = pct, string(r.Status), r.Checkpoint
	if changed || reset {
		if err := e.save(ctx, j, j.State); err != nil {
			return 0, false, err
		}
	}
	if changed {
		e.hook(PointPolled, j)
		e.progress(ctx, j)
	}
	return e.opts.PollInterval, false, nil
}

// streak adds n to the job's count of failed polls in a row and returns it.
func (e *Engine) streak(id string, n int) int {
	v, _ := e.streaks.LoadOrStore(id, new(atomic.Int64))
	return int(v.(*atomic.Int64).Add(int64(n)))
}

// finished acts on a terminal status: complete (on to delivery), failed or cancelled.
func (e *Engine) finished(ctx context.Context, j *store.Job, r *viggle.Render) (time.Duration, bool, error) {
	j.ViggleStatus = string(r.Status)
	switch r.Status {
	case viggle.StatusComplete:
		j.State = store.StateComplete
		j.Progress = 100
		j.Stage = r.Checkpoint
		j.VideoURL = r.CDNURL
		if j.VideoURL == "" {
			j.VideoURL = r.DownloadURL
		}
		j.MaskURL = r.MaskCDNURL
		j.CompletedAt = e.opts.Now()
		if err := e.save(ctx, j, store.StateRunning); err != nil {
			return 0, false, err
		}
		j.Logger(e.log).Info("render complete", "viggle_job_id", j.ViggleJobID)
		e.progress(ctx, j)
		return 0, false, nil
	case viggle.StatusFailed:
		msg := r.ErrorMessage
		if msg == "" {
			msg = r.Error
		}
		return e.end(ctx, j, store.StateFailed, r.ErrorCode, msg)
	default: // cancelled
		code := CodeCancelledAtViggle
		if !j.CancelRequestedAt.IsZero() {
			code = CodeCancelled
		}
		return e.end(ctx, j, store.StateCancelled, code, "")
	}
}

// timeout cancels an overdue job at Viggle (so its credits are refunded) and fails it. When the cancel
// is refused because the render has just ended, the ending wins: a complete render is delivered.
func (e *Engine) timeout(ctx context.Context, j *store.Job, vg Viggle) (time.Duration, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	code := CodeTimeout
	if err := vg.CancelRender(cctx, j.ViggleJobID); err != nil {
		j.Logger(e.log).Warn("cancel of an overdue render failed", "viggle_job_id", j.ViggleJobID, "err", err)
		if r, gerr := vg.GetRender(cctx, j.ViggleJobID); gerr == nil && r.Status.Terminal() {
			return e.finished(ctx, j, r)
		}
		code = CodeTimeoutUnconfirmed
	}
	return e.end(ctx, j, store.StateFailed, code, e.opts.RenderTimeout.String())
}

// backoff returns the wait after the n-th failure in a row: the poll interval doubled each time, capped
// at a minute, plus up to a quarter more of jitter so that many jobs do not retry in step (never less
// than the poll interval: at most one status request per interval).
func (e *Engine) backoff(n int) time.Duration {
	return e.stepPolicy().Delay(n)
}

// stepPolicy is the engine's backoff between the steps of one job (polls, deliveries, downloads).
func (e *Engine) stepPolicy() backoff.Policy {
	return backoff.Policy{Base: e.opts.PollInterval, Cap: max(time.Minute, e.opts.PollInterval), Jitter: backoff.Extra}
}

// deliver downloads the finished video and hands it to the Notifier; the delivery is recorded after.
func (e *Engine) deliver(ctx context.Context, j *store.Job) (time.Duration, bool, error) {
	// The key is resolved before the attempt counts: a passing failure is tried again; a key gone for
	// good leaves the link (recorded by the last poll) to deliver, without a download.
	vg, kerr := e.viggleFor(ctx, j)
	if kerr != nil && !keyUnavailable(kerr) {
		n := e.streak(j.ID, 1)
		j.Logger(e.log).Warn("could not resolve the job's Viggle key; trying again", "key_ref", j.KeyRef, "attempt", n, "err", kerr)
		return e.backoff(n), false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.DeliverTimeout)
	defer cancel()
	from := j.State
	j.State = store.StateDelivering
	j.Attempts++
	if err := e.save(ctx, j, from); err != nil {
		return 0, false, err
	}
	var (
		v       Video
		cleanup = func() {}
	)
	if kerr != nil {
		j.Logger(e.log).Error("the job's Viggle key is unavailable: delivering the link without a download",
			"key_ref", j.KeyRef, "viggle_job_id", j.ViggleJobID, "err", kerr)
		v = Video{URL: j.VideoURL, Size: -1, MaskURL: j.MaskURL, MaskSize: -1, DownloadErr: kerr}
	} else {
		v, cleanup = e.download(ctx, j, vg)
	}
	defer cleanup()
	if ctx.Err() != nil {
		return 0, false, ctx.Err()
	}
	if v.Size >= 0 {
		j.VideoSize = v.Size
	}
	if v.MaskSize >= 0 {
		j.MaskSize = v.MaskSize
	}
	e.hook(PointDelivering, j)
	record, err := e.notifier.Done(ctx, *j, v)
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		j.Logger(e.log).Warn("delivery failed", "attempt", j.Attempts, "err", err)
		if errors.Is(err, ErrUndeliverable) {
			if gerr := e.giveUp(ctx, j, err); gerr != nil {
				return 0, false, gerr
			}
			return 0, true, nil
		}
		return e.backoff(j.Attempts), false, &DeliveryError{JobID: j.ID, Err: err}
	}
	e.hook(PointDelivered, j)
	j.State = store.StateDelivered
	next, done, err := e.recordDelivery(ctx, j, store.StateDelivering, record)
	if err != nil {
		return 0, false, err
	}
	j.Logger(e.log).Info("delivered", "how", record.String())
	if e.opts.Observer != nil {
		e.opts.Observer.Delivered(deliveredBytes(v, record))
	}
	return next, done, nil
}

// deliveredBytes are the bytes of the files a recorded delivery handed over: none for a link.
func deliveredBytes(v Video, record store.Delivery) int64 {
	var n int64
	if record.Link {
		return 0
	}
	if v.File != "" && v.Size > 0 {
		n += v.Size
	}
	if v.MaskFile != "" && v.MaskSize > 0 {
		n += v.MaskSize
	}
	return n
}

// giveUp ends a job whose delivery kept failing.
func (e *Engine) giveUp(ctx context.Context, j *store.Job, cause error) error {
	from := j.State
	if from != store.StateDelivering {
		return nil
	}
	j.State = store.StateUndeliverable
	j.ErrorCode = CodeUndeliverable
	j.ErrorMessage = ""
	j.ClosedAt = e.opts.Now()
	j.Logger(e.log).Error("giving up delivery", "attempts", j.Attempts, "err", cause)
	return e.save(ctx, j, from)
}

// download fetches the video (and the mask of a transparent render) into temporary files. A file over
// the job's upload limit is not kept: the Notifier gets the link instead.
func (e *Engine) download(ctx context.Context, j *store.Job, vg Viggle) (Video, func()) {
	var files []string
	cleanup := func() {
		for _, f := range files {
			os.Remove(f)
		}
	}
	limit := j.UploadLimit
	if limit <= 0 {
		limit = e.opts.MaxDownload
	}
	v := Video{URL: j.VideoURL, Size: -1, MaskURL: j.MaskURL, MaskSize: -1}
	v.File, v.Size, v.DownloadErr = e.fetch(ctx, j, vg, viggle.AssetVideo, limit)
	if v.File != "" {
		files = append(files, v.File)
	}
	if j.Request.Background == spec.BackgroundTransparent && v.DownloadErr == nil {
		v.MaskFile, v.MaskSize, v.DownloadErr = e.fetch(ctx, j, vg, viggle.AssetMask, limit)
		if v.MaskFile != "" {
			files = append(files, v.MaskFile)
		}
	}
	return v, cleanup
}

// fetch downloads one asset to a new temporary file, trying a few times. It returns no file and the
// size (-1 if unknown) when the asset is over limit.
func (e *Engine) fetch(ctx context.Context, j *store.Job, vg Viggle, asset viggle.Asset, limit int64) (string, int64, error) {
	f, err := os.CreateTemp(e.opts.WorkDir, j.ID+"-*.mp4")
	if err != nil {
		return "", -1, fmt.Errorf("create download file: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// The client retries each request itself; what it cannot retry is a download that broke after
	// bytes were written. Only that is tried again here, from the start of the file.
	var (
		name    string
		size    int64 = -1
		lastErr error
	)
	p := e.stepPolicy()
	p.Attempts = 3
	err = p.Do(ctx, func(ctx context.Context, attempt int) error {
		if attempt > 1 {
			if _, err := f.Seek(0, 0); err != nil {
				return fmt.Errorf("rewind download file: %w", err)
			}
			if err := f.Truncate(0); err != nil {
				return fmt.Errorf("truncate download file: %w", err)
			}
		}
		// Start from the link the last poll recorded: no status request unless it has expired.
		link := j.VideoURL
		if asset == viggle.AssetMask {
			link = j.MaskURL
		}
		n, err := vg.DownloadFrom(ctx, j.ViggleJobID, asset, link, f, limit)
		var tooLarge *viggle.TooLargeError
		switch {
		case err == nil:
			// Not synced: it is a scratch copy, fetched again after a crash.
			if err := f.Close(); err != nil {
				return fmt.Errorf("close download file: %w", err)
			}
			keep = true
			name, size = f.Name(), n
			return nil
		case errors.As(err, &tooLarge):
			size = tooLarge.Size
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		lastErr = err
		j.Logger(e.log).Warn("download failed", "attempt", attempt, "bytes", n, "err", err)
		if n == 0 {
			return err
		}
		return backoff.Retryable(err)
	})
	switch {
	case err == nil:
		return name, size, nil
	case ctx.Err() != nil:
		return "", -1, ctx.Err()
	case lastErr == nil: // the file itself failed
		return "", -1, err
	}
	return "", -1, fmt.Errorf("download: %w", lastErr)
}
