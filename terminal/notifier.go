package terminal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// Notifier prints a job's progress, one line per change (or a bar redrawn in place on a terminal:
// NewBarNotifier), and writes the finished video to the job's target file. It implements jobs.Notifier.
type Notifier struct {
	mu   sync.Mutex
	out  io.Writer
	last map[string]string
	bar  *barState // nil: plain lines
}

var _ jobs.Notifier = (*Notifier)(nil)

// NewNotifier prints to out (standard output).
func NewNotifier(out io.Writer) *Notifier {
	return &Notifier{out: out, last: map[string]string{}}
}

// statusLine is the progress line of j, such as "running processing 40% ref_done".
func statusLine(j store.Job) string {
	parts := []string{string(j.State)}
	if j.State == store.StateRunning {
		if j.ViggleStatus != "" {
			parts = append(parts, j.ViggleStatus)
		}
		parts = append(parts, fmt.Sprintf("%d%%", j.Progress))
		if j.Stage != "" {
			parts = append(parts, j.Stage)
		}
	}
	return strings.Join(parts, " ")
}

// Progress prints the job's line when it differs from the last one printed.
func (n *Notifier) Progress(_ context.Context, j store.Job) error {
	line := statusLine(j)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.bar != nil {
		return n.progressBar(j)
	}
	if n.last[j.ID] == line {
		return nil
	}
	n.last[j.ID] = line
	_, err := fmt.Fprintln(n.out, line)
	return err
}

// Done writes the video (and a transparent render's mask) to the job's target; the file appears
// complete or not at all.
func (n *Notifier) Done(_ context.Context, j store.Job, v jobs.Video) (store.Delivery, error) {
	if v.File == "" {
		if v.DownloadErr != nil {
			return store.Delivery{}, fmt.Errorf("download the video: %w", v.DownloadErr)
		}
		return store.Delivery{}, errors.New("the video is larger than the download limit")
	}
	if err := copyFileAtomic(v.File, j.Target); err != nil {
		return store.Delivery{}, err
	}
	wrote := []string{j.Target}
	if v.MaskFile != "" {
		mask := MaskPath(j.Target)
		if err := copyFileAtomic(v.MaskFile, mask); err != nil {
			return store.Delivery{}, err
		}
		wrote = append(wrote, mask)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.bar != nil {
		n.forgetBar(j.ID) // the bar as last drawn stays above the lines below
	}
	for _, f := range wrote {
		fmt.Fprintf(n.out, "wrote %s\n", f)
	}
	return store.Delivery{Where: store.WhereFile}, nil
}

// Failed, Cancelled and Interrupted print nothing: the render command prints the outcome once the
// engine returns, with the exit code.
func (n *Notifier) Failed(context.Context, store.Job) (store.Delivery, error) {
	return printed, nil
}
func (n *Notifier) Cancelled(context.Context, store.Job) (store.Delivery, error) {
	return printed, nil
}
func (n *Notifier) Interrupted(context.Context, store.Job) (store.Delivery, error) {
	return printed, nil
}

// printed records an outcome that the render command prints.
var printed = store.Delivery{Note: "printed by the render command"}

// FollowUp sends nothing: the terminal's user is watching.
func (n *Notifier) FollowUp(context.Context, store.Job) (bool, error) { return false, nil }

// Forget drops the job's last printed line; a bar stops being redrawn and its line is ended, so that
// the render command's own lines start on lines of their own.
func (n *Notifier) Forget(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.last, id)
	if n.bar != nil {
		n.forgetBar(id)
	}
}

// MaskPath returns where the mask of a transparent render goes: out.mp4 → out-mask.mp4.
func MaskPath(target string) string {
	ext := filepath.Ext(target)
	return strings.TrimSuffix(target, ext) + "-mask" + ext
}

// copyFileAtomic copies src to a temporary file next to dst, syncs it and renames it over dst.
func copyFileAtomic(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open downloaded video: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".part-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, in); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}
