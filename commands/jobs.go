package commands

import (
	"context"
	"fmt"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/store"
)

// jobsRoute is /jobs: the caller's own jobs in this server, newest first, ten a page, only to them.
func (r *Router) jobsRoute() Route {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	return Route{
		Name: CmdJobs,
		Def: &discordgo.ApplicationCommand{
			Name:        CmdJobs,
			Description: "Your latest renders in this server (only you see the list)",
			Contexts:    &guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: OptStatus,
					Description: "Only renders that are…", Choices: choices(StatusRunning, StatusDone, StatusFailed, StatusCancelled)},
			},
		},
		Handle: r.jobs,
		Defer:  DeferEphemeral,
	}
}

// jobsPageRoute is the Previous/Next buttons of a /jobs list (pageID).
func (r *Router) jobsPageRoute() Route {
	return Route{Kind: RouteComponent, ID: pageID, Handle: r.jobsPage}
}

const listFailed = "I could not read your renders just now. Please try again."

func (r *Router) jobs(ctx context.Context, e *Event) (*Response, error) {
	v, err := r.jobsList(ctx, e.GuildID, e.User(), e.Options.String(OptStatus), 0)
	if err != nil {
		return nil, tell(listFailed, err)
	}
	return &Response{Content: v.Content, Components: v.Components, Ephemeral: true}, nil
}

// jobsPage shows another page of a /jobs list: only the list's owner may page it.
func (r *Router) jobsPage(ctx context.Context, e *Event) (*Response, error) {
	owner := e.Args.String("owner")
	if owner != e.User() {
		e.SetOutcome("refused")
		return ephemeralText("This list belongs to someone else: use /jobs to see your own renders."), nil
	}
	v, err := r.jobsList(ctx, e.GuildID, owner, e.Args.String("status"), e.Args.Int("page"))
	if err != nil {
		return nil, tell(listFailed, err)
	}
	return &Response{Type: discordgo.InteractionResponseUpdateMessage, Content: v.Content, Components: v.Components}, nil
}

// jobsList builds one page of an owner's list; the filter is applied in SQL.
func (r *Router) jobsList(ctx context.Context, guild, owner, status string, page int) (view, error) {
	if _, ok := statusStates[status]; !ok {
		status = ""
	}
	f := store.ListFilter{Origin: store.OriginDiscord, GuildID: guild, OwnerID: owner, States: statusStates[status]}
	total, err := r.st.CountByOwner(ctx, f)
	if err != nil {
		return view{}, fmt.Errorf("count the jobs of %s: %w", owner, err)
	}
	pages := max(1, (total+jobsPageSize-1)/jobsPageSize)
	page = min(max(page, 0), pages-1)
	f.Limit, f.Offset = jobsPageSize, page*jobsPageSize
	list, err := r.st.ListByOwner(ctx, f)
	if err != nil {
		return view{}, fmt.Errorf("list the jobs of %s: %w", owner, err)
	}
	return jobsView(list, owner, status, page, total), nil
}
