// Package terminal is the `render` command: one render through the engine, from a terminal, with its
// progress on standard output and the video written to a file.
package terminal

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

// Exit codes of the render command (the outside contract).
const (
	ExitDelivered   = 0   // the video was written
	ExitFailed      = 1   // Viggle refused, failed, timed out or cancelled
	ExitBadInput    = 2   // bad input or configuration, before any call to Viggle
	ExitUnknown     = 3   // the POST may have reached Viggle but no answer came; nothing was resubmitted
	ExitLocal       = 4   // a local error (disk, download)
	ExitInterrupted = 130 // Ctrl-C; the job can be resumed
)

// Args are the render command's flags.
type Args struct {
	Scene, Map, Background, BGColor, Model, Out, Resume string
	Fast                                                bool
	Request                                             spec.Request // validated, when not resuming
}

// Usage is the render command's help text.
const Usage = `usage:
  %[1]s render --scene SCENE --map "person_a=char_x, person_b=char_y" [options]
  %[1]s render --resume JOB

Runs one Viggle multi-character render and writes the MP4. Standard output gets the job id on its
first line, then one line per change of state, percent or stage.

options:
  --scene ID          the Viggle scene (a multi-person template imported at Viggle)
  --map PAIRS         person=character pairs, separated by commas, semicolons or spaces
  --background MODE   original, solid or transparent (Viggle's default: original)
  --bg-color COLOR    R,G,B or #RRGGBB; implies --background solid
  --fast              about twice as fast, for twice the credits
  --model MODEL       V4_Preview or V3_Preview (sent only when given)
  --out FILE          where to write the video (default ./<job id>.mp4; a transparent
                      render also writes the mask as <FILE without .mp4>-mask.mp4)
  --resume JOB        follow a job started from this terminal (after Ctrl-C or a crash) to the end

exit codes: 0 delivered; 1 Viggle refused, failed, timed out or cancelled; 2 bad input or
configuration; 3 outcome unknown (the render may have reached Viggle; not resubmitted);
4 local error (disk, download); 130 interrupted by Ctrl-C (resume with --resume JOB).
`

// ParseArgs parses and validates the render command's flags. It returns flag.ErrHelp for --help.
func ParseArgs(prog string, args []string, stderr io.Writer) (Args, error) {
	var a Args
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.Scene, "scene", "", "")
	fs.StringVar(&a.Map, "map", "", "")
	fs.StringVar(&a.Background, "background", "", "")
	fs.StringVar(&a.BGColor, "bg-color", "", "")
	fs.BoolVar(&a.Fast, "fast", false, "")
	fs.StringVar(&a.Model, "model", "", "")
	fs.StringVar(&a.Out, "out", "", "")
	fs.StringVar(&a.Resume, "resume", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, Usage, prog)
			return a, err
		}
		return a, fmt.Errorf("%w (see %s render --help)", err, prog)
	}
	if fs.NArg() > 0 {
		return a, fmt.Errorf("unexpected argument %q: quote the map, e.g. --map \"person_a=char_x, person_b=char_y\" (see %s render --help)", fs.Arg(0), prog)
	}
	if a.Resume != "" {
		var extra []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "resume" {
				extra = append(extra, "--"+f.Name)
			}
		})
		if len(extra) > 0 {
			return a, fmt.Errorf("--resume takes no other flags (got %s): the job keeps the options it was started with", strings.Join(extra, ", "))
		}
		return a, spec.ValidateID(a.Resume)
	}
	if a.Scene == "" || a.Map == "" {
		return a, fmt.Errorf("--scene and --map are required, e.g. %s render --scene scene_demo --map \"person_a=char_alice\"", prog)
	}
	req, err := spec.NewRequest(a.Scene, a.Map, a.Background, a.BGColor, a.Fast, a.Model)
	if err != nil {
		return a, err
	}
	a.Request = req
	if a.Out != "" {
		if st, err := os.Stat(filepath.Dir(a.Out)); err != nil || !st.IsDir() {
			return a, fmt.Errorf("--out %q: the folder %q does not exist", a.Out, filepath.Dir(a.Out))
		}
		if st, err := os.Stat(a.Out); err == nil && st.IsDir() {
			return a, fmt.Errorf("--out %q is a folder; give a file name", a.Out)
		}
	}
	return a, nil
}

// Engine is what the command needs of the render engine.
type Engine interface {
	Create(ctx context.Context, nj jobs.NewJob) (*store.Job, error)
	Run(ctx context.Context, id string) (*store.Job, error)
	Get(ctx context.Context, id string) (*store.Job, error)
}

// Run starts (or resumes) the render and follows it to the end. It returns the exit code.
func Run(ctx context.Context, prog string, eng Engine, a Args, stdout, stderr io.Writer) int {
	var id string
	if a.Resume != "" {
		j, err := eng.Get(ctx, a.Resume)
		switch {
		case errors.Is(err, store.ErrNotFound):
			fmt.Fprintf(stderr, "error: there is no job %q in this database (DATABASE_PATH)\n", a.Resume)
			return ExitBadInput
		case err != nil:
			fmt.Fprintf(stderr, "error: %v\n", err)
			return ExitLocal
		case j.Origin != store.OriginTerminal:
			fmt.Fprintf(stderr, "error: job %s was started from Discord; the bot follows it itself\n", j.ID)
			return ExitBadInput
		}
		id = j.ID
		fmt.Fprintln(stdout, id)
		if !j.ClosedAt.IsZero() {
			return outcome(prog, j, stdout, stderr)
		}
	} else {
		id = jobs.NewID()
		out := a.Out
		if out == "" {
			out = id + ".mp4"
		}
		abs, err := filepath.Abs(out)
		if err != nil {
			fmt.Fprintf(stderr, "error: --out %q: %v\n", out, err)
			return ExitBadInput
		}
		j, err := eng.Create(ctx, jobs.NewJob{ID: id, OwnerID: owner(), Target: abs, Request: a.Request})
		if err != nil {
			fmt.Fprintf(stderr, "error: record the job: %v\n", err)
			return ExitLocal
		}
		fmt.Fprintln(stdout, j.ID)
	}
	j, err := eng.Run(ctx, id)
	var derr *jobs.DeliveryError
	switch {
	case err == nil:
		return outcome(prog, j, stdout, stderr)
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		fmt.Fprintf(stderr, "stopped; the render goes on at Viggle. Resume with: %s render --resume %s\n", prog, id)
		return ExitInterrupted
	case errors.As(err, &derr):
		fmt.Fprintf(stderr, "error: the render is finished but %v\nTry again with: %s render --resume %s\n", derr.Err, prog, id)
		return ExitLocal
	case errors.Is(err, store.ErrLeased):
		fmt.Fprintf(stderr, "error: another process is following job %s right now\n", id)
		return ExitBadInput
	default:
		fmt.Fprintf(stderr, "error: %v\nTry again with: %s render --resume %s\n", err, prog, id)
		return ExitLocal
	}
}

// outcome prints how the job ended and returns the matching exit code.
func outcome(prog string, j *store.Job, stdout, stderr io.Writer) int {
	viggleID := ""
	if j.ViggleJobID != "" {
		viggleID = " (Viggle job id: " + j.ViggleJobID + ")"
	}
	switch j.State {
	case store.StateDelivered:
		fmt.Fprintln(stdout, "delivered")
		return ExitDelivered
	case store.StateFailed, store.StateCancelled:
		fmt.Fprintln(stdout, j.State)
		code := explain.Code(j.ErrorCode)
		if code != "" {
			code += ": "
		}
		fmt.Fprintf(stderr, "%s: %s%s%s\n%s\n", j.State, code, explain.Outcome(*j), viggleID, explain.Advice(j.ErrorCode))
		return ExitFailed
	case store.StateInterrupted:
		fmt.Fprintln(stdout, j.State)
		fmt.Fprintf(stderr, "outcome unknown: %s%s\nCheck your Viggle dashboard before starting it again.\n", explain.Outcome(*j), viggleID)
		return ExitUnknown
	default: // undeliverable
		fmt.Fprintln(stdout, j.State)
		fmt.Fprintf(stderr, "error: %s%s\nThe video: %s\n", explain.Outcome(*j), viggleID, j.VideoURL)
		return ExitLocal
	}
}

// owner names the person at the terminal in the job row.
func owner() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "terminal"
}
