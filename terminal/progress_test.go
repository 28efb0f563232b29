package terminal

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// fakeTerm is a terminal screen width columns wide: a carriage return moves to the start of the line,
// a newline to the next one, and a character written past the last column wraps (recorded: the bar
// must never wrap). It tells waiters about every write.
type fakeTerm struct {
	mu      sync.Mutex
	width   int
	rows    [][]rune
	row     int
	col     int
	wrapped bool
	escapes bool
	crs     int
	changed chan struct{}
}

func newFakeTerm(width int) *fakeTerm {
	return &fakeTerm{width: width, rows: [][]rune{nil}, changed: make(chan struct{})}
}

func (f *fakeTerm) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range string(p) {
		switch r {
		case '\r':
			f.col = 0
			f.crs++
		case '\n':
			f.row, f.col = f.row+1, 0
		default:
			if r == 0x1b {
				f.escapes = true
			}
			if f.col >= f.width {
				f.wrapped = true
				f.row, f.col = f.row+1, 0
			}
			for len(f.rows) <= f.row {
				f.rows = append(f.rows, nil)
			}
			line := f.rows[f.row]
			for len(line) <= f.col {
				line = append(line, ' ')
			}
			line[f.col] = r
			f.rows[f.row] = line
			f.col++
		}
		for len(f.rows) <= f.row {
			f.rows = append(f.rows, nil)
		}
	}
	close(f.changed)
	f.changed = make(chan struct{})
	return len(p), nil
}

// screen returns the screen's lines without trailing spaces, and the cursor's row.
func (f *fakeTerm) screen() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.rows {
		out = append(out, strings.TrimRight(string(r), " "))
	}
	return out, f.row
}

// waitLine waits until the cursor's line contains s.
func (f *fakeTerm) waitLine(t *testing.T, s string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		cur := string(f.rows[f.row])
		ch := f.changed
		f.mu.Unlock()
		if strings.Contains(cur, s) {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("the line never showed %q; it shows %q", s, cur)
		}
	}
}

func TestBarLine(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	running := store.Job{ID: "j", State: store.StateRunning, ViggleStatus: "processing", Progress: 40, Stage: "ref_done", CreatedAt: t0}
	for _, tc := range []struct {
		name    string
		j       store.Job
		elapsed time.Duration
		width   int
		want    []string // substrings, in order
		noBar   bool
	}{
		{"running, 80 columns", running, 42 * time.Second, 80, []string{"[##########----------------]", " 40% ", "running processing ref_done", "0:42"}, false},
		{"queued", store.Job{State: store.StateQueued}, 0, 80, []string{"[--------------------------]", "  0% ", "queued", "0:00"}, false},
		{"complete", store.Job{State: store.StateComplete, Progress: 100}, 75 * time.Minute, 80, []string{"[##########################]", "100% ", "complete", "1:15:00"}, false},
		{"wide terminal caps the bar", running, time.Second, 300, []string{"[" + strings.Repeat("#", 16) + strings.Repeat("-", 24) + "]", "running"}, false},
		{"narrow: the stage is clipped", running, 61 * time.Second, 40, []string{"[#####--------]", " 40% ", "running pro", "…", "1:01"}, false},
		{"very narrow: no bar", running, 5 * time.Second, 20, []string{" 40% ", "runn", "…", "0:05"}, true},
		{"control characters from Viggle", store.Job{State: store.StateRunning, Stage: "a\x1b[2Jb"}, 0, 80, []string{"running a?[2Jb"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := BarLine(tc.j, tc.elapsed, tc.width)
			if n := utf8.RuneCountInString(got); n != tc.width-1 {
				t.Errorf("line of %d columns on a %d-column terminal, want %d: %q", n, tc.width, tc.width-1, got)
			}
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%q lacks %q (in order)", got, w)
				}
				rest = rest[i+len(w):]
			}
			if clock := " " + clockOf(tc.elapsed); !strings.HasSuffix(got, clock) {
				t.Errorf("%q does not end with the elapsed time %q", got, clock)
			}
			if tc.noBar == strings.Contains(got, "[") {
				t.Errorf("bar shown = %v, want %v: %q", !tc.noBar, !tc.noBar, got)
			}
			if strings.ContainsAny(got, "\r\n\x1b") {
				t.Errorf("control characters in %q", got)
			}
		})
	}
}

// On a terminal the progress is one line redrawn in place (carriage returns, never wrapping, also when
// the window is resized), and the render command's lines start on lines of their own after it.
func TestBarNotifierRedrawsInPlace(t *testing.T) {
	ft := newFakeTerm(60)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now, width := t0, 60
	n := NewBarNotifier(ft, func() int { mu.Lock(); defer mu.Unlock(); return width },
		func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration, w int) {
		mu.Lock()
		now, width = now.Add(d), w
		mu.Unlock()
		ft.mu.Lock()
		ft.width = w
		ft.mu.Unlock()
	}
	j := store.Job{ID: "j1", State: store.StateSubmitting, CreatedAt: t0}
	steps := []struct {
		state store.State
		pct   int
		width int
	}{{store.StateSubmitting, 0, 60}, {store.StateRunning, 10, 60}, {store.StateRunning, 50, 40}, {store.StateComplete, 100, 60}}
	for k, s := range steps {
		advance(10*time.Second, s.width)
		j.State, j.Progress = s.state, s.pct
		if err := n.Progress(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		lines, row := ft.screen()
		if row != 0 || len(lines) != 1 {
			t.Fatalf("after step %d the screen is %q (cursor on row %d), want one line", k, lines, row)
		}
		want := strings.TrimRight(BarLine(j, time.Duration(k+1)*10*time.Second, s.width), " ")
		// At full width the new line covers all of the old one (padded); after a shrink the old
		// line's end is the terminal's to reflow.
		if lines[0] != want && (s.width == 60 || !strings.HasPrefix(lines[0], want)) {
			t.Fatalf("step %d shows %q, want %q", k, lines[0], want)
		}
	}

	if ft.wrapped {
		t.Fatal("the bar wrapped")
	}
	ft.mu.Lock()
	ft.width = 1000 // a long path may wrap: that is not the bar's
	ft.mu.Unlock()
	dir := t.TempDir()
	video := filepath.Join(dir, "dl.mp4")
	if err := os.WriteFile(video, []byte("mp4"), 0o600); err != nil {
		t.Fatal(err)
	}
	j.Target = filepath.Join(dir, "out.mp4")
	if _, err := n.Done(t.Context(), j, jobs.Video{File: video}); err != nil {
		t.Fatal(err)
	}
	n.Forget(j.ID)
	n.Forget(j.ID) // the engine may forget twice: nothing more is printed
	lines, row := ft.screen()
	if row != 2 || len(lines) != 3 || !strings.Contains(lines[0], "100%") || !strings.Contains(lines[0], "complete") ||
		lines[1] != "wrote "+j.Target || lines[2] != "" {
		t.Fatalf("screen after the delivery: %q (cursor on row %d)", lines, row)
	}
	if ft.wrapped || ft.escapes || ft.crs != len(steps) {
		t.Fatalf("wrapped %v, escapes %v, %d carriage returns for %d draws", ft.wrapped, ft.escapes, ft.crs, len(steps))
	}
}

// Between changes the bar is redrawn, so its elapsed time moves; a failed render's line is ended by
// Forget, and the redraws stop.
func TestBarNotifierElapsedMoves(t *testing.T) {
	ft := newFakeTerm(80)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	n := NewBarNotifier(ft, func() int { return 80 }, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	j := store.Job{ID: "j2", State: store.StateRunning, Progress: 25, CreatedAt: t0.Add(-5 * time.Second)}
	if err := n.Progress(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	ft.waitLine(t, "0:05")
	mu.Lock()
	now = now.Add(65 * time.Second)
	mu.Unlock()
	ft.waitLine(t, "1:10") // redrawn by itself, without a new Progress
	n.Forget(j.ID)
	lines, row := ft.screen()
	if row != 1 || !strings.Contains(lines[0], " 25% ") {
		t.Fatalf("screen after Forget: %q (row %d)", lines, row)
	}
	// No redraw after Forget: the next write the screen sees is the test's own.
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if _, err := ft.Write([]byte("end\n")); err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	running := n.bar.stop != nil
	n.mu.Unlock()
	if lines, _ := ft.screen(); running || lines[1] != "end" {
		t.Fatalf("redraws go on after Forget: %q", lines)
	}
}

// Standard output that is not a terminal (a pipe, a file) keeps the plain lines, one per change.
func TestNotATerminalKeepsPlainLines(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for _, out := range []interface {
		Write([]byte) (int, error)
	}{&buf, f} {
		n := NotifierFor(out)
		if n.bar != nil {
			t.Fatalf("%T is not a terminal but got a bar", out)
		}
		j := store.Job{ID: "j3", State: store.StateRunning, ViggleStatus: "processing", Progress: 40, Stage: "ref_done"}
		for range 2 {
			if err := n.Progress(t.Context(), j); err != nil {
				t.Fatal(err)
			}
		}
		j.State = store.StateComplete
		if err := n.Progress(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		n.Forget(j.ID)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	const want = "running processing 40% ref_done\ncomplete\n"
	if buf.String() != want || string(got) != want {
		t.Fatalf("plain output %q and %q, want %q", buf.String(), got, want)
	}
}

// A log line written to the same terminal while the bar is shown replaces the bar's line, and the bar
// is drawn again below it; without a bar the logs' writer is left as it is.
func TestLogsAroundTheBar(t *testing.T) {
	ft := newFakeTerm(60)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	n := NewBarNotifier(ft, func() int { return 60 }, func() time.Time { return t0 })
	logs := n.Around(ft)
	if _, err := logs.Write([]byte("level=INFO msg=before\n")); err != nil { // no bar yet
		t.Fatal(err)
	}
	j := store.Job{ID: "j4", State: store.StateRunning, Progress: 60, CreatedAt: t0}
	if err := n.Progress(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.Write([]byte("level=WARN msg=\"status poll failed\"\n")); err != nil {
		t.Fatal(err)
	}
	lines, row := ft.screen()
	bar := strings.TrimRight(BarLine(j, 0, 60), " ")
	if row != 2 || len(lines) != 3 || lines[0] != "level=INFO msg=before" || lines[1] != `level=WARN msg="status poll failed"` || lines[2] != bar {
		t.Fatalf("screen %q (row %d), want the two log lines and the bar below them", lines, row)
	}
	if ft.wrapped {
		t.Fatal("wrapped")
	}
	n.Forget(j.ID)
	var buf bytes.Buffer
	if w := NewNotifier(&buf).Around(&buf); w != &buf {
		t.Fatalf("a plain notifier wraps the logs' writer: %T", w)
	}
}
