package commands

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/keyring"
	"github.com/viggle-bot/viggle-bot/redact"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// /config: a server's own Viggle key, its limits, where and by whom renders are made, the defaults of
// /render, character approval and the moderation log, and the log of who changed what. Manage Server
// only: the command's default permission, and the route's check (server admins can override a
// command's default permission, so Discord's own check is not enough). Every answer is private.

// Names of /config: the outside contract (issue 10).
const (
	CmdConfig     = "config"
	GroupKey      = "key"
	SubKeySet     = "set"
	SubKeyClear   = "clear"
	SubLimits     = "limits"
	SubChannel    = "channel"
	SubRole       = "role"
	SubDefaults   = "defaults"
	SubView       = "view"
	SubCharacters = "characters"
	SubModlog     = "modlog"

	OptAPIKey               = "key"
	OptConcurrentPerUser    = "concurrent_per_user"
	OptRendersPerUserPerDay = "renders_per_user_per_day"
	OptCooldownSeconds      = "cooldown_seconds"
	OptGuildRendersPerDay   = "guild_renders_per_day"
	OptChannel              = "channel" // of /config channel and /config modlog
	OptRole                 = "role"
	OptApproval             = "approval"
)

// Bounds of the limits' options (0 = no limit).
const (
	maxConcurrentLimit = 100
	maxDailyLimit      = 100000
	maxCooldownSeconds = 7 * 24 * 3600
	maxKeyLength       = 512
	recentChanges      = 5
)

// GuildStore is what /config and the render gates read and change of a guild's settings, its change
// log and its key's row (never the key itself). *store.DB implements it; the router uses it when its
// Store does.
type GuildStore interface {
	GuildSettings(ctx context.Context, guildID string) (*store.GuildSettings, error)
	UpdateGuildSettings(ctx context.Context, guildID string, c store.Change, apply func(*store.GuildSettings)) (*store.GuildSettings, error)
	RecentChanges(ctx context.Context, guildID string, n int) ([]store.Change, error)
	CurrentGuildKey(ctx context.Context, guildID string) (*store.GuildKey, error)
}

var _ GuildStore = (*Catalogued)(nil)

// guilds is the router's GuildStore, or nil (then every guild has the default settings and /config is
// not available).
func (r *Router) guilds() GuildStore {
	g, _ := r.st.(GuildStore)
	return g
}

// configRoutes are the routes of /config.
func (r *Router) configRoutes() []Route {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	manage := int64(discordgo.PermissionManageGuild)
	zero := 0.0
	limit := func(name, desc string, maxValue float64) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: name,
			Description: desc, MinValue: &zero, MaxValue: maxValue}
	}
	textChannels := []discordgo.ChannelType{discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews}
	def := &discordgo.ApplicationCommand{
		Name:                     CmdConfig,
		Description:              "This server's Viggle key, limits and rules for renders (only you see the answers)",
		Contexts:                 &guildOnly,
		DefaultMemberPermissions: &manage,
		Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommandGroup, Name: GroupKey, Description: "This server's own Viggle key",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubKeySet, Description: "Use this Viggle API key for this server's renders (checked with Viggle, stored encrypted)",
						Options: []*discordgo.ApplicationCommandOption{
							{Type: discordgo.ApplicationCommandOptionString, Name: OptAPIKey, Required: true, MaxLength: maxKeyLength,
								Description: "The Viggle API key (never shown again)"},
						}},
					{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubKeyClear, Description: "Remove this server's Viggle key"},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubLimits, Description: "Limits on renders (0 = no limit; an option left out is kept)",
				Options: []*discordgo.ApplicationCommandOption{
					limit(OptConcurrentPerUser, "Renders a member may have running at once", maxConcurrentLimit),
					limit(OptRendersPerUserPerDay, "Renders a member may start per day (UTC)", maxDailyLimit),
					limit(OptCooldownSeconds, "Seconds a member waits between two renders", maxCooldownSeconds),
					limit(OptGuildRendersPerDay, "Renders the whole server may start per day (UTC)", maxDailyLimit),
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubChannel, Description: "Allow renders only in one channel (leave out to allow any)",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionChannel, Name: OptChannel, ChannelTypes: textChannels,
						Description: "The channel for renders"},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubRole, Description: "Allow renders only to members with a role (leave out to allow anyone)",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionRole, Name: OptRole, Description: "The role that may render"},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubDefaults, Description: "Defaults of /render when its options are left out",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: OptBackground, Description: "Default background",
						Choices: choices("original", "solid", "transparent")},
					{Type: discordgo.ApplicationCommandOptionBoolean, Name: OptFast, Description: "Fast by default (twice the credits)"},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubView, Description: "This server's settings and its last changes"},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubCharacters, Description: "Hold new characters until a moderator approves them",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionBoolean, Name: OptApproval, Description: "On: new characters wait for approval (leave out to see the setting)"},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: SubModlog, Description: "The channel where characters wait for approval (leave out to clear)",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionChannel, Name: OptChannel, ChannelTypes: textChannels,
						Description: "The moderation channel"},
				}},
		},
	}
	route := func(path string, h Handler) Route {
		return Route{Name: CmdConfig + " " + path, Handle: h, Perm: PermManageGuild, Defer: DeferEphemeral}
	}
	routes := []Route{
		route(GroupKey+" "+SubKeySet, r.configKeySet),
		route(GroupKey+" "+SubKeyClear, r.configKeyClear),
		route(SubLimits, r.configLimits),
		route(SubChannel, r.configChannel),
		route(SubRole, r.configRole),
		route(SubDefaults, r.configDefaults),
		route(SubView, r.configView),
		route(SubCharacters, r.configCharacters),
		route(SubModlog, r.configModlog),
	}
	routes[0].Def = def
	return routes
}

const (
	configReadFail  = "I could not read this server's settings just now. Please try again in a moment."
	configWriteFail = "I could not save this server's settings just now; nothing was changed. Please try again in a moment."
	// noEncryption says what the bot's admin must do before servers can bring their own key.
	noEncryption = "This bot cannot store a server's Viggle key yet: its admin must give it an encryption key first " +
		"(`BOT_ENCRYPTION_KEY`: 32 random bytes as 64 hex characters, e.g. from `openssl rand -hex 32`) and restart it. " +
		"Nothing was stored."
)

// configStore is the refusal of a /config subcommand used outside a server or on a bot without a
// settings store, else the store.
func (r *Router) configStore(e *Event) (GuildStore, *Response) {
	g := r.guilds()
	switch {
	case e.GuildID == "":
		return nil, ephemeralText("/config changes a server's settings: use it in that server.")
	case g == nil:
		return nil, ephemeralText(notAvailable)
	}
	return g, nil
}

// change is the change-log line of e's member in e's guild.
func (r *Router) change(e *Event, what string) store.Change {
	return store.Change{GuildID: e.GuildID, ActorID: e.User(), What: what, At: r.now()}
}

// configKeySet handles /config key set: Viggle checks the key, the keyring stores it encrypted, and the
// answer shows only its last four characters. The key is in no answer, log line or error.
func (r *Router) configKeySet(ctx context.Context, e *Event) (*Response, error) {
	if _, refusal := r.configStore(e); refusal != nil {
		return refusal, nil
	}
	k := r.keys()
	if k == nil {
		e.SetOutcome("no encryption")
		return ephemeralText(noEncryption), nil
	}
	apiKey := strings.TrimSpace(e.Options.String(OptAPIKey))
	if apiKey == "" {
		e.SetOutcome("bad input")
		return ephemeralText("**key**: paste the API key of your Viggle account. Nothing was stored."), nil
	}
	before, _ := r.keyRefFor(ctx, e.GuildID) // only to tell "unchanged" apart
	gk, err := k.Set(ctx, e.GuildID, e.User(), apiKey)
	if err != nil {
		e.SetOutcome("key not set")
		var api *viggle.APIError
		switch {
		case errors.Is(err, keyring.ErrNoEncryption):
			return ephemeralText(noEncryption), nil
		case errors.Is(err, keyring.ErrKeyRefused):
			return ephemeralText("Viggle refused this key, so nothing was stored. Check that you copied the whole API key of your Viggle account, then try again."), nil
		case errors.Is(err, viggle.ErrNotSent):
			return ephemeralText("Viggle could not be reached to check the key, so nothing was stored. Please try again in a moment."), nil
		case errors.As(err, &api):
			return ephemeralText(fmt.Sprintf("Viggle could not check the key (it answered HTTP %d%s), so nothing was stored. Please try again in a few minutes.",
				api.HTTPStatus, codeNote(api.Code))), nil
		case viggleFailure(err):
			return ephemeralText("Viggle gave no usable answer when I checked the key, so nothing was stored. Please try again in a few minutes."), nil
		}
		// Whatever the error says, it never carries the key into the log line.
		return nil, tell("Something went wrong on my side while storing the key; check /config view before you try again.",
			fmt.Errorf("set the Viggle key of guild %s: %s", e.GuildID, redact.Text(redact.Error(err), apiKey)))
	}
	set := "This server's Viggle key is set"
	if gk.Last4 != "" {
		set += ", ends with " + code(ellipsis+gk.Last4)
	}
	if before != "" && gk.ID == before {
		e.SetOutcome("key unchanged")
		return ephemeralText(set + ": this is the key it already had, so nothing changed."), nil
	}
	return ephemeralText(set + ". This server's renders, imports, characters and /credits now use it (renders already under way keep the key they started with).\n" +
		"Scenes and characters made with another key belong to that key's Viggle account, so they are not offered any more: import and create them again with /scene import and /character create."), nil
}

// codeNote is " (error `CODE`)", or "" without a code.
func codeNote(c string) string {
	if c = strings.TrimSpace(c); c == "" {
		return ""
	}
	return ", error " + code(c)
}

// configKeyClear handles /config key clear.
func (r *Router) configKeyClear(ctx context.Context, e *Event) (*Response, error) {
	if _, refusal := r.configStore(e); refusal != nil {
		return refusal, nil
	}
	k := r.keys()
	if k == nil {
		return ephemeralText("This server has no Viggle key of its own: its renders use the bot's shared key."), nil
	}
	had, err := k.Clear(ctx, e.GuildID, e.User())
	if err != nil {
		return nil, tell(configWriteFail, fmt.Errorf("clear the Viggle key of guild %s: %w", e.GuildID, err))
	}
	if !had {
		return ephemeralText("This server had no Viggle key of its own: nothing changed."), nil
	}
	text := "This server's Viggle key is removed (renders already under way finish with it). "
	if _, _, err := k.ForGuild(ctx, e.GuildID); errors.Is(err, keyring.ErrNoKey) {
		text += "New renders are refused until an admin sets a key again with /config key set: this bot does not lend its own key (ALLOW_SHARED_KEY=false)."
	} else {
		text += "New renders use the bot's shared key; the scenes and characters made with the removed key are not offered any more."
	}
	return ephemeralText(text), nil
}

// optInt is an integer option and whether it was given.
func optInt(o Options, name string) (int, bool) {
	x := o.get(name)
	if x == nil {
		return 0, false
	}
	switch v := x.Value.(type) {
	case float64:
		if v < 0 || v > math.MaxInt32 {
			return 0, false
		}
		return int(v), true
	case int64:
		return int(v), true
	}
	return 0, false
}

// optBool is a boolean option and whether it was given.
func optBool(o Options, name string) (bool, bool) {
	x := o.get(name)
	if x == nil {
		return false, false
	}
	b, ok := x.Value.(bool)
	return b, ok
}

// configLimits handles /config limits: the options given are set (0 = no limit), the others kept.
func (r *Router) configLimits(ctx context.Context, e *Event) (*Response, error) {
	g, refusal := r.configStore(e)
	if refusal != nil {
		return refusal, nil
	}
	type setting struct {
		opt  string
		max  int
		set  func(*store.Limits, int)
		word func(int) string
	}
	settings := []setting{
		{OptConcurrentPerUser, maxConcurrentLimit, func(l *store.Limits, n int) { l.ConcurrentPerUser = n }, concurrentText},
		{OptRendersPerUserPerDay, maxDailyLimit, func(l *store.Limits, n int) { l.RendersPerUserPerDay = n }, perUserDayText},
		{OptCooldownSeconds, maxCooldownSeconds, func(l *store.Limits, n int) { l.Cooldown = time.Duration(n) * time.Second }, cooldownText},
		{OptGuildRendersPerDay, maxDailyLimit, func(l *store.Limits, n int) { l.GuildRendersPerDay = n }, guildDayText},
	}
	var words []string
	var apply []func(*store.Limits)
	for _, s := range settings {
		n, ok := optInt(e.Options, s.opt)
		if !ok {
			continue
		}
		if n > s.max {
			e.SetOutcome("bad input")
			return ephemeralText(fmt.Sprintf("**%s**: at most %d (0 = no limit). Nothing was changed.", s.opt, s.max)), nil
		}
		words = append(words, s.word(n))
		apply = append(apply, func(l *store.Limits) { s.set(l, n) })
	}
	if len(apply) == 0 {
		cur, err := g.GuildSettings(ctx, e.GuildID)
		if err != nil {
			return nil, tell(configReadFail, fmt.Errorf("read the settings of guild %s: %w", e.GuildID, err))
		}
		return ephemeralText("Nothing was changed. This server's limits: " + limitsText(cur.Limits) + ".\nGive one or more of the options to change them (0 = no limit)."), nil
	}
	s, err := g.UpdateGuildSettings(ctx, e.GuildID, r.change(e, "limits: "+strings.Join(words, ", ")), func(s *store.GuildSettings) {
		for _, f := range apply {
			f(&s.Limits)
		}
	})
	if err != nil {
		return nil, tell(configWriteFail, fmt.Errorf("update the limits of guild %s: %w", e.GuildID, err))
	}
	return ephemeralText("Limits saved. This server's limits now: " + limitsText(s.Limits) + ".\nDays are UTC days; a render that ended without reaching Viggle does not count."), nil
}

func concurrentText(n int) string {
	if n == 0 {
		return "any number at a time per member"
	}
	return fmt.Sprintf("%d at a time per member", n)
}

func perUserDayText(n int) string {
	if n == 0 {
		return "no daily limit per member"
	}
	return fmt.Sprintf("%d a day per member", n)
}

func cooldownText(sec int) string {
	if sec == 0 {
		return "no cooldown"
	}
	return "cooldown " + (time.Duration(sec) * time.Second).String()
}

func guildDayText(n int) string {
	if n == 0 {
		return "no daily limit for the server"
	}
	return fmt.Sprintf("%d a day for the server", n)
}

// limitsText is a guild's limits in words.
func limitsText(l store.Limits) string {
	return strings.Join([]string{concurrentText(l.ConcurrentPerUser), perUserDayText(l.RendersPerUserPerDay),
		cooldownText(int(l.Cooldown / time.Second)), guildDayText(l.GuildRendersPerDay)}, ", ")
}

// channelText is the render channel in words.
func channelText(id string) string {
	if id == "" {
		return "any channel"
	}
	return "<#" + id + "> only"
}

// roleText is the render role in words.
func roleText(id string) string {
	if id == "" {
		return "anyone"
	}
	return "members with <@&" + id + "> only"
}

// configChannel handles /config channel: renders only in that channel; without it, anywhere.
func (r *Router) configChannel(ctx context.Context, e *Event) (*Response, error) {
	g, refusal := r.configStore(e)
	if refusal != nil {
		return refusal, nil
	}
	id := e.Options.String(OptChannel)
	what := "render channel: " + channelText(id)
	if _, err := g.UpdateGuildSettings(ctx, e.GuildID, r.change(e, what), func(s *store.GuildSettings) { s.ChannelID = id }); err != nil {
		return nil, tell(configWriteFail, fmt.Errorf("update the render channel of guild %s: %w", e.GuildID, err))
	}
	if id == "" {
		return ephemeralText("Renders may now be made in any channel of this server."), nil
	}
	return ephemeralText(fmt.Sprintf("Renders may now be made only in <#%s>; elsewhere /render tells members to go there.", id)), nil
}

// configRole handles /config role: only members with that role may render; without it, anyone.
func (r *Router) configRole(ctx context.Context, e *Event) (*Response, error) {
	g, refusal := r.configStore(e)
	if refusal != nil {
		return refusal, nil
	}
	id := e.Options.String(OptRole)
	if id == e.GuildID { // @everyone
		id = ""
	}
	what := "render role: " + roleText(id)
	if _, err := g.UpdateGuildSettings(ctx, e.GuildID, r.change(e, what), func(s *store.GuildSettings) { s.RoleID = id }); err != nil {
		return nil, tell(configWriteFail, fmt.Errorf("update the render role of guild %s: %w", e.GuildID, err))
	}
	if id == "" {
		return ephemeralText("Any member of this server may now render."), nil
	}
	return ephemeralText(fmt.Sprintf("Only members with the <@&%s> role may now render.", id)), nil
}

// defaultsText is the defaults of /render in words.
func defaultsText(background string, fast bool) string {
	if background == "" {
		background = "original"
	}
	return "background " + background + ", fast " + onOff(fast)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// configDefaults handles /config defaults: what /render uses when its background or fast option is
// left out.
func (r *Router) configDefaults(ctx context.Context, e *Event) (*Response, error) {
	g, refusal := r.configStore(e)
	if refusal != nil {
		return refusal, nil
	}
	bg, hasBG := e.Options.String(OptBackground), e.Options.get(OptBackground) != nil
	fast, hasFast := optBool(e.Options, OptFast)
	if !hasBG && !hasFast {
		cur, err := g.GuildSettings(ctx, e.GuildID)
		if err != nil {
			return nil, tell(configReadFail, fmt.Errorf("read the settings of guild %s: %w", e.GuildID, err))
		}
		return ephemeralText("Nothing was changed. The defaults of /render here: " + defaultsText(cur.DefaultBackground, cur.DefaultFast) +
			".\nGive `background` or `fast` to change them."), nil
	}
	if bg == "original" {
		bg = ""
	}
	var words []string
	if hasBG {
		shown := bg
		if shown == "" {
			shown = "original"
		}
		words = append(words, "background "+shown)
	}
	if hasFast {
		words = append(words, "fast "+onOff(fast))
	}
	s, err := g.UpdateGuildSettings(ctx, e.GuildID, r.change(e, "defaults: "+strings.Join(words, ", ")), func(s *store.GuildSettings) {
		if hasBG {
			s.DefaultBackground = bg
		}
		if hasFast {
			s.DefaultFast = fast
		}
	})
	if err != nil {
		return nil, tell(configWriteFail, fmt.Errorf("update the defaults of guild %s: %w", e.GuildID, err))
	}
	return ephemeralText("Defaults saved. /render here now uses " + defaultsText(s.DefaultBackground, s.DefaultFast) +
		" when its options are left out."), nil
}

// configView handles /config view: the settings, the key's state (never the key), the last changes,
// and the characters waiting for approval (with their buttons).
func (r *Router) configView(ctx context.Context, e *Event) (*Response, error) {
	g, refusal := r.configStore(e)
	if refusal != nil {
		return refusal, nil
	}
	s, err := g.GuildSettings(ctx, e.GuildID)
	if err != nil {
		return nil, tell(configReadFail, fmt.Errorf("read the settings of guild %s: %w", e.GuildID, err))
	}
	keyLine, err := r.keyState(ctx, g, e.GuildID)
	if err != nil {
		return nil, tell(configReadFail, err)
	}
	changes, err := g.RecentChanges(ctx, e.GuildID, recentChanges)
	if err != nil {
		return nil, tell(configReadFail, fmt.Errorf("read the changes of guild %s: %w", e.GuildID, err))
	}
	var b strings.Builder
	b.WriteString("**Settings of this server**\n")
	fmt.Fprintf(&b, "Viggle key: %s\n", keyLine)
	fmt.Fprintf(&b, "Limits: %s (UTC days)\n", limitsText(s.Limits))
	fmt.Fprintf(&b, "Renders: in %s, by %s\n", channelText(s.ChannelID), roleText(s.RoleID))
	fmt.Fprintf(&b, "Defaults of /render: %s\n", defaultsText(s.DefaultBackground, s.DefaultFast))
	modlog := "none (review them here)"
	if s.ModlogChannelID != "" {
		modlog = "<#" + s.ModlogChannelID + ">"
	}
	fmt.Fprintf(&b, "Character approval: %s · moderation channel: %s\n", onOff(s.Approval), modlog)
	b.WriteString("**Last changes**\n")
	if len(changes) == 0 {
		b.WriteString("None yet.\n")
	}
	for _, c := range changes {
		at := c.At
		if at.IsZero() {
			at = r.now()
		}
		fmt.Fprintf(&b, "%s <@%s>: %s\n", ts(at), c.ActorID, clip(c.What, 200))
	}
	text, comps, err := r.pendingView(ctx, e.GuildID)
	if err != nil {
		r.log.Warn("pending characters not shown in /config view", "guild", e.GuildID, "err", err)
		text, comps = "(I could not read the characters waiting for approval just now.)", nil
	}
	if text = strings.TrimSpace(text); text != "" {
		b.WriteString(clip(text, maxContent-runes(b.String())-1))
	}
	return &Response{Content: strings.TrimRight(b.String(), "\n"), Components: comps, Ephemeral: true}, nil
}

// keyState is the guild's key in words: set (its last four characters), or not set and what renders
// use then.
func (r *Router) keyState(ctx context.Context, g GuildStore, guildID string) (string, error) {
	k := r.keys()
	if k == nil {
		return "not set (renders use the bot's shared key)", nil
	}
	gk, err := g.CurrentGuildKey(ctx, guildID)
	switch {
	case err == nil && gk.Last4 == "":
		return "set", nil
	case err == nil:
		return "set (ends with " + ellipsis + gk.Last4 + ")", nil
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("read the key of guild %s: %w", guildID, err)
	}
	if _, _, err := k.ForGuild(ctx, guildID); errors.Is(err, keyring.ErrNoKey) {
		return "not set — renders are refused (ALLOW_SHARED_KEY=false): set one with /config key set", nil
	}
	return "not set (renders use the bot's shared key)", nil
}

// keyRefFor is the key reference of the guild's lookups (its scenes and characters belong to that
// key's Viggle account): its current key, else "" (the shared key's, also when the shared key is not
// allowed: renders are refused then, and lists show what was made with the shared key). A current key
// that cannot be used (not decryptable) is still the one its lookups are of.
func (r *Router) keyRefFor(ctx context.Context, guildID string) (string, error) {
	ref, _, err := r.guildKey(ctx, guildID)
	switch {
	case errors.Is(err, keyring.ErrNoKey):
		return "", nil
	case errors.Is(err, keyring.ErrUnavailable) && r.guilds() != nil:
		gk, gerr := r.guilds().CurrentGuildKey(ctx, guildID)
		if gerr == nil {
			return gk.ID, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("the Viggle key of guild %s: %w", guildID, err)
	}
	return ref, nil
}

// keyRefusal is the answer to a call that needs the guild's Viggle key when there is none to use
// (no key and the shared one not allowed, or a stored key that cannot be used), else "".
func keyRefusal(err error) string {
	switch {
	case errors.Is(err, keyring.ErrNoKey):
		return "This server has no Viggle key yet: an admin can add one with /config key set. Nothing was sent to Viggle."
	case errors.Is(err, keyring.ErrUnavailable), errors.Is(err, keyring.ErrUndecryptable):
		return "This server's Viggle key cannot be used: the bot cannot decrypt it (its BOT_ENCRYPTION_KEY may be missing or may have changed). " +
			"An admin can set the key again with /config key set. Nothing was sent to Viggle."
	}
	return ""
}
