package store

import (
	"reflect"
	"testing"
	"time"
)

func TestStats(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	yesterday := now.Add(-24 * time.Hour)
	// g1's scene is 12.5 s long; a render of an unknown scene falls back to its estimate.
	sc := &Scene{GuildID: "g1", Name: "dance", ImportedBy: "u"}
	if err := db.InsertScene(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateScene(ctx, &Scene{ID: sc.ID, ViggleID: "scene_12s", Status: StatusReady, Duration: 12500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	n := 0
	job := func(guild string, at time.Time, st State, scene string, estimate int) {
		t.Helper()
		n++
		j := renderJob("st"+string(rune('a'+n)), "u", guild, at)
		j.State, j.Request.SceneID, j.EstimatedCredits = st, scene, estimate
		if st != StateQueued {
			j.SubmittedAt, j.ViggleJobID = at, "vj"+j.ID
		}
		if st == StateComplete || st == StateDelivered || st == StateUndeliverable {
			j.VideoURL = "https://cdn.example/" + j.ID + ".mp4"
		}
		insert(t, db, j)
	}
	job("g1", now, StateDelivered, "scene_12s", 13)
	job("g1", now, StateDelivered, "scene_other", 7)
	job("g1", yesterday, StateUndeliverable, "scene_12s", 13) // rendered, not delivered: output and a failure
	job("g1", now, StateFailed, "scene_12s", 13)
	job("g1", now, StateInterrupted, "scene_12s", 13)
	job("g1", now, StateRunning, "scene_12s", 13)
	job("g2", yesterday, StateDelivered, "scene_12s", 5) // g2 has no such scene: its estimate
	job("g2", yesterday, StateCancelled, "scene_12s", 5)
	job("g3", now, StateQueued, "s", 0)
	job("g3", now.Add(12*time.Hour), StateQueued, "s", 0) // tomorrow (UTC)
	insert(t, db, &Job{ID: "term", Origin: OriginTerminal, OwnerID: "u", State: StateDelivered, VideoURL: "x",
		Request: testJob("term", OriginTerminal, "u", "", now).Request})
	if err := db.SetGuildKey(ctx, &GuildKey{GuildID: "g2", Sealed: []byte("s")}, Change{What: "set"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetGuildKey(ctx, &GuildKey{GuildID: "g4", Sealed: []byte("s")}, Change{What: "set"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetGuildKey(ctx, &GuildKey{GuildID: "g5", Sealed: []byte("s")}, Change{What: "set"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClearGuildKey(ctx, "g5", Change{What: "cleared"}); err != nil {
		t.Fatal(err)
	}

	got, err := db.Stats(ctx, now.In(time.FixedZone("UTC-10", -10*3600)))
	if err != nil {
		t.Fatal(err)
	}
	want := []GuildStats{
		{GuildID: "g1", JobsToday: 5, JobsTotal: 6, Failures: 3, OutputSeconds: 12.5 + 7 + 12.5},
		{GuildID: "g3", JobsToday: 1, JobsTotal: 2},
		{GuildID: "g2", JobsToday: 0, JobsTotal: 2, OutputSeconds: 5, OwnKey: true},
		{GuildID: "g4", OwnKey: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Stats =\n%+v\nwant\n%+v", got, want)
	}
}
