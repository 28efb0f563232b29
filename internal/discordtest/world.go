package discordtest

import (
	"fmt"
	"time"
)

// user is a Discord user the fake knows.
type user struct {
	ID         string
	Username   string
	GlobalName string
	Bot        bool
}

// channel is a guild text channel or a DM channel.
type channel struct {
	id            string
	guildID       string // "" for DMs
	name          string
	dmUserID      string
	lastMessageID string
}

// nonceEntry remembers a message created with enforce_nonce.
type nonceEntry struct {
	messageID string
	at        time.Time
}

// nonceWindow is how long Discord dedupes enforce_nonce messages ("a few minutes").
const nonceWindow = 5 * time.Minute

func (s *Server) addChannelLocked(guildID, channelID string) {
	if s.channels[channelID] != nil {
		return
	}
	n := len(s.guildChannels[guildID])
	name := "general"
	if n > 0 {
		name = fmt.Sprintf("channel-%d", n+1)
	}
	s.channels[channelID] = &channel{id: channelID, guildID: guildID, name: name}
	s.guildChannels[guildID] = append(s.guildChannels[guildID], channelID)
}

func (s *Server) isGuild(id string) bool {
	for _, g := range s.guildIDs {
		if g == id {
			return true
		}
	}
	return false
}

// dmChannelLocked returns the DM channel with userID, creating it.
func (s *Server) dmChannelLocked(userID string) *channel {
	if id, ok := s.dmByUser[userID]; ok {
		return s.channels[id]
	}
	ch := &channel{id: s.snowflakeLocked(), dmUserID: userID}
	s.channels[ch.id] = ch
	s.dmByUser[userID] = ch.id
	if s.users[userID] == nil {
		s.users[userID] = &user{ID: userID, Username: "user" + userID}
	}
	return ch
}

func (s *Server) userJSONLocked(id string) map[string]any {
	u := s.users[id]
	if u == nil {
		u = &user{ID: id, Username: "user" + id}
	}
	var global any
	if u.GlobalName != "" {
		global = u.GlobalName
	}
	out := map[string]any{
		"id":                     u.ID,
		"username":               u.Username,
		"avatar":                 nil,
		"discriminator":          "0",
		"public_flags":           0,
		"flags":                  0,
		"banner":                 nil,
		"accent_color":           nil,
		"global_name":            global,
		"avatar_decoration_data": nil,
		"collectibles":           nil,
		"primary_guild":          nil,
	}
	if u.Bot {
		out["bot"] = true
	}
	return out
}

// botUserJSONLocked is the bot's own user object (GET /users/@me, READY).
func (s *Server) botUserJSONLocked() map[string]any {
	u := s.userJSONLocked(s.appID)
	u["verified"] = true
	u["mfa_enabled"] = false
	u["locale"] = "en-US"
	u["email"] = nil
	u["premium_type"] = 0
	return u
}

func (s *Server) channelJSONLocked(ch *channel) map[string]any {
	var last any
	if ch.lastMessageID != "" {
		last = ch.lastMessageID
	}
	if ch.guildID == "" {
		return map[string]any{
			"id":              ch.id,
			"type":            1,
			"last_message_id": last,
			"flags":           0,
			"recipients":      []any{s.userJSONLocked(ch.dmUserID)},
		}
	}
	pos := 0
	for i, id := range s.guildChannels[ch.guildID] {
		if id == ch.id {
			pos = i
		}
	}
	return map[string]any{
		"id":                    ch.id,
		"type":                  0,
		"guild_id":              ch.guildID,
		"name":                  ch.name,
		"position":              pos,
		"permission_overwrites": []any{},
		"parent_id":             nil,
		"nsfw":                  false,
		"topic":                 nil,
		"last_message_id":       last,
		"rate_limit_per_user":   0,
		"flags":                 0,
	}
}

func (s *Server) guildName(id string) string {
	for i, g := range s.guildIDs {
		if g == id {
			return fmt.Sprintf("Test Guild %d", i+1)
		}
	}
	return "Unknown"
}

// guildJSONLocked is the guild object of GET /guilds/{id}.
func (s *Server) guildJSONLocked(id string) map[string]any {
	var system any
	if ids := s.guildChannels[id]; len(ids) > 0 {
		system = ids[0]
	}
	return map[string]any{
		"id":                            id,
		"name":                          s.guildName(id),
		"icon":                          nil,
		"description":                   nil,
		"home_header":                   nil,
		"splash":                        nil,
		"discovery_splash":              nil,
		"features":                      []any{},
		"banner":                        nil,
		"owner_id":                      DefaultUserID,
		"application_id":                nil,
		"region":                        "deprecated",
		"afk_channel_id":                nil,
		"afk_timeout":                   300,
		"system_channel_id":             system,
		"system_channel_flags":          0,
		"widget_enabled":                false,
		"widget_channel_id":             nil,
		"verification_level":            0,
		"roles":                         []any{everyoneRole(id)},
		"default_message_notifications": 0,
		"mfa_level":                     0,
		"explicit_content_filter":       0,
		"max_presences":                 nil,
		"max_members":                   500000,
		"max_stage_video_channel_users": 50,
		"max_video_channel_users":       25,
		"vanity_url_code":               nil,
		"premium_tier":                  0,
		"premium_subscription_count":    0,
		"preferred_locale":              "en-US",
		"rules_channel_id":              nil,
		"safety_alerts_channel_id":      nil,
		"public_updates_channel_id":     nil,
		"premium_progress_bar_enabled":  false,
		"nsfw":                          false,
		"nsfw_level":                    0,
		"emojis":                        []any{},
		"stickers":                      []any{},
		"incidents_data":                nil,
	}
}

func everyoneRole(guildID string) map[string]any {
	return map[string]any{
		"id":            guildID,
		"name":          "@everyone",
		"permissions":   defaultMemberPermissions,
		"position":      0,
		"color":         0,
		"colors":        map[string]any{"primary_color": 0, "secondary_color": nil, "tertiary_color": nil},
		"hoist":         false,
		"managed":       false,
		"mentionable":   false,
		"icon":          nil,
		"unicode_emoji": nil,
		"flags":         0,
	}
}

// applicationJSONLocked is the application object of GET /applications/@me.
func (s *Server) applicationJSONLocked() map[string]any {
	return map[string]any{
		"id":                                   s.appID,
		"name":                                 s.botName,
		"icon":                                 nil,
		"description":                          "",
		"type":                                 nil,
		"bot":                                  s.userJSONLocked(s.appID),
		"verify_key":                           s.verifyKeyLocked(),
		"flags":                                0,
		"flags_new":                            "0",
		"redirect_uris":                        []any{},
		"interactions_endpoint_url":            s.endpointJSONLocked(),
		"role_connections_verification_url":    nil,
		"owner":                                s.userJSONLocked(DefaultUserID),
		"approximate_guild_count":              len(s.guildIDs),
		"approximate_user_install_count":       0,
		"approximate_user_authorization_count": 0,
		"explicit_content_filter":              0,
		"team":                                 nil,
		"eligible_oauth2_scopes":               []any{},
		"bot_public":                           true,
		"bot_require_code_grant":               false,
		"install_params":                       map[string]any{"scopes": []any{"bot", "applications.commands"}, "permissions": defaultAppPermissions},
		"integration_types_config":             map[string]any{"0": map[string]any{}},
	}
}

// randomHexFixed stands in for the application's public key.
const randomHexFixed = "8c8a2e0d1e6a4d3a9c1b7f3e5d2a6c4b8e0f1a3c5e7d9b2f4a6c8e0d2b4f6a8c"
