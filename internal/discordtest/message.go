package discordtest

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Message flags (https://discord.com/developers/docs/resources/message#message-object-message-flags).
const (
	FlagSuppressEmbeds        = 1 << 2
	FlagEphemeral             = 1 << 6
	FlagLoading               = 1 << 7
	FlagSuppressNotifications = 1 << 12
	FlagComponentsV2          = 1 << 15
)

// Message types used by the fake.
const (
	msgTypeDefault          = 0
	msgTypeReply            = 19
	msgTypeChatInputCommand = 20
)

// Message is a message as it stands, what a user would see.
type Message struct {
	ID        string
	ChannelID string
	GuildID   string
	AuthorID  string // the bot user for every message the bot makes
	Type      int
	Content   string
	Flags     int             // FlagEphemeral, FlagLoading ("thinking"), …
	Embeds    json.RawMessage // JSON array as stored (type "rich" filled in)
	// Components is the JSON array as stored (Discord's numeric "id"s filled in).
	Components    json.RawMessage
	Attachments   []File
	InteractionID string // set on interaction responses and follow-ups
	WebhookID     string // the application id for interaction messages
	Nonce         string
	// AllowedMentions is the allowed_mentions object as last sent (nil when none was); see Mentions
	// and PingedUsers.
	AllowedMentions json.RawMessage
	Edits           int // successful edits after creation
	Deleted         bool
	CreatedAt       time.Time
	EditedAt        time.Time // zero until edited
}

// Ephemeral reports whether only the invoking user sees the message.
func (m Message) Ephemeral() bool { return m.Flags&FlagEphemeral != 0 }

// Loading reports whether the message is a deferred response still "thinking".
func (m Message) Loading() bool { return m.Flags&FlagLoading != 0 }

// AllowedMentions is a message's decoded allowed_mentions: who it may notify.
type AllowedMentions struct {
	Parse       []string `json:"parse"` // "users", "roles", "everyone"
	Users       []string `json:"users"`
	Roles       []string `json:"roles"`
	RepliedUser bool     `json:"replied_user"`
}

// Mentions decodes the allowed_mentions the message was last sent or edited with; ok is false when
// none was given (Discord then notifies everyone the content mentions).
func (m Message) Mentions() (am AllowedMentions, ok bool) {
	if isNull(m.AllowedMentions) || json.Unmarshal(m.AllowedMentions, &am) != nil {
		return AllowedMentions{}, false
	}
	return am, true
}

// userMention matches <@id> and <@!id> in content.
var userMention = regexp.MustCompile(`<@!?([0-9]{1,20})>`)

// PingedUsers returns the ids of the users the message notifies, in content order, each once: those
// mentioned in its content as <@id>, as far as its allowed_mentions lets it (all of them without
// allowed_mentions or with "users" in parse, else only those in users).
func (m Message) PingedUsers() []string {
	am, set := m.Mentions()
	all := !set || slices.Contains(am.Parse, "users")
	var out []string
	for _, match := range userMention.FindAllStringSubmatch(m.Content, -1) {
		id := match[1]
		if (all || slices.Contains(am.Users, id)) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Button is a button found in a message's components.
type Button struct {
	Style    int
	Label    string
	CustomID string
	URL      string
	Disabled bool
}

// Buttons returns the message's buttons in display order.
func (m Message) Buttons() []Button {
	var list []any
	if err := json.Unmarshal(m.Components, &list); err != nil {
		return nil
	}
	var out []Button
	walkComponents(list, func(c map[string]any) {
		if num(c["type"]) != 2 {
			return
		}
		b := Button{Style: int(num(c["style"]))}
		b.Label, _ = c["label"].(string)
		b.CustomID, _ = c["custom_id"].(string)
		b.URL, _ = c["url"].(string)
		b.Disabled, _ = c["disabled"].(bool)
		out = append(out, b)
	})
	return out
}

// Attachment returns the attachment with the given file name.
func (m Message) Attachment(name string) (File, bool) {
	for _, a := range m.Attachments {
		if a.Name == name {
			return a, true
		}
	}
	return File{}, false
}

// message is the fake's stored message.
type message struct {
	Message
	nonceRaw            json.RawMessage
	interactionType     int
	interactionName     string
	interactionUserID   string
	interactedMessageID string
	originalResponseID  string
}

func (m *message) clone() Message {
	c := m.Message
	c.Attachments = append([]File(nil), m.Attachments...)
	return c
}

// applyOpts says how applyMessageLocked treats a body.
type applyOpts struct {
	edit         bool
	allowedFlags int      // flags the caller may set
	path         []string // prefix of field errors, e.g. ["data"]
	baseURL      string   // origin for attachment URLs
}

// applyMessageLocked validates in (Discord's message create/edit fields)
// and files, and applies them to m. On error m is unchanged.
func (s *Server) applyMessageLocked(m *message, in map[string]json.RawMessage, files []File, o applyOpts) *apiError {
	n := *m
	n.Attachments = append([]File(nil), m.Attachments...)
	var errs []fieldErr

	if raw, ok := in["flags"]; ok && !isNull(raw) {
		var f int
		if json.Unmarshal(raw, &f) != nil {
			errs = append(errs, ferr(sub(o.path, "flags"), "NUMBER_TYPE_COERCE", "Value %q is not int.", string(raw)))
		} else if o.edit {
			n.Flags = n.Flags&^o.allowedFlags | f&o.allowedFlags
		} else {
			n.Flags |= f & o.allowedFlags
		}
	}
	v2 := n.Flags&FlagComponentsV2 != 0

	if raw, ok := in["content"]; ok {
		var c string
		if !isNull(raw) && json.Unmarshal(raw, &c) != nil {
			errs = append(errs, ferr(sub(o.path, "content"), "BASE_TYPE_STRING", "Must be a string."))
		} else if utf8.RuneCountInString(c) > maxContent {
			errs = append(errs, tooLong(sub(o.path, "content"), maxContent))
		} else {
			n.Content = c
		}
	}
	if raw, ok := in["embeds"]; ok {
		list, e := decodeArray(raw, sub(o.path, "embeds"))
		errs = append(errs, e...)
		if e == nil {
			errs = append(errs, validateEmbeds(list, sub(o.path, "embeds"))...)
			for _, it := range list {
				if em, ok := it.(map[string]any); ok && em["type"] == nil {
					em["type"] = "rich"
				}
			}
			n.Embeds = mustJSON(list)
		}
	}
	if raw, ok := in["components"]; ok {
		list, e := decodeArray(raw, sub(o.path, "components"))
		errs = append(errs, e...)
		if e == nil {
			errs = append(errs, validateComponents(list, sub(o.path, "components"), v2)...)
			assignComponentIDs(list)
			n.Components = mustJSON(list)
		}
	}
	if raw, ok := in["allowed_mentions"]; ok {
		errs = append(errs, validateAllowedMentions(raw, sub(o.path, "allowed_mentions"))...)
		n.AllowedMentions = append(json.RawMessage(nil), raw...)
	}
	newMeta := map[int]map[string]any{}
	if raw, ok := in["attachments"]; ok {
		list, e := decodeArray(raw, sub(o.path, "attachments"))
		errs = append(errs, e...)
		keep := map[string]map[string]any{}
		for i, it := range list {
			a, ok := it.(map[string]any)
			if !ok {
				errs = append(errs, ferr(sub(o.path, "attachments", strconv.Itoa(i)), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"))
				continue
			}
			id := idString(a["id"])
			if id == "" {
				errs = append(errs, ferr(sub(o.path, "attachments", strconv.Itoa(i), "id"), "BASE_TYPE_REQUIRED", "This field is required"))
				continue
			}
			if idx, err := strconv.Atoi(id); err == nil && idx < len(files) && len(id) < 4 {
				newMeta[idx] = a
				continue
			}
			keep[id] = a
		}
		if e == nil {
			var kept []File
			for _, f := range n.Attachments {
				if a, ok := keep[f.ID]; ok {
					if d, ok := a["description"].(string); ok {
						f.Description = d
					}
					kept = append(kept, f)
				}
			}
			n.Attachments = kept
		}
	}
	if v2 && n.Content != "" {
		errs = append(errs, ferr(sub(o.path, "content"), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
			"The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2"))
	}
	if len(errs) > 0 {
		return invalidForm(errs)
	}
	for i, f := range files {
		f.ID = s.snowflakeLocked()
		if a := newMeta[i]; a != nil {
			if fn, ok := a["filename"].(string); ok && fn != "" {
				f.Name = fn
			}
			if d, ok := a["description"].(string); ok {
				f.Description = d
			}
		}
		f.Field = ""
		f.URL = o.baseURL + "/attachments/" + n.ChannelID + "/" + f.ID + "/" + url.PathEscape(f.Name)
		n.Attachments = append(n.Attachments, f)
	}
	if o.edit {
		n.Flags &^= FlagLoading
	}
	if n.Flags&FlagLoading == 0 && n.Content == "" && isEmptyArray(n.Embeds) &&
		isEmptyArray(n.Components) && len(n.Attachments) == 0 {
		return errEmptyMessage()
	}
	if o.edit {
		n.Edits++
		n.EditedAt = s.clock()
	}
	*m = n
	return nil
}

// newMessageLocked returns an empty message in channelID, not yet stored.
func (s *Server) newMessageLocked(channelID string, typ int) *message {
	m := &message{Message: Message{
		ID:         s.snowflakeLocked(),
		ChannelID:  channelID,
		AuthorID:   s.appID,
		Type:       typ,
		Embeds:     json.RawMessage("[]"),
		Components: json.RawMessage("[]"),
		CreatedAt:  s.clock(),
	}}
	if ch := s.channels[channelID]; ch != nil {
		m.GuildID = ch.guildID
	}
	return m
}

func (s *Server) storeMessageLocked(m *message) {
	s.messages[m.ID] = m
	if ch := s.channels[m.ChannelID]; ch != nil && m.Flags&FlagEphemeral == 0 {
		ch.lastMessageID = m.ID
	}
}

const tsLayout = "2006-01-02T15:04:05.000000-07:00"

// messageJSON renders a stored message as Discord's message object.
func (s *Server) messageJSONLocked(m *message) map[string]any {
	atts := []any{}
	for _, a := range m.Attachments {
		o := map[string]any{
			"id":           a.ID,
			"filename":     a.Name,
			"size":         len(a.Data),
			"url":          a.URL,
			"proxy_url":    a.URL,
			"content_type": contentTypeOr(a.ContentType),
		}
		if a.Description != "" {
			o["description"] = a.Description
		}
		if m.Ephemeral() {
			o["ephemeral"] = true
		}
		atts = append(atts, o)
	}
	var edited any
	if !m.EditedAt.IsZero() {
		edited = m.EditedAt.UTC().Format(tsLayout)
	}
	out := map[string]any{
		"id":               m.ID,
		"type":             m.Type,
		"content":          m.Content,
		"channel_id":       m.ChannelID,
		"author":           s.userJSONLocked(m.AuthorID),
		"attachments":      atts,
		"embeds":           json.RawMessage(m.Embeds),
		"mentions":         []any{},
		"mention_roles":    []any{},
		"pinned":           false,
		"mention_everyone": false,
		"tts":              false,
		"timestamp":        m.CreatedAt.UTC().Format(tsLayout),
		"edited_timestamp": edited,
		"flags":            m.Flags,
		"components":       json.RawMessage(m.Components),
	}
	if m.WebhookID != "" {
		out["webhook_id"] = m.WebhookID
		out["application_id"] = s.appID
	}
	if len(m.nonceRaw) > 0 {
		out["nonce"] = json.RawMessage(m.nonceRaw)
	}
	if m.InteractionID != "" {
		owners := map[string]any{"0": m.GuildID}
		if m.GuildID == "" {
			owners = map[string]any{"0": "0"}
		}
		meta := map[string]any{
			"id":                             m.InteractionID,
			"type":                           m.interactionType,
			"user":                           s.userJSONLocked(m.interactionUserID),
			"authorizing_integration_owners": owners,
		}
		if m.interactedMessageID != "" {
			meta["interacted_message_id"] = m.interactedMessageID
		}
		if m.originalResponseID != "" {
			meta["original_response_message_id"] = m.originalResponseID
		}
		out["interaction_metadata"] = meta
		if m.interactionType == 2 {
			out["interaction"] = map[string]any{
				"id":   m.InteractionID,
				"type": m.interactionType,
				"name": m.interactionName,
				"user": s.userJSONLocked(m.interactionUserID),
			}
		}
	}
	if m.interactedMessageID != "" && m.Type == msgTypeReply {
		out["message_reference"] = map[string]any{"type": 0, "channel_id": m.ChannelID, "message_id": m.interactedMessageID}
	}
	return out
}

func contentTypeOr(ct string) string {
	if ct == "" {
		return "application/octet-stream"
	}
	return ct
}

// decodeArray decodes a JSON array field; null is an empty array.
func decodeArray(raw json.RawMessage, path []string) ([]any, []fieldErr) {
	if isNull(raw) {
		return []any{}, nil
	}
	var list []any
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, []fieldErr{ferr(path, "BASE_TYPE_LIST", "Must be an array.")}
	}
	return list, nil
}

func isEmptyArray(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "[]" || s == "null"
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// num converts a decoded JSON number to float64 (0 when it is not one).
func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// idString returns a JSON id given as string or number.
func idString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatInt(int64(x), 10)
	case json.Number:
		return x.String()
	}
	return ""
}

// walkComponents calls f for every component object, depth first.
func walkComponents(list []any, f func(map[string]any)) {
	for _, it := range list {
		c, ok := it.(map[string]any)
		if !ok {
			continue
		}
		f(c)
		if kids, ok := c["components"].([]any); ok {
			walkComponents(kids, f)
		}
		if acc, ok := c["accessory"].(map[string]any); ok {
			walkComponents([]any{acc}, f)
		}
	}
}

// assignComponentIDs gives every component without one a numeric id, as
// Discord does, starting at 1 and skipping ids in use.
func assignComponentIDs(list []any) {
	used := map[int]bool{}
	walkComponents(list, func(c map[string]any) {
		if id, ok := c["id"].(float64); ok {
			used[int(id)] = true
		}
	})
	next := 1
	walkComponents(list, func(c map[string]any) {
		if _, ok := c["id"].(float64); ok {
			return
		}
		for used[next] {
			next++
		}
		c["id"] = next
		used[next] = true
	})
}
