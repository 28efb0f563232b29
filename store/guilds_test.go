package store

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGuildSettingsDefaultsAndUpdate(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := t.Context()
	fixClock(db, ms(1_700_000_000_123))

	got, err := db.GuildSettings(ctx, "g1")
	if err != nil || *got != (GuildSettings{GuildID: "g1"}) {
		t.Fatalf("GuildSettings of a guild never configured = %+v, %v; want the defaults", got, err)
	}
	if _, err := db.GuildSettings(ctx, ""); err == nil {
		t.Error("GuildSettings(\"\") succeeded")
	}

	want := GuildSettings{
		GuildID:           "g1",
		Limits:            Limits{ConcurrentPerUser: 2, RendersPerUserPerDay: 10, Cooldown: 30 * time.Second, GuildRendersPerDay: 100},
		ChannelID:         "c1",
		RoleID:            "r1",
		DefaultBackground: "green",
		DefaultFast:       true,
		Approval:          true,
		ModlogChannelID:   "c2",
		UpdatedAt:         ms(1_700_000_000_123),
	}
	up, err := db.UpdateGuildSettings(ctx, "g1", Change{ActorID: "admin", What: "everything"}, func(g *GuildSettings) {
		g.Limits = want.Limits
		g.ChannelID, g.RoleID, g.DefaultBackground, g.DefaultFast = want.ChannelID, want.RoleID, want.DefaultBackground, want.DefaultFast
		g.Approval, g.ModlogChannelID = want.Approval, want.ModlogChannelID
	})
	if err != nil || *up != want {
		t.Fatalf("UpdateGuildSettings = %+v, %v; want %+v", up, err, want)
	}
	if got, err := db.GuildSettings(ctx, "g1"); err != nil || *got != want {
		t.Errorf("GuildSettings after update = %+v, %v; want %+v", got, err, want)
	}
	if got, err := db.GuildSettings(ctx, "g2"); err != nil || *got != (GuildSettings{GuildID: "g2"}) {
		t.Errorf("another guild's settings = %+v, %v", got, err)
	}

	// apply sees what is stored and changes only what it sets; a sub-second cooldown is rounded up.
	fixClock(db, ms(1_700_000_001_000))
	up, err = db.UpdateGuildSettings(ctx, "g1", Change{ActorID: "admin", What: "channel cleared"}, func(g *GuildSettings) {
		if g.RoleID != "r1" {
			t.Errorf("apply saw role %q, want r1", g.RoleID)
		}
		g.ChannelID = ""
		g.Limits.Cooldown = 1500 * time.Millisecond
	})
	if err != nil || up.ChannelID != "" || up.RoleID != "r1" || up.Limits.Cooldown != 2*time.Second {
		t.Errorf("second update = %+v, %v", up, err)
	}

	// A negative limit or a changed guild id writes nothing, not even the change.
	for name, apply := range map[string]func(*GuildSettings){
		"negative": func(g *GuildSettings) { g.Limits.RendersPerUserPerDay = -1 },
		"cooldown": func(g *GuildSettings) { g.Limits.Cooldown = -time.Second },
		"guild id": func(g *GuildSettings) { g.GuildID = "g2" },
	} {
		if _, err := db.UpdateGuildSettings(ctx, "g1", Change{ActorID: "admin", What: name}, apply); err == nil {
			t.Errorf("UpdateGuildSettings(%s) succeeded", name)
		}
	}
	if _, err := db.UpdateGuildSettings(ctx, "g1", Change{ActorID: "admin"}, func(*GuildSettings) {}); err == nil {
		t.Error("UpdateGuildSettings with a change of no words succeeded")
	}
	if got, _ := db.GuildSettings(ctx, "g1"); got.Limits.RendersPerUserPerDay != 10 || got.Limits.Cooldown != 2*time.Second {
		t.Errorf("settings after refused updates = %+v", got)
	}
	changes, err := db.RecentChanges(ctx, "g1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := whats(changes); !slices.Equal(got, []string{"channel cleared", "everything"}) {
		t.Errorf("change log = %v, want the two committed updates, newest first", got)
	}
	if changes[0].GuildID != "g1" || changes[0].ActorID != "admin" || !changes[0].At.Equal(ms(1_700_000_001_000)) {
		t.Errorf("change = %+v", changes[0])
	}
}

func whats(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.What
	}
	return out
}

func TestRecentChanges(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := t.Context()
	fixClock(db, ms(5000))
	for i, w := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		at := ms(int64(1000 * i))
		if i == 6 {
			at = time.Time{} // now: 5000, as f
		}
		if err := db.LogChange(ctx, Change{GuildID: "g1", ActorID: "u", What: "  " + w + " ", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.LogChange(ctx, Change{GuildID: "g2", ActorID: "u", What: "other guild"}); err != nil {
		t.Fatal(err)
	}
	// By time, newest first; g and f have the same time: the one logged last first.
	got, err := db.RecentChanges(ctx, "g1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if w := whats(got); !slices.Equal(w, []string{"g", "f", "e", "d", "c"}) {
		t.Errorf("RecentChanges(g1, 0) = %v, want the default five, newest first", w)
	}
	if got, _ := db.RecentChanges(ctx, "g1", 2); len(got) != 2 {
		t.Errorf("RecentChanges(g1, 2) returned %d", len(got))
	}
	if got, _ := db.RecentChanges(ctx, "g3", 5); len(got) != 0 {
		t.Errorf("RecentChanges of a guild without changes = %v", got)
	}
	for _, c := range []Change{{GuildID: "", What: "x"}, {GuildID: "g1", What: "  "}} {
		if err := db.LogChange(ctx, c); err == nil {
			t.Errorf("LogChange(%+v) succeeded", c)
		}
	}
	if plan := explainPlan(t, db, `SELECT guild_id, actor_id, what, at FROM guild_changes WHERE guild_id = ?
		ORDER BY at DESC, id DESC LIMIT ?`, "g1", 5); !strings.Contains(plan, "guild_changes_guild_at_idx") {
		t.Errorf("RecentChanges does not read its index:\n%s", plan)
	}
}

func TestUpdateGuildSettingsEmptyGuild(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	if _, err := db.UpdateGuildSettings(t.Context(), "", Change{What: "x"}, func(*GuildSettings) {}); err == nil {
		t.Error("UpdateGuildSettings(\"\") succeeded")
	}
	if err := db.LogChange(t.Context(), Change{What: "x"}); err == nil {
		t.Error("LogChange without a guild succeeded")
	}
}
