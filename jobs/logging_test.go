package jobs_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// jsonLines parses every line of logs as one JSON object, failing the test on any other line.
func jsonLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// A render's log lines (a poll answered 404 included) in JSON: every line naming a job
// names it as "job" with its "guild" and "user" beside it.
func TestJobLogLinesNameGuildAndUser(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 3,
		PollErrors: []int{viggletest.NotFound}}})
	logs := &testkit.SyncBuffer{}
	e := h.engine(t, func(o *jobs.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "alice", GuildID: "g-1", Request: request(t, "scene_ok", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.Run(t.Context(), j.ID); err != nil || got.State != store.StateDelivered {
		t.Fatalf("Run = %v, %v", got, err)
	}
	named := map[string]bool{}
	for _, l := range jsonLines(t, logs.String()) {
		if _, ok := l["job"]; !ok {
			continue
		}
		named[l["msg"].(string)] = true
		if l["job"] != j.ID || l["guild"] != "g-1" || l["user"] != "alice" {
			t.Errorf("line %v: want job %s, guild g-1, user alice at the top level", l, j.ID)
		}
	}
	for _, msg := range []string{"render submitted", "status poll failed", "render complete", "delivered"} {
		if !named[msg] {
			t.Errorf("no line %q naming the job; lines: %s", msg, logs.String())
		}
	}
}

// Stop says how many jobs it left unfinished for the next start: here the one in a POST (held at
// Viggle) and the one waiting for a worker.
func TestStopLogsTheJobsLeftUnfinished(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 2}, "scene_quick": {Polls: 1}})
	logs := &testkit.SyncBuffer{}
	e := h.engine(t, func(o *jobs.Options) {
		o.Origin, o.Workers = store.OriginDiscord, 1
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// One job ends before the stop: it is not counted.
	quick, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u", InteractionID: "i-quick", Request: request(t, "scene_quick", "a=b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Enqueue(t.Context(), quick.ID); err != nil {
		t.Fatal(err)
	}
	h.waitRow(t, quick.ID, "closed", func(j *store.Job) bool { return !j.ClosedAt.IsZero() })
	release := h.fake.Hold()
	defer release()
	for _, ix := range []string{"i-1", "i-2"} {
		j, err := e.Create(t.Context(), jobs.NewJob{OwnerID: "u", InteractionID: ix, Request: request(t, "scene_ok", "a=b")})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Enqueue(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
	}
	<-h.fake.Held()
	waitFor(t, "both jobs taken", func() bool { return e.Active() == 2 })
	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop(context.Background()) }()
	release()
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	var found bool
	for _, l := range jsonLines(t, logs.String()) {
		if strings.HasPrefix(l["msg"].(string), "engine stopped") {
			found = true
			if l["unfinished"] != float64(2) {
				t.Errorf("stop line %v: want unfinished 2", l)
			}
		}
	}
	if !found {
		t.Fatalf("no stop line in:\n%s", logs.String())
	}
	unfinished, err := h.db.Unfinished(t.Context(), store.OriginDiscord)
	if err != nil || len(unfinished) != 2 {
		t.Fatalf("unfinished rows after Stop: %d, %v", len(unfinished), err)
	}
}
