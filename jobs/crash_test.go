package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/pgtest"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// The crash tests run the engine in a real child process (this test binary, re-executed), with the fake
// Viggle and the database file owned by the parent. The child stops at a named point and the parent
// kills it with SIGKILL, then starts a new child on the same file and checks the outcome.

func TestMain(m *testing.M) {
	if os.Getenv("JOBS_CRASH_CHILD") == "1" {
		os.Exit(crashChild())
	}
	if os.Getenv("JOBS_FAKE_CHILD") == "1" {
		os.Exit(fakeChild())
	}
	os.Exit(pgtest.RunAgainOnPostgres(m, "jobs", jobsBackendEnv)) // see backend_test.go
}

// fileNotifier appends one line per outcome to a file, so that deliveries can be counted across
// processes.
type fileNotifier struct{ path string }

func (n fileNotifier) line(s string) error {
	f, err := os.OpenFile(n.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, s); err != nil {
		return err
	}
	return f.Sync()
}

func (n fileNotifier) Progress(context.Context, store.Job) error { return nil }
func (n fileNotifier) Done(_ context.Context, j store.Job, v jobs.Video) (store.Delivery, error) {
	st, err := os.Stat(v.File)
	if err != nil {
		return store.Delivery{}, err
	}
	return store.Delivery{Where: store.WhereMessage, MessageID: "m-" + j.ID}, n.line(fmt.Sprintf("done %s %d", j.ID, st.Size()))
}
func (n fileNotifier) told(kind string, j store.Job) (store.Delivery, error) {
	return store.Delivery{Where: store.WhereMessage, MessageID: "m-" + j.ID}, n.line(kind + " " + j.ID)
}
func (n fileNotifier) Failed(_ context.Context, j store.Job) (store.Delivery, error) {
	return n.told("failed", j)
}
func (n fileNotifier) Cancelled(_ context.Context, j store.Job) (store.Delivery, error) {
	return n.told("cancelled", j)
}
func (n fileNotifier) Interrupted(_ context.Context, j store.Job) (store.Delivery, error) {
	return n.told("interrupted", j)
}
func (n fileNotifier) FollowUp(_ context.Context, j store.Job) (bool, error) {
	return true, n.line("followup " + j.ID)
}
func (n fileNotifier) Forget(string) {}

func crashChild() int {
	ctx := context.Background()
	db, err := openRef(ctx, os.Getenv("CRASH_DB"))
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	vc, err := makeClient(os.Getenv("CRASH_VIGGLE"))
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	point := os.Getenv("CRASH_POINT")
	e, err := jobs.New(db, vc, fileNotifier{os.Getenv("CRASH_LOG")}, jobs.Options{
		Origin:       store.OriginDiscord, // the origin with a follow-up step
		PollInterval: 5 * time.Millisecond,
		WorkDir:      os.Getenv("CRASH_WORK"),
		Hook: func(p string, j *store.Job) {
			if p == point {
				fmt.Println("AT", p)
				time.Sleep(time.Hour) // wait here for the parent's SIGKILL
			}
		},
	})
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	j, err := e.Run(ctx, os.Getenv("CRASH_JOB"))
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	fmt.Println("END", j.State)
	return 0
}

// child starts this test binary as an engine process for job id.
func child(t *testing.T, h *harness, id, point, logPath string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"JOBS_CRASH_CHILD=1",
		"CRASH_DB="+h.dbPath,
		"CRASH_VIGGLE="+h.url,
		"CRASH_POINT="+point,
		"CRASH_JOB="+id,
		"CRASH_LOG="+logPath,
		"CRASH_WORK="+t.TempDir(),
	)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// expectLine reads the child's output until a line starting with prefix, with a deadline.
func expectLine(t *testing.T, cmd *exec.Cmd, sc *bufio.Scanner, prefix string) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, prefix) || strings.HasPrefix(l, "ERR") {
				got <- l
				return
			}
		}
		got <- "EOF"
	}()
	select {
	case l := <-got:
		if !strings.HasPrefix(l, prefix) {
			t.Fatalf("child said %q, want %s…", l, prefix)
		}
		return l
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("child never said %s", prefix)
	}
	return ""
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	cases := []struct {
		point       string
		afterCrash  store.State // the row as the killed process left it
		end         store.State
		posts       int
		deliveries  int
		interrupted int
		followUps   int
	}{
		{jobs.PointSubmitting, store.StateSubmitting, store.StateInterrupted, 0, 0, 1, 1},
		{jobs.PointPosted, store.StateSubmitting, store.StateInterrupted, 1, 0, 1, 1},
		{jobs.PointPolled, store.StateRunning, store.StateDelivered, 1, 1, 0, 1},
		{jobs.PointDelivering, store.StateDelivering, store.StateDelivered, 1, 1, 0, 1},
		// Killed after the Notifier returned but before the delivery was recorded: the same delivery is
		// made again (never skipped); Discord's deliveries make that repeat harmless. One follow-up.
		{jobs.PointDelivered, store.StateDelivering, store.StateDelivered, 1, 2, 0, 1},
		// Killed after the delivery was recorded, before the follow-up: no second delivery.
		{jobs.PointFollowUp, store.StateDelivered, store.StateDelivered, 1, 1, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.point, func(t *testing.T) {
			t.Parallel()
			const size = 200 << 10
			h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 4, VideoSize: size}})
			e := h.engine(t, discordOrigin)
			j := h.create(t, e, request(t, "scene_ok", "person_a=char_x"))
			logPath := t.TempDir() + "/deliveries.log"

			cmd, sc := child(t, h, j.ID, tc.point, logPath)
			expectLine(t, cmd, sc, "AT "+tc.point)
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			cmd.Wait()
			if row := h.get(t, j.ID); row.State != tc.afterCrash {
				t.Fatalf("after the crash the row says %s, want %s", row.State, tc.afterCrash)
			}

			cmd2, sc2 := child(t, h, j.ID, "", logPath)
			end := expectLine(t, cmd2, sc2, "END")
			if end != "END "+string(tc.end) {
				t.Fatalf("restarted process ended with %q, want %s", end, tc.end)
			}
			cmd2.Wait()

			if n := h.fake.Creates(); n != tc.posts {
				t.Errorf("%d POSTs in all, want %d", n, tc.posts)
			}
			log, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimSpace(string(log)), "\n")
			var done, interrupted, followUps int
			for _, l := range lines {
				switch {
				case l == fmt.Sprintf("done %s %d", j.ID, size):
					done++
				case l == "interrupted "+j.ID:
					interrupted++
				case l == "followup "+j.ID:
					followUps++
				case l != "":
					t.Errorf("unexpected outcome line %q", l)
				}
			}
			if done != tc.deliveries || interrupted != tc.interrupted {
				t.Errorf("delivered %d times and told interrupted %d times, want %d and %d", done, interrupted, tc.deliveries, tc.interrupted)
			}
			if followUps != tc.followUps {
				t.Errorf("%d follow-ups, want %d", followUps, tc.followUps)
			}
			row := h.get(t, j.ID)
			if row.ClosedAt.IsZero() || row.FollowedUpAt.IsZero() || row.LeaseOwner != "" {
				t.Errorf("final row: closed %v followed up %v lease %q", row.ClosedAt, row.FollowedUpAt, row.LeaseOwner)
			}
		})
	}
}
