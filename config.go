package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/viggle-bot/viggle-bot/bot"
	"github.com/viggle-bot/viggle-bot/keyring"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// secret holds a credential. Every way of printing it (fmt's %v, %+v, %#v, %s, slog, encoding/json)
// shows a placeholder instead.
type secret string

const redacted = "[redacted]"

func (s secret) String() string               { return s.mask() }
func (s secret) GoString() string             { return s.mask() }
func (s secret) LogValue() slog.Value         { return slog.StringValue(s.mask()) }
func (s secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.mask()) }
func (s secret) Reveal() string               { return string(s) }

func (s secret) mask() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Config is the bot's configuration, read from the environment (and .env, loaded by main).
type Config struct {
	DiscordToken  secret
	ViggleAPIKey  secret
	ViggleAPIURL  string // base URL, or "mock"
	DiscordAPIURL string // origin
	DatabasePath  string
	// DatabaseURL (DATABASE_URL), when set, selects PostgreSQL instead of the SQLite file at DatabasePath.
	DatabaseURL   databaseURL
	PollInterval  time.Duration
	MaxRPS        float64
	RenderTimeout time.Duration
	GuildID       string
	// EncryptionKey is BOT_ENCRYPTION_KEY as given (64 hex characters or base64 of 32 bytes): it seals
	// the servers' own Viggle keys. Empty: /config key set explains what is missing.
	EncryptionKey  secret
	AllowSharedKey bool     // ALLOW_SHARED_KEY: servers without their own key use VIGGLE_API_KEY
	OwnerIDs       []string // BOT_OWNER_IDS: user ids that may run /stats
	LogLevel       slog.Level
	logLevelSet    bool
	LogJSON        bool   // LOG_FORMAT=json
	HTTPAddr       string // HTTP_ADDR: /metrics, /livez, /readyz ("" = off)
	// DiscordPublicKey (DISCORD_PUBLIC_KEY, hex) and InteractionsAddr (INTERACTIONS_ADDR) together serve
	// POST /interactions (HTTP interactions, no gateway).
	DiscordPublicKey ed25519.PublicKey
	InteractionsAddr string
	// ShardID and ShardCount (SHARD_ID, SHARD_COUNT); ShardCount 0: from GET /gateway/bot.
	ShardID, ShardCount int
}

// HTTPInteractions reports whether interactions come over HTTP (POST /interactions) instead of the gateway.
func (c Config) HTTPInteractions() bool {
	return c.InteractionsAddr != "" && len(c.DiscordPublicKey) > 0
}

// LogValue is what a log line shows of the configuration: every setting but the secrets, which show
// as [redacted] (by their type, whatever the handler does).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("discord_token", c.DiscordToken),
		slog.Any("viggle_api_key", c.ViggleAPIKey),
		slog.String("viggle_api_url", c.ViggleAPIURL),
		slog.String("discord_api_url", c.DiscordAPIURL),
		slog.String("database_path", c.DatabasePath),
		slog.Any("database_url", c.DatabaseURL),
		slog.Duration("poll_interval", c.PollInterval),
		slog.Float64("max_rps", c.MaxRPS),
		slog.Duration("render_timeout", c.RenderTimeout),
		slog.String("guild_id", c.GuildID),
		slog.Any("encryption_key", c.EncryptionKey),
		slog.Bool("allow_shared_key", c.AllowSharedKey),
		slog.Int("owners", len(c.OwnerIDs)),
		slog.String("log_level", c.LogLevel.String()),
		slog.Bool("log_json", c.LogJSON),
		slog.String("http_addr", c.HTTPAddr),
		slog.Bool("http_interactions", c.HTTPInteractions()),
		slog.String("interactions_addr", c.InteractionsAddr),
		slog.Int("shard_id", c.ShardID),
		slog.Int("shard_count", c.ShardCount),
	)
}

// databaseURL is DATABASE_URL: it holds the database's password, so it prints and logs with the password
// replaced (store.RedactURL).
type databaseURL string

func (u databaseURL) String() string             { return store.RedactURL(string(u)) }
func (u databaseURL) LogValue() slog.Value       { return slog.StringValue(u.String()) }
func (u databaseURL) GoString() string           { return u.String() }
func (u databaseURL) Format(f fmt.State, _ rune) { fmt.Fprint(f, u.String()) }

// Database describes the database for messages: the SQLite file, or the PostgreSQL URL without its
// password.
func (c Config) Database() string {
	if c.DatabaseURL != "" {
		return "PostgreSQL " + c.DatabaseURL.String()
	}
	return c.DatabasePath
}

// Mock reports whether the built-in fake Viggle is to be used.
func (c Config) Mock() bool { return c.ViggleAPIURL == "mock" }

// requireViggleKey says what to do when no Viggle key is set and one is needed (not in mock mode; the
// bot needs none when servers must bring their own, ALLOW_SHARED_KEY=false).
func (c Config) requireViggleKey() error {
	if c.Mock() || c.ViggleAPIKey != "" {
		return nil
	}
	return errors.New("VIGGLE_API_KEY is not set: create a key in the Viggle dashboard and put it in .env,\n" +
		"or try everything without Viggle first: VIGGLE_API_URL=mock")
}

// level is LOG_LEVEL when set, else the command's own default.
func (c Config) level(def slog.Level) slog.Level {
	if c.logLevelSet {
		return c.LogLevel
	}
	return def
}

// variables documents every environment variable, in the order --help and .env.example list them.
var variables = []struct{ name, def, doc string }{
	{"DISCORD_TOKEN", "", "bot token from the Discord developer portal (the bot itself; not needed for `render`)"},
	{"VIGGLE_API_KEY", "", "Viggle API key (sk-…), sent as Authorization: Bearer; not needed with VIGGLE_API_URL=mock"},
	{"VIGGLE_API_URL", viggle.DefaultBaseURL, "Viggle base URL; the word `mock` starts a built-in fake Viggle in-process"},
	{"DISCORD_API_URL", bot.DefaultAPIURL, "origin that replaces https://discord.com for every Discord REST call (a REST proxy or a test double)"},
	{"DATABASE_PATH", "./data/bot.db", "SQLite file (its folder is created with mode 0700); with DATABASE_URL, only its folder is used, for temporary downloads"},
	{"DATABASE_URL", "", "postgres://user:pass@host:5432/db?sslmode=… selects PostgreSQL instead of SQLite, for several bot processes on one database (see README, PostgreSQL); the password is never logged"},
	{"VIGGLE_POLL_INTERVAL", "3s", "Go duration between status polls of one job"},
	{"VIGGLE_MAX_RPS", "10", "cap on Viggle requests per second for each Viggle key (the shared one, and each server's own), all jobs of this process together (a number > 0)"},
	{"RENDER_TIMEOUT", "2h", "wall time from submission after which a still-running render is cancelled at Viggle and fails"},
	{"DISCORD_GUILD_ID", "", "register the slash commands to this server only (appear at once; global ones take a while)"},
	{"BOT_ENCRYPTION_KEY", "", "32 random bytes as 64 hex characters or base64 (openssl rand -hex 32): encrypts the servers' own Viggle keys (/config key set); keep it safe, without it stored keys cannot be read"},
	{"ALLOW_SHARED_KEY", "true", "true: servers without their own key (/config key set) render with VIGGLE_API_KEY; false: they are refused until an admin sets one"},
	{"BOT_OWNER_IDS", "", "comma-separated Discord user ids of the bot's owners, who may run /stats"},
	{"LOG_FORMAT", "text", "text or json (one JSON object per line); logs go to standard error"},
	{"HTTP_ADDR", "", "address of the operations HTTP server, e.g. 127.0.0.1:8080: /metrics (Prometheus), /livez, /readyz (unset: off)"},
	{"DISCORD_PUBLIC_KEY", "", "the application's public key (developer portal → General Information), hex: with INTERACTIONS_ADDR, interactions come over HTTP"},
	{"INTERACTIONS_ADDR", "", "address that serves POST /interactions (signed by Discord, checked with DISCORD_PUBLIC_KEY), e.g. :8081; then no gateway connection is made"},
	{"SHARD_ID", "", "this process's shard (0 ≤ SHARD_ID < SHARD_COUNT); unset: 0, or every shard's count from GET /gateway/bot"},
	{"SHARD_COUNT", "", "number of shards of the bot (set with SHARD_ID); unset: Discord's recommendation from GET /gateway/bot"},
	{"LOG_LEVEL", "", "debug, info, warn or error (unset: info for the bot, warn for `render`); logs go to standard error"},
}

// configError is an invalid setting; main exits 2 with its message, which names the variable.
type configError struct{ name, msg string }

func (e *configError) Error() string { return e.name + ": " + e.msg }

// defaultOf is a variable's default, from the table --help and .env.example show.
func defaultOf(name string) string {
	for _, v := range variables {
		if v.name == name {
			return v.def
		}
	}
	panic("config: unknown variable " + name)
}

// loadConfig reads the configuration through getenv. An empty value means unset.
func loadConfig(getenv func(string) string) (Config, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return defaultOf(name)
	}
	var errs []error
	c := Config{
		DiscordToken: secret(get("DISCORD_TOKEN")),
		ViggleAPIKey: secret(get("VIGGLE_API_KEY")),
		DatabasePath: get("DATABASE_PATH"),
		DatabaseURL:  databaseURL(get("DATABASE_URL")),
		GuildID:      get("DISCORD_GUILD_ID"),
	}
	c.ViggleAPIURL = get("VIGGLE_API_URL")
	if c.ViggleAPIURL != "mock" {
		if u, err := viggle.ParseBaseURL(c.ViggleAPIURL); err != nil {
			errs = append(errs, &configError{"VIGGLE_API_URL", err.Error() + " (or the word mock)"})
		} else {
			c.ViggleAPIURL = u.String()
		}
	}
	if u, err := bot.ParseOrigin(get("DISCORD_API_URL")); err != nil {
		errs = append(errs, &configError{"DISCORD_API_URL", err.Error() + "; paths are kept as Discord's"})
	} else {
		c.DiscordAPIURL = u.String()
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"VIGGLE_POLL_INTERVAL", &c.PollInterval},
		{"RENDER_TIMEOUT", &c.RenderTimeout},
	} {
		v, err := time.ParseDuration(get(d.name))
		switch {
		case err != nil:
			errs = append(errs, &configError{d.name, fmt.Sprintf("%q is not a Go duration such as 3s, 500ms or 2h", get(d.name))})
		case v <= 0:
			errs = append(errs, &configError{d.name, "must be greater than zero"})
		}
		*d.dst = v
	}
	rps, err := strconv.ParseFloat(get("VIGGLE_MAX_RPS"), 64)
	switch {
	case err != nil:
		errs = append(errs, &configError{"VIGGLE_MAX_RPS", fmt.Sprintf("%q is not a number", get("VIGGLE_MAX_RPS"))})
	case !(rps > 0) || rps > 1e9:
		errs = append(errs, &configError{"VIGGLE_MAX_RPS", "must be a number greater than zero"})
	}
	c.MaxRPS = rps
	if lv := get("LOG_LEVEL"); lv != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lv)); err != nil {
			errs = append(errs, &configError{"LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", lv)})
		}
		c.logLevelSet = true
	}
	switch v := strings.ToLower(get("ALLOW_SHARED_KEY")); v {
	case "true", "1", "yes", "on":
		c.AllowSharedKey = true
	case "false", "0", "no", "off":
	default:
		errs = append(errs, &configError{"ALLOW_SHARED_KEY", fmt.Sprintf("%q is not true or false", v)})
	}
	c.EncryptionKey = secret(get("BOT_ENCRYPTION_KEY"))
	if c.EncryptionKey != "" {
		if _, err := keyring.ParseSecret(c.EncryptionKey.Reveal()); err != nil {
			errs = append(errs, &configError{"BOT_ENCRYPTION_KEY", "must be 32 bytes given as 64 hex characters or base64 (make one with: openssl rand -hex 32)"})
		}
	}
	for _, id := range strings.Split(get("BOT_OWNER_IDS"), ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			errs = append(errs, &configError{"BOT_OWNER_IDS", fmt.Sprintf("%q is not a Discord user id (a number; Developer Mode → right-click a user → Copy User ID)", id)})
			continue
		}
		c.OwnerIDs = append(c.OwnerIDs, id)
	}
	switch f := strings.ToLower(get("LOG_FORMAT")); f {
	case "text":
	case "json":
		c.LogJSON = true
	default:
		errs = append(errs, &configError{"LOG_FORMAT", fmt.Sprintf("%q is not text or json", f)})
	}
	c.HTTPAddr = get("HTTP_ADDR")
	c.InteractionsAddr = get("INTERACTIONS_ADDR")
	if pk := get("DISCORD_PUBLIC_KEY"); pk != "" {
		b, err := hex.DecodeString(pk)
		if err != nil || len(b) != ed25519.PublicKeySize {
			errs = append(errs, &configError{"DISCORD_PUBLIC_KEY", "must be the 64 hex characters of the application's public key (developer portal → General Information → Public Key)"})
		} else {
			c.DiscordPublicKey = ed25519.PublicKey(b)
		}
	}
	if (c.InteractionsAddr == "") != (get("DISCORD_PUBLIC_KEY") == "") {
		errs = append(errs, &configError{"INTERACTIONS_ADDR", "HTTP interactions need both INTERACTIONS_ADDR and DISCORD_PUBLIC_KEY"})
	}
	for _, v := range []struct {
		name string
		dst  *int
	}{{"SHARD_ID", &c.ShardID}, {"SHARD_COUNT", &c.ShardCount}} {
		if raw := get(v.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 0 || n > 1<<20 {
				errs = append(errs, &configError{v.name, fmt.Sprintf("%q is not a whole number ≥ 0", raw)})
			}
			*v.dst = n
		}
	}
	switch {
	case get("SHARD_ID") != "" && get("SHARD_COUNT") == "":
		errs = append(errs, &configError{"SHARD_COUNT", "must be set with SHARD_ID"})
	case get("SHARD_COUNT") != "" && c.ShardCount < 1:
		errs = append(errs, &configError{"SHARD_COUNT", "must be at least 1"})
	case c.ShardCount > 0 && c.ShardID >= c.ShardCount:
		errs = append(errs, &configError{"SHARD_ID", fmt.Sprintf("must be less than SHARD_COUNT (%d)", c.ShardCount)})
	}
	if c.DatabasePath == "" {
		errs = append(errs, &configError{"DATABASE_PATH", "must not be empty"})
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(string(c.DatabaseURL)); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			// err is not shown: url's errors quote the URL, password and all.
			errs = append(errs, &configError{"DATABASE_URL", "must be a PostgreSQL URL: postgres://user:pass@host:5432/db?sslmode=…"})
		}
	}
	return c, errors.Join(errs...)
}
