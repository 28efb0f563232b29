package commands

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/store"
)

// CmdStats is /stats: for the bot's owners (BOT_OWNER_IDS), each server's renders.
const CmdStats = "stats"

// StatsStore is what /stats reads. *store.DB implements it.
type StatsStore interface {
	Stats(ctx context.Context, now time.Time) ([]store.GuildStats, error)
}

var _ StatsStore = (*Catalogued)(nil)

// statsRoutes is /stats. Only the bot's owners may run it (the route's check); its default permission
// (Administrator) keeps it out of ordinary members' command lists, and owners can also use it in a
// direct message with the bot.
func (r *Router) statsRoutes() []Route {
	contexts := []discordgo.InteractionContextType{discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM}
	admin := int64(discordgo.PermissionAdministrator)
	return []Route{{
		Name: CmdStats,
		Def: &discordgo.ApplicationCommand{
			Name:                     CmdStats,
			Description:              "For the bot's owners: renders, failures and output per server (only you see it)",
			Contexts:                 &contexts,
			DefaultMemberPermissions: &admin,
		},
		Handle: r.stats,
		Perm:   PermOwners,
		Defer:  DeferEphemeral,
	}}
}

// statsRowsMax bounds the table's rows (each about 60 characters, within a message's 2,000).
const statsRowsMax = 20

// stats handles /stats: a compact table of the busiest servers, with the totals of all.
func (r *Router) stats(ctx context.Context, e *Event) (*Response, error) {
	st, _ := r.st.(StatsStore)
	if st == nil {
		return ephemeralText(notAvailable), nil
	}
	list, err := st.Stats(ctx, r.now())
	if err != nil {
		return nil, tell("I could not read the statistics just now. Please try again in a moment.", fmt.Errorf("read the stats: %w", err))
	}
	return ephemeralText(statsText(list)), nil
}

// statsText is the /stats table: totals, then one row per server, busiest first, as many as fit.
func statsText(list []store.GuildStats) string {
	if len(list) == 0 {
		return "No server has rendered anything yet."
	}
	var total store.GuildStats
	own := 0
	for _, g := range list {
		total.JobsToday += g.JobsToday
		total.JobsTotal += g.JobsTotal
		total.Failures += g.Failures
		total.OutputSeconds += g.OutputSeconds
		if g.OwnKey {
			own++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%d %s**, %d with %s own Viggle key · renders today %d, in all %d · failures %d · output %s (about the credits spent)\n",
		len(list), plural(len(list), "server", "servers"), own, plural(own, "its", "their"),
		total.JobsToday, total.JobsTotal, total.Failures, outputText(total.OutputSeconds))
	const head = "server               today   total  failed    output key\n"
	b.WriteString("```\n" + head)
	rows := 0
	for _, g := range list {
		key := "shared"
		if g.OwnKey {
			key = "own"
		}
		row := fmt.Sprintf("%-20s %5d %7d %7d %9s %s\n", clip(g.GuildID, 20), g.JobsToday, g.JobsTotal, g.Failures, outputText(g.OutputSeconds), key)
		if rows == statsRowsMax || b.Len()+len(row)+60 > maxContent {
			break
		}
		b.WriteString(row)
		rows++
	}
	b.WriteString("```")
	if rest := len(list) - rows; rest > 0 {
		fmt.Fprintf(&b, "\n…and %d more %s.", rest, plural(rest, "server", "servers"))
	}
	return b.String()
}

// outputText is seconds of video: "45 s", "12.5 min", "3.2 h".
func outputText(sec float64) string {
	switch {
	case sec < 0 || math.IsNaN(sec):
		return "0 s"
	case sec < 120:
		return fmt.Sprintf("%.0f s", sec)
	case sec < 7200:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", sec/60), ".0") + " min"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", sec/3600), ".0") + " h"
}
