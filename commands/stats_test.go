package commands

import (
	"fmt"
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/resttest"
	"github.com/viggle-bot/viggle-bot/store"
)

func TestStatsOnlyForOwners(t *testing.T) {
	const owner = "400000000000000009"
	e := newCfgEnv(t, cfgOptions{owners: []string{owner}})
	e.config(t, "key set", OptAPIKey, cfgGuildKey)
	wantStarted(t, e.render(t))
	e.failedJob(t, store.StateFailed)
	stats := func(edits ...func(map[string]any)) []resttest.Call {
		return e.run(t, nil, interaction(t, "credits", func(d map[string]any) {
			d["data"].(map[string]any)["name"] = CmdStats
			for _, ed := range edits {
				ed(d)
			}
		}))
	}
	wantEphemeral(t, stats(), "Only the bot's owners can use this.")
	wantEphemeral(t, stats(permissions("8")), "Only the bot's owners can use this.") // an admin is not an owner
	calls := stats(asUser(owner))
	wantEphemeral(t, calls, "**1 server**, 1 with its own Viggle key · renders today ")
	wantEphemeral(t, calls, ", in all 2 · failures 1 ·")
	wantEphemeral(t, calls, testGuild)
	// In a direct message with the bot too.
	calls = stats(func(d map[string]any) {
		d["user"] = d["member"].(map[string]any)["user"]
		d["user"].(map[string]any)["id"] = owner
		delete(d, "member")
		delete(d, "guild_id")
	})
	wantEphemeral(t, calls, "**1 server**")
}

func TestStatsTableFits(t *testing.T) {
	var list []store.GuildStats
	for k := range 500 {
		list = append(list, store.GuildStats{GuildID: fmt.Sprintf("%018d", 1000+k), JobsToday: 500 - k, JobsTotal: 100000 + k, Failures: k, OutputSeconds: float64(k) * 3600, OwnKey: k%2 == 0})
	}
	text := statsText(list)
	if runes(text) > maxContent || !strings.Contains(text, "more servers.") || !strings.HasPrefix(text, "**500 servers**, 250 with their own Viggle key") {
		t.Fatalf("stats of 500 servers (%d characters):\n%s", runes(text), text)
	}
	if statsText(nil) == "" {
		t.Error("no text for no servers")
	}
}
