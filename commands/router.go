package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// The router: one table of routes (slash commands and their subcommands, component custom ids, modal
// submits, autocomplete per command and option), a chain of middleware written once, and one place that
// sends what a handler returns.

// Handler handles one routed interaction and returns what to send: a response, or an error (which the
// error sink turns into one ephemeral sentence). A nil response with a nil error sends nothing more (the
// handler answered itself, with Event.Defer or Event.Respond, or deliberately answers nothing).
type Handler func(ctx context.Context, e *Event) (*Response, error)

// Middleware wraps a Handler; the router applies its chain to every interaction.
type Middleware func(next Handler) Handler

// RouteKind says what a route answers.
type RouteKind uint8

// Route kinds.
const (
	RouteCommand   RouteKind = iota // a slash command or one of its subcommands, by path ("render", "scene import")
	RouteComponent                  // a button or select menu, by its custom id's prefix
	RouteModal                      // a modal submit, by its custom id's prefix
)

// Permission is what a member needs to use a route, checked by the router before the handler runs
// (server admins can override a command's default permission, so Discord's own check is not enough).
type Permission uint8

// Permissions.
const (
	PermEveryone    Permission = iota
	PermManageGuild            // Manage Server (which Administrator implies), from the member's permissions
	PermOwners                 // one of the bot's owners (NewHandler's owners)
)

// Deferral is how a route's interaction is deferred (by the automatic deferral or Event.Defer).
type Deferral uint8

// Deferrals.
const (
	// DeferDefault: commands and modals get a public "thinking…" message; components a deferred update.
	DeferDefault   Deferral = iota
	DeferEphemeral          // a "thinking…" message only the user sees
	DeferMessage            // a new public message, also for a component (Retry starts a new render message)
)

// Route is one entry of the table.
type Route struct {
	Kind RouteKind
	// Name is a command's path (the command name, then subcommand group and subcommand, separated by
	// spaces); for components and modals it is taken from ID.
	Name string
	// Def is the command registered with Discord, on the route of a top-level command (for a command
	// with subcommands, on one of its routes).
	Def *discordgo.ApplicationCommand
	// ID is the custom id of a component or modal route: its prefix and typed arguments.
	ID     CustomID
	Handle Handler
	// Autocomplete answers a command's autocomplete, per option name. An option without one gets an
	// empty list at once.
	Autocomplete map[string]Handler
	Perm         Permission
	Defer        Deferral
	// NoAutoDefer: the handler acknowledges by itself within its own budget (under 2 s), and its
	// acknowledgement must be the first thing sent (/render, Retry).
	NoAutoDefer bool
}

// autocompleteBudget bounds one autocomplete answer (Discord shows nothing after about 3 s; the issue
// asks for 1 s).
const autocompleteBudget = 800 * time.Millisecond

// DefaultDeferAfter is how long a handler may take before the router defers its interaction for it
// (Discord drops an interaction not acknowledged within 3 s).
const DefaultDeferAfter = 2 * time.Second

// Sentences the router says itself.
const (
	// PanicReply is the ephemeral answer to an interaction whose handler panicked (the text of
	// bot.PanicReply, which commands may not import).
	PanicReply       = "Something went wrong on my side; nothing was charged. Please try again."
	olderVersionText = "This button is from an older version: run the command again"
	unknownCommand   = "I don't know that command any more; Discord may still be showing an old list. Try again in a minute."
	internalError    = "Something went wrong on my side. Please try again in a moment."
)

// ackState is how far an interaction has been answered.
type ackState uint8

const (
	ackNone            ackState = iota
	ackResponded                // a message, an update, choices or a modal
	ackDeferredMessage          // type 5: a "thinking…" message, replaced by an edit
	ackDeferredUpdate           // type 6: the component's message, edited later (or left)
)

// Event is one interaction as a handler sees it.
type Event struct {
	*discordgo.Interaction
	// UploadLimit is the interaction's attachment_size_limit in bytes (0 when Discord sent none).
	UploadLimit int64
	Route       *Route
	// Options are the options of the (sub)command invoked (commands and autocomplete).
	Options Options
	// Focused is the option being typed (autocomplete).
	Focused string
	// Args are the typed arguments of a component's or modal's custom id.
	Args Args

	rest REST
	r    *Router

	mu           sync.Mutex
	ack          ackState
	ackEphemeral bool
	autoDeferred bool
	outcome      string
	ackAt        time.Time // when Discord took the first acknowledgement (zero: not yet)
}

// SetOutcome names what happened, for the interaction's log line ("ok" unless set).
func (e *Event) SetOutcome(o string) {
	e.mu.Lock()
	e.outcome = o
	e.mu.Unlock()
}

// User is the id of the member or user who made the interaction.
func (e *Event) User() string { return userID(e.Interaction) }

// Options are a command's options as Discord sent them.
type Options []*discordgo.ApplicationCommandInteractionDataOption

func (o Options) get(name string) *discordgo.ApplicationCommandInteractionDataOption {
	for _, x := range o {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// String is the named string option ("" when absent).
func (o Options) String(name string) string {
	if x := o.get(name); x != nil {
		s, _ := x.Value.(string)
		return s
	}
	return ""
}

// Bool is the named boolean option (false when absent).
func (o Options) Bool(name string) bool {
	if x := o.get(name); x != nil {
		b, _ := x.Value.(bool)
		return b
	}
	return false
}

// Response is what a handler sends.
type Response struct {
	// Type is the interaction callback type; 0 means a new message (type 4). After a deferral the
	// router turns a message into an edit of the deferred message (or a follow-up), an update into an
	// edit of the component's message, and a deferral into nothing.
	Type       discordgo.InteractionResponseType
	Content    string
	Components []discordgo.MessageComponent
	Embeds     []*discordgo.MessageEmbed
	Ephemeral  bool
	// Choices answer an autocomplete (type 8).
	Choices []*discordgo.ApplicationCommandOptionChoice
	// CustomID and Title open a modal (type 9), with Components as its rows.
	CustomID, Title string
}

// ephemeralText is a message only the user sees.
func ephemeralText(text string) *Response { return &Response{Content: text, Ephemeral: true} }

// emptyChoices is the autocomplete answer with nothing to suggest.
func emptyChoices() *Response {
	return &Response{Type: discordgo.InteractionApplicationCommandAutocompleteResult, Choices: []*discordgo.ApplicationCommandOptionChoice{}}
}

func (r *Response) typ() discordgo.InteractionResponseType {
	if r.Type == 0 {
		return discordgo.InteractionResponseChannelMessageWithSource
	}
	return r.Type
}

// interactionResponse is r as an interaction callback.
func (r *Response) interactionResponse() *discordgo.InteractionResponse {
	out := &discordgo.InteractionResponse{Type: r.typ()}
	switch out.Type {
	case discordgo.InteractionResponseDeferredChannelMessageWithSource:
		if r.Ephemeral {
			out.Data = &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}
		}
	case discordgo.InteractionResponseDeferredMessageUpdate, discordgo.InteractionResponsePong:
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		choices := r.Choices
		if choices == nil {
			choices = []*discordgo.ApplicationCommandOptionChoice{}
		}
		out.Data = &discordgo.InteractionResponseData{Choices: choices}
	case discordgo.InteractionResponseModal:
		out.Data = &discordgo.InteractionResponseData{CustomID: r.CustomID, Title: r.Title, Components: r.Components}
	default:
		d := &discordgo.InteractionResponseData{Content: r.Content, Components: r.Components, Embeds: r.Embeds, AllowedMentions: noMentions}
		if r.Ephemeral && out.Type == discordgo.InteractionResponseChannelMessageWithSource {
			d.Flags = discordgo.MessageFlagsEphemeral
		}
		out.Data = d
	}
	return out
}

// Router routes interactions to the handlers of its table. It is safe for concurrent use.
type Router struct {
	eng    Engine
	st     Store
	log    *slog.Logger
	now    func() time.Time
	owners map[string]bool
	// deferAfter is how long a handler may take before the router defers for it.
	deferAfter time.Duration

	commands   map[string]*Route
	components map[string]*Route
	modals     map[string]*Route
	chain      Handler
	obs        Observer // nil: nobody (see Observe)
}

// setRoutes builds the lookup maps from a table. A duplicate route is a programming error.
func (r *Router) setRoutes(table []Route) {
	r.commands, r.components, r.modals = map[string]*Route{}, map[string]*Route{}, map[string]*Route{}
	for k := range table {
		rt := &table[k]
		m := r.commands
		switch rt.Kind {
		case RouteComponent:
			m, rt.Name = r.components, rt.ID.Prefix
		case RouteModal:
			m, rt.Name = r.modals, rt.ID.Prefix
		}
		if _, dup := m[rt.Name]; dup || rt.Name == "" || rt.Handle == nil {
			panic(fmt.Sprintf("commands: route %q is a duplicate or incomplete", rt.Name))
		}
		m[rt.Name] = rt
	}
}

// definitions are the commands of a table, in its order.
func definitions(table []Route) []*discordgo.ApplicationCommand {
	var out []*discordgo.ApplicationCommand
	for _, rt := range table {
		if rt.Def != nil {
			out = append(out, rt.Def)
		}
	}
	return out
}

// Routes for what the table does not know.
var (
	unknownCommandRoute = &Route{Name: "unknown command", NoAutoDefer: true,
		Handle: func(context.Context, *Event) (*Response, error) { return ephemeralText(unknownCommand), nil }}
	olderIDRoute = &Route{Kind: RouteComponent, Name: "older custom id", NoAutoDefer: true,
		Handle: func(context.Context, *Event) (*Response, error) { return ephemeralText(olderVersionText), nil }}
	noSuggestions Handler = func(context.Context, *Event) (*Response, error) { return emptyChoices(), nil }
)

// HandleInteraction routes one interaction: commands by path, components and modals by custom id,
// autocomplete by command and option. uploadLimit is the interaction's attachment_size_limit (0 when
// Discord sent none).
func (r *Router) HandleInteraction(ctx context.Context, rest REST, i *discordgo.Interaction, uploadLimit int64) {
	e := &Event{Interaction: i, UploadLimit: uploadLimit, rest: rest, r: r}
	if !r.match(e) {
		return
	}
	_, _ = r.chain(ctx, e)
}

// match finds the route of e; false for interactions the bot does not answer (a ping).
func (r *Router) match(e *Event) bool {
	switch e.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
		data := e.ApplicationCommandData()
		path, opts := commandPath(data)
		e.Options = opts
		e.Route = r.commands[path]
		if e.Type == discordgo.InteractionApplicationCommandAutocomplete {
			for _, o := range opts {
				if o.Focused {
					e.Focused = o.Name
				}
			}
			if e.Route == nil {
				e.Route = &Route{Name: path, Handle: noSuggestions}
			}
			return true
		}
		if e.Route == nil {
			e.Route = unknownCommandRoute
		}
	case discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit:
		m, id := r.components, ""
		if e.Type == discordgo.InteractionModalSubmit {
			m, id = r.modals, e.ModalSubmitData().CustomID
		} else {
			id = e.MessageComponentData().CustomID
		}
		prefix, rest, _ := strings.Cut(id, idSep)
		e.Route = olderIDRoute
		if rt := m[prefix]; rt != nil {
			if args, err := rt.ID.parse(rest); err == nil {
				e.Route, e.Args = rt, args
			}
		}
	default:
		return false
	}
	return true
}

// commandPath is the invoked command's path ("scene import") and its own options.
func commandPath(data discordgo.ApplicationCommandInteractionData) (string, Options) {
	path, opts := data.Name, data.Options
	for len(opts) == 1 && (opts[0].Type == discordgo.ApplicationCommandOptionSubCommand ||
		opts[0].Type == discordgo.ApplicationCommandOptionSubCommandGroup) {
		path += " " + opts[0].Name
		opts = opts[0].Options
	}
	return path, opts
}

// handle is the innermost handler: the route's own (or its autocomplete's).
func handle(ctx context.Context, e *Event) (*Response, error) {
	if e.Type == discordgo.InteractionApplicationCommandAutocomplete {
		h := e.Route.Autocomplete[e.Focused]
		if h == nil {
			h = noSuggestions
		}
		// Suggestions are useful only while the member types: a read that stalls ends in an empty
		// list (through the error sink) rather than a late answer.
		ctx, cancel := context.WithTimeout(ctx, autocompleteBudget)
		defer cancel()
		return h(ctx, e)
	}
	return e.Route.Handle(ctx, e)
}

// deferral is the callback that defers e under its route.
func (e *Event) deferral() (discordgo.InteractionResponseType, bool) {
	switch {
	case e.Route.Defer == DeferEphemeral:
		return discordgo.InteractionResponseDeferredChannelMessageWithSource, true
	case e.Route.Defer == DeferMessage, e.Type != discordgo.InteractionMessageComponent:
		return discordgo.InteractionResponseDeferredChannelMessageWithSource, false
	}
	return discordgo.InteractionResponseDeferredMessageUpdate, false
}

// Defer acknowledges the interaction as its route declares (a "thinking…" message, public or
// ephemeral, or a deferred update for a component), unless it was answered already. A repeated
// acknowledgement that Discord had already taken (40060: discordgo repeats a request answered 502)
// counts as done.
func (e *Event) Defer(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.deferLocked(ctx)
}

func (e *Event) deferLocked(ctx context.Context) error {
	if e.ack != ackNone {
		return nil
	}
	typ, eph := e.deferral()
	err := e.rest.InteractionRespond(e.Interaction, (&Response{Type: typ, Ephemeral: eph}).interactionResponse(), discordgo.WithContext(ctx))
	if code, _ := discordCode(err); code == discordgo.ErrCodeInteractionHasAlreadyBeenAcknowledged {
		err = nil
	}
	if err != nil {
		return err
	}
	e.ack, e.ackEphemeral, e.ackAt = ackDeferredMessage, eph, time.Now()
	if typ == discordgo.InteractionResponseDeferredMessageUpdate {
		e.ack = ackDeferredUpdate
	}
	return nil
}

// Respond sends resp now (see Response.Type for what happens after a deferral). Handlers that must
// know whether Discord took their answer use it; others return their response.
func (e *Event) Respond(ctx context.Context, resp *Response) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.respondLocked(ctx, resp)
}

func (e *Event) respondLocked(ctx context.Context, resp *Response) error {
	if clipped := fitResponse(resp); len(clipped) > 0 {
		e.r.log.Warn("a response over Discord's limits was clipped", "route", e.Route.Name, "clipped", strings.Join(clipped, "; "))
	}
	typ := resp.typ()
	isMessage := typ == discordgo.InteractionResponseChannelMessageWithSource
	isUpdate := typ == discordgo.InteractionResponseUpdateMessage
	switch e.ack {
	case ackNone:
		if err := e.rest.InteractionRespond(e.Interaction, resp.interactionResponse(), discordgo.WithContext(ctx)); err != nil {
			return err
		}
		e.ackAt = time.Now()
		switch typ {
		case discordgo.InteractionResponseDeferredChannelMessageWithSource:
			e.ack, e.ackEphemeral = ackDeferredMessage, resp.Ephemeral
		case discordgo.InteractionResponseDeferredMessageUpdate:
			e.ack = ackDeferredUpdate
		default:
			e.ack = ackResponded
		}
		return nil
	case ackDeferredMessage:
		switch {
		case (isMessage || isUpdate) && resp.Ephemeral && !e.ackEphemeral:
			// A private answer cannot replace a public "thinking…" message: send it privately, and
			// remove the placeholder, which would otherwise end as "The application did not respond".
			if err := e.followup(ctx, resp); err != nil {
				return err
			}
			_, err := send(ctx, e.rest, e.r.log, "DELETE", e.original(), bucket(e.ID), nil, nil)
			return err
		case isMessage || isUpdate:
			return e.editOriginal(ctx, resp)
		}
	case ackDeferredUpdate:
		switch {
		case isUpdate:
			return e.editOriginal(ctx, resp)
		case isMessage:
			return e.followup(ctx, resp)
		}
	case ackResponded:
		if isMessage {
			return e.followup(ctx, resp)
		}
		if typ != discordgo.InteractionResponseDeferredChannelMessageWithSource && typ != discordgo.InteractionResponseDeferredMessageUpdate {
			return fmt.Errorf("a response of type %d to an interaction already answered", typ)
		}
	}
	if typ == discordgo.InteractionResponseModal || typ == discordgo.InteractionApplicationCommandAutocompleteResult {
		return errors.New("a modal or autocomplete answer after a deferral cannot be sent")
	}
	return nil // a deferral of an interaction already deferred: nothing to send
}

func (e *Event) original() string {
	return discordgo.EndpointWebhookMessage(e.AppID, e.Token, "@original")
}

func (e *Event) editOriginal(ctx context.Context, resp *Response) error {
	comps := resp.Components
	if comps == nil && resp.typ() == discordgo.InteractionResponseChannelMessageWithSource {
		comps = []discordgo.MessageComponent{}
	}
	body := messageEdit{Content: &resp.Content, AllowedMentions: noMentions}
	if comps != nil {
		body.Components = &comps
	}
	if resp.Embeds != nil {
		body.Embeds = &resp.Embeds
	}
	_, err := send(ctx, e.rest, e.r.log, "PATCH", e.original(), bucket(e.ID), body, nil)
	return err
}

func (e *Event) followup(ctx context.Context, resp *Response) error {
	p := &discordgo.WebhookParams{Content: resp.Content, Components: resp.Components, Embeds: resp.Embeds, AllowedMentions: noMentions}
	if resp.Ephemeral {
		p.Flags = discordgo.MessageFlagsEphemeral
	}
	_, err := e.rest.FollowupMessageCreate(e.Interaction, false, p, discordgo.WithContext(ctx))
	return err
}

// userError is an error with the sentence the user reads.
type userError struct {
	msg string
	err error
}

func (e *userError) Error() string { return e.err.Error() }
func (e *userError) Unwrap() error { return e.err }

// tell returns an error the error sink shows as msg (and logs with its cause).
func tell(msg string, cause error) error { return &userError{msg: msg, err: cause} }

func userID(i *discordgo.Interaction) string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
}
