package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/redact"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// insertDeadline bounds the job row's commit, so that the acknowledgement still makes Discord's 3 s.
const insertDeadline = 1500 * time.Millisecond

// renderRoute is /render. It acknowledges by itself (its budget is under 2 s), so that the
// acknowledgement is the first thing sent for it.
func (r *Router) renderRoute() Route {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	return Route{
		Name: CmdRender,
		Def: &discordgo.ApplicationCommand{
			Name:        CmdRender,
			Description: "Render a Viggle scene with your characters on its persons",
			Contexts:    &guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: OptScene, Required: true, MaxLength: 128, Autocomplete: true,
					Description: "A scene imported here (by name), or a Viggle scene id"},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptMap, Required: true, MaxLength: 6000, Autocomplete: true,
					Description: "person=character pairs (characters by name or id), e.g. person_a=alice, person_b=bob"},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptBackground,
					Description: "Background of the video (default: original)", Choices: choices("original", "solid", "transparent")},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptBGColor, MaxLength: 20,
					Description: "Solid background colour: R,G,B or #RRGGBB (implies solid)"},
				{Type: discordgo.ApplicationCommandOptionBoolean, Name: OptFast,
					Description: "About twice as fast, for twice the credits"},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptModel,
					Description: "Viggle model (the scene's own is used by default)", Choices: choices("V4_Preview", "V3_Preview")},
			},
		},
		Handle:       r.render,
		Autocomplete: map[string]Handler{OptScene: r.suggestScenes, OptMap: r.suggestMap},
		Defer:        DeferMessage,
		NoAutoDefer:  true,
	}
}

// render handles /render: the server's gates (channel, role, key), then validate (bad input costs
// nothing, the server's defaults fill the options left out), then start the job.
func (r *Router) render(ctx context.Context, e *Event) (*Response, error) {
	if e.GuildID == "" {
		return ephemeralText("Renders are made in a server's channel: use /render there."), nil
	}
	settings, keyRef, refusal, err := r.gate(ctx, e)
	if refusal != nil || err != nil {
		return refusal, err
	}
	o := e.Options
	// A scene imported here may be named (by the autocomplete's choice: its Viggle id).
	scene, err := r.knownScene(ctx, e.GuildID, keyRef, strings.TrimSpace(o.String(OptScene)))
	if err != nil {
		return nil, tell("I could not read this server's scenes just now. Nothing was sent to Viggle: please try again in a moment.", err)
	}
	sceneID := o.String(OptScene)
	if scene != nil {
		err = sceneUsable(scene)
		sceneID = scene.ViggleID
	}
	// The server's defaults, for the options left out (a colour alone means a solid background).
	background, fast := o.String(OptBackground), o.Bool(OptFast)
	if o.get(OptBackground) == nil && o.String(OptBGColor) == "" {
		background = settings.DefaultBackground
	}
	if o.get(OptFast) == nil {
		fast = settings.DefaultFast
	}
	var req spec.Request
	if err == nil {
		req, err = spec.NewRequest(sceneID, o.String(OptMap), background, o.String(OptBGColor), fast, o.String(OptModel))
	}
	if err == nil {
		var credits int
		req, credits, err = r.resolve(ctx, e.GuildID, e.User(), keyRef, settings.Approval, req, scene)
		if err == nil {
			return r.start(ctx, e, req, "", credits, keyRef)
		}
	}
	var se *spec.Error
	if !errors.As(err, &se) {
		return nil, tell("I could not read this server's scenes and characters just now. Nothing was sent to Viggle: please try again in a moment.", err)
	}
	e.SetOutcome("bad input")
	return ephemeralText(fmt.Sprintf("**%s**: %s", se.Field, se.Message) + "\nNothing was sent to Viggle and no credits were used."), nil
}

// gate applies the server's rules for starting a render (/render, Retry, Re-render), in order: the
// channel, the role, the key. It returns the guild's settings and the key reference of the new job, or
// the refusal (ephemeral, nothing recorded or sent, saying what to do). One read of the settings: the
// acknowledgement's budget is short.
func (r *Router) gate(ctx context.Context, e *Event) (*store.GuildSettings, string, *Response, error) {
	s := &store.GuildSettings{GuildID: e.GuildID}
	if g := r.guilds(); g != nil && e.GuildID != "" {
		var err error
		if s, err = g.GuildSettings(ctx, e.GuildID); err != nil {
			return nil, "", nil, tell("I could not read this server's settings just now. Nothing was sent to Viggle: please try again in a moment.",
				fmt.Errorf("read the settings of guild %s: %w", e.GuildID, err))
		}
	}
	if s.ChannelID != "" && e.ChannelID != s.ChannelID {
		e.SetOutcome("refused: channel")
		return nil, "", ephemeralText(fmt.Sprintf("Renders are made in <#%s> on this server: use /render there. Nothing was sent to Viggle.", s.ChannelID)), nil
	}
	if s.RoleID != "" && s.RoleID != e.GuildID && (e.Member == nil || !slices.Contains(e.Member.Roles, s.RoleID)) {
		e.SetOutcome("refused: role")
		return nil, "", ephemeralText(fmt.Sprintf("Only members with the <@&%s> role can render on this server: ask its admins for it. Nothing was sent to Viggle.", s.RoleID)), nil
	}
	ref, _, refusal, err := r.keyOrRefusal(ctx, e)
	if refusal != nil || err != nil {
		return nil, "", refusal, err
	}
	return s, ref, nil, nil
}

// limitRefusal is the answer to a render a limit of the server refused: which limit, and when the
// member may try again.
func limitRefusal(le *store.LimitError) string {
	again := "later"
	if !le.RetryAt.IsZero() {
		again = ts(le.RetryAt)
	}
	var msg string
	switch le.Limit {
	case store.LimitConcurrentPerUser:
		msg = fmt.Sprintf("You already have %s running on this server, its limit at a time: try again when one of your renders finishes.", plural(le.Max, "1 render", fmt.Sprintf("%d renders", le.Max)))
	case store.LimitRendersPerUserPerDay:
		msg = fmt.Sprintf("You have started %s today, this server's daily limit per member: try again %s (days are UTC days).", plural(le.Max, "1 render", fmt.Sprintf("%d renders", le.Max)), again)
	case store.LimitCooldown:
		msg = fmt.Sprintf("This server asks members to wait %s between two renders: try again %s.", (time.Duration(le.Max) * time.Second).String(), again)
	case store.LimitGuildRendersPerDay:
		msg = fmt.Sprintf("This server has started %s today, its daily limit for everyone: try again %s (days are UTC days).", plural(le.Max, "1 render", fmt.Sprintf("%d renders", le.Max)), again)
	default:
		msg = fmt.Sprintf("This server's limit on renders is reached: try again %s.", again)
	}
	return msg + "\nNothing was sent to Viggle and no credits were used."
}

// start commits a job for the interaction under insertDeadline, acknowledges it with a deferred public
// message (Event.Defer, under a route with DeferMessage), and only when Discord took that lets the
// engine send the render (eng.Acknowledged). retryOf is the job a Retry button retries; credits what the
// render is estimated to use (0: unknown); keyRef the Viggle key the job uses (gate's). A limit of the
// server (checked in the transaction that inserts the row) refuses it privately, and nothing is sent.
func (r *Router) start(ctx context.Context, e *Event, req spec.Request, retryOf string, credits int, keyRef string) (*Response, error) {
	uploadLimit := e.UploadLimit
	if uploadLimit <= 0 {
		uploadLimit = DefaultUploadLimit
	}
	issued, err := discordgo.SnowflakeTimestamp(e.ID)
	if err != nil {
		issued = r.now()
	}
	cctx, cancel := context.WithTimeout(ctx, insertDeadline)
	j, err := r.eng.Create(cctx, jobs.NewJob{
		OwnerID: e.User(), GuildID: e.GuildID, ChannelID: e.ChannelID,
		InteractionID: e.ID, InteractionToken: e.Token, TokenExpiresAt: issued.Add(15 * time.Minute),
		UploadLimit: uploadLimit, Request: req, RetryOf: retryOf, EstimatedCredits: credits, KeyRef: keyRef,
	})
	cancel()
	var limited *store.LimitError
	switch {
	case errors.As(err, &limited):
		e.SetOutcome("refused: limit " + limited.Limit)
		return ephemeralText(limitRefusal(limited)), nil
	case errors.Is(err, store.ErrDuplicate) && retryOf != "":
		e.SetOutcome("already retried")
		return ephemeralText("This render has already been retried: see the new one in the channel, or /jobs."), nil
	case errors.Is(err, store.ErrDuplicate):
		e.SetOutcome("replay ignored") // a redelivered interaction: its job exists and was answered
		return nil, nil
	case err != nil:
		return nil, tell("I'm too busy to take this render right now. Nothing was sent to Viggle: please try again in a moment.",
			fmt.Errorf("record the job: %w", err))
	}
	if err := e.Defer(ctx); err != nil {
		r.refused(ctx, e, j.ID, err)
		return nil, nil
	}
	if err := r.eng.Acknowledged(context.WithoutCancel(ctx), j.ID); err != nil {
		// Without the record the engine closes the job unsent after its grace time.
		return nil, tell("Something went wrong on my side before the render was sent; nothing was charged. Please try again.",
			fmt.Errorf("record the acknowledgement of job %s: %w", j.ID, err))
	}
	return nil, nil
}

// refused closes a job whose acknowledgement Discord refused: nothing is sent to Viggle.
func (r *Router) refused(ctx context.Context, e *Event, jobID string, err error) {
	e.SetOutcome("acknowledgement refused")
	log := r.log.With(store.JobAttrs(jobID, e.GuildID, e.User())...)
	log.Warn("acknowledgement refused; the job is closed without a render", "err", redact.Text(redact.Error(err), e.Token))
	code, status := discordCode(err)
	// The record is a fact (what Discord answered); explain words it.
	if aerr := r.eng.Abandon(context.WithoutCancel(ctx), jobID, fmt.Sprintf("Discord answered HTTP %d, code %d", status, code)); aerr != nil {
		log.Error("abandon job", "err", aerr)
	}
	if code != discordgo.ErrCodeUnknownInteraction && e.AppID != "" {
		// The acknowledgement may have landed after all (a lost answer): then the user sees
		// "thinking…"; replace it with what happened. Harmless when it did not land.
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		msg := "Something went wrong on my side, so this render was not sent and nothing was charged. Please try again."
		_, _ = send(ectx, e.rest, e.r.log, "PATCH", e.original(), bucket(e.ID), messageEdit{Content: &msg, AllowedMentions: noMentions}, nil)
	}
}

// Names in a map: a scene imported here (by its Viggle id, or its name) and characters by name.

// everyone is the person of a map pair that stands for every person of a scene known here.
const everyone = "*"

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// looksLikeCharacterID reports whether a map's character that names no character here is taken as
// a Viggle character id (sent as given).
func looksLikeCharacterID(s string) bool {
	return strings.HasPrefix(s, "char_") || uuidRE.MatchString(s)
}

func mapError(format string, args ...any) error {
	return &spec.Error{Field: OptMap, Message: fmt.Sprintf(format, args...)}
}

// knownScene returns the guild's scene that a request's scene names (its Viggle id, else its name)
// among the scenes of the Viggle key keyRef, or nil when the bot does not know it here.
func (r *Router) knownScene(ctx context.Context, guild, keyRef, scene string) (*store.Scene, error) {
	n := r.names()
	if n == nil || guild == "" {
		return nil, nil
	}
	s, err := n.SceneByViggleIDForKey(ctx, guild, keyRef, scene)
	if errors.Is(err, store.ErrNotFound) {
		s, err = n.SceneByNameForKey(ctx, guild, keyRef, scene)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read scene %q of guild %s: %w", scene, guild, err)
	}
	return s, nil
}

// estimate is about how many credits req would use, from its scene's duration when known here among
// the scenes of the key keyRef (0 when not).
func (r *Router) estimate(ctx context.Context, guild, keyRef string, req spec.Request) int {
	s, err := r.knownScene(ctx, guild, keyRef, req.SceneID)
	if err != nil {
		r.log.Warn("no cost estimate", "err", err)
	}
	if s == nil {
		return 0
	}
	return viggle.RenderCredits(s.Duration.Seconds(), req.Fast)
}

// sceneUsable is nil for a scene that can be rendered, else the bad-input error that says why not.
func sceneUsable(s *store.Scene) error {
	switch s.Status {
	case store.StatusReady:
		return nil
	case store.StatusFailed, store.StatusUnknown:
		return &spec.Error{Field: OptScene, Message: fmt.Sprintf("the import of the scene %s failed, so it cannot be rendered — import it again with /scene import", code(s.Name))}
	}
	return &spec.Error{Field: OptScene, Message: fmt.Sprintf("the scene %s is still being imported — try again when /scene list shows it ready", code(s.Name))}
}

// personList is a scene's persons for a message: "`person_a`, `person_b`".
func personList(s *store.Scene) string {
	ids := make([]string, len(s.Persons))
	for k, p := range s.Persons {
		ids[k] = code(p.UUID)
	}
	return clip(strings.Join(ids, ", "), 600)
}

// resolve turns the names of a valid request into Viggle ids: `*=character` (every person of scene,
// the request's scene when it is known here, else nil) and characters by name (the owner's own first,
// then the guild's shared ones, of the key keyRef). It checks the persons of a scene known here and that
// named characters are ready. Bad input is a *spec.Error; it returns the request to send and about how
// many credits it would use (0: unknown).
func (r *Router) resolve(ctx context.Context, guild, owner, keyRef string, approval bool, req spec.Request, scene *store.Scene) (spec.Request, int, error) {
	// Persons: * expands to every person not mapped otherwise, where it stands.
	var mapping []spec.Pair
	explicit := map[string]bool{}
	for _, p := range req.Mapping {
		explicit[p.Person] = true
	}
	for _, p := range req.Mapping {
		if p.Person != everyone {
			if scene != nil && !slices.ContainsFunc(scene.Persons, func(sp store.Person) bool { return sp.UUID == p.Person }) {
				return req, 0, mapError("the scene %s has no person %s — its persons are %s", code(scene.Name), code(p.Person), personList(scene))
			}
			mapping = append(mapping, p)
			continue
		}
		switch {
		case scene == nil:
			return req, 0, mapError("%s stands for every person of a scene imported here with /scene import, and I don't know the persons of %s — map each person by its id instead", code(everyone+"="+p.Character), code(req.SceneID))
		case len(scene.Persons) == 0:
			return req, 0, mapError("Viggle listed no persons for the scene %s, so %s maps nobody — import it again with /scene import", code(scene.Name), code(everyone+"="+p.Character))
		}
		for _, sp := range scene.Persons {
			if !explicit[sp.UUID] {
				mapping = append(mapping, spec.Pair{Person: sp.UUID, Character: p.Character})
			}
		}
	}
	// Characters by name, each looked up once.
	ids := map[string]string{}
	n := r.names()
	for k, p := range mapping {
		id, ok := ids[p.Character]
		if !ok {
			var err error
			if id, err = r.characterID(ctx, n, guild, owner, keyRef, approval, p); err != nil {
				return req, 0, err
			}
			ids[p.Character] = id
		}
		mapping[k].Character = id
	}
	req.Mapping = mapping
	if err := req.Validate(); err != nil {
		return req, 0, err
	}
	credits := 0
	if scene != nil {
		credits = viggle.RenderCredits(scene.Duration.Seconds(), req.Fast)
	}
	return req, credits, nil
}

// characterID is the Viggle id of the character a map's pair names. A value that names no character
// is sent as given when it looks like a Viggle id (`char_…` or a UUID); otherwise it is an unknown name,
// and bad input, on any scene (issue 9's rule).
//
// With approval on (the server reviews new characters), a character made in another server that no
// moderator reviewed is refused too, by name or by id: approval must not be bypassed by making the
// character elsewhere.
func (r *Router) characterID(ctx context.Context, n Names, guild, owner, keyRef string, approval bool, p spec.Pair) (string, error) {
	name := p.Character
	pair := code(p.Person + "=" + name)
	if n == nil {
		return name, nil
	}
	c, err := n.ResolveCharacter(ctx, owner, guild, keyRef, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A character held for review (pending or rejected) is not usable, by name or by its id.
		why, herr := r.characterRefusal(ctx, owner, guild, approval, name)
		if herr != nil {
			return "", herr
		}
		if why != "" {
			return "", mapError("in %s, %s", pair, why)
		}
		if looksLikeCharacterID(name) {
			return name, nil
		}
		return "", mapError("in %s, %s is not one of your characters nor one shared in this server — pick one from the list, make it with /character create, or give a Viggle character id (`char_…`)", pair, code(name))
	case err != nil:
		return "", fmt.Errorf("resolve character %q: %w", name, err)
	}
	if why := unreviewedHere(c, guild, approval); why != "" {
		return "", mapError("in %s, %s", pair, why)
	}
	switch c.Status {
	case store.StatusReady:
		return c.ViggleID, nil
	case store.StatusFailed, store.StatusUnknown:
		return "", mapError("in %s, the character %s could not be made — make it again with /character create", pair, code(c.Name))
	}
	return "", mapError("in %s, the character %s is still being prepared — try again when /character list shows it ready", pair, code(c.Name))
}

// unreviewedHere is why c may not be used in guild when the guild reviews new characters (approval)
// and c was made in another server and never reviewed; "" when it may.
func unreviewedHere(c *store.Character, guild string, approval bool) string {
	if !approval || c.GuildID == guild || c.ReviewedBy != "" {
		return ""
	}
	return fmt.Sprintf("the character %s was made in another server, and this server's moderators review new characters: make it here with /character create", code(c.Name))
}

// characterRefusal is why the character a map names (by name or Viggle id) may not be used in guild
// ("" when nothing is known against it): held for review, or, with approval on, a character known
// here by its id that was made in another server and never reviewed.
func (r *Router) characterRefusal(ctx context.Context, owner, guild string, approval bool, value string) (string, error) {
	why, err := r.heldRefusal(ctx, owner, guild, value)
	if err != nil || why != "" || !looksLikeCharacterID(value) {
		return why, err
	}
	return r.idRefusal(ctx, guild, approval, value)
}

// idRefusal is why the character of a Viggle id may not be used in guild: held for review, deleted, or
// made in another server and unreviewed where approval is on; "" when the bot knows nothing against it.
func (r *Router) idRefusal(ctx context.Context, guild string, approval bool, viggleID string) (string, error) {
	m := r.moderation()
	if m == nil {
		return "", nil
	}
	c, err := m.CharacterByViggleID(ctx, viggleID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A deleted character's id (which members may have seen) is withdrawn with it.
		deleted, err := m.CharacterDeleted(ctx, viggleID)
		if err != nil {
			return "", fmt.Errorf("look up the deleted characters for Viggle id %q: %w", viggleID, err)
		}
		if deleted {
			return fmt.Sprintf("the character %s was deleted and cannot be used any more", code(viggleID)), nil
		}
		return "", nil
	case err != nil:
		return "", fmt.Errorf("look up the character of Viggle id %q: %w", viggleID, err)
	}
	if why := heldWhy(c); why != "" {
		return why, nil
	}
	return unreviewedHere(c, guild, approval), nil
}

// heldWhy is why a character held for review cannot be used ("" when it is not held).
func heldWhy(c *store.Character) string {
	switch c.Review {
	case store.ReviewPending:
		return fmt.Sprintf("the character %s is waiting for approval by this server's moderators — try again once they approved it", code(c.Name))
	case store.ReviewRejected:
		return fmt.Sprintf("the character %s was rejected by this server's moderators and cannot be used", code(c.Name))
	}
	return ""
}

// Autocomplete of /render (SQLite only).

// suggestScenes suggests the guild's scenes by name or Viggle id: label the name, value the id.
func (r *Router) suggestScenes(ctx context.Context, e *Event) (*Response, error) {
	n := r.names()
	if n == nil || e.GuildID == "" {
		return emptyChoices(), nil
	}
	keyRef, err := r.keyRefFor(ctx, e.GuildID)
	if err != nil {
		return nil, err
	}
	list, err := n.SuggestScenesForKey(ctx, e.GuildID, keyRef, e.Options.String(OptScene), maxChoices)
	if err != nil {
		return nil, fmt.Errorf("suggest scenes: %w", err)
	}
	resp := emptyChoices()
	for _, s := range list {
		if s.ViggleID == "" || runes(s.ViggleID) > maxChoiceText {
			continue
		}
		resp.Choices = append(resp.Choices, &discordgo.ApplicationCommandOptionChoice{Name: clip(s.Name, maxChoiceText), Value: s.ViggleID})
	}
	return resp, nil
}

// currentPair splits a map being typed into what comes before the pair being typed and that pair
// (white space around "=" belongs to the pair, as spec.ParseMap reads it).
func currentPair(text string) (base, pair string) {
	i := len(text)
	for i > 0 {
		c, size := utf8.DecodeLastRuneInString(text[:i])
		if c == ',' || c == ';' {
			break
		}
		if unicode.IsSpace(c) {
			j := i // the run of white space is text[k:j]
			k := i - size
			for k > 0 {
				c2, s2 := utf8.DecodeLastRuneInString(text[:k])
				if !unicode.IsSpace(c2) {
					break
				}
				k -= s2
			}
			if !(k > 0 && text[k-1] == '=') && !(j < len(text) && text[j] == '=') {
				break
			}
			i = k
			continue
		}
		i -= size
	}
	return text[:i], text[i:]
}

var aroundEq = regexp.MustCompile(`\s*=\s*`)

// mappedPersons are the persons of the pairs in a map's text.
func mappedPersons(text string) map[string]bool {
	out := map[string]bool{}
	for _, t := range strings.FieldsFunc(aroundEq.ReplaceAllString(text, "="), func(c rune) bool {
		return c == ',' || c == ';' || unicode.IsSpace(c)
	}) {
		if person, _, ok := strings.Cut(t, "="); ok {
			out[person] = true
		}
	}
	return out
}

// suggestMap completes the pair being typed in `map`: before "=", the chosen scene's persons not yet
// mapped (and * for all of them); after it, the caller's characters then the guild's shared ones. A
// choice's value is the whole map with that pair completed (Discord replaces the option's text with
// it); a completion longer than a choice's value can be is left out.
func (r *Router) suggestMap(ctx context.Context, e *Event) (*Response, error) {
	n := r.names()
	resp := emptyChoices()
	if n == nil || e.GuildID == "" {
		return resp, nil
	}
	keyRef, err := r.keyRefFor(ctx, e.GuildID)
	if err != nil {
		return nil, err
	}
	text := e.Options.String(OptMap)
	base, pair := currentPair(text)
	add := func(label, value string) {
		if runes(value) <= maxChoiceText && len(resp.Choices) < maxChoices {
			resp.Choices = append(resp.Choices, &discordgo.ApplicationCommandOptionChoice{Name: clip(label, maxChoiceText), Value: value})
		}
	}
	person, prefix, typed := strings.Cut(aroundEq.ReplaceAllString(pair, "="), "=")
	if !typed {
		scene, err := r.knownScene(ctx, e.GuildID, keyRef, strings.TrimSpace(e.Options.String(OptScene)))
		if err != nil || scene == nil {
			return resp, err
		}
		mapped := mappedPersons(base)
		lower := strings.ToLower(person)
		if len(mapped) == 0 && len(scene.Persons) > 1 && strings.HasPrefix(everyone, person) {
			add("* — every person of "+scene.Name, base+everyone+"=")
		}
		for k, p := range scene.Persons {
			if !mapped[p.UUID] && strings.HasPrefix(strings.ToLower(p.UUID), lower) {
				label := fmt.Sprintf("Person %d — %s", k+1, p.UUID)
				if p.Type != "" {
					label += " (" + p.Type + ")"
				}
				add(label, base+p.UUID+"=")
			}
		}
		return resp, nil
	}
	list, err := n.SuggestCharacters(ctx, e.User(), e.GuildID, keyRef, prefix, maxChoices)
	if err != nil {
		return nil, fmt.Errorf("suggest characters: %w", err)
	}
	seen := map[string]bool{}
	for _, c := range list {
		// The name, when it reads back as this character (the first of that name); else its Viggle id.
		key := strings.ToLower(c.Name)
		first := !seen[key]
		seen[key] = true
		if c.Status == store.StatusFailed || c.ViggleID == "" {
			continue
		}
		value := c.Name
		if !first || spec.ValidateID(value) != nil || strings.ContainsAny(value, "=,;") || looksLikeCharacterID(value) {
			value = c.ViggleID
		}
		label := c.Name
		if c.OwnerID != e.User() {
			label += " (shared)"
		}
		if c.Status != store.StatusReady {
			label += " (still being prepared)"
		}
		add(label, base+person+"="+value)
	}
	return resp, nil
}
