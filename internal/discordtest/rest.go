package discordtest

import (
	"encoding/json"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

func ok(v any) (int, any, *apiError) { return http.StatusOK, v, nil }

func noContent() (int, any, *apiError) { return http.StatusNoContent, nil, nil }

func fail(e *apiError) (int, any, *apiError) { return 0, nil, e }

// route dispatches a REST request to its handler.
func (s *Server) route(r *http.Request, req *Request) (int, any, *apiError) {
	if req.APIVersion != 0 && (req.APIVersion < 6 || req.APIVersion > 10) {
		return fail(errNotFound())
	}
	seg := strings.Split(strings.Trim(req.Route, "/"), "/")
	m := r.Method
	base := originOf(r)
	switch seg[0] {
	case "gateway":
		return s.handleGateway(m, seg, strings.TrimPrefix(base, "http://"))
	case "users":
		return s.handleUsers(m, seg, req)
	case "applications":
		return s.handleApplications(m, seg, req)
	case "oauth2":
		if len(seg) == 3 && seg[1] == "applications" && seg[2] == "@me" {
			if m != http.MethodGet {
				return fail(errMethodNotAllowed())
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			return ok(s.applicationJSONLocked())
		}
	case "guilds":
		return s.handleGuilds(m, seg)
	case "channels":
		return s.handleChannels(m, seg, req, base)
	case "interactions":
		if len(seg) == 4 && seg[3] == "callback" {
			if m != http.MethodPost {
				return fail(errMethodNotAllowed())
			}
			return s.handleCallback(seg[1], seg[2], req, base)
		}
	case "webhooks":
		s.awaitInline(r.Context(), seg)
		return s.handleWebhook(m, seg, req, base)
	}
	return fail(errNotFound())
}

func (s *Server) handleGateway(method string, seg []string, host string) (int, any, *apiError) {
	if method != http.MethodGet {
		return fail(errMethodNotAllowed())
	}
	s.mu.Lock()
	down := s.gatewayDownLocked()
	s.mu.Unlock()
	if down {
		return fail(&apiError{status: http.StatusServiceUnavailable, message: "upstream connect error"})
	}
	url := "ws://" + host + "/gateway"
	switch {
	case len(seg) == 1:
		return ok(map[string]any{"url": url})
	case len(seg) == 2 && seg[1] == "bot":
		s.mu.Lock()
		defer s.mu.Unlock()
		return ok(map[string]any{
			"url":    url,
			"shards": s.shards,
			"session_start_limit": map[string]any{
				"total":           1000,
				"remaining":       max(0, 1000-s.sessions),
				"reset_after":     86400000,
				"max_concurrency": s.maxConcurrency,
			},
		})
	}
	return fail(errNotFound())
}

func (s *Server) handleUsers(method string, seg []string, req *Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(seg) == 2 && seg[1] == "@me" && method == http.MethodGet:
		return ok(s.botUserJSONLocked())
	case len(seg) == 3 && seg[1] == "@me" && seg[2] == "guilds" && method == http.MethodGet:
		out := []any{}
		for _, g := range s.guildIDs {
			out = append(out, map[string]any{
				"id": g, "name": s.guildName(g), "icon": nil, "banner": nil, "owner": false,
				"permissions": defaultAppPermissions, "features": []any{},
			})
		}
		return ok(out)
	case len(seg) == 3 && seg[1] == "@me" && seg[2] == "channels" && method == http.MethodPost:
		in, e := decodeObject(req.JSON)
		if e != nil {
			return fail(e)
		}
		var rid string
		if json.Unmarshal(in["recipient_id"], &rid) != nil || !isSnowflake(rid) {
			return fail(invalidForm([]fieldErr{ferr([]string{"recipient_id"}, "BASE_TYPE_REQUIRED", "This field is required")}))
		}
		ch := s.dmChannelLocked(rid)
		s.notifyLocked()
		return ok(s.channelJSONLocked(ch))
	case len(seg) == 2 && method == http.MethodGet:
		if u := s.users[seg[1]]; u != nil {
			return ok(s.userJSONLocked(u.ID))
		}
		return fail(&apiError{status: http.StatusNotFound, code: CodeUnknownUser, message: "Unknown User"})
	}
	return fail(errNotFound())
}

func (s *Server) handleGuilds(method string, seg []string) (int, any, *apiError) {
	if method != http.MethodGet {
		return fail(errMethodNotAllowed())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(seg) < 2 || !s.isGuild(seg[1]) {
		return fail(&apiError{status: http.StatusNotFound, code: CodeUnknownGuild, message: "Unknown Guild"})
	}
	switch {
	case len(seg) == 2:
		return ok(s.guildJSONLocked(seg[1]))
	case len(seg) == 3 && seg[2] == "channels":
		out := []any{}
		for _, id := range s.guildChannels[seg[1]] {
			out = append(out, s.channelJSONLocked(s.channels[id]))
		}
		return ok(out)
	}
	return fail(errNotFound())
}

// ---- application commands ----

func (s *Server) handleApplications(method string, seg []string, req *Request) (int, any, *apiError) {
	if len(seg) == 2 && seg[1] == "@me" && method == http.MethodGet {
		s.mu.Lock()
		defer s.mu.Unlock()
		return ok(s.applicationJSONLocked())
	}
	if len(seg) < 3 {
		return fail(errNotFound())
	}
	if seg[1] != s.appID {
		return fail(errMissingAccess())
	}
	scope := ""
	rest := seg[2:]
	if rest[0] == "guilds" && len(rest) >= 3 {
		scope = rest[1]
		rest = rest[2:]
		if !s.isGuild(scope) {
			return fail(errMissingAccess())
		}
	}
	if rest[0] != "commands" || len(rest) > 2 {
		return fail(errNotFound())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(rest) == 2 {
		return s.commandByIDLocked(method, scope, rest[1])
	}
	switch method {
	case http.MethodGet:
		return ok(s.commandListLocked(scope))
	case http.MethodPut:
		var cmds []map[string]any
		if len(req.JSON) > 0 && json.Unmarshal(req.JSON, &cmds) != nil {
			return fail(invalidForm([]fieldErr{ferr(nil, "BASE_TYPE_LIST", "Must be an array.")}))
		}
		if errs := validateCommands(cmds); len(errs) > 0 {
			return fail(invalidForm(errs))
		}
		prev := s.commands[scope]
		next := make([]map[string]any, 0, len(cmds))
		for _, c := range cmds {
			next = append(next, s.normalizeCommandLocked(c, scope, findCommand(prev, c)))
		}
		s.commands[scope] = next
		s.notifyLocked()
		return ok(s.commandListLocked(scope))
	case http.MethodPost:
		var c map[string]any
		if json.Unmarshal(req.JSON, &c) != nil || c == nil {
			return fail(invalidForm([]fieldErr{ferr(nil, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")}))
		}
		if errs := validateCommands([]map[string]any{c}); len(errs) > 0 {
			for i := range errs {
				errs[i].path = errs[i].path[1:]
			}
			return fail(invalidForm(errs))
		}
		prev := findCommand(s.commands[scope], c)
		n := s.normalizeCommandLocked(c, scope, prev)
		list := s.commands[scope]
		status := http.StatusCreated
		if prev != nil {
			status = http.StatusOK
			for i, x := range list {
				if x["id"] == prev["id"] {
					list[i] = n
				}
			}
		} else {
			list = append(list, n)
		}
		s.commands[scope] = list
		s.notifyLocked()
		return status, n, nil
	}
	return fail(errMethodNotAllowed())
}

func (s *Server) commandByIDLocked(method, scope, id string) (int, any, *apiError) {
	list := s.commands[scope]
	for i, c := range list {
		if c["id"] != id {
			continue
		}
		switch method {
		case http.MethodGet:
			return ok(c)
		case http.MethodDelete:
			s.commands[scope] = append(list[:i:i], list[i+1:]...)
			s.notifyLocked()
			return noContent()
		}
		return fail(errMethodNotAllowed())
	}
	return fail(&apiError{status: http.StatusNotFound, code: CodeUnknownCommand, message: "Unknown application command"})
}

func (s *Server) commandListLocked(scope string) []any {
	out := []any{}
	for _, c := range s.commands[scope] {
		out = append(out, c)
	}
	return out
}

// findCommand returns the stored command with c's name and type.
func findCommand(list []map[string]any, c map[string]any) map[string]any {
	typ := num(c["type"])
	if typ == 0 {
		typ = 1
	}
	for _, x := range list {
		if x["name"] == c["name"] && num(x["type"]) == typ {
			return x
		}
	}
	return nil
}

// normalizeCommandLocked turns a command from a request into Discord's
// stored form: ids, version, defaults, no nulls. The id of a command with
// the same name is kept; the version changes only with the content.
func (s *Server) normalizeCommandLocked(c map[string]any, scope string, prev map[string]any) map[string]any {
	out, _ := stripNulls(c).(map[string]any)
	for _, k := range []string{"id", "application_id", "version", "guild_id"} {
		delete(out, k)
	}
	if _, ok := out["type"]; !ok {
		out["type"] = 1.0
	}
	if _, ok := out["description"]; !ok {
		out["description"] = ""
	}
	if _, ok := out["nsfw"]; !ok {
		out["nsfw"] = false
	}
	if _, ok := out["integration_types"]; !ok {
		out["integration_types"] = []any{0.0}
	}
	if scope == "" {
		if _, ok := out["dm_permission"]; !ok {
			out["dm_permission"] = true
		}
	}
	if _, ok := out["default_member_permissions"]; !ok {
		out["default_member_permissions"] = nil
	}
	if _, ok := out["contexts"]; !ok {
		out["contexts"] = nil
	}
	// Round-trip so that comparisons see the same JSON types.
	var norm map[string]any
	_ = json.Unmarshal(mustJSON(out), &norm)
	if prev != nil {
		cmp := map[string]any{}
		for k, v := range prev {
			cmp[k] = v
		}
		for _, k := range []string{"id", "application_id", "version", "guild_id"} {
			delete(cmp, k)
		}
		norm["id"] = prev["id"]
		norm["version"] = prev["version"]
		if !reflect.DeepEqual(cmp, withoutIDs(norm)) {
			norm["version"] = s.snowflakeLocked()
		}
	} else {
		norm["id"] = s.snowflakeLocked()
		norm["version"] = s.snowflakeLocked()
	}
	norm["application_id"] = s.appID
	if scope != "" {
		norm["guild_id"] = scope
	}
	return norm
}

func withoutIDs(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch k {
		case "id", "application_id", "version", "guild_id":
		default:
			out[k] = v
		}
	}
	return out
}

// stripNulls removes null members from objects, recursively; null array
// elements stay.
func stripNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e == nil {
				continue
			}
			out[k] = stripNulls(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripNulls(e)
		}
		return out
	}
	return v
}

// Commands returns the registered commands of a guild ("" for global
// commands) as Discord stores them (with id, application_id and version).
func (s *Server) Commands(guildID string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []json.RawMessage
	for _, c := range s.commands[guildID] {
		out = append(out, mustJSON(c))
	}
	return out
}

// ---- channel messages ----

func (s *Server) handleChannels(method string, seg []string, req *Request, base string) (int, any, *apiError) {
	if len(seg) < 2 {
		return fail(errNotFound())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[seg[1]]
	if ch == nil {
		return fail(errUnknownChannel())
	}
	switch {
	case len(seg) == 2:
		if method != http.MethodGet {
			return fail(errMethodNotAllowed())
		}
		return ok(s.channelJSONLocked(ch))
	case len(seg) == 3 && seg[2] == "messages":
		switch method {
		case http.MethodGet:
			return s.listMessagesLocked(ch, req)
		case http.MethodPost:
			return s.createChannelMessageLocked(ch, req, base)
		}
		return fail(errMethodNotAllowed())
	case len(seg) == 4 && seg[2] == "messages":
		m := s.messages[seg[3]]
		if m == nil || m.ChannelID != ch.id || m.Deleted || m.Ephemeral() {
			return fail(errUnknownMessage())
		}
		return s.messageOpLocked(method, m, req, s.uploadLimit, base)
	}
	return fail(errNotFound())
}

func (s *Server) createChannelMessageLocked(ch *channel, req *Request, base string) (int, any, *apiError) {
	if ch.guildID == "" && s.blockedDMs[ch.dmUserID] {
		return fail(&apiError{status: http.StatusForbidden, code: CodeCannotDMUser, message: "Cannot send messages to this user"})
	}
	if e := s.checkFiles(req.Files, s.uploadLimit); e != nil {
		return fail(e)
	}
	in, e := decodeObject(req.JSON)
	if e != nil {
		return fail(e)
	}
	nonce, nonceRaw, errs := parseNonce(in["nonce"])
	if len(errs) > 0 {
		return fail(invalidForm(errs))
	}
	var enforce bool
	_ = json.Unmarshal(in["enforce_nonce"], &enforce)
	key := ch.id + "\x00" + nonce
	now := s.clock()
	if enforce && nonce != "" {
		if prev, found := s.nonces[key]; found && now.Sub(prev.at) < nonceWindow {
			if m := s.messages[prev.messageID]; m != nil {
				return ok(s.messageJSONLocked(m))
			}
		}
	}
	typ := msgTypeDefault
	if !isNull(in["message_reference"]) {
		typ = msgTypeReply
	}
	m := s.newMessageLocked(ch.id, typ)
	if e := s.applyMessageLocked(m, in, req.Files, applyOpts{
		allowedFlags: FlagSuppressEmbeds | FlagSuppressNotifications | FlagComponentsV2, baseURL: base}); e != nil {
		return fail(e)
	}
	m.Nonce, m.nonceRaw = nonce, nonceRaw
	s.storeMessageLocked(m)
	if enforce && nonce != "" {
		s.nonces[key] = nonceEntry{messageID: m.ID, at: now}
	}
	s.notifyLocked()
	return ok(s.messageJSONLocked(m))
}

// parseNonce validates a nonce: a string of at most 25 characters or an integer.
func parseNonce(raw json.RawMessage) (string, json.RawMessage, []fieldErr) {
	if isNull(raw) {
		return "", nil, nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		if len(str) > 25 {
			return "", nil, []fieldErr{ferr([]string{"nonce"}, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")}
		}
		return str, append(json.RawMessage(nil), raw...), nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if _, err := n.Int64(); err == nil {
			return n.String(), append(json.RawMessage(nil), raw...), nil
		}
	}
	return "", nil, []fieldErr{ferr([]string{"nonce"}, "NONCE_TYPE_INVALID", "Nonce must be a string or an integer.")}
}

func (s *Server) listMessagesLocked(ch *channel, req *Request) (int, any, *apiError) {
	limit := 50
	if v := req.Query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return fail(invalidForm([]fieldErr{ferr([]string{"limit"}, "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")}))
		}
		limit = n
	}
	var list []*message
	for _, m := range s.messages {
		if m.ChannelID == ch.id && !m.Deleted && !m.Ephemeral() {
			list = append(list, m)
		}
	}
	sort.Slice(list, func(i, j int) bool { return snowLess(list[j].ID, list[i].ID) }) // newest first
	before, after, around := req.Query.Get("before"), req.Query.Get("after"), req.Query.Get("around")
	var picked []*message
	switch {
	case before != "":
		for _, m := range list {
			if snowLess(m.ID, before) {
				picked = append(picked, m)
			}
		}
	case after != "":
		for i := len(list) - 1; i >= 0; i-- { // oldest after the id first, then keep newest-first order
			if snowLess(after, list[i].ID) {
				picked = append([]*message{list[i]}, picked...)
			}
		}
		if len(picked) > limit {
			picked = picked[len(picked)-limit:]
		}
	case around != "":
		idx := 0
		for i, m := range list {
			if !snowLess(around, m.ID) {
				idx = i
				break
			}
		}
		lo := max(0, idx-limit/2)
		hi := min(len(list), lo+limit)
		picked = list[lo:hi]
	default:
		picked = list
	}
	if len(picked) > limit {
		picked = picked[:limit]
	}
	out := []any{}
	for _, m := range picked {
		out = append(out, s.messageJSONLocked(m))
	}
	return ok(out)
}

// checkFiles refuses any file over limit with 413 / 40005.
func (s *Server) checkFiles(files []File, limit int64) *apiError {
	for _, f := range files {
		if int64(len(f.Data)) > limit {
			return errTooLarge()
		}
	}
	return nil
}

// ---- interaction callbacks and webhooks ----

// limitFor is the per-file upload limit for an interaction.
func (s *Server) limitFor(st *interactionState) int64 {
	if st.AttachmentSizeLimit > 0 {
		return st.AttachmentSizeLimit
	}
	return s.uploadLimit
}

// allowedCallbacks lists the callback types Discord accepts per interaction type.
var allowedCallbacks = map[int][]int{
	InteractionPing:               {1},
	InteractionApplicationCommand: {4, 5, 9},
	InteractionMessageComponent:   {4, 5, 6, 7, 9},
	InteractionAutocomplete:       {8},
	InteractionModalSubmit:        {4, 5, 6, 7},
}

func (s *Server) handleCallback(id, token string, req *Request, base string) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.interactions[id]
	if st == nil || st.Token != token || st.dead {
		return fail(errUnknownInteraction())
	}
	if st.acked {
		return fail(&apiError{status: http.StatusBadRequest, code: CodeAlreadyAcknowledged, message: "Interaction has already been acknowledged."})
	}
	if s.lateAck[id] || (s.ackDeadline > 0 && s.clock().Sub(st.CreatedAt) > s.ackDeadline) {
		st.dead = true
		s.notifyLocked()
		return fail(errUnknownInteraction())
	}
	in, e := decodeObject(req.JSON)
	if e != nil {
		return fail(e)
	}
	var typ int
	if json.Unmarshal(in["type"], &typ) != nil {
		return fail(invalidForm([]fieldErr{ferr([]string{"type"}, "BASE_TYPE_REQUIRED", "This field is required")}))
	}
	allowed := false
	for _, t := range allowedCallbacks[st.Type] {
		allowed = allowed || t == typ
	}
	if !allowed {
		return fail(invalidForm([]fieldErr{ferr([]string{"type"}, "INTERACTION_RESPONSE_TYPE_INVALID",
			"Interaction response type %d is not valid for interaction type %d", typ, st.Type)}))
	}
	data, _ := decodeObject(nil) // an empty object, never an error
	if raw, has := in["data"]; has && !isNull(raw) {
		if data, e = decodeObject(raw); e != nil {
			e.errors = map[string]any{"data": e.errors}
			return fail(e)
		}
	}
	if typ == 4 || typ == 7 {
		if e := s.checkFiles(req.Files, s.limitFor(st)); e != nil {
			return fail(e)
		}
	}
	var msg *message
	switch typ {
	case 4:
		mtype := msgTypeChatInputCommand
		if st.Type != InteractionApplicationCommand {
			mtype = msgTypeReply
		}
		msg = s.interactionMessageLocked(st, mtype)
		if e := s.applyMessageLocked(msg, data, req.Files, applyOpts{path: []string{"data"},
			allowedFlags: FlagEphemeral | FlagSuppressEmbeds | FlagSuppressNotifications | FlagComponentsV2,
			baseURL:      base}); e != nil {
			return fail(e)
		}
		s.storeMessageLocked(msg)
		st.originalID = msg.ID
	case 5:
		mtype := msgTypeChatInputCommand
		if st.Type != InteractionApplicationCommand {
			mtype = msgTypeReply
		}
		msg = s.interactionMessageLocked(st, mtype)
		var flags int
		_ = json.Unmarshal(data["flags"], &flags)
		msg.Flags = flags&FlagEphemeral | FlagLoading
		s.storeMessageLocked(msg)
		st.originalID = msg.ID
	case 6, 7:
		m := s.messages[st.MessageID]
		if m == nil || m.Deleted {
			return fail(errUnknownMessage())
		}
		if typ == 7 {
			if e := s.applyMessageLocked(m, data, req.Files, applyOpts{edit: true, path: []string{"data"},
				allowedFlags: FlagSuppressEmbeds | FlagComponentsV2, baseURL: base}); e != nil {
				return fail(e)
			}
		}
		msg = m
		st.originalID = m.ID
	case 8:
		if errs := validateChoices(data["choices"]); len(errs) > 0 {
			return fail(invalidForm(errs))
		}
	case 9:
		if errs := validateModal(data); len(errs) > 0 {
			return fail(invalidForm(errs))
		}
	}
	st.acked, st.ackType = true, typ
	s.notifyLocked()
	if req.Query.Get("with_response") != "true" {
		return noContent()
	}
	inter := map[string]any{"id": st.ID, "type": st.Type}
	if st.ChannelID != "" {
		inter["channel_id"] = st.ChannelID
	}
	if st.GuildID != "" {
		inter["guild_id"] = st.GuildID
	}
	resource := map[string]any{"type": typ}
	if msg != nil {
		inter["response_message_id"] = msg.ID
		inter["response_message_loading"] = msg.Loading()
		inter["response_message_ephemeral"] = msg.Ephemeral()
		resource["message"] = s.messageJSONLocked(msg)
	}
	out := map[string]any{"interaction": inter}
	if typ == 4 || typ == 7 || typ == 12 {
		out["resource"] = resource
	}
	return ok(out)
}

// interactionMessageLocked returns a new, unstored message answering st.
func (s *Server) interactionMessageLocked(st *interactionState, typ int) *message {
	m := s.newMessageLocked(st.ChannelID, typ)
	m.GuildID = st.GuildID
	m.InteractionID = st.ID
	m.WebhookID = s.appID
	m.interactionType = st.Type
	m.interactionName = st.CommandName
	m.interactionUserID = st.UserID
	m.interactedMessageID = st.MessageID
	return m
}

func validateChoices(raw json.RawMessage) []fieldErr {
	path := []string{"data", "choices"}
	list, errs := decodeArray(raw, path)
	if errs != nil {
		return errs
	}
	errs = append(errs, tooMany(path, len(list), maxChoices)...)
	for i, it := range list {
		c, _ := it.(map[string]any)
		p := sub(path, strconv.Itoa(i))
		errs = append(errs, lengthIn(sub(p, "name"), c["name"], 1, maxChoiceText)...)
		if c["value"] == nil {
			errs = append(errs, ferr(sub(p, "value"), "BASE_TYPE_REQUIRED", "This field is required"))
		}
		errs = append(errs, maxLen(sub(p, "value"), c["value"], maxChoiceText)...)
	}
	return errs
}

func validateModal(data map[string]json.RawMessage) []fieldErr {
	var errs []fieldErr
	var id, title string
	_ = json.Unmarshal(data["custom_id"], &id)
	_ = json.Unmarshal(data["title"], &title)
	errs = append(errs, bounded([]string{"data", "custom_id"}, id, 1, 100)...)
	errs = append(errs, bounded([]string{"data", "title"}, title, 1, 45)...)
	list, e := decodeArray(data["components"], []string{"data", "components"})
	errs = append(errs, e...)
	if len(list) < 1 || len(list) > 5 {
		errs = append(errs, ferr([]string{"data", "components"}, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."))
	}
	return errs
}

func (s *Server) handleWebhook(method string, seg []string, req *Request, base string) (int, any, *apiError) {
	if len(seg) < 3 {
		return fail(errNotFound())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byToken[seg[2]]
	if st == nil || seg[1] != s.appID {
		return fail(errUnknownWebhook())
	}
	if s.expired[st.Token] || s.clock().Sub(st.CreatedAt) >= TokenLifetime {
		return fail(errInvalidWebhookToken())
	}
	if st.dead || !st.acked {
		return fail(errUnknownWebhook())
	}
	switch {
	case len(seg) == 3:
		if method != http.MethodPost {
			return fail(errMethodNotAllowed())
		}
		return s.followupLocked(st, req, base)
	case len(seg) == 5 && seg[3] == "messages":
		id := seg[4]
		if id == "@original" {
			id = st.originalID
		} else if id != st.originalID && !contains(st.followups, id) {
			id = ""
		}
		m := s.messages[id]
		if m == nil || m.Deleted {
			return fail(errUnknownMessage())
		}
		return s.messageOpLocked(method, m, req, s.limitFor(st), base)
	}
	return fail(errNotFound())
}

// followupLocked creates a follow-up message. After a deferred response
// (type 5) the first follow-up replaces the "thinking" message, as on Discord.
func (s *Server) followupLocked(st *interactionState, req *Request, base string) (int, any, *apiError) {
	if e := s.checkFiles(req.Files, s.limitFor(st)); e != nil {
		return fail(e)
	}
	in, e := decodeObject(req.JSON)
	if e != nil {
		return fail(e)
	}
	if orig := s.messages[st.originalID]; orig != nil && !orig.Deleted && orig.Loading() {
		if e := s.applyMessageLocked(orig, in, req.Files, applyOpts{edit: true,
			allowedFlags: FlagSuppressEmbeds | FlagComponentsV2, baseURL: base}); e != nil {
			return fail(e)
		}
		s.notifyLocked()
		return ok(s.messageJSONLocked(orig))
	}
	mtype := msgTypeChatInputCommand
	if st.Type != InteractionApplicationCommand {
		mtype = msgTypeReply
	}
	m := s.interactionMessageLocked(st, mtype)
	m.originalResponseID = st.originalID
	if e := s.applyMessageLocked(m, in, req.Files, applyOpts{
		allowedFlags: FlagEphemeral | FlagSuppressEmbeds | FlagSuppressNotifications | FlagComponentsV2,
		baseURL:      base}); e != nil {
		return fail(e)
	}
	s.storeMessageLocked(m)
	st.followups = append(st.followups, m.ID)
	s.notifyLocked()
	return ok(s.messageJSONLocked(m))
}

// originOf returns the origin the client actually reached: the local
// address of the connection (a URL-rewriting client may keep the Host
// header of discord.com), else the Host header.
func originOf(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && a != nil {
		return "http://" + a.String()
	}
	return "http://" + r.Host
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// serveAttachment serves the bytes of an uploaded attachment:
// /attachments/{channel}/{attachment id}/{filename}.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	seg := strings.Split(strings.TrimPrefix(r.URL.Path, "/attachments/"), "/")
	if len(seg) != 3 {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	var found *File
	for _, m := range s.messages {
		if m.ChannelID != seg[0] {
			continue
		}
		for i := range m.Attachments {
			if m.Attachments[i].ID == seg[1] {
				f := m.Attachments[i]
				found = &f
			}
		}
	}
	s.mu.Unlock()
	if found == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", contentTypeOr(found.ContentType))
	w.Header().Set("Content-Length", strconv.Itoa(len(found.Data)))
	_, _ = w.Write(found.Data)
}

// messageOpLocked gets, edits (JSON or multipart, files checked against limit) or deletes a message, for
// the channel routes and the webhook routes alike.
func (s *Server) messageOpLocked(method string, m *message, req *Request, limit int64, base string) (int, any, *apiError) {
	switch method {
	case http.MethodGet:
		return ok(s.messageJSONLocked(m))
	case http.MethodPatch:
		if e := s.checkFiles(req.Files, limit); e != nil {
			return fail(e)
		}
		in, e := decodeObject(req.JSON)
		if e != nil {
			return fail(e)
		}
		if e := s.applyMessageLocked(m, in, req.Files, applyOpts{edit: true,
			allowedFlags: FlagSuppressEmbeds | FlagComponentsV2, baseURL: base}); e != nil {
			return fail(e)
		}
		s.notifyLocked()
		return ok(s.messageJSONLocked(m))
	case http.MethodDelete:
		m.Deleted = true
		s.notifyLocked()
		return noContent()
	}
	return fail(errMethodNotAllowed())
}
