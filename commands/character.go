package commands

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"path"
	"strings"

	"github.com/bwmarrin/discordgo"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// Names of /character.
const (
	CmdCharacter = "character"
	SubCreate    = "create"
	SubDelete    = "delete"
	SubShare     = "share"
	OptImage     = "image"
)

// maxCharacterImage is the largest photo /character create takes (bytes).
const maxCharacterImage = 10 << 20

// characterImageTypes are the photo formats /character create takes, by content type.
var characterImageTypes = map[string]string{"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}

// maxCharacterEmbeds is how many thumbnails /character list shows (Discord takes 10 embeds a message).
const maxCharacterEmbeds = 10

// characterRoutes are the routes of /character create, list, delete and share.
func (r *Router) characterRoutes() []Route {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	nameOpt := func(desc string, auto bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: OptName, Required: true,
			MaxLength: maxNameLength, Autocomplete: auto, Description: desc}
	}
	def := &discordgo.ApplicationCommand{
		Name:        CmdCharacter,
		Description: "Your Viggle characters, made from photos",
		Contexts:    &guildOnly,
		Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubCreate, Description: "Make a character from a photo of one person (only you see it)",
				Options: []*discordgo.ApplicationCommandOption{
					nameOpt("A name for the character, to use in /render's map", false),
					{Type: discordgo.ApplicationCommandOptionAttachment, Name: OptImage, Required: true,
						Description: "A PNG, JPEG or WebP photo, at most 10 MiB"},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubList, Description: "Your characters, then this server's shared ones (only you see the list)"},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubDelete, Description: "Forget one of your characters (or, with Manage Server, a shared one)",
				Options: []*discordgo.ApplicationCommandOption{nameOpt("The character's name", true)}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubShare, Description: "Let this server's members use one of your characters by name",
				Options: []*discordgo.ApplicationCommandOption{nameOpt("Your character's name", true)}},
		},
	}
	return []Route{
		{Name: CmdCharacter + " " + SubCreate, Def: def, Handle: r.characterCreate, Defer: DeferEphemeral},
		{Name: CmdCharacter + " " + SubList, Handle: r.characterList, Defer: DeferEphemeral},
		{Name: CmdCharacter + " " + SubDelete, Handle: r.characterDelete, Defer: DeferEphemeral,
			Autocomplete: map[string]Handler{OptName: r.suggestCharacterNames(false)}},
		{Name: CmdCharacter + " " + SubShare, Handle: r.characterShare, Defer: DeferEphemeral,
			Autocomplete: map[string]Handler{OptName: r.suggestCharacterNames(true)}},
	}
}

const charactersReadFail = "I could not read the characters just now. Please try again in a moment."

// attachment is the interaction's resolved attachment that the named option picked, or nil.
func attachment(e *Event, option string) *discordgo.MessageAttachment {
	id := e.Options.String(option)
	data := e.ApplicationCommandData()
	if id == "" || data.Resolved == nil {
		return nil
	}
	return data.Resolved.Attachments[id]
}

// imageRefusal is why a photo cannot make a character ("" when it can): its format (by content type,
// else its file name's extension) or its size.
func imageRefusal(a *discordgo.MessageAttachment) string {
	if a == nil || a.URL == "" {
		return "Attach a photo in `image`: a PNG, JPEG or WebP file of at most 10 MiB."
	}
	ct, _, err := mime.ParseMediaType(a.ContentType)
	if err != nil || ct == "" {
		switch strings.ToLower(path.Ext(a.Filename)) {
		case ".png":
			ct = "image/png"
		case ".jpg", ".jpeg":
			ct = "image/jpeg"
		case ".webp":
			ct = "image/webp"
		}
	}
	if _, ok := characterImageTypes[strings.ToLower(ct)]; !ok {
		what := a.ContentType
		if what == "" {
			what = "of an unknown type"
		}
		return fmt.Sprintf("%s is %s: Viggle makes characters from PNG, JPEG or WebP photos only. Convert it (a screenshot of it works) and try again.",
			code(clip(a.Filename, 80)), what)
	}
	if a.Size > maxCharacterImage {
		return fmt.Sprintf("%s is %s: a character's photo may be at most 10 MiB. Send a smaller one.", code(clip(a.Filename, 80)), mib(int64(a.Size)))
	}
	return ""
}

// characterCreate handles /character create: the photo is checked first (a refusal sends nothing to
// Viggle), then the catalog preprocesses it and the answer says ready (with its thumbnail) or why not.
// Only the caller sees it: the photo is of a person.
func (r *Router) characterCreate(ctx context.Context, e *Event) (*Response, error) {
	cat := r.catalog()
	if refusal := inAServer(e, cat != nil); refusal != nil {
		return refusal, nil
	}
	name := strings.TrimSpace(e.Options.String(OptName))
	a := attachment(e, OptImage)
	if why := imageRefusal(a); why != "" {
		e.SetOutcome("bad input")
		return ephemeralText(why + " Nothing was sent to Viggle."), nil
	}
	if name == "" {
		e.SetOutcome("bad input")
		return ephemeralText("**name**: give the character a name. Nothing was sent to Viggle."), nil
	}
	if err := e.Defer(ctx); err != nil {
		e.SetOutcome("not answered")
		return nil, fmt.Errorf("defer /character create: %w", err)
	}
	ref, _, refusal, err := r.keyOrRefusal(ctx, e)
	if refusal != nil || err != nil {
		return refusal, err
	}
	settings, err := r.settingsOf(ctx, e.GuildID)
	if err != nil {
		return nil, tell("I could not read this server's settings just now; nothing was sent to Viggle. Please try again in a moment.", err)
	}
	review := ""
	if settings.Approval {
		review = store.ReviewPending
	}
	c, err := cat.CreateCharacter(ctx, jobs.CharacterCreate{OwnerID: e.User(), GuildID: e.GuildID, KeyRef: ref, Name: name, ImageURL: a.URL, Review: review})
	switch {
	case errors.Is(err, store.ErrDuplicate):
		e.SetOutcome("name taken")
		return ephemeralText(fmt.Sprintf("You already have a character named %s: pick another name, or delete that one with /character delete. Nothing was sent to Viggle.", code(name))), nil
	case err != nil && viggleFailure(err):
		e.SetOutcome("viggle error")
		return ephemeralText(fmt.Sprintf("The character %s was not made. %s", code(name), explain.ViggleError(explain.OpCharacter, err))), nil
	case err != nil:
		return nil, tell("Something went wrong on my side while making the character. Check /character list before you try again.", err)
	}
	resp := ephemeralText(characterMadeText(c))
	if c.Review == store.ReviewPending && !c.Status.Replaceable() {
		// Held for review (a failed one has nothing to approve): its owner is told, moderators asked.
		resp.Content = characterHeldText(c, r.askModerators(ctx, e, settings, c))
	}
	if c.Status == store.StatusReady && c.ThumbnailURL != "" {
		resp.Embeds = []*discordgo.MessageEmbed{{Title: clip(c.Name, maxEmbedTitle), Image: &discordgo.MessageEmbedImage{URL: c.ThumbnailURL}}}
	}
	return resp, nil
}

// characterMadeText is the answer to a create that returned: ready, failed (why) or still being
// prepared.
func characterMadeText(c *store.Character) string {
	switch c.Status {
	case store.StatusReady:
		return fmt.Sprintf("Character %s is ready (Viggle id %s). Use it by name in /render's map, e.g. `person_1=%s`; /character share lets this server's members use it too.",
			code(c.Name), code(c.ViggleID), strings.ReplaceAll(c.Name, "`", "ˋ"))
	case store.StatusFailed, store.StatusUnknown:
		return fmt.Sprintf("The character %s was not made. %s\nTry again with /character create, with another photo of one person.",
			code(c.Name), explain.CatalogFailure(c.Error, c.Status == store.StatusUnknown))
	}
	return fmt.Sprintf("Character %s is still being prepared at Viggle; /character list shows when it is ready.", code(c.Name))
}

// characterHeldText is the answer to a create whose character waits for a moderator's approval;
// where says where moderators review it.
func characterHeldText(c *store.Character, where string) string {
	made := "is made"
	if c.Status != store.StatusReady {
		made = "is still being prepared at Viggle"
	}
	return fmt.Sprintf("Character %s %s, and waits for a moderator's approval before it can be used in /render: this server reviews new characters. %s /character list shows when it is approved.",
		code(c.Name), made, where)
}

// settingsOf is the guild's settings (the defaults on a bot without a settings store).
func (r *Router) settingsOf(ctx context.Context, guildID string) (*store.GuildSettings, error) {
	m := r.moderation()
	if m == nil {
		return &store.GuildSettings{GuildID: guildID}, nil
	}
	s, err := m.GuildSettings(ctx, guildID)
	if err != nil {
		return nil, fmt.Errorf("read the settings of guild %s: %w", guildID, err)
	}
	return s, nil
}

// characterStatus is a character's status for a list.
func characterStatus(c *store.Character) string {
	switch c.Status {
	case store.StatusReady:
		return "ready"
	case store.StatusFailed:
		return "failed"
	case store.StatusUnknown:
		return "unconfirmed (it may exist at Viggle)"
	}
	return "still being prepared"
}

// characterList handles /character list: the caller's characters, then the guild's shared ones, with
// the first thumbnails as embeds.
func (r *Router) characterList(ctx context.Context, e *Event) (*Response, error) {
	st := r.scenes()
	if refusal := inAServer(e, st != nil); refusal != nil {
		return refusal, nil
	}
	all, err := st.ListCharacters(ctx, e.User(), e.GuildID)
	if err != nil {
		return nil, tell(charactersReadFail, err)
	}
	// Another member's character held for review is not shown (its photo is not approved here).
	list := all[:0]
	for _, c := range all {
		if c.OwnerID == e.User() || c.Review == "" {
			list = append(list, c)
		}
	}
	if len(list) == 0 {
		return ephemeralText("You have no characters yet, and none is shared in this server: make one with /character create."), nil
	}
	return characterListView(list, e.User()), nil
}

// characterListView lists characters (own, then shared) within a message's limits.
func characterListView(list []*store.Character, owner string) *Response {
	var b strings.Builder
	resp := ephemeralText("")
	own, shared := 0, 0
	for _, c := range list {
		if c.OwnerID == owner {
			own++
		} else {
			shared++
		}
	}
	section := ""
	for k, c := range list {
		var p strings.Builder
		want := "**Your characters** (" + fmt.Sprint(own) + ")"
		if c.OwnerID != owner {
			want = "**Shared in this server** (" + fmt.Sprint(shared) + ")"
		}
		if want != section {
			section = want
			p.WriteString(want + "\n")
		}
		fmt.Fprintf(&p, "• **%s** — %s", clip(c.Name, maxNameLength), characterStatus(c))
		if rs := reviewState(c); rs != "" {
			p.WriteString(" · " + rs) // and no Viggle id: it is not to be used before it is approved
		} else if c.ViggleID != "" {
			fmt.Fprintf(&p, " · %s", code(clip(c.ViggleID, 80)))
		}
		if c.OwnerID == owner && c.Shared {
			p.WriteString(" · shared here")
		}
		if c.OwnerID == owner && c.Status == store.StatusFailed && c.Error != "" {
			fmt.Fprintf(&p, " (%s)", clip(c.Error, 120))
		}
		p.WriteString("\n")
		if b.Len()+p.Len() > maxContent-60 {
			fmt.Fprintf(&b, "…and %d more.", len(list)-k)
			break
		}
		b.WriteString(p.String())
		if c.ThumbnailURL != "" && c.Status == store.StatusReady && len(resp.Embeds) < maxCharacterEmbeds {
			resp.Embeds = append(resp.Embeds, &discordgo.MessageEmbed{Title: clip(c.Name, maxEmbedTitle), Thumbnail: &discordgo.MessageEmbedThumbnail{URL: c.ThumbnailURL}})
		}
	}
	resp.Content = strings.TrimRight(b.String(), "\n")
	return resp
}

// characterDelete handles /character delete: the caller's own character of that name (whatever its
// key or review), else the one of that name shared in this guild, which only a member with Manage
// Server may delete: a moderator's deletion of another member's character is logged in the guild's
// change log (in the same transaction).
func (r *Router) characterDelete(ctx context.Context, e *Event) (*Response, error) {
	st := r.scenes()
	if refusal := inAServer(e, st != nil); refusal != nil {
		return refusal, nil
	}
	name := strings.TrimSpace(e.Options.String(OptName))
	c, err := r.characterToDelete(ctx, st, e, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.SetOutcome("not found")
		return ephemeralText(fmt.Sprintf("You have no character named %s, and none of that name is shared here: see /character list.", code(name))), nil
	case err != nil:
		return nil, tell(charactersReadFail, err)
	}
	if m := r.moderation(); c.OwnerID == e.User() && c.Shared && c.GuildID == e.GuildID && m != nil {
		// A character shared here leaves the server's change log a line, whoever deletes it.
		err := m.DeleteCharacterLogged(ctx, c.ID, r.change(e, fmt.Sprintf("deleted character %s of <@%s>", c.Name, c.OwnerID)))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, tell("I could not delete the character just now. Please try again in a moment.", err)
		}
		return ephemeralText(fmt.Sprintf("Character %s is deleted here (this is in the server's change log); renders already made are kept.", code(c.Name))), nil
	}
	if c.OwnerID == e.User() {
		if err := st.DeleteCharacter(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, tell("I could not delete the character just now. Please try again in a moment.", err)
		}
		return ephemeralText(fmt.Sprintf("Character %s is deleted here; renders already made are kept.", code(c.Name))), nil
	}
	if !canManageGuild(e) {
		e.SetOutcome("refused")
		return ephemeralText(fmt.Sprintf("%s is shared here by another member: only they, or a member with the Manage Server permission, can delete it.", code(c.Name))), nil
	}
	m := r.moderation()
	if m == nil {
		return ephemeralText(notAvailable), nil
	}
	err = m.DeleteCharacterLogged(ctx, c.ID, r.change(e, fmt.Sprintf("deleted character %s of <@%s>", c.Name, c.OwnerID)))
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.SetOutcome("not found")
		return ephemeralText(fmt.Sprintf("%s was deleted already.", code(c.Name))), nil
	case err != nil:
		return nil, tell("I could not delete the character just now. Please try again in a moment.", fmt.Errorf("delete character %s of another member: %w", c.ID, err))
	}
	r.log.Info("shared character deleted by a moderator", "guild", e.GuildID, "character", c.ID, "moderator", e.User())
	return ephemeralText(fmt.Sprintf("Character %s is deleted (this is in the server's change log); renders already made are kept.", characterOf(c))), nil
}

// characterToDelete is the character /character delete means by name: the caller's own of that name
// (made with any key, in any review state), else the one of that name shared in the guild; else
// ErrNotFound. The usual case, a usable character, is one indexed lookup; the others are found in
// the caller's list.
func (r *Router) characterToDelete(ctx context.Context, st SceneStore, e *Event, name string) (*store.Character, error) {
	ref, err := r.keyRefFor(ctx, e.GuildID)
	if err != nil {
		return nil, err
	}
	c, err := st.ResolveCharacter(ctx, e.User(), e.GuildID, ref, name)
	if err == nil && c.OwnerID == e.User() {
		return c, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("find character %q to delete: %w", name, err)
	}
	list, lerr := st.ListCharacters(ctx, e.User(), e.GuildID)
	if lerr != nil {
		return nil, fmt.Errorf("find character %q to delete: %w", name, lerr)
	}
	var shared *store.Character
	for _, l := range list {
		if !sameName(l.Name, name) {
			continue
		}
		if l.OwnerID == e.User() {
			return l, nil
		}
		if shared == nil && l.Shared && l.GuildID == e.GuildID {
			shared = l
		}
	}
	if shared != nil {
		return shared, nil
	}
	if c != nil {
		return c, nil
	}
	return nil, store.ErrNotFound
}

// sameName reports whether two character names are the same name as the store keys them (case
// folded, without surrounding spaces).
func sameName(a, b string) bool {
	key := func(s string) string {
		return norm.NFC.String(cases.Fold().String(norm.NFC.String(strings.TrimSpace(s))))
	}
	return key(a) == key(b)
}

// characterShare handles /character share: the owner shares one of their characters with this guild.
func (r *Router) characterShare(ctx context.Context, e *Event) (*Response, error) {
	st := r.scenes()
	if refusal := inAServer(e, st != nil); refusal != nil {
		return refusal, nil
	}
	name := strings.TrimSpace(e.Options.String(OptName))
	c, err := st.ShareCharacter(ctx, e.User(), e.GuildID, name)
	var og *store.OtherGuildError
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.SetOutcome("not found")
		return ephemeralText(fmt.Sprintf("You have no character named %s: only your own characters can be shared (see /character list).", code(name))), nil
	case errors.As(err, &og):
		e.SetOutcome("refused")
		return ephemeralText(fmt.Sprintf("%s was made in another server: a character can be shared only in the server it was made in. Make it here with /character create.", code(og.Name))), nil
	case errors.Is(err, store.ErrDuplicate):
		e.SetOutcome("name taken")
		return ephemeralText(fmt.Sprintf("This server already shares a character named %s: make yours under another name to share it.", code(name))), nil
	case err != nil:
		return nil, tell("I could not share the character just now. Please try again in a moment.", err)
	}
	return ephemeralText(fmt.Sprintf("Character %s is shared with this server: its members can use it by name in /render's map.", code(c.Name))), nil
}

// suggestCharacterNames suggests characters by name: the caller's own, then (unless ownOnly) the
// guild's shared ones.
func (r *Router) suggestCharacterNames(ownOnly bool) Handler {
	return func(ctx context.Context, e *Event) (*Response, error) {
		st := r.scenes()
		resp := emptyChoices()
		if st == nil || e.GuildID == "" {
			return resp, nil
		}
		ref, err := r.keyRefFor(ctx, e.GuildID)
		if err != nil {
			return nil, fmt.Errorf("suggest characters: %w", err)
		}
		list, err := st.SuggestCharacters(ctx, e.User(), e.GuildID, ref, e.Options.String(OptName), maxChoices)
		if err != nil {
			return nil, fmt.Errorf("suggest characters: %w", err)
		}
		seen := map[string]bool{}
		for _, c := range list {
			mine := c.OwnerID == e.User()
			key := strings.ToLower(c.Name)
			if (ownOnly && !mine) || seen[key] || runes(c.Name) > maxChoiceText || len(resp.Choices) == maxChoices {
				continue
			}
			seen[key] = true // a name resolves to the caller's own first
			label := c.Name
			if !mine {
				label += " (shared)"
			}
			resp.Choices = append(resp.Choices, &discordgo.ApplicationCommandOptionChoice{Name: clip(label, maxChoiceText), Value: c.Name})
		}
		return resp, nil
	}
}
