package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"
)

// Interaction types.
const (
	InteractionPing               = 1
	InteractionApplicationCommand = 2
	InteractionMessageComponent   = 3
	InteractionAutocomplete       = 4
	InteractionModalSubmit        = 5
)

// ErrNoGateway is returned by the Send methods when no client is connected
// and identified on the gateway.
var ErrNoGateway = errors.New("discordtest: no identified gateway connection")

// Interaction is an interaction the fake dispatched.
type Interaction struct {
	ID                  string
	Token               string
	ApplicationID       string
	Type                int // InteractionApplicationCommand, InteractionMessageComponent, …
	GuildID             string
	ChannelID           string
	UserID              string
	CommandName         string // slash commands and autocomplete
	CustomID            string // components
	MessageID           string // components: the message the component is on
	AttachmentSizeLimit int64  // 0 when the payload had none
	CreatedAt           time.Time
	// DispatchedAt is when the fake began writing the INTERACTION_CREATE to
	// the gateway websocket (its clock, read once the payload was encoded,
	// after any wait behind other writes). A Redeliver leaves it unchanged.
	// In a burst (SendCommands) it is recorded once the whole burst is written.
	DispatchedAt time.Time
	Payload      json.RawMessage // the INTERACTION_CREATE "d" as sent
	// HTTPStatus and HTTPResponse are what the bot answered an interaction delivered over HTTP
	// (SetInteractionsEndpoint); 0 and nil over the gateway or when no answer came.
	HTTPStatus   int
	HTTPResponse []byte
}

// interactionState is the fake's view of one interaction.
type interactionState struct {
	Interaction
	acked      bool
	ackType    int
	dead       bool // acknowledgement refused with 10062: the token never worked
	originalID string
	followups  []string
	callbacks  []Request
	// inline is open while the bot's HTTP answer to this interaction is awaited and processed: calls
	// with its token wait for it, as Discord has taken the answer before the bot can use the token.
	inline chan struct{}
}

// SlashCommand is a user invoking a slash command (or typing into one of its
// options, for autocomplete).
type SlashCommand struct {
	Name string
	// Options maps option names to values: string, bool, an integer or
	// float64, or map[string]any for a subcommand's own options. With
	// registered commands they are sent in the registered order with the
	// registered types; required options and choices are enforced.
	Options map[string]any
	// Focused, when set, names the option being typed: the fake sends an
	// APPLICATION_COMMAND_AUTOCOMPLETE interaction (type 4) with that
	// option's value as a string and "focused": true.
	Focused string
	// GuildID defaults to the first guild; ChannelID to that guild's default
	// channel (an unknown ChannelID is added to the guild).
	GuildID   string
	ChannelID string
	// DM sends the command from the user's DM with the bot (no guild, "user"
	// instead of "member").
	DM                bool
	UserID            string // default DefaultUserID
	Username          string // default the known name, else "user<id>"
	GlobalName        string
	Locale            string   // default "en-US"
	MemberPermissions string   // default: view, send, embed, attach, use commands
	MemberRoles       []string // role ids of the invoking member (default none)
	// AttachmentSizeLimit is the interaction's attachment_size_limit in
	// bytes; 0 leaves the field out (uploads are then held to 10 MiB).
	AttachmentSizeLimit int64
	// AppPermissions is app_permissions (default: view, send, embed, attach, history).
	AppPermissions string
	// LateAck makes the callback answer 404 / 10062, as a dispatch past the acknowledgement deadline would.
	LateAck bool
}

// Component is a user clicking a button (or choosing in a select menu) on a
// message the bot made.
type Component struct {
	CustomID  string
	MessageID string   // required: the message carrying the component
	Values    []string // select menus
	// GuildID and ChannelID default to the message's.
	GuildID             string
	ChannelID           string
	UserID              string
	Username            string
	GlobalName          string
	Locale              string
	MemberPermissions   string
	MemberRoles         []string
	AttachmentSizeLimit int64
	AppPermissions      string
	LateAck             bool
}

// actor holds who sends an interaction from where.
type actor struct {
	guildID, channelID            string
	dm                            bool
	userID, username, globalName  string
	locale, memberPerms, appPerms string
	roles                         []string
	limit                         int64
}

// baseInteractionLocked fills the fields every interaction carries.
func (s *Server) baseInteractionLocked(a *actor, typ int) (map[string]any, error) {
	if a.userID == "" {
		a.userID = DefaultUserID
	}
	u := s.users[a.userID]
	if u == nil {
		u = &user{ID: a.userID, Username: "user" + a.userID}
		s.users[a.userID] = u
	}
	if a.username != "" {
		u.Username = a.username
	}
	if a.globalName != "" {
		u.GlobalName = a.globalName
	}
	if a.locale == "" {
		a.locale = "en-US"
	}
	id := s.snowflakeLocked()
	p := map[string]any{
		"id":             id,
		"application_id": s.appID,
		"type":           typ,
		"token":          newToken(id),
		"version":        1,
		"locale":         a.locale,
		"entitlements":   []any{},
	}
	if a.limit > 0 {
		p["attachment_size_limit"] = a.limit
	}
	if a.dm {
		ch := s.dmChannelLocked(a.userID)
		a.guildID, a.channelID = "", ch.id
		if a.appPerms == "" {
			a.appPerms = dmAppPermissions
		}
		p["channel_id"] = ch.id
		p["channel"] = s.channelJSONLocked(ch)
		p["user"] = s.userJSONLocked(a.userID)
		p["context"] = 1
		p["authorizing_integration_owners"] = map[string]any{"0": "0"}
		p["app_permissions"] = a.appPerms
		return p, nil
	}
	if a.guildID == "" {
		a.guildID = s.guildIDs[0]
	}
	if !s.isGuild(a.guildID) {
		return nil, fmt.Errorf("discordtest: the bot is not in guild %s", a.guildID)
	}
	if a.channelID == "" {
		a.channelID = s.guildChannels[a.guildID][0]
	}
	if ch := s.channels[a.channelID]; ch != nil && ch.guildID != a.guildID {
		return nil, fmt.Errorf("discordtest: channel %s is not in guild %s", a.channelID, a.guildID)
	}
	s.addChannelLocked(a.guildID, a.channelID)
	if a.appPerms == "" {
		a.appPerms = defaultAppPermissions
	}
	if a.memberPerms == "" {
		a.memberPerms = defaultMemberPermissions
	}
	roles := []any{}
	for _, r := range a.roles {
		roles = append(roles, r)
	}
	chJSON := s.channelJSONLocked(s.channels[a.channelID])
	chJSON["permissions"] = a.memberPerms
	p["guild_id"] = a.guildID
	p["guild_locale"] = "en-US"
	p["guild"] = map[string]any{"id": a.guildID, "locale": "en-US", "features": []any{}}
	p["channel_id"] = a.channelID
	p["channel"] = chJSON
	p["member"] = map[string]any{
		"user":                         s.userJSONLocked(a.userID),
		"roles":                        roles,
		"premium_since":                nil,
		"permissions":                  a.memberPerms,
		"pending":                      false,
		"nick":                         nil,
		"mute":                         false,
		"deaf":                         false,
		"joined_at":                    time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Format(tsLayout),
		"flags":                        0,
		"avatar":                       nil,
		"banner":                       nil,
		"communication_disabled_until": nil,
		"unusual_dm_activity_until":    nil,
	}
	p["context"] = 0
	p["authorizing_integration_owners"] = map[string]any{"0": a.guildID}
	p["app_permissions"] = a.appPerms
	return p, nil
}

// SendCommand dispatches an APPLICATION_COMMAND (or, with Focused, an
// APPLICATION_COMMAND_AUTOCOMPLETE) interaction on the live gateway
// connection and returns it with its id and token.
func (s *Server) SendCommand(ctx context.Context, c SlashCommand) (*Interaction, error) {
	is, err := s.SendCommands(ctx, []SlashCommand{c})
	if len(is) == 0 {
		return nil, err
	}
	return is[0], err // over HTTP, a delivered interaction comes back with its answer's error
}

// SendCommands dispatches several commands at once, as one burst of INTERACTION_CREATE events written
// back to back on the live gateway connection, and returns the interactions in the same order. Nothing
// is sent when one of them cannot be built. When a write fails, it returns the error with the
// interactions written before it (the one that failed and those after it are forgotten).
func (s *Server) SendCommands(ctx context.Context, cs []SlashCommand) ([]*Interaction, error) {
	s.mu.Lock()
	sts := make([]*interactionState, 0, len(cs))
	for _, c := range cs {
		st, err := s.commandLocked(c)
		if err != nil {
			for _, st := range sts {
				s.forgetLocked(st)
			}
			s.mu.Unlock()
			return nil, err
		}
		sts = append(sts, st)
	}
	s.mu.Unlock()
	return s.dispatchInteractions(ctx, sts)
}

// commandLocked builds and registers the interaction of one command.
func (s *Server) commandLocked(c SlashCommand) (*interactionState, error) {
	if c.Name == "" {
		return nil, errors.New("discordtest: send command: empty name")
	}
	a := actor{guildID: c.GuildID, channelID: c.ChannelID, dm: c.DM, userID: c.UserID, username: c.Username,
		globalName: c.GlobalName, locale: c.Locale, memberPerms: c.MemberPermissions, appPerms: c.AppPermissions,
		roles: c.MemberRoles, limit: c.AttachmentSizeLimit}
	p, err := s.baseInteractionLocked(&a, InteractionApplicationCommand)
	if err != nil {
		return nil, fmt.Errorf("discordtest: send command /%s: %w", c.Name, err)
	}
	data, err := s.commandDataLocked(c, a)
	if err != nil {
		return nil, fmt.Errorf("discordtest: send command /%s: %w", c.Name, err)
	}
	if c.Focused != "" {
		p["type"] = InteractionAutocomplete
	}
	p["data"] = data
	st := s.registerLocked(p, c.LateAck)
	st.CommandName = c.Name
	return st, nil
}

// commandDataLocked builds the "data" of a command interaction.
func (s *Server) commandDataLocked(c SlashCommand, a actor) (map[string]any, error) {
	var def map[string]any
	scope := ""
	if !a.dm {
		for _, cmd := range s.commands[a.guildID] {
			if cmd["name"] == c.Name && num(cmd["type"]) == 1 {
				def, scope = cmd, a.guildID
			}
		}
	}
	if def == nil {
		for _, cmd := range s.commands[""] {
			if cmd["name"] == c.Name && num(cmd["type"]) == 1 {
				def = cmd
			}
		}
	}
	data := map[string]any{"name": c.Name, "type": 1}
	var defs []any
	if def == nil {
		if !s.lenient {
			return nil, errors.New("command is not registered (use WithLenientCommands to send it anyway)")
		}
		data["id"] = s.snowflakeLocked()
	} else {
		data["id"] = def["id"]
		defs, _ = def["options"].([]any)
		if err := checkContexts(def, a.dm); err != nil {
			return nil, err
		}
	}
	if scope != "" {
		data["guild_id"] = scope
	}
	given, resolved := s.resolveAttachmentsLocked(c.Options)
	opts, err := buildOptions(defs, given, c.Focused, def == nil)
	if err != nil {
		return nil, err
	}
	if len(opts) > 0 {
		data["options"] = opts
	}
	if len(resolved) > 0 {
		data["resolved"] = map[string]any{"attachments": resolved}
	}
	return data, nil
}

// Attachment is the value of an ATTACHMENT option (type 11) in SlashCommand.Options: the fake gives it
// an id, sends that id as the option's value and the attachment in data.resolved.attachments, as
// Discord does for a file the member picked.
type Attachment struct {
	Filename    string
	ContentType string // e.g. "image/png"; "" leaves the field out
	Size        int64
	URL         string // where the file is; default a cdn.discordapp.com-like URL of the fake's origin
}

// resolveAttachmentsLocked replaces the Attachment values of opts (and of subcommands' options) by new
// ids and returns the resolved attachments by id.
func (s *Server) resolveAttachmentsLocked(opts map[string]any) (map[string]any, map[string]any) {
	resolved := map[string]any{}
	var walk func(map[string]any) map[string]any
	walk = func(in map[string]any) map[string]any {
		out := make(map[string]any, len(in))
		for k, v := range in {
			switch x := v.(type) {
			case Attachment:
				id := s.snowflakeLocked()
				a := map[string]any{"id": id, "filename": x.Filename, "size": x.Size, "url": x.URL, "proxy_url": x.URL}
				if x.ContentType != "" {
					a["content_type"] = x.ContentType
				}
				resolved[id] = a
				out[k] = id
			case map[string]any:
				out[k] = walk(x)
			default:
				out[k] = v
			}
		}
		return out
	}
	return walk(opts), resolved
}

// checkContexts refuses a command where Discord would not offer it.
func checkContexts(def map[string]any, dm bool) error {
	want := 0.0
	if dm {
		want = 1
	}
	if ctxs, ok := def["contexts"].([]any); ok {
		for _, c := range ctxs {
			if num(c) == want {
				return nil
			}
		}
		return fmt.Errorf("command is not available in context %v", want)
	}
	if dm {
		if p, ok := def["dm_permission"].(bool); ok && !p {
			return errors.New("command is not available in DMs")
		}
	}
	return nil
}

// buildOptions turns name → value into Discord's option list, following
// the registered definitions (or inferring types when lenient).
func buildOptions(defs []any, given map[string]any, focused string, lenient bool) ([]any, error) {
	var out []any
	if lenient {
		names := make([]string, 0, len(given))
		for n := range given {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			v := given[n]
			if sub, ok := v.(map[string]any); ok {
				kids, err := buildOptions(nil, sub, focused, true)
				if err != nil {
					return nil, err
				}
				o := map[string]any{"name": n, "type": 1}
				if len(kids) > 0 {
					o["options"] = kids
				}
				out = append(out, o)
				continue
			}
			o := map[string]any{"name": n, "type": inferType(v), "value": v}
			if n == focused {
				o["value"] = fmt.Sprint(v)
				o["focused"] = true
			}
			out = append(out, o)
		}
		return out, nil
	}
	known := map[string]bool{}
	for _, d := range defs {
		def, _ := d.(map[string]any)
		name, _ := def["name"].(string)
		known[name] = true
		typ := int(num(def["type"]))
		v, present := given[name]
		if typ == 1 || typ == 2 {
			if !present {
				continue
			}
			sub, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("option %q is a subcommand: give its options as map[string]any", name)
			}
			kids, _ := def["options"].([]any)
			built, err := buildOptions(kids, sub, focused, false)
			if err != nil {
				return nil, err
			}
			o := map[string]any{"name": name, "type": typ}
			if len(built) > 0 {
				o["options"] = built
			}
			out = append(out, o)
			continue
		}
		if !present {
			if req, _ := def["required"].(bool); req && focused == "" {
				return nil, fmt.Errorf("required option %q is missing", name)
			}
			continue
		}
		o := map[string]any{"name": name, "type": typ}
		if name == focused {
			o["value"] = fmt.Sprint(v)
			o["focused"] = true
			out = append(out, o)
			continue
		}
		val, err := convertValue(typ, v)
		if err != nil {
			return nil, fmt.Errorf("option %q: %w", name, err)
		}
		if choices, ok := def["choices"].([]any); ok && len(choices) > 0 && !inChoices(choices, val) {
			return nil, fmt.Errorf("option %q: %v is not one of its choices", name, v)
		}
		o["value"] = val
		out = append(out, o)
	}
	for n := range given {
		if !known[n] {
			return nil, fmt.Errorf("option %q is not registered", n)
		}
	}
	return out, nil
}

func inferType(v any) int {
	switch x := v.(type) {
	case bool:
		return 5
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return 4
	case float32:
		return 10
	case float64:
		if x == math.Trunc(x) {
			return 4
		}
		return 10
	}
	return 3
}

// convertValue checks a Go value against an option type and returns the JSON value.
func convertValue(typ int, v any) (any, error) {
	rv := reflect.ValueOf(v)
	switch typ {
	case 3, 6, 7, 8, 9, 11:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T", v)
		}
		if typ != 3 && !isSnowflake(s) {
			return nil, fmt.Errorf("want a snowflake id, got %q", s)
		}
		return s, nil
	case 5:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want a bool, got %T", v)
		}
		return b, nil
	case 4, 10:
		var f float64
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f = float64(rv.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f = float64(rv.Uint())
		case reflect.Float32, reflect.Float64:
			f = rv.Float()
		default:
			return nil, fmt.Errorf("want a number, got %T", v)
		}
		if typ == 4 {
			if f != math.Trunc(f) {
				return nil, fmt.Errorf("want an integer, got %v", f)
			}
			return int64(f), nil
		}
		return f, nil
	}
	return v, nil
}

func inChoices(choices []any, v any) bool {
	want, _ := json.Marshal(v)
	for _, c := range choices {
		cm, _ := c.(map[string]any)
		got, _ := json.Marshal(cm["value"])
		if string(got) == string(want) {
			return true
		}
		if f, ok := cm["value"].(float64); ok {
			if g, err := strconv.ParseFloat(string(want), 64); err == nil && f == g {
				return true
			}
		}
	}
	return false
}

// SendComponent dispatches a MESSAGE_COMPONENT interaction for a component
// on a message the bot made. The message must exist and carry an enabled
// component with that custom_id.
func (s *Server) SendComponent(ctx context.Context, c Component) (*Interaction, error) {
	s.mu.Lock()
	m := s.messages[c.MessageID]
	if m == nil || m.Deleted {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: send component %q: unknown message %q", c.CustomID, c.MessageID)
	}
	var comp map[string]any
	var list []any
	_ = json.Unmarshal(m.Components, &list)
	walkComponents(list, func(x map[string]any) {
		if id, _ := x["custom_id"].(string); id == c.CustomID && c.CustomID != "" {
			comp = x
		}
	})
	if comp == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: send component: message %s has no component %q", c.MessageID, c.CustomID)
	}
	if d, _ := comp["disabled"].(bool); d {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: send component: component %q is disabled", c.CustomID)
	}
	ch := s.channels[m.ChannelID]
	a := actor{guildID: c.GuildID, channelID: c.ChannelID, userID: c.UserID, username: c.Username,
		globalName: c.GlobalName, locale: c.Locale, memberPerms: c.MemberPermissions, appPerms: c.AppPermissions,
		roles: c.MemberRoles, limit: c.AttachmentSizeLimit}
	if a.channelID == "" {
		a.channelID = m.ChannelID
	}
	if a.guildID == "" {
		a.guildID = m.GuildID
	}
	if ch != nil && ch.guildID == "" {
		a.dm = true
		if a.userID == "" {
			a.userID = ch.dmUserID
		}
	}
	p, err := s.baseInteractionLocked(&a, InteractionMessageComponent)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: send component %q: %w", c.CustomID, err)
	}
	data := map[string]any{"custom_id": c.CustomID, "component_type": int(num(comp["type"]))}
	if num(comp["type"]) != 2 {
		if len(c.Values) == 0 {
			s.mu.Unlock()
			return nil, fmt.Errorf("discordtest: send component %q: a select menu needs Values", c.CustomID)
		}
		data["values"] = c.Values
	}
	p["data"] = data
	p["message"] = s.messageJSONLocked(m)
	st := s.registerLocked(p, c.LateAck)
	st.CustomID = c.CustomID
	st.MessageID = m.ID
	s.mu.Unlock()
	return s.dispatchInteraction(ctx, st)
}

// Redeliver dispatches an interaction's payload again, as Discord may do;
// a second acknowledgement answers 40060.
func (s *Server) Redeliver(ctx context.Context, interactionID string) error {
	s.mu.Lock()
	st := s.interactions[interactionID]
	s.mu.Unlock()
	if st == nil {
		return fmt.Errorf("discordtest: redeliver: unknown interaction %s", interactionID)
	}
	if s.endpointSet() {
		_, err := s.deliverHTTP(ctx, st)
		return err
	}
	c := s.readyConnFor(st.GuildID)
	if c == nil {
		return ErrNoGateway
	}
	return c.dispatch(ctx, "INTERACTION_CREATE", st.Payload)
}

// registerLocked records a dispatched interaction payload.
func (s *Server) registerLocked(payload map[string]any, late bool) *interactionState {
	b, _ := json.Marshal(payload)
	var p map[string]any // JSON types, whatever Go types payload used
	_ = json.Unmarshal(b, &p)
	st := &interactionState{Interaction: Interaction{
		Type:          int(num(p["type"])),
		ApplicationID: s.appID,
		CreatedAt:     s.clock(),
		Payload:       b,
	}}
	st.ID, _ = p["id"].(string)
	st.Token, _ = p["token"].(string)
	st.GuildID, _ = p["guild_id"].(string)
	st.ChannelID, _ = p["channel_id"].(string)
	if m, ok := p["member"].(map[string]any); ok {
		if u, ok := m["user"].(map[string]any); ok {
			st.UserID, _ = u["id"].(string)
		}
	} else if u, ok := p["user"].(map[string]any); ok {
		st.UserID, _ = u["id"].(string)
	}
	if d, ok := p["data"].(map[string]any); ok {
		st.CommandName, _ = d["name"].(string)
		st.CustomID, _ = d["custom_id"].(string)
	}
	if m, ok := p["message"].(map[string]any); ok {
		st.MessageID, _ = m["id"].(string)
	}
	st.AttachmentSizeLimit = int64(num(p["attachment_size_limit"]))
	s.interactions[st.ID] = st
	s.byToken[st.Token] = st
	if late {
		s.lateAck[st.ID] = true
	}
	s.notifyLocked()
	return st
}

// dispatchInteraction sends INTERACTION_CREATE on the current connection.
func (s *Server) dispatchInteraction(ctx context.Context, st *interactionState) (*Interaction, error) {
	is, err := s.dispatchInteractions(ctx, []*interactionState{st})
	if len(is) == 0 {
		return nil, err
	}
	return is[0], err
}

// dispatchInteractions sends one INTERACTION_CREATE for each, back to back on the connection of the
// first one's guild's shard, and records when each was written. On error it returns the interactions
// written before the failure; the others are forgotten. With an interactions endpoint set
// (SetInteractionsEndpoint) they are POSTed there instead, all at once, each waiting for its answer.
func (s *Server) dispatchInteractions(ctx context.Context, sts []*interactionState) ([]*Interaction, error) {
	if s.endpointSet() {
		return s.deliverAllHTTP(ctx, sts)
	}
	var c *gwConn
	if len(sts) > 0 {
		c = s.readyConnFor(sts[0].GuildID)
	}
	var err error
	var ats []time.Time
	if c == nil {
		err = ErrNoGateway
	} else {
		ds := make([]any, len(sts))
		for k, st := range sts {
			ds[k] = st.Payload
		}
		ats, err = c.dispatchAllAt(ctx, "INTERACTION_CREATE", ds, s.clock)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Interaction, 0, len(sts))
	for k, st := range sts {
		if k >= len(ats) {
			s.forgetLocked(st)
			continue
		}
		st.DispatchedAt = ats[k]
		i := st.Interaction
		out = append(out, &i)
	}
	if err != nil {
		return out, fmt.Errorf("discordtest: dispatch interaction: %w", err)
	}
	return out, nil
}

// forgetLocked removes an interaction that was never dispatched.
func (s *Server) forgetLocked(st *interactionState) {
	if s.interactions[st.ID] == st {
		delete(s.interactions, st.ID)
		delete(s.byToken, st.Token)
	}
}

// Tokens returns the token of every interaction the fake has dispatched (none of which should ever
// reach a log), in no particular order.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.byToken))
	for tok := range s.byToken {
		out = append(out, tok)
	}
	return out
}

// Interaction returns a dispatched interaction by id.
func (s *Server) Interaction(id string) (*Interaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.interactions[id]
	if st == nil {
		return nil, false
	}
	out := st.Interaction
	return &out, true
}

// Acknowledged returns the callback type with which the interaction was
// acknowledged (4, 5, 6, …), or 0 while it is not.
func (s *Server) Acknowledged(interactionID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.interactions[interactionID]; st != nil && st.acked {
		return st.ackType
	}
	return 0
}

// Original returns the interaction's response message: the message created
// by callback type 4 or 5 (and edited through …/messages/@original), or for
// type 6 and 7 the message the component is on.
func (s *Server) Original(interactionID string) (*Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.interactions[interactionID]
	if st == nil || st.originalID == "" {
		return nil, false
	}
	m := s.messages[st.originalID]
	if m == nil {
		return nil, false
	}
	c := m.clone()
	return &c, true
}

// Followups returns the follow-up messages of an interaction (POST /webhooks/{app}/{token}), oldest
// first, as they stand now (copies). The first follow-up after a deferred response replaces the
// "thinking" message, as on Discord: it is the Original, not a follow-up.
func (s *Server) Followups(interactionID string) []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.interactions[interactionID]
	if st == nil {
		return nil
	}
	var out []*Message
	for _, id := range st.followups {
		if m := s.messages[id]; m != nil {
			c := m.clone()
			out = append(out, &c)
		}
	}
	return out
}

// Callbacks returns the callback POSTs received for an interaction,
// including refused ones (see Request.Status).
func (s *Server) Callbacks(interactionID string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.interactions[interactionID]; st != nil {
		return append([]Request(nil), st.callbacks...)
	}
	return nil
}

// Message returns a message by id (also deleted and ephemeral ones).
func (s *Server) Message(id string) (*Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messages[id]
	if m == nil {
		return nil, false
	}
	c := m.clone()
	return &c, true
}

// ChannelMessages returns the messages visible to everyone in a channel
// (not deleted, not ephemeral), oldest first.
func (s *Server) ChannelMessages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelMessagesLocked(channelID)
}

func (s *Server) channelMessagesLocked(channelID string) []Message {
	var out []Message
	for _, m := range s.messages {
		if m.ChannelID == channelID && !m.Deleted && !m.Ephemeral() {
			out = append(out, m.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return snowLess(out[i].ID, out[j].ID) })
	return out
}

// DMChannel returns the id of the DM channel with userID, or "" when the bot
// never opened one.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmByUser[userID]
}

// snowLess orders snowflakes numerically.
func snowLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
