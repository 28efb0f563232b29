package store

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/viggle-bot/viggle-bot/spec"
)

// Origin says where a job came from.
type Origin string

// Job origins.
const (
	OriginTerminal Origin = "terminal"
	OriginDiscord  Origin = "discord"
)

// Valid reports whether o is a known origin.
func (o Origin) Valid() bool {
	return o == OriginTerminal || o == OriginDiscord
}

// State is the durable state of a render job.
type State string

// Job states. A job moves forward only, along the edges allowed by CanTransition.
const (
	StateQueued        State = "queued"        // row written, nothing sent to Viggle
	StateSubmitting    State = "submitting"    // the POST may be in flight
	StateRunning       State = "running"       // Viggle accepted it (viggle_job_id known)
	StateComplete      State = "complete"      // Viggle finished; video URLs recorded
	StateDelivering    State = "delivering"    // delivery in progress (repeatable)
	StateDelivered     State = "delivered"     // the video reached its target
	StateFailed        State = "failed"        // Viggle or we failed; error_code/error_message say why
	StateCancelled     State = "cancelled"     // cancelled on request
	StateInterrupted   State = "interrupted"   // found in submitting after a crash, or outcome unknown; never resubmitted
	StateUndeliverable State = "undeliverable" // rendered, but the video could not be delivered
)

// Final reports whether s is a final state: nothing leaves it.
func (s State) Final() bool {
	switch s {
	case StateDelivered, StateFailed, StateCancelled, StateInterrupted, StateUndeliverable:
		return true
	}
	return false
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case StateQueued, StateSubmitting, StateRunning, StateComplete, StateDelivering,
		StateDelivered, StateFailed, StateCancelled, StateInterrupted, StateUndeliverable:
		return true
	}
	return false
}

// transitions lists the allowed moves between different states.
var transitions = map[State][]State{
	StateQueued:     {StateSubmitting, StateCancelled, StateFailed},
	StateSubmitting: {StateRunning, StateFailed, StateInterrupted, StateCancelled},
	StateRunning:    {StateComplete, StateFailed, StateCancelled},
	StateComplete:   {StateDelivering, StateFailed},
	StateDelivering: {StateDelivered, StateUndeliverable, StateFailed},
}

// CanTransition reports whether a job may move from one state to another. Any valid state may
// "move" to itself (an update that changes other columns); nothing leaves a final state.
func CanTransition(from, to State) bool {
	if !from.Valid() || !to.Valid() {
		return false
	}
	if from == to {
		return true
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Job is one render job as stored in the jobs table. Zero times mean "not set" (NULL in the
// database). Times are stored with millisecond precision and read back in UTC.
//
// InteractionToken is a credential: String, GoString and LogValue leave it out, and it is not
// marshalled to JSON.
type Job struct {
	ID               string
	Origin           Origin
	OwnerID          string
	GuildID          string // "" for terminal jobs
	ChannelID        string
	InteractionID    string // "" for terminal jobs; unique otherwise
	InteractionToken string `json:"-"` // a credential: never printed or logged
	TokenExpiresAt   time.Time
	UploadLimit      int64  // bytes the target accepts; 0 when unknown
	Target           string // terminal jobs: output file path
	Request          spec.Request

	ViggleJobID         string // "" until Viggle accepted the job; unique otherwise
	State               State
	ViggleStatus        string
	Progress            int
	Stage               string
	VideoURL, MaskURL   string
	VideoSize, MaskSize int64
	ErrorCode           string
	ErrorMessage        string

	CreatedAt, AcknowledgedAt, SubmittedAt, CompletedAt, DeliveredAt, ClosedAt, UpdatedAt time.Time

	Delivery          Delivery  // how the result (or the outcome) reached the owner
	FollowedUpAt      time.Time // when the follow-up step after the delivery was done (zero: not yet)
	Attempts          int
	PollFailures      int
	CancelRequestedAt time.Time
	CancelRequestedBy string
	LeaseOwner        string
	LeaseExpiresAt    time.Time
	RetryOf           string // the failed or interrupted job this one retries (at most one per job)
	// EstimatedCredits is about what the render was expected to cost when it was asked for (0: unknown).
	EstimatedCredits int
	// KeyRef is the Viggle key the job was created with ("": the bot's shared key, else a GuildKey's
	// id): every Viggle call for the job uses it, even after the guild changed or cleared its key.
	KeyRef string
}

// LogValue implements slog.LogValuer: a group with the job's id, guild, user (its owner), origin,
// state, Viggle job id and scene. It never includes the interaction token.
func (j Job) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", j.ID),
		slog.String("guild", j.GuildID),
		slog.String("user", j.OwnerID),
		slog.String("origin", string(j.Origin)),
		slog.String("state", string(j.State)),
		slog.String("viggle_job_id", j.ViggleJobID),
		slog.String("scene", j.Request.SceneID),
	)
}

// Logger returns log with the attributes every log line about a job carries, at its top level:
// "job" (the id), "guild" ("" for a terminal job) and "user" (its owner).
func (j *Job) Logger(log *slog.Logger) *slog.Logger {
	return log.With(JobAttrs(j.ID, j.GuildID, j.OwnerID)...)
}

// JobAttrs are the attributes of a log line about the job id of that guild and user (Job.Logger),
// for a caller that has them without the row.
func JobAttrs(id, guild, user string) []any {
	return []any{slog.String("job", id), slog.String("guild", guild), slog.String("user", user)}
}

// String describes the job without any credential. It is also what %v and %+v print.
func (j Job) String() string {
	return fmt.Sprintf("job{id=%s origin=%s state=%s viggle_job_id=%s scene=%s}",
		j.ID, j.Origin, j.State, j.ViggleJobID, j.Request.SceneID)
}

// GoString makes %#v print the same safe description as String.
func (j Job) GoString() string {
	return j.String()
}
