package jobs_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// guildOf returns a guild id of shard id among count shards.
func guildOf(id, count int) string {
	for x := uint64(5_000_000); ; x++ {
		if int(x%uint64(count)) == id {
			return strconv.FormatUint(x<<22|3, 10)
		}
	}
}

// ownsShard is OwnsGuild for shard id of count, with Discord's rule ((guild_id >> 22) % count; no
// guild: shard 0), written out here so that the engine's tests do not import the bot.
func ownsShard(id, count int) func(string) bool {
	return func(guildID string) bool {
		g, err := strconv.ParseUint(guildID, 10, 64)
		if err != nil {
			return id == 0
		}
		return int((g>>22)%uint64(count)) == id
	}
}

// TestResumeOnlyOwnShard: two bot processes of a 2-shard bot share one database holding unfinished
// jobs of a guild of each shard and one without a guild (a DM). Shard 1 resumes only its guild's
// job, at Start and at a later Resume (the rescuer's), and leaves the others unleased; shard 0 then
// resumes its guild's and the DM's.
func TestResumeOnlyOwnShard(t *testing.T) {
	h := newHarness(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 1}})
	g0, g1 := guildOf(0, 2), guildOf(1, 2)
	creator := h.engine(t, discordOrigin)
	jobOf := map[string]string{}
	for _, g := range []string{g0, g1, ""} {
		j, err := creator.Create(t.Context(), jobs.NewJob{OwnerID: "u", GuildID: g, Request: request(t, "scene_ok", "a=b")})
		if err != nil {
			t.Fatal(err)
		}
		jobOf[g] = j.ID
	}

	shard1 := h.engine(t, discordOrigin, func(o *jobs.Options) { o.OwnsGuild = ownsShard(1, 2) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := shard1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, jobOf[g1], store.StateDelivered)
	if err := shard1.Resume(ctx); err != nil { // what the rescuer does every half lease
		t.Fatal(err)
	}
	for _, g := range []string{g0, ""} {
		if row := h.get(t, jobOf[g]); row.State != store.StateQueued || row.LeaseOwner != "" || h.rec.count("done", row.ID) != 0 {
			t.Errorf("shard 1 touched the job of guild %q: %s, lease %q", g, row.State, row.LeaseOwner)
		}
	}
	if err := shard1.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	shard0 := h.engine(t, discordOrigin, func(o *jobs.Options) { o.OwnsGuild = ownsShard(0, 2) })
	if err := shard0.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer shard0.Stop(context.Background())
	for _, g := range []string{g0, ""} {
		h.waitState(t, jobOf[g], store.StateDelivered)
	}
	for _, g := range []string{g0, g1, ""} {
		if n := h.rec.count("done", jobOf[g]); n != 1 {
			t.Errorf("the job of guild %q delivered %d times, want 1", g, n)
		}
	}
}

// TestCatalogResumeOnlyOwnShard: a shard's catalog neither closes another shard's import left in
// submitting (that process may be sending it) nor follows its pending character; its own are.
func TestCatalogResumeOnlyOwnShard(t *testing.T) {
	env := newCatalogEnv(t, false)
	ctx := context.Background()
	g0, g1 := guildOf(0, 2), guildOf(1, 2)
	scenes := map[string]*store.Scene{}
	chars := map[string]*store.Character{}
	for _, g := range []string{g0, g1} {
		s := &store.Scene{GuildID: g, Name: "left", TemplateID: "tpl_duo", ImportedBy: "u1"}
		if err := env.db.InsertScene(ctx, s); err != nil {
			t.Fatal(err)
		}
		ch := &store.Character{OwnerID: "u1", GuildID: g, Name: "alice-" + g}
		if err := env.db.InsertCharacter(ctx, ch); err != nil {
			t.Fatal(err)
		}
		scenes[g], chars[g] = s, ch
	}
	c := env.catalog(func(o *jobs.CatalogOptions) { o.OwnsGuild = ownsShard(1, 2); o.Now = afterSubmitTimeout })
	resume(t, c)
	c.Wait()
	if got := env.scene(t, scenes[g1].ID); got.Status != store.StatusUnknown {
		t.Errorf("own scene %+v, want unknown", got)
	}
	if got := env.character(t, chars[g1].ID); got.Status != store.StatusUnknown {
		t.Errorf("own character %+v, want unknown", got)
	}
	if got := env.scene(t, scenes[g0].ID); got.Status != store.StatusSubmitting {
		t.Errorf("shard 0's scene %+v, want left in submitting", got)
	}
	if got := env.character(t, chars[g0].ID); got.Status != store.StatusSubmitting {
		t.Errorf("shard 0's character %+v, want left in submitting", got)
	}
}
