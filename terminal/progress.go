package terminal

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/viggle-bot/viggle-bot/store"
)

// The progress bar: when standard output is a terminal, the render command redraws one line in place
// (a carriage return, then the line padded to the terminal's width) with the percent, the stage and
// the time since the render was asked for, once a second and at every change. Anything else (a pipe,
// a file) gets today's plain lines, one per change, which scripts read.

// redrawEvery is how often the bar is redrawn without a change, so the elapsed time moves.
const redrawEvery = time.Second

// NotifierFor returns the notifier for out: a progress bar when out is a terminal, plain lines
// otherwise.
func NotifierFor(out io.Writer) *Notifier {
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return NewNotifier(out)
	}
	fd := int(f.Fd())
	return NewBarNotifier(out, func() int {
		w, _, err := term.GetSize(fd)
		if err != nil || w <= 0 {
			return 80
		}
		return w
	}, time.Now)
}

// NewBarNotifier prints progress as a bar redrawn in place on out, a terminal whose width in columns
// width returns (asked at every redraw, so a resized window is followed); now is the clock of the
// elapsed time.
func NewBarNotifier(out io.Writer, width func() int, now func() time.Time) *Notifier {
	n := NewNotifier(out)
	n.bar = &barState{width: width, now: now}
	return n
}

// barState is a bar notifier's state, guarded by Notifier.mu.
type barState struct {
	width func() int
	now   func() time.Time
	job   *store.Job    // the job shown; nil when none
	since time.Time     // when the job was first shown (its start when CreatedAt is unknown)
	drawn bool          // a bar is on the current line (no newline after it yet)
	stop  chan struct{} // closed to end the redraw loop; nil when none runs
}

// progressBar draws j's bar (caller holds n.mu) and starts the redraw loop.
func (n *Notifier) progressBar(j store.Job) error {
	b := n.bar
	if b.job == nil || b.job.ID != j.ID {
		b.since = j.CreatedAt
		if b.since.IsZero() {
			b.since = b.now()
		}
	}
	b.job = &j
	if b.stop == nil {
		b.stop = make(chan struct{})
		go n.redraw(b.stop)
	}
	return n.drawLocked()
}

// drawLocked redraws the bar of the job shown.
func (n *Notifier) drawLocked() error {
	b := n.bar
	if b.job == nil {
		return nil
	}
	b.drawn = true
	_, err := io.WriteString(n.out, "\r"+BarLine(*b.job, b.now().Sub(b.since), b.width()))
	return err
}

// endLineLocked ends the bar's line, so that what is printed next starts on a line of its own.
func (n *Notifier) endLineLocked() {
	if n.bar != nil && n.bar.drawn {
		n.bar.drawn = false
		_, _ = io.WriteString(n.out, "\n")
	}
}

// forgetBar stops showing the job id: its bar stays on screen as it was last drawn.
func (n *Notifier) forgetBar(id string) {
	b := n.bar
	if b.job == nil || b.job.ID != id {
		return
	}
	n.endLineLocked()
	b.job = nil
	if b.stop != nil {
		close(b.stop)
		b.stop = nil
	}
}

// Around returns w (standard error: the logs) wrapped so that what is written to it does not land in
// the middle of the bar when both go to the same terminal: the bar's line is cleared first and the bar
// redrawn after. Each Write is taken as whole lines (slog writes a record at once). Without a bar it
// returns w.
func (n *Notifier) Around(w io.Writer) io.Writer {
	if n.bar == nil {
		return w
	}
	return aroundBar{n: n, w: w}
}

type aroundBar struct {
	n *Notifier
	w io.Writer
}

func (a aroundBar) Write(p []byte) (int, error) {
	n := a.n
	n.mu.Lock()
	defer n.mu.Unlock()
	drawn := n.bar.drawn
	if drawn {
		_, _ = io.WriteString(n.out, "\r"+strings.Repeat(" ", max(n.bar.width()-1, 0))+"\r")
		n.bar.drawn = false
	}
	k, err := a.w.Write(p)
	if drawn {
		_ = n.drawLocked()
	}
	return k, err
}

// redraw redraws the bar every redrawEvery until stop is closed.
func (n *Notifier) redraw(stop chan struct{}) {
	t := time.NewTicker(redrawEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			n.mu.Lock()
			select {
			case <-stop: // forgotten while waiting for the lock
			default:
				_ = n.drawLocked()
			}
			n.mu.Unlock()
		}
	}
}

// BarLine is j's progress line for a terminal width columns wide, such as
// "[######--------------]  30% running processing ref_done   0:42": the bar, the percent, the stage
// and the elapsed time, padded with spaces to width-1 columns (the last column is left free, where
// some terminals wrap) so that it covers whatever was drawn before it. The stage is shortened with
// "…" when it does not fit; on a very narrow terminal the bar goes first.
func BarLine(j store.Job, elapsed time.Duration, width int) string {
	cols := max(width-1, 1)
	pct := percent(j)
	tail := fmt.Sprintf(" %3d%% ", pct)
	clock := " " + clockOf(elapsed)
	stage := stageOf(j)
	barW := min(max(cols/3, 10), 40)
	if cols-barW-2 < len(tail)+len(clock)+8 { // no room for a bar and a few letters of stage
		barW = 0
	}
	var sb strings.Builder
	if barW > 0 {
		full := barW * pct / 100
		sb.WriteString("[" + strings.Repeat("#", full) + strings.Repeat("-", barW-full) + "]")
	}
	sb.WriteString(tail)
	room := cols - utf8.RuneCountInString(sb.String()) - len(clock)
	sb.WriteString(clip(stage, room))
	line := sb.String()
	pad := cols - utf8.RuneCountInString(line) - len(clock)
	if pad >= 0 {
		line += strings.Repeat(" ", pad) + clock
	}
	return clip(line, cols)
}

// percent is how far j is: Viggle's percent while it runs, 100 once the video is made.
func percent(j store.Job) int {
	switch j.State {
	case store.StateQueued, store.StateSubmitting:
		return 0
	case store.StateRunning:
		return min(max(j.Progress, 0), 100)
	}
	return 100
}

// stageOf is the state, with Viggle's status and stage while it runs (as the plain lines show them).
func stageOf(j store.Job) string {
	parts := []string{string(j.State)}
	if j.State == store.StateRunning {
		if j.ViggleStatus != "" {
			parts = append(parts, j.ViggleStatus)
		}
		if j.Stage != "" {
			parts = append(parts, j.Stage)
		}
	}
	return strings.Map(printable, strings.Join(parts, " "))
}

// printable keeps a terminal's control sequences out of a line (Viggle's status and stage are its own
// text): a control character becomes "?".
func printable(r rune) rune {
	if r < 0x20 || (r >= 0x7f && r < 0xa0) {
		return '?'
	}
	return r
}

// clockOf formats d as m:ss, or h:mm:ss from an hour.
func clockOf(d time.Duration) string {
	s := int(max(d, 0) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// clip shortens s to at most n runes, ending with "…" when it cut something.
func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
