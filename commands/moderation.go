package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/redact"
	"github.com/viggle-bot/viggle-bot/store"
)

// Character approval and moderation (issue 10). Photos of people are sensitive: a guild may hold each
// character made in it until a member with Manage Server approves it (/config characters approval:),
// with Approve and Reject buttons posted in its modlog channel (/config modlog channel:) and shown in
// /config view; such a member may also delete any character shared in the guild. Every approval,
// rejection and deletion by a moderator is a line of the guild's change log, written in the same
// transaction as the change itself (store.ReviewCharacter, store.DeleteCharacterLogged).

// Moderation is what approval and moderation read and change. *store.DB implements it; the router
// uses it when its Store does.
type Moderation interface {
	GuildSettings(ctx context.Context, guildID string) (*store.GuildSettings, error)
	UpdateGuildSettings(ctx context.Context, guildID string, c store.Change, apply func(*store.GuildSettings)) (*store.GuildSettings, error)
	PendingCharacters(ctx context.Context, guildID string, limit int) ([]*store.Character, error)
	ReviewCharacter(ctx context.Context, id, reviewerID string, approve bool, c store.Change) (*store.Character, error)
	DeleteCharacterLogged(ctx context.Context, id string, c store.Change) error
	GetCharacter(ctx context.Context, id string) (*store.Character, error)
	CharacterByViggleID(ctx context.Context, viggleID string) (*store.Character, error)
	CharacterDeleted(ctx context.Context, viggleID string) (bool, error)
}

var _ Moderation = (*Catalogued)(nil)

// moderation is the router's Moderation, or nil when its Store keeps none.
func (r *Router) moderation() Moderation {
	m, _ := r.st.(Moderation)
	return m
}

// The decisions of a review button (review:<character id>:<approve|reject>).
const (
	decisionApprove = "approve"
	decisionReject  = "reject"
)

// maxPendingShown is how many held characters /config view lists with buttons: one row each.
const maxPendingShown = maxRows

const (
	moderationReadFail = "I could not read this server's settings just now. Please try again in a moment."
	reviewWriteFail    = "I could not record the decision just now. Please try again in a moment."
	manageServerNeeded = "You need the Manage Server permission to use this."
)

// reviewRoute is the Approve and Reject buttons of a character held for review.
func (r *Router) reviewRoute() Route {
	return Route{Kind: RouteComponent, ID: reviewID, Handle: r.review, Perm: PermManageGuild}
}

// configCharacters handles /config characters approval:<boolean>: whether new characters made in this
// guild wait for a moderator's approval. Without the option it says what is set.
func (r *Router) configCharacters(ctx context.Context, e *Event) (*Response, error) {
	m := r.moderation()
	if refusal := moderatorOnly(e, m != nil); refusal != nil {
		return refusal, nil
	}
	s, err := m.GuildSettings(ctx, e.GuildID)
	if err != nil {
		return nil, tell(moderationReadFail, fmt.Errorf("read the settings of guild %s: %w", e.GuildID, err))
	}
	if e.Options.get(OptApproval) == nil {
		return ephemeralText(approvalText(s, false)), nil
	}
	on := e.Options.Bool(OptApproval)
	if s.Approval == on {
		e.SetOutcome("unchanged")
		return ephemeralText(approvalText(s, false)), nil
	}
	what := "character approval off"
	if on {
		what = "character approval on"
	}
	s, err = m.UpdateGuildSettings(ctx, e.GuildID, r.change(e, what),
		func(s *store.GuildSettings) { s.Approval = on })
	if err != nil {
		return nil, tell("I could not change the setting just now. Please try again in a moment.", fmt.Errorf("set character approval of guild %s: %w", e.GuildID, err))
	}
	return ephemeralText(approvalText(s, true)), nil
}

// approvalText says what /config characters set (changed: it was just set).
func approvalText(s *store.GuildSettings, changed bool) string {
	var b strings.Builder
	switch {
	case s.Approval && changed:
		b.WriteString("Character approval is on: each new character made here waits until a member with Manage Server approves it, and cannot be used in /render before.")
	case s.Approval:
		b.WriteString("Character approval is on: new characters made here wait for a moderator's approval.")
	case changed:
		b.WriteString("Character approval is off: new characters made here can be used at once. Characters already waiting still wait for a decision (see /config view).")
	default:
		b.WriteString("Character approval is off: new characters made here can be used at once.")
	}
	if s.Approval {
		if s.ModlogChannelID != "" {
			fmt.Fprintf(&b, " Each one is posted in <#%s> with Approve and Reject buttons; /config view lists the ones waiting.", s.ModlogChannelID)
		} else {
			b.WriteString(" /config view lists the ones waiting, with Approve and Reject buttons; /config modlog channel: also posts each one in a channel of your choice.")
		}
	}
	return b.String()
}

// configModlog handles /config modlog channel:<channel>: where characters held for review are posted
// (no channel: nowhere; /config view still lists them).
func (r *Router) configModlog(ctx context.Context, e *Event) (*Response, error) {
	m := r.moderation()
	if refusal := moderatorOnly(e, m != nil); refusal != nil {
		return refusal, nil
	}
	ch := strings.TrimSpace(e.Options.String(OptChannel))
	if ch != "" && ArgSnowflake.check(ch) != nil {
		e.SetOutcome("bad input")
		return ephemeralText("**channel**: pick a channel of this server."), nil
	}
	what := "modlog channel cleared"
	if ch != "" {
		what = fmt.Sprintf("modlog channel <#%s>", ch)
	}
	s, err := m.UpdateGuildSettings(ctx, e.GuildID, r.change(e, what),
		func(s *store.GuildSettings) { s.ModlogChannelID = ch })
	if err != nil {
		return nil, tell("I could not change the setting just now. Please try again in a moment.", fmt.Errorf("set the modlog channel of guild %s: %w", e.GuildID, err))
	}
	var b strings.Builder
	if ch == "" {
		b.WriteString("No modlog channel any more: characters waiting for approval are listed in /config view only.")
	} else {
		fmt.Fprintf(&b, "Characters waiting for approval will be posted in <#%s>, with Approve and Reject buttons. I need to be able to view that channel, send messages and embed links there.", ch)
	}
	if !s.Approval {
		b.WriteString(" Character approval is off: turn it on with /config characters approval:True.")
	}
	return ephemeralText(b.String()), nil
}

// moderatorOnly is the refusal of a moderation command used outside a server, by a member without
// Manage Server (checked here too: a server's admins can override a command's permissions), or on a
// bot without a store; nil when it may go on.
func moderatorOnly(e *Event, available bool) *Response {
	if refusal := inAServer(e, available); refusal != nil {
		return refusal
	}
	if !canManageGuild(e) {
		e.SetOutcome("refused")
		return ephemeralText(manageServerNeeded)
	}
	return nil
}

// review handles Approve and Reject (the route requires Manage Server): the character's review is
// decided and logged in one transaction, the clicked message is updated to show the decision (its
// buttons for this character removed), and a click on a character decided already says so.
func (r *Router) review(ctx context.Context, e *Event) (*Response, error) {
	m := r.moderation()
	if refusal := inAServer(e, m != nil); refusal != nil {
		return refusal, nil
	}
	id, approve := e.Args.String("character"), e.Args.String("decision") == decisionApprove
	c, err := m.GetCharacter(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.SetOutcome("no such character")
		return r.showGone(ctx, e, id)
	case err != nil:
		return nil, tell(charactersReadFail, fmt.Errorf("read character %s of a review button: %w", id, err))
	case c.GuildID != e.GuildID:
		e.SetOutcome("refused")
		return ephemeralText("This character was made in another server: only that server's moderators can decide."), nil
	}
	verb := "rejected"
	if approve {
		verb = "approved"
	}
	change := r.change(e, fmt.Sprintf("%s character %s of <@%s>", verb, c.Name, c.OwnerID))
	got, err := m.ReviewCharacter(ctx, id, e.User(), approve, change)
	switch {
	case errors.Is(err, store.ErrConflict):
		e.SetOutcome("already decided")
		cur, rerr := m.GetCharacter(ctx, id)
		if errors.Is(rerr, store.ErrNotFound) {
			return r.showGone(ctx, e, id)
		}
		if rerr != nil {
			return nil, tell(charactersReadFail, fmt.Errorf("read character %s decided already: %w", id, rerr))
		}
		return r.showDecision(ctx, e, cur, alreadyDecidedText(cur))
	case errors.Is(err, store.ErrNotFound):
		e.SetOutcome("no such character")
		return r.showGone(ctx, e, id)
	case err != nil:
		return nil, tell(reviewWriteFail, fmt.Errorf("%s character %s: %w", verb, id, err))
	}
	r.log.Info("character reviewed", "guild", e.GuildID, "character", id, "decision", verb, "moderator", e.User())
	note := ""
	if isEphemeral(e.Message) {
		note = decisionLine(got) // the private list keeps its text: say what happened
	}
	return r.showDecision(ctx, e, got, note)
}

func isEphemeral(m *discordgo.Message) bool {
	return m != nil && m.Flags&discordgo.MessageFlagsEphemeral != 0
}

// showDecision updates the clicked message for c's review: a modlog post becomes the decision (the
// photo removed when rejected), a private list (/config view) loses c's buttons. A note, if any, is
// then sent privately.
func (r *Router) showDecision(ctx context.Context, e *Event, c *store.Character, note string) (*Response, error) {
	msg := e.Message
	if msg == nil {
		return ephemeralText(cmp.Or(note, decisionLine(c))), nil
	}
	upd := &Response{Type: discordgo.InteractionResponseUpdateMessage, Content: msg.Content,
		Components: withoutReview(msg.Components, c.ID), Embeds: msg.Embeds}
	if !isEphemeral(msg) {
		upd.Content = reviewedText(c)
		if c.Review == store.ReviewRejected {
			upd.Embeds = []*discordgo.MessageEmbed{}
		}
	}
	return r.updateThen(ctx, e, upd, note)
}

// showGone updates the clicked message for a character deleted since its buttons were posted.
func (r *Router) showGone(ctx context.Context, e *Event, id string) (*Response, error) {
	const gone = "This character was deleted: there is nothing to decide any more."
	msg := e.Message
	if msg == nil {
		return ephemeralText(gone), nil
	}
	upd := &Response{Type: discordgo.InteractionResponseUpdateMessage, Content: msg.Content,
		Components: withoutReview(msg.Components, id), Embeds: msg.Embeds}
	if !isEphemeral(msg) {
		upd.Content, upd.Embeds = "**Character deleted** · there is nothing to decide any more.", []*discordgo.MessageEmbed{}
	}
	return r.updateThen(ctx, e, upd, gone)
}

// updateThen sends upd (an update of the clicked message), then the note privately ("" none).
func (r *Router) updateThen(ctx context.Context, e *Event, upd *Response, note string) (*Response, error) {
	if note == "" {
		return upd, nil
	}
	if err := e.Respond(ctx, upd); err != nil {
		e.SetOutcome("not answered")
		return nil, fmt.Errorf("update the review message: %w", err)
	}
	return ephemeralText(note), nil
}

// withoutReview is comps without the rows that hold a review button of character id (a non-nil
// slice: an update with no rows left removes the buttons).
func withoutReview(comps []discordgo.MessageComponent, id string) []discordgo.MessageComponent {
	prefix := reviewID.Prefix + idSep + id + idSep
	out := []discordgo.MessageComponent{}
	for _, c := range comps {
		var kids []discordgo.MessageComponent
		switch row := c.(type) {
		case discordgo.ActionsRow:
			kids = row.Components
		case *discordgo.ActionsRow:
			if row != nil {
				kids = row.Components
			}
		}
		drop := false
		for _, k := range kids {
			var cid string
			switch b := k.(type) {
			case discordgo.Button:
				cid = b.CustomID
			case *discordgo.Button:
				if b != nil {
					cid = b.CustomID
				}
			}
			drop = drop || strings.HasPrefix(cid, prefix)
		}
		if !drop {
			out = append(out, c)
		}
	}
	return out
}

// characterOf is "`name` of <@owner>" (the mention does not ping: every message the bot sends allows
// no mentions).
func characterOf(c *store.Character) string {
	return fmt.Sprintf("%s of <@%s>", code(clip(c.Name, maxNameLength)), c.OwnerID)
}

// decisionLine is one sentence of c's review state.
func decisionLine(c *store.Character) string {
	when := ""
	if !c.ReviewedAt.IsZero() {
		when = " " + ts(c.ReviewedAt)
	}
	by := ""
	if c.ReviewedBy != "" {
		by = fmt.Sprintf(" by <@%s>", c.ReviewedBy)
	}
	switch c.Review {
	case store.ReviewPending:
		return fmt.Sprintf("Character %s is waiting for approval.", characterOf(c))
	case store.ReviewRejected:
		return fmt.Sprintf("Character %s was rejected%s%s: it cannot be used here.", characterOf(c), by, when)
	}
	return fmt.Sprintf("Character %s was approved%s%s: it can be used in /render.", characterOf(c), by, when)
}

// alreadyDecidedText is the private answer to a click on a character decided already.
func alreadyDecidedText(c *store.Character) string {
	return "Already decided, nothing changed. " + decisionLine(c)
}

// reviewedText is a modlog post once its character is decided.
func reviewedText(c *store.Character) string {
	title := "Character approved"
	if c.Review == store.ReviewRejected {
		title = "Character rejected"
	}
	return fmt.Sprintf("**%s** · %s\n%s", title, characterOf(c), decisionLine(c))
}

// reviewButtons is the row of Approve and Reject of character c (labels name it when named is set).
func reviewButtons(c *store.Character, named bool) discordgo.ActionsRow {
	approve, reject := "Approve", "Reject"
	if named {
		n := clip(c.Name, maxLabel-len("Approve "))
		approve, reject = "Approve "+n, "Reject "+n
	}
	return discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: approve, Style: discordgo.SuccessButton, CustomID: reviewID.build(c.ID, decisionApprove)},
		discordgo.Button{Label: reject, Style: discordgo.DangerButton, CustomID: reviewID.build(c.ID, decisionReject)},
	}}
}

// modlogPost is the body of the post of a held character in the modlog channel (POST
// /channels/{id}/messages with the bot token): messageCreate with embeds, fitted here (send fits
// only its own bodies).
type modlogPost struct {
	Content         string                            `json:"content"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds,omitempty"`
	Components      []discordgo.MessageComponent      `json:"components,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
}

// reviewPostOf is the modlog post of held character c: its name, its owner (not pinged), its photo's
// thumbnail when Viggle made one, and Approve / Reject. The nonce (from the character's id) makes a
// repeat within minutes return the first post.
func reviewPostOf(c *store.Character) modlogPost {
	p := modlogPost{
		Content: fmt.Sprintf("**Character waiting for approval** · %s · made %s\nApprove it to let it be used in /render here; Reject keeps it unusable (its owner can then delete it).",
			characterOf(c), ts(c.CreatedAt)),
		Components:      []discordgo.MessageComponent{reviewButtons(c, false)},
		AllowedMentions: noMentions,
		Nonce:           clip("vbr"+c.ID, 25),
		EnforceNonce:    true,
	}
	if c.ThumbnailURL != "" {
		p.Embeds = []*discordgo.MessageEmbed{{Title: clip(c.Name, maxEmbedTitle), Thumbnail: &discordgo.MessageEmbedThumbnail{URL: c.ThumbnailURL}}}
	}
	var f fitter
	f.text("content", &p.Content, maxContent)
	p.Components = f.components(p.Components)
	p.Embeds = f.embeds(p.Embeds)
	return p
}

// askModerators posts held character c in the guild's modlog channel, and returns the sentence of the
// owner's answer that says where moderators review it. A post Discord refuses fails nothing: the
// character is listed in /config view in any case.
func (r *Router) askModerators(ctx context.Context, e *Event, s *store.GuildSettings, c *store.Character) string {
	ch := s.ModlogChannelID
	if ch == "" {
		return "A moderator of this server (Manage Server) can approve it in /config view."
	}
	_, err := send(ctx, e.rest, r.log, "POST", discordgo.EndpointChannelMessages(ch), "channel:"+ch, reviewPostOf(c), nil)
	if err != nil {
		r.log.Warn("could not post a character for review in the modlog channel", "guild", e.GuildID, "channel", ch,
			"character", c.ID, "err", redact.Text(redact.Error(err), e.Token))
		return fmt.Sprintf("I could not post it in <#%s> for the moderators (they may need to let me post there); they can approve it in /config view.", ch)
	}
	return fmt.Sprintf("The moderators were asked in <#%s>.", ch)
}

// pendingView is the part of /config view about characters waiting for approval: a list of the
// first maxPendingShown (name, owner, when made) and one row of Approve / Reject for each (at most
// maxRows rows in all: put them last, or alone). No character waiting: "" and no rows.
func (r *Router) pendingView(ctx context.Context, guildID string) (string, []discordgo.MessageComponent, error) {
	m := r.moderation()
	if m == nil || guildID == "" {
		return "", nil, nil
	}
	list, err := m.PendingCharacters(ctx, guildID, maxPendingShown+1)
	if err != nil {
		return "", nil, fmt.Errorf("list the characters waiting for approval in guild %s: %w", guildID, err)
	}
	if len(list) == 0 {
		return "", nil, nil
	}
	var b strings.Builder
	b.WriteString("**Characters waiting for approval**")
	if len(list) > maxPendingShown {
		fmt.Fprintf(&b, " (the first %d; decide these to see more)", maxPendingShown)
		list = list[:maxPendingShown]
	}
	var rows []discordgo.MessageComponent
	for _, c := range list {
		fmt.Fprintf(&b, "\n• %s, made %s", characterOf(c), ts(c.CreatedAt))
		if c.Status != store.StatusReady {
			fmt.Fprintf(&b, " (%s)", characterStatus(c))
		}
		rows = append(rows, reviewButtons(c, true))
	}
	return b.String(), rows, nil
}

// reviewState is how /character list shows the review of its owner's character ("" none).
func reviewState(c *store.Character) string {
	switch c.Review {
	case store.ReviewPending:
		return "waiting for a moderator's approval"
	case store.ReviewRejected:
		return "rejected by this server's moderators: it cannot be used; delete it to reuse its name"
	}
	return ""
}

// heldRefusal is why a map's value that named no usable character may not be used because it names
// a character held for review ("" when it names none): the caller's own character of that name (any
// key), else the one of that name shared in the guild, or, for a value that looks like a Viggle id,
// the character with that id (so that a pending or rejected character cannot be used by its id
// either). It is read only after ResolveCharacter found nothing, for /render's refusal.
func (r *Router) heldRefusal(ctx context.Context, ownerID, guildID, value string) (string, error) {
	m, st := r.moderation(), r.scenes()
	if m == nil || st == nil {
		return "", nil
	}
	var held *store.Character
	if looksLikeCharacterID(value) {
		c, err := m.CharacterByViggleID(ctx, value)
		switch {
		case err == nil:
			held = c
		case !errors.Is(err, store.ErrNotFound):
			return "", fmt.Errorf("look for a held character of Viggle id %q: %w", value, err)
		}
	} else {
		list, err := st.ListCharacters(ctx, ownerID, guildID)
		if err != nil {
			return "", fmt.Errorf("look for a held character named %q: %w", value, err)
		}
		for _, c := range list {
			if sameName(c.Name, value) && (c.OwnerID == ownerID || (held == nil && c.Shared && c.GuildID == guildID)) {
				held = c
				if c.OwnerID == ownerID {
					break
				}
			}
		}
	}
	if held == nil {
		return "", nil
	}
	return heldWhy(held), nil
}
