// Package jobs is the render engine: a state machine persisted in SQLite that submits each render to
// Viggle once, follows it to the end and hands the result to a Notifier once.
//
// The order of durable steps is the whole point of this package:
//
//		queued → submitting → running → complete → delivering → delivered
//		                    ↘ failed / interrupted   ↘ failed / cancelled   ↘ undeliverable
//
//	  - the row is written in state submitting before the POST, and the Viggle job id right after it;
//	    a job found in submitting after a crash is never resubmitted: it becomes interrupted;
//	  - polls and downloads are safe to repeat, so after a crash they simply start again;
//	  - a delivery is recorded only after the Notifier returned, so a crash repeats it rather than skip it;
//	  - after the delivery (or telling the owner of a failure) is recorded, one more step calls the
//	    Notifier's FollowUp and records it with closed_at, so that a crash repeats the follow-up but never
//	    the delivery (terminal jobs, and jobs whose owner could not be told, close at once);
//	  - one process works on a job at a time (a lease in the row), and each process only resumes jobs of
//	    its own origin (the bot its Discord jobs, `render --resume` its terminal jobs).
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

// Errors returned to callers.
var (
	ErrNotOwner = errors.New("jobs: only the job's owner may do that")
	// ErrWrongOrigin is returned when a process is asked to work on a job of another origin.
	ErrWrongOrigin = errors.New("jobs: the job belongs to another origin")
	// ErrUndeliverable, wrapped in a Notifier's error, says that trying again cannot help (the owner
	// cannot be reached anywhere): the job ends undeliverable at once.
	ErrUndeliverable = errors.New("jobs: the owner cannot be reached")
	// ErrNotStarted is returned by Enqueue and Resume before Start. A job recorded meanwhile is not
	// lost: Start resumes every unfinished job (an acknowledged Discord job included).
	ErrNotStarted = errors.New("engine not started")
	// ErrStopped is returned by Enqueue once Stop was called; the job's lease is left alone, so the next
	// process resumes it.
	ErrStopped = errors.New("engine stopped")
)

// Options configure an Engine. Zero values take the defaults documented on each field.
type Options struct {
	Origin        store.Origin  // required: the jobs this engine creates and resumes
	PollInterval  time.Duration // between status polls of one job; default 3s
	RenderTimeout time.Duration // wall time from submission; default 2h
	LeaseTTL      time.Duration // default 60s; renewed at half-life
	Workers       int           // concurrent job steps in the background scheduler; default 16
	// MaxNotFound is how many 404 answers in a row to a status poll fail the job; default 5.
	MaxNotFound int
	// MaxDownload caps a download when the job has no upload limit; default 2 GiB.
	MaxDownload int64
	// A delivery (or telling the owner of an outcome) is given up only after MaxDeliveryAttempts
	// (default 5) failed attempts AND DeliveryWindow (default 6h) since the render ended, so that a
	// Discord outage of an hour delays results instead of losing them. A Notifier's
	// ErrUndeliverable ends it at once.
	MaxDeliveryAttempts int
	DeliveryWindow      time.Duration
	// SubmitTimeout bounds one POST /api/render. The POST is not abandoned when the caller's context is
	// cancelled (a Ctrl-C or shutdown would otherwise lose a paid render's id); default 2m.
	SubmitTimeout time.Duration
	// DeliverTimeout bounds one delivery (download and Notifier); default 10m.
	DeliverTimeout time.Duration
	WorkDir        string           // where downloads are written; default os.TempDir()
	Now            func() time.Time // the clock used for deadlines and timestamps; default time.Now
	Logger         *slog.Logger
	// RequireAck makes a queued job wait for its acknowledgement (Discord: the interaction was answered)
	// before it is sent: a job still unacknowledged after AckGrace is closed without a POST, because its
	// owner saw "the application did not respond" and will not expect a render.
	RequireAck bool
	AckGrace   time.Duration // default 1 minute
	// Hook, when set, is called at named points of a job's life (see the Point constants). Tests use it
	// to crash a process at an exact step; production leaves it nil.
	Hook func(point string, j *store.Job)
	// ViggleFor returns the client of a job's key reference (store.Job.KeyRef: "" is the shared key),
	// asked again for every step that calls Viggle (submit, poll, cancel, download), so that a job keeps
	// the key it was created with. An error wrapping keyring.ErrUnavailable (the key was purged or
	// cannot be decrypted) fails the job with CodeKeyUnavailable; any other error is retried later.
	// nil: the client given to New, for every key reference.
	ViggleFor func(ctx context.Context, keyRef string) (Viggle, error)
	// Observer, when set, is told what the engine did, for metrics; nil tells nobody.
	Observer Observer
	// OwnsGuild, when set, limits Resume (at Start, and the rescue of expired leases) to the jobs of the
	// guilds it accepts ("" for jobs without a guild): a bot run as several gateway shards on one
	// database resumes each job in the process of its guild's shard. nil: every job of the origin.
	OwnsGuild func(guildID string) bool
}

// Observer is told what the engine did (the bot's metrics). Its methods must be quick and safe for
// concurrent use.
type Observer interface {
	// Delivered is called once a delivery is recorded, with the bytes of the files handed over for
	// it (the video, and the mask of a transparent render): 0 when the result was given as a link.
	Delivered(bytes int64)
}

// Named points passed to Options.Hook.
const (
	PointSubmitting = "submitting" // the submitting row is committed; the POST has not been sent
	PointPosted     = "posted"     // the POST returned; the Viggle job id is not saved yet
	PointPolled     = "polled"     // a status poll was saved
	PointDelivering = "delivering" // the video is downloaded; the Notifier has not been called
	PointDelivered  = "delivered"  // the Notifier returned; the delivery is not recorded yet
	PointFollowUp   = "followup"   // the delivery is recorded; the Notifier's FollowUp is not called yet
)

// orDefault sets *p to def when it is zero or negative (an unset option).
func orDefault[T int | int64 | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}

func (o *Options) defaults() {
	orDefault(&o.PollInterval, 3*time.Second)
	orDefault(&o.RenderTimeout, 2*time.Hour)
	orDefault(&o.LeaseTTL, 60*time.Second)
	orDefault(&o.Workers, 16)
	orDefault(&o.MaxNotFound, 5)
	orDefault(&o.MaxDownload, 2<<30)
	orDefault(&o.MaxDeliveryAttempts, 5)
	orDefault(&o.DeliveryWindow, 6*time.Hour)
	orDefault(&o.SubmitTimeout, 2*time.Minute)
	orDefault(&o.DeliverTimeout, 10*time.Minute)
	orDefault(&o.AckGrace, time.Minute)
	if o.WorkDir == "" {
		o.WorkDir = os.TempDir()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Engine runs render jobs. It is safe for concurrent use.
type Engine struct {
	store    Store
	viggle   Viggle
	notifier Notifier
	opts     Options
	log      *slog.Logger
	owner    string // this process's lease identity

	sched   atomic.Pointer[scheduler]
	once    sync.Once
	streaks sync.Map // job id → consecutive failed polls (any error), for backoff
}

// New returns an engine. Call Start to run background jobs (the bot) or Run to drive one job in the
// caller's goroutine (the terminal).
func New(st Store, vg Viggle, n Notifier, opts Options) (*Engine, error) {
	if !opts.Origin.Valid() {
		return nil, fmt.Errorf("jobs: unknown origin %q", opts.Origin)
	}
	if vg == nil && opts.ViggleFor == nil {
		return nil, errors.New("jobs: no Viggle client and no Options.ViggleFor")
	}
	opts.defaults()
	if err := os.MkdirAll(opts.WorkDir, 0o700); err != nil {
		return nil, fmt.Errorf("jobs: create work dir: %w", err)
	}
	e := &Engine{store: st, viggle: vg, notifier: n, opts: opts, log: opts.Logger, owner: newLeaseOwner()}
	return e, nil
}

// NewJob is what a caller knows about a render it wants.
type NewJob struct {
	ID               string // optional: a NewID chosen in advance (the terminal names its file after it)
	OwnerID          string
	GuildID          string
	ChannelID        string
	InteractionID    string
	InteractionToken string
	TokenExpiresAt   time.Time
	UploadLimit      int64  // bytes; 0 = no limit (the terminal)
	Target           string // terminal: output file
	Request          spec.Request
	RetryOf          string // the job this one retries; a second retry of it is ErrDuplicate
	EstimatedCredits int    // about what the render will cost (0: unknown), shown to its owner
	// KeyRef is the Viggle key the render is made with ("" = the bot's shared key, else a guild key
	// id): every call for the job uses it, even after the guild changed or cleared its key.
	KeyRef string
}

// Create validates the request and writes the job row (state queued). Nothing is sent to Viggle.
func (e *Engine) Create(ctx context.Context, nj NewJob) (*store.Job, error) {
	if err := nj.Request.Validate(); err != nil {
		return nil, err
	}
	if nj.OwnerID == "" {
		return nil, errors.New("jobs: create: no owner")
	}
	if nj.ID == "" {
		nj.ID = NewID()
	}
	now := e.opts.Now()
	j := &store.Job{
		ID:               nj.ID,
		Origin:           e.opts.Origin,
		OwnerID:          nj.OwnerID,
		GuildID:          nj.GuildID,
		ChannelID:        nj.ChannelID,
		InteractionID:    nj.InteractionID,
		InteractionToken: nj.InteractionToken,
		TokenExpiresAt:   nj.TokenExpiresAt,
		UploadLimit:      nj.UploadLimit,
		Target:           nj.Target,
		Request:          nj.Request,
		RetryOf:          nj.RetryOf,
		EstimatedCredits: nj.EstimatedCredits,
		KeyRef:           nj.KeyRef,
		State:            store.StateQueued,
		CreatedAt:        now,
		UpdatedAt:        now,
	}
	if err := e.store.Insert(ctx, j); err != nil {
		return nil, fmt.Errorf("jobs: create: %w", err)
	}
	return j, nil
}

// outOfPatience reports whether delivery attempts for j should stop (see Options.DeliveryWindow).
func (e *Engine) outOfPatience(j *store.Job) bool {
	ended := j.CompletedAt
	if ended.IsZero() { // a row ended before completed_at was set for every outcome
		ended = j.CreatedAt
	}
	return j.Attempts >= e.opts.MaxDeliveryAttempts && e.opts.Now().Sub(ended) >= e.opts.DeliveryWindow
}

// Get returns the job's row.
func (e *Engine) Get(ctx context.Context, id string) (*store.Job, error) {
	j, err := e.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("jobs: get %s: %w", id, err)
	}
	return j, nil
}

// claim takes the job's lease for this process, taking over a lease whose holder is known dead.
func (e *Engine) claim(ctx context.Context, id string) (*store.Job, error) {
	j, err := e.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("jobs: claim %s: %w", id, err)
	}
	if j.Origin != e.opts.Origin {
		return nil, fmt.Errorf("jobs: claim %s: %w", id, ErrWrongOrigin)
	}
	now := e.opts.Now()
	takeover := ""
	if j.LeaseOwner != "" && j.LeaseOwner != e.owner && leaseHolderDead(j.LeaseOwner, e.owner) {
		takeover = j.LeaseOwner
	}
	j, err = e.store.Claim(ctx, id, e.owner, now, now.Add(e.opts.LeaseTTL), takeover)
	if err != nil {
		return nil, fmt.Errorf("jobs: claim %s: %w", id, err)
	}
	return j, nil
}

// release gives the lease back so that another process may resume the job at once.
func (e *Engine) release(j *store.Job) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.store.Release(ctx, j.ID, e.owner); err != nil {
		j.Logger(e.log).Warn("release lease", "err", err)
	}
}

// Run drives one job to its end in the caller's goroutine and returns the job as it ended. When ctx is
// cancelled the job is left resumable (lease released) and ctx's error is returned. A delivery that
// fails (for the terminal: disk or download) returns a *DeliveryError with the job left resumable.
func (e *Engine) Run(ctx context.Context, id string) (*store.Job, error) {
	j, err := e.claim(ctx, id)
	if err != nil {
		return nil, err
	}
	defer e.notifier.Forget(id)
	defer e.release(j)
	defer e.streaks.Delete(id)
	for {
		next, done, err := e.advance(ctx, j)
		if err != nil {
			return j, err
		}
		if done {
			return j, nil
		}
		if next <= 0 {
			continue
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return j, fmt.Errorf("jobs: run %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// Abandon closes a queued job that will never be sent, such as one whose interaction could not be
// acknowledged (Discord answered 10062: the user saw "the application did not respond"). Nothing is
// sent to Viggle and nobody is told. The job records CodeNotAcknowledged with reason (a short fact, or
// "") as its error_message.
func (e *Engine) Abandon(ctx context.Context, id, reason string) error {
	j, err := e.claim(ctx, id)
	if err != nil {
		return err
	}
	defer e.release(j)
	return e.abandon(ctx, j, reason)
}

func (e *Engine) abandon(ctx context.Context, j *store.Job, reason string) error {
	if j.State != store.StateQueued {
		return fmt.Errorf("jobs: abandon %s: state is %s, not queued", j.ID, j.State)
	}
	now := e.opts.Now()
	j.State = store.StateFailed
	j.ErrorCode = CodeNotAcknowledged
	j.ErrorMessage = reason
	j.CompletedAt = now
	j.ClosedAt = now
	j.Delivery = store.Delivery{Note: store.NoteNeverAcknowledged}
	if err := e.save(ctx, j, store.StateQueued); err != nil {
		return err
	}
	j.Logger(e.log).Info("job abandoned before submission", "reason", reason)
	return nil
}

// DeliveryError reports that a finished render could not be handed over (for the terminal: written to
// its file). The job stays resumable.
type DeliveryError struct {
	JobID string
	Err   error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("deliver job %s: %v", e.JobID, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }
