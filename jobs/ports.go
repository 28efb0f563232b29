package jobs

import (
	"context"
	"io"
	"time"

	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// Store is what the engine needs from the job database. *store.DB implements it.
type Store interface {
	Insert(ctx context.Context, j *store.Job) error
	Get(ctx context.Context, id string) (*store.Job, error)
	Claim(ctx context.Context, id, owner string, now, until time.Time, takeover string) (*store.Job, error)
	Release(ctx context.Context, id, owner string) error
	Acknowledge(ctx context.Context, id string, at time.Time) error
	Update(ctx context.Context, j *store.Job, from store.State) error
	RequestCancel(ctx context.Context, id, userID string, at time.Time) (*store.Job, error)
	Unfinished(ctx context.Context, origin store.Origin) ([]*store.Job, error)
}

// Viggle is the render API as the engine uses it. *viggle.Client implements it.
type Viggle interface {
	CreateRender(ctx context.Context, req viggle.RenderRequest) (*viggle.Submitted, error)
	GetRender(ctx context.Context, jobID string) (*viggle.Render, error)
	CancelRender(ctx context.Context, jobID string) error
	DownloadFrom(ctx context.Context, jobID string, asset viggle.Asset, link string, w io.Writer, maxBytes int64) (int64, error)
}

// Video is a finished render handed to the Notifier.
type Video struct {
	URL  string // Viggle's URL of the video (a signed CDN link that may expire)
	Size int64  // bytes; -1 when unknown (too large to download, or the download failed)
	// File is a downloaded copy, removed after Done returns. Empty when the video is larger than the
	// job's upload limit (deliver the link) or could not be downloaded (DownloadErr says why).
	File        string
	DownloadErr error

	// The mask video of a transparent render; empty otherwise.
	MaskURL  string
	MaskSize int64
	MaskFile string
}

// Notifier carries results to the job's owner. Every method may be called again for the same job after a
// crash (the engine records a delivery only after the method returned), so implementations must be
// safe to repeat. Methods receive a copy of the job; they must not keep it.
type Notifier interface {
	// Progress reports a change of state, percent or stage. Best effort: errors are logged.
	Progress(ctx context.Context, j store.Job) error
	// Done delivers the finished video. The returned record says where (stored in the job row).
	Done(ctx context.Context, j store.Job, v Video) (store.Delivery, error)
	// Failed tells the owner that Viggle refused or failed the render (j.ErrorCode, j.ErrorMessage).
	Failed(ctx context.Context, j store.Job) (store.Delivery, error)
	// Cancelled tells the owner that the render was cancelled.
	Cancelled(ctx context.Context, j store.Job) (store.Delivery, error)
	// Interrupted tells the owner that the submission was interrupted: the render may have reached Viggle
	// (and may have used credits) and was not resubmitted.
	Interrupted(ctx context.Context, j store.Job) (store.Delivery, error)
	// FollowUp is called once after a delivery (or telling the owner) was recorded, with the recorded job:
	// the notifier may tell the owner again where the result is (Discord: a follow-up that mentions
	// them). sent says whether it sent anything: false with a nil error when nothing is needed (the
	// engine then records no follow-up). Repeated only after a crash between sending and recording it.
	FollowUp(ctx context.Context, j store.Job) (sent bool, err error)
	// Forget says the engine no longer works on the job in this process (it ended, or its lease was
	// released or lost): the notifier drops whatever it keeps for it. Called once per job per process,
	// never concurrently with another method for that job.
	Forget(jobID string)
}
