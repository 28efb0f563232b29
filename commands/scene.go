package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// Names of /scene.
const (
	CmdScene       = "scene"
	SubImport      = "import"
	SubList        = "list"
	SubRemove      = "remove"
	OptTemplate    = "template"
	OptName        = "name"
	maxNameLength  = 100
	maxTemplateLen = 256
)

// sceneRoutes are the routes of /scene import, list and remove.
func (r *Router) sceneRoutes() []Route {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	def := &discordgo.ApplicationCommand{
		Name:        CmdScene,
		Description: "Scenes of this server, imported from Viggle templates",
		Contexts:    &guildOnly,
		Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubImport, Description: "Import a Viggle template as a scene of this server",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: OptTemplate, Required: true, MaxLength: maxTemplateLen,
						Description: "The Viggle template's id"},
					{Type: discordgo.ApplicationCommandOptionString, Name: OptName, MaxLength: maxNameLength,
						Description: "A name for the scene here (default: the template id)"},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubList, Description: "This server's scenes (only you see the list)"},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubRemove, Description: "Forget one of this server's scenes",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: OptName, Required: true, MaxLength: maxTemplateLen, Autocomplete: true,
						Description: "The scene's name"},
				}},
		},
	}
	return []Route{
		{Name: CmdScene + " " + SubImport, Def: def, Handle: r.sceneImport},
		{Name: CmdScene + " " + SubList, Handle: r.sceneList, Defer: DeferEphemeral},
		{Name: CmdScene + " " + SubRemove, Handle: r.sceneRemove, Defer: DeferEphemeral,
			Autocomplete: map[string]Handler{OptName: r.suggestSceneNames}},
	}
}

const (
	guildOnlyText  = "Scenes and characters belong to a server: use this command in one."
	scenesReadFail = "I could not read this server's scenes just now. Please try again in a moment."
)

// inAServer is the refusal of a scene or character command used outside a server, or on a bot wired
// without what it needs (available false); nil when it may go on.
func inAServer(e *Event, available bool) *Response {
	switch {
	case e.GuildID == "":
		return ephemeralText(guildOnlyText)
	case !available:
		return ephemeralText(notAvailable)
	}
	return nil
}

// sceneImport handles /scene import: it defers publicly (an import takes seconds to minutes), imports
// the template through the catalog and replaces the "thinking…" message with the scene's persons and
// cost, or why it failed.
func (r *Router) sceneImport(ctx context.Context, e *Event) (*Response, error) {
	cat := r.catalog()
	if refusal := inAServer(e, cat != nil); refusal != nil {
		return refusal, nil
	}
	template := strings.TrimSpace(e.Options.String(OptTemplate))
	name := strings.TrimSpace(e.Options.String(OptName))
	if template == "" {
		e.SetOutcome("bad input")
		return ephemeralText("**template**: give the id of a Viggle template. Nothing was sent to Viggle."), nil
	}
	// The scene is a Viggle object of the account of the key the server uses now.
	keyRef, _, refusal, err := r.keyOrRefusal(ctx, e)
	if refusal != nil || err != nil {
		return refusal, err
	}
	if err := e.Defer(ctx); err != nil {
		e.SetOutcome("not answered")
		return nil, fmt.Errorf("defer /scene import: %w", err)
	}
	s, err := cat.ImportScene(ctx, jobs.SceneImport{GuildID: e.GuildID, UserID: e.User(), KeyRef: keyRef, TemplateID: template, Name: name})
	shown := name
	if shown == "" {
		shown = template
	}
	switch {
	case errors.Is(err, store.ErrDuplicate):
		e.SetOutcome("name taken")
		return ephemeralText(fmt.Sprintf("This server already has a scene named %s: pick another name with `name:`, or remove that one with /scene remove. Nothing was sent to Viggle.", code(shown))), nil
	case err != nil && viggleFailure(err):
		e.SetOutcome("viggle error")
		return &Response{Content: fmt.Sprintf("The import of %s did not work. %s", code(shown), explain.ViggleError(explain.OpImport, err))}, nil
	case err != nil:
		return nil, tell("Something went wrong on my side while importing the scene. Check /scene list before you try again.", err)
	}
	return &Response{Content: sceneImportedText(s)}, nil
}

// sceneImportedText is the answer to an import that returned: ready (persons, length and cost),
// failed (why), or still importing.
func sceneImportedText(s *store.Scene) string {
	var b strings.Builder
	switch s.Status {
	case store.StatusReady:
		fmt.Fprintf(&b, "Scene %s is imported and ready (Viggle id %s).\n", code(s.Name), code(s.ViggleID))
	case store.StatusFailed, store.StatusUnknown:
		fmt.Fprintf(&b, "The import of %s did not work. %s\nTry again with /scene import, or with another template.",
			code(s.Name), explain.CatalogFailure(s.Error, s.Status == store.StatusUnknown))
		return b.String()
	default:
		fmt.Fprintf(&b, "Scene %s is still importing at Viggle; /scene list shows when it is ready.\n", code(s.Name))
	}
	if len(s.Persons) == 0 {
		b.WriteString("Viggle listed no persons for it, so it cannot be mapped yet.\n")
	} else {
		b.WriteString("Persons, in order:\n")
		for k, p := range s.Persons {
			line := fmt.Sprintf("Person %d — %s", k+1, code(p.UUID))
			if p.Type != "" {
				line += " (" + p.Type + ")"
			}
			if b.Len()+len(line) > 1500 {
				fmt.Fprintf(&b, "…and %d more: see /scene list\n", len(s.Persons)-k)
				break
			}
			b.WriteString(line + "\n")
		}
	}
	if c := costText(s); c != "" {
		b.WriteString(c + "\n")
	}
	if s.Status == store.StatusReady && len(s.Persons) > 0 {
		fmt.Fprintf(&b, "Render it with /render, scene %s, and map each person to a character, e.g. `%s=<character>`.", code(s.Name), s.Persons[0].UUID)
	}
	return strings.TrimRight(b.String(), "\n")
}

// costText is a scene's length and render estimate ("" when Viggle gave no length).
func costText(s *store.Scene) string {
	sec := s.Duration.Seconds()
	n := viggle.RenderCredits(sec, false)
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("Video: %s · about %s per render, %d with fast.", seconds(sec), creditsText(n), viggle.RenderCredits(sec, true))
}

// seconds is a length such as "8 s" or "4.5 s".
func seconds(sec float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", sec), "0"), ".") + " s"
}

// sceneStatus is a scene's status for a list.
func sceneStatus(s *store.Scene) string {
	switch s.Status {
	case store.StatusReady:
		return "ready"
	case store.StatusFailed:
		return "failed"
	case store.StatusUnknown:
		return "import unconfirmed (it may exist at Viggle)"
	}
	return "still importing"
}

// sceneList handles /scene list: this guild's scenes, only to the caller.
func (r *Router) sceneList(ctx context.Context, e *Event) (*Response, error) {
	st := r.scenes()
	if refusal := inAServer(e, st != nil); refusal != nil {
		return refusal, nil
	}
	keyRef, err := r.keyRefFor(ctx, e.GuildID)
	if err != nil {
		return nil, tell(scenesReadFail, err)
	}
	list, err := st.ListScenes(ctx, e.GuildID)
	if err != nil {
		return nil, tell(scenesReadFail, err)
	}
	if len(list) == 0 {
		return ephemeralText("This server has no scenes yet: import one with /scene import."), nil
	}
	return ephemeralText(sceneListText(list, keyRef)), nil
}

// sceneListText lists scenes, one paragraph each, within a message's length; a scene imported with
// another key than keyRef (the server's) says that renders do not offer it.
func sceneListText(list []*store.Scene, keyRef string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Scenes of this server** (%d)\n", len(list))
	for k, s := range list {
		var p strings.Builder
		id := s.ViggleID
		if id == "" {
			id = "no Viggle id yet"
		}
		fmt.Fprintf(&p, "**%s** — %s · %s", clip(s.Name, maxNameLength), code(clip(id, 80)), sceneStatus(s))
		if s.Status == store.StatusFailed && s.Error != "" {
			fmt.Fprintf(&p, " (%s)", clip(s.Error, 120))
		}
		if s.KeyRef != keyRef {
			p.WriteString(" · imported with another Viggle key: not offered for renders (remove it and import it again)")
		}
		p.WriteString("\n")
		if len(s.Persons) > 0 {
			fmt.Fprintf(&p, "  %d %s: %s\n", len(s.Persons), plural(len(s.Persons), "person", "persons"), personList(s))
		}
		if c := costText(s); c != "" {
			p.WriteString("  " + c + "\n")
		}
		if b.Len()+p.Len() > maxContent-60 {
			fmt.Fprintf(&b, "…and %d more.", len(list)-k)
			break
		}
		b.WriteString(p.String())
	}
	return strings.TrimRight(b.String(), "\n")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// sceneRemove handles /scene remove: its importer, or a member with Manage Server, forgets a scene here.
func (r *Router) sceneRemove(ctx context.Context, e *Event) (*Response, error) {
	st := r.scenes()
	if refusal := inAServer(e, st != nil); refusal != nil {
		return refusal, nil
	}
	name := strings.TrimSpace(e.Options.String(OptName))
	s, err := st.SceneByName(ctx, e.GuildID, name) // of any key: it holds the name

	switch {
	case errors.Is(err, store.ErrNotFound):
		e.SetOutcome("not found")
		return ephemeralText(fmt.Sprintf("This server has no scene named %s: see /scene list.", code(name))), nil
	case err != nil:
		return nil, tell(scenesReadFail, err)
	}
	if s.ImportedBy != e.User() && !canManageGuild(e) {
		e.SetOutcome("refused")
		return ephemeralText(fmt.Sprintf("Only the member who imported %s, or one with the Manage Server permission, can remove it.", code(s.Name))), nil
	}
	if err := st.DeleteScene(ctx, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, tell("I could not remove the scene just now. Please try again in a moment.", err)
	}
	return ephemeralText(fmt.Sprintf("Scene %s is removed from this server. It stays at Viggle, and renders already made are kept.", code(s.Name))), nil
}

// suggestSceneNames suggests the guild's scenes by name (label and value the name).
func (r *Router) suggestSceneNames(ctx context.Context, e *Event) (*Response, error) {
	st := r.scenes()
	resp := emptyChoices()
	if st == nil || e.GuildID == "" {
		return resp, nil
	}
	keyRef, err := r.keyRefFor(ctx, e.GuildID)
	if err != nil {
		return nil, err
	}
	list, err := st.SuggestScenesForKey(ctx, e.GuildID, keyRef, e.Options.String(OptName), maxChoices)
	if err != nil {
		return nil, fmt.Errorf("suggest scenes: %w", err)
	}
	for _, s := range list {
		if runes(s.Name) > maxChoiceText || len(resp.Choices) == maxChoices {
			continue
		}
		label := s.Name
		if s.Status != store.StatusReady {
			label += " (" + sceneStatus(s) + ")"
		}
		resp.Choices = append(resp.Choices, &discordgo.ApplicationCommandOptionChoice{Name: clip(label, maxChoiceText), Value: s.Name})
	}
	return resp, nil
}
