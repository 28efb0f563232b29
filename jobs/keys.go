package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/viggle-bot/viggle-bot/keyring"
	"github.com/viggle-bot/viggle-bot/store"
)

// Each job, scene and character records the Viggle key it was made with (its KeyRef), and every
// Viggle call for it resolves that key again (Options.ViggleFor, CatalogOptions.ViggleFor): a guild
// that changes or clears its key mid-render does not strand the render, and no call is ever made with
// another key. A key that cannot be resolved for good (keyring.ErrUnavailable: purged, undecryptable,
// no BOT_ENCRYPTION_KEY) ends the job failed with CodeKeyUnavailable; any other resolution error (the
// database) is tried again after the usual backoff.
//
// The choice for each state:
//   - queued: failed with CodeKeyUnavailable, nothing sent (the row never reaches submitting);
//   - submitting (after a crash): interrupted as always, no Viggle call is needed;
//   - running: failed with CodeKeyUnavailable at once, after an error log with the Viggle job id (no
//     poll can succeed without the key, RENDER_TIMEOUT could not cancel it either); the render may
//     still finish at Viggle, which explain says;
//   - complete: the video's link (recorded by the last poll) is delivered without a download.

// CodeKeyUnavailable: the Viggle key the job was created with can no longer be used (error_message:
// one of the KeyFact… values).
const CodeKeyUnavailable = "KEY_UNAVAILABLE"

// Facts recorded in error_message with CodeKeyUnavailable, and FactKeyUnavailable in a scene's or a
// character's Error.
const (
	KeyFactGone          = "key removed"            // the guild key's row was purged
	KeyFactUndecryptable = "key unreadable"         // it does not decrypt (BOT_ENCRYPTION_KEY changed, row altered)
	KeyFactNoEncryption  = "no BOT_ENCRYPTION_KEY"  // guild keys cannot be opened without it
	KeyFactNoKey         = "no key"                 // no shared key to use
	FactKeyUnavailable   = "Viggle key unavailable" // catalog: the key of a followed row cannot be used
)

// keyUnavailable reports whether a key resolution error is for good.
func keyUnavailable(err error) bool { return errors.Is(err, keyring.ErrUnavailable) }

// keyFact is the error_message of CodeKeyUnavailable for err.
func keyFact(err error) string {
	switch {
	case errors.Is(err, keyring.ErrKeyGone):
		return KeyFactGone
	case errors.Is(err, keyring.ErrUndecryptable):
		return KeyFactUndecryptable
	case errors.Is(err, keyring.ErrNoEncryption):
		return KeyFactNoEncryption
	case errors.Is(err, keyring.ErrNoKey):
		return KeyFactNoKey
	}
	return ""
}

// viggleFor returns the client of j's key.
func (e *Engine) viggleFor(ctx context.Context, j *store.Job) (Viggle, error) {
	if e.opts.ViggleFor == nil {
		return e.viggle, nil
	}
	vg, err := e.opts.ViggleFor(ctx, j.KeyRef)
	if err != nil {
		return nil, fmt.Errorf("jobs: the Viggle key of job %s: %w", j.ID, err)
	}
	if vg == nil {
		return nil, fmt.Errorf("jobs: the Viggle key of job %s: no client", j.ID)
	}
	return vg, nil
}

// keyStep handles a failed resolution of j's key in a step: a key unavailable for good ends the job
// failed with CodeKeyUnavailable, anything else is tried again after a backoff.
func (e *Engine) keyStep(ctx context.Context, j *store.Job, err error) (time.Duration, bool, error) {
	if keyUnavailable(err) {
		j.Logger(e.log).Error("the job's Viggle key is unavailable: the job fails", "state", j.State,
			"key_ref", j.KeyRef, "viggle_job_id", j.ViggleJobID, "err", err)
		e.streaks.Delete(j.ID)
		return e.end(ctx, j, store.StateFailed, CodeKeyUnavailable, keyFact(err))
	}
	n := e.streak(j.ID, 1)
	j.Logger(e.log).Warn("could not resolve the job's Viggle key; trying again", "key_ref", j.KeyRef, "attempt", n, "err", err)
	return e.backoff(n), false, nil
}

// viggleFor returns the catalog's client for a row's key.
func (c *Catalog) viggleFor(ctx context.Context, keyRef string) (CatalogViggle, error) {
	if c.o.ViggleFor == nil {
		return c.vg, nil
	}
	vg, err := c.o.ViggleFor(ctx, keyRef)
	if err != nil {
		return nil, fmt.Errorf("the Viggle key %q: %w", keyRef, err)
	}
	if vg == nil {
		return nil, fmt.Errorf("the Viggle key %q: no client", keyRef)
	}
	return vg, nil
}
