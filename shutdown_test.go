package main

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// A bot sent SIGTERM in the middle of a render stops cleanly (exit 0), says how many jobs it left
// unfinished, and leaves the render to the next start, which delivers it once without sending it to
// Viggle again.
func TestBotSIGTERMLeavesTheRenderToTheNextStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_long": {Polls: 40, Steps: 10, VideoSize: 100 << 10}})
	e.vars["VIGGLE_POLL_INTERVAL"] = "50ms"
	e.vars["LOG_LEVEL"] = "info"
	n := e.discord.Sessions()
	first, logs1 := e.connectedChild(t, n+1)
	i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_long", "map": "person_a=char_x"})
	e.waitFor(t, "polling", func() bool { return e.viggle.Count("GET", "/api/render/") >= 3 })

	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the bot exited with %v after SIGTERM; logs:\n%s", err, logs1.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the bot did not stop after SIGTERM; logs:\n%s", logs1.String())
	}
	logs := logs1.String()
	if !strings.Contains(logs, `msg="engine stopped; the jobs left unfinished resume at the next start" unfinished=1`) {
		t.Fatalf("no count of the unfinished jobs in the logs:\n%s", logs)
	}
	if !strings.Contains(logs, `msg=stopped`) {
		t.Fatalf("the bot did not log its stop:\n%s", logs)
	}
	// The row is left as it was, running, with its lease given back for the next process.
	j := e.waitJob(t, alice, i, "the job's row", func(*store.Job) bool { return true })
	if j.State != store.StateRunning || j.LeaseOwner != "" || j.ViggleJobID == "" {
		t.Fatalf("after SIGTERM the job is %s, lease %q, viggle id %q; want running, unleased, submitted", j.State, j.LeaseOwner, j.ViggleJobID)
	}

	e.connectedChild(t, n+2)
	m := e.final(t, i)
	if !strings.HasPrefix(m.Content, "**Done!**") || len(m.Attachments) != 1 || !bytes.Equal(m.Attachments[0].Data, videoOf(t, 100<<10)) {
		t.Fatalf("after the restart: %q with %d attachments", m.Content, len(m.Attachments))
	}
	if n := e.viggle.Creates(); n != 1 {
		t.Fatalf("%d POSTs across the restart, want 1", n)
	}
	if n := e.uploadsOnceDelivered(t, alice, i, 0); n != 1 {
		t.Fatalf("%d uploads, want exactly one delivery", n)
	}
}
