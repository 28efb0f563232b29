package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/store"
)

// Names is what /render, /job and Re-render read of the guild's scenes and the members' characters:
// SQLite only, never Viggle. *store.DB implements it; the router uses it when its Store does.
type Names interface {
	SuggestScenesForKey(ctx context.Context, guildID, keyRef, prefix string, limit int) ([]*store.Scene, error)
	SceneByViggleIDForKey(ctx context.Context, guildID, keyRef, viggleID string) (*store.Scene, error)
	SceneByNameForKey(ctx context.Context, guildID, keyRef, name string) (*store.Scene, error)
	SuggestCharacters(ctx context.Context, ownerID, guildID, keyRef, prefix string, limit int) ([]*store.Character, error)
	ResolveCharacter(ctx context.Context, ownerID, guildID, keyRef, name string) (*store.Character, error)
	CharacterByViggleID(ctx context.Context, viggleID string) (*store.Character, error)
}

// names is the router's Names, or nil when its Store reads no scenes or characters (then every scene
// is unknown here, every character an id, and nothing is suggested).
func (r *Router) names() Names {
	n, _ := r.st.(Names)
	return n
}

// Names of /job.
const (
	CmdJob = "job"
	OptID  = "id"
)

// rerenderID is the Re-render button of /job: a new job with the same parameters, each click.
var rerenderID = CustomID{Prefix: "rerender", Args: []IDArg{{"job", ArgJob}}} // rerender:<job id>

// jobRoutes are the routes of /job and its Re-render button.
func (r *Router) jobRoutes() []Route {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	return []Route{{
		Name: CmdJob,
		Def: &discordgo.ApplicationCommand{
			Name:        CmdJob,
			Description: "The details of one of your renders (only you see them)",
			Contexts:    &guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: OptID, Required: true, MaxLength: 64, Autocomplete: true,
					Description: "The render's job id (pick one of your latest)"},
			},
		},
		Handle:       r.job,
		Autocomplete: map[string]Handler{OptID: r.suggestJobs},
		Defer:        DeferEphemeral,
	}, {
		Kind: RouteComponent, ID: rerenderID, Handle: r.rerender, Defer: DeferMessage, NoAutoDefer: true,
	}}
}

const jobNotFound = "I can't find a render of yours with that id. Use /jobs to see your renders."

func (r *Router) job(ctx context.Context, e *Event) (*Response, error) {
	id := strings.TrimSpace(e.Options.String(OptID))
	j, err := r.eng.Get(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound), err == nil && (j.OwnerID != e.User() || j.Origin != store.OriginDiscord):
		e.SetOutcome("no such job")
		return ephemeralText(jobNotFound), nil
	case err != nil:
		return nil, tell("I could not read that render just now. Please try again in a moment.", fmt.Errorf("read job %s: %w", id, err))
	}
	v := r.jobView(ctx, j)
	return &Response{Content: v.Content, Components: v.Components, Ephemeral: true}, nil
}

// jobView is /job's details of j, with names of its scene and characters where known here.
func (r *Router) jobView(ctx context.Context, j *store.Job) view {
	var b strings.Builder
	scene := code(clip(j.Request.SceneID, sceneBudget))
	if s, _ := r.knownScene(ctx, j.GuildID, j.KeyRef, j.Request.SceneID); s != nil { // a scene of the job's own key
		scene = "**" + clip(s.Name, sceneBudget) + "** " + scene
	}
	fmt.Fprintf(&b, "**Render** %s · scene %s\n", code(j.ID), scene)
	var pairs []string
	n := r.names()
	for _, p := range j.Request.Mapping {
		ch := code(p.Character)
		if n != nil {
			// Only a name the job's owner could have used: their own, or one shared in the job's server
			// (another member's private character stays an id).
			if c, err := n.CharacterByViggleID(ctx, p.Character); err == nil && (c.OwnerID == j.OwnerID || (c.Shared && c.GuildID == j.GuildID)) {
				ch = clip(c.Name, 40) + " " + ch
			}
		}
		pairs = append(pairs, code(p.Person)+" → "+ch)
	}
	fmt.Fprintf(&b, "Map: %s\n", clip(strings.Join(pairs, ", "), mapBudget))
	if o := options(*j); o != "" {
		fmt.Fprintf(&b, "Options: %s\n", o)
	}
	fmt.Fprintf(&b, "Status: %s\n", stateLabel(j))
	if j.EstimatedCredits > 0 {
		fmt.Fprintf(&b, "Cost: about %s\n", creditsText(j.EstimatedCredits))
	}
	fmt.Fprintf(&b, "Asked for %s", ts(j.CreatedAt))
	if !j.SubmittedAt.IsZero() {
		fmt.Fprintf(&b, " · sent to Viggle %s", ts(j.SubmittedAt))
	}
	if !j.ClosedAt.IsZero() {
		fmt.Fprintf(&b, " · ended %s", ts(j.ClosedAt))
	}
	b.WriteString("\n")
	switch j.State {
	case store.StateFailed, store.StateInterrupted, store.StateCancelled:
		b.WriteString(clip(explain.Outcome(*j), 500) + "\n")
		if c := explain.Code(j.ErrorCode); c != "" {
			fmt.Fprintf(&b, "-# error %s\n", code(c))
		}
	}
	if link := resultLink(j); link != "" && runes(link) < 600 {
		fmt.Fprintf(&b, "Result: %s\n", link)
	}
	// Re-render is always offered (a new job with the same parameters); Cancel too while it runs.
	buttons := []discordgo.MessageComponent{
		discordgo.Button{Label: "Re-render (a new render: uses credits again)", Style: discordgo.SecondaryButton, CustomID: rerenderID.build(j.ID)},
	}
	if !j.State.Final() {
		buttons = append(buttons, discordgo.Button{Label: "Cancel render", Style: discordgo.DangerButton, CustomID: cancelID.build(j.ID)})
	}
	return view{Content: b.String(), Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: buttons}}}
}

// suggestJobs suggests the caller's latest jobs here: "scene name · state · age", value the job id.
func (r *Router) suggestJobs(ctx context.Context, e *Event) (*Response, error) {
	resp := emptyChoices()
	if r.st == nil || e.GuildID == "" {
		return resp, nil
	}
	list, err := r.st.ListByOwner(ctx, store.ListFilter{Origin: store.OriginDiscord, GuildID: e.GuildID, OwnerID: e.User(), Limit: store.MaxListLimit})
	if err != nil {
		return nil, fmt.Errorf("suggest jobs: %w", err)
	}
	prefix := strings.ToLower(strings.TrimSpace(e.Options.String(OptID)))
	sceneNames := map[string]string{}
	for _, j := range list {
		if len(resp.Choices) == maxChoices {
			break
		}
		if !strings.HasPrefix(strings.ToLower(j.ID), prefix) {
			continue
		}
		seen := j.KeyRef + "\x00" + j.Request.SceneID // a scene of the job's own key
		name, ok := sceneNames[seen]
		if !ok {
			name = j.Request.SceneID
			if s, _ := r.knownScene(ctx, e.GuildID, j.KeyRef, j.Request.SceneID); s != nil {
				name = s.Name
			}
			sceneNames[seen] = name
		}
		label := fmt.Sprintf("%s · %s · %s", clip(name, 50), stateLabel(j), age(r.now().Sub(j.CreatedAt)))
		resp.Choices = append(resp.Choices, &discordgo.ApplicationCommandOptionChoice{Name: clip(label, maxChoiceText), Value: j.ID})
	}
	return resp, nil
}

// age is a duration in the words of a choice label ("5 min ago").
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

// rerender is /job's Re-render button: any job of the clicker's own, again as a new job each click
// (not a retry: Retry's one-retry rule stays).
func (r *Router) rerender(ctx context.Context, e *Event) (*Response, error) {
	j, refusal, err := r.ownJob(ctx, e, e.Args.String("job"), "render it again. You can start your own with /render.")
	if refusal != nil || err != nil {
		return refusal, err
	}
	return r.again(ctx, e, j, "")
}
