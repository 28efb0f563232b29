package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/viggle-bot/viggle-bot/bot"
	"github.com/viggle-bot/viggle-bot/redact"
	"github.com/viggle-bot/viggle-bot/viggle"
)

const checkUsage = `usage: %[1]s check

Checks what the bot needs before it is started, one line per check ("ok …" or "problem: …"): the
configuration (every variable, .env included), the database (opened, migrations applied), the
Discord token (GET /users/@me), the Viggle key (GET /api/credits), and prints the invite URL.

exit codes: 0 every check passed; 1 a problem with the database, Discord or Viggle; 2 a problem
with the configuration (the other checks still run where they can).
`

// checkTimeout bounds each call to Discord and to Viggle.
const checkTimeout = 20 * time.Second

// checkCommand is `BIN check`. Its lines go to stdout; nothing it prints holds a secret.
func checkCommand(ctx context.Context, prog string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("check", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, checkUsage, prog)
			return 0
		}
		fmt.Fprintf(stderr, "error: %v; see %s check --help\n", err, prog)
		return 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "error: unexpected argument %q; see %s check --help\n", fset.Arg(0), prog)
		return 2
	}
	c := &checker{out: stdout}
	cfg, err := loadConfig(getenv)
	bad := map[string]bool{} // variables with a problem: the checks that need them are skipped
	for _, e := range splitErrors(err) {
		var ce *configError
		if errors.As(e, &ce) {
			bad[ce.name] = true
		}
		c.problem(e.Error())
	}
	if err == nil {
		c.ok("configuration: every variable is valid")
	}
	configProblems := c.problems
	// Warnings of the store (migrations) go to stderr, as the bot's would.
	log := cfg.logger(stderr, slog.LevelWarn)

	if !bad["DATABASE_PATH"] && !bad["DATABASE_URL"] {
		c.database(ctx, cfg, log)
	}
	switch {
	case cfg.DiscordToken == "":
		c.problem("DISCORD_TOKEN is not set: create an application at https://discord.com/developers/applications, " +
			"open Bot, press Reset Token and put the token in .env as DISCORD_TOKEN=…")
	case bad["DISCORD_API_URL"]:
	default:
		c.discord(ctx, cfg)
	}
	if !bad["VIGGLE_API_URL"] && !bad["ALLOW_SHARED_KEY"] {
		c.viggle(ctx, cfg)
	}
	switch {
	case configProblems > 0:
		return 2
	case c.problems > 0:
		return 1
	}
	return 0
}

// splitErrors returns the errors joined in err (errors.Join), or err alone.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

type checker struct {
	out      io.Writer
	problems int
}

func (c *checker) ok(format string, args ...any) {
	fmt.Fprintf(c.out, "ok "+format+"\n", args...)
}

// problem prints one line: a message over several lines is joined into one.
func (c *checker) problem(msg string) {
	c.problems++
	fmt.Fprintf(c.out, "problem: %s\n", strings.Join(strings.Fields(msg), " "))
}

// database opens the database as the bot does (migrations applied; a SQLite file's folder created, a
// PostgreSQL server reached with DATABASE_URL's credentials, whose password is never printed).
func (c *checker) database(ctx context.Context, cfg Config, log *slog.Logger) {
	name := "DATABASE_PATH=" + cfg.DatabasePath
	if cfg.DatabaseURL != "" {
		name = "DATABASE_URL=" + cfg.DatabaseURL.String()
	}
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		c.problem(fmt.Sprintf("database (%s): %v", name, err))
		return
	}
	defer db.Close()
	var version int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&version); err != nil {
		c.problem(fmt.Sprintf("database (%s): read the schema version: %v", name, err))
		return
	}
	c.ok("database %s: open, migrations applied (schema version %d)", cfg.Database(), version)
}

// discord checks the token with GET /users/@me and prints the invite URL, with the application id
// of GET /oauth2/applications/@me (the bot user's id when that fails: they are the same for
// applications made since 2016).
func (c *checker) discord(ctx context.Context, cfg Config) {
	token := strings.TrimSpace(cfg.DiscordToken.Reveal())
	token = strings.TrimSpace(strings.TrimPrefix(token, "Bot "))
	hc := &http.Client{Timeout: checkTimeout}
	var me struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Bot      bool   `json:"bot"`
	}
	status, err := discordGet(ctx, hc, cfg.DiscordAPIURL, "/users/@me", token, &me)
	switch {
	case err != nil:
		c.problem(fmt.Sprintf("Discord (GET /users/@me at %s): %s", cfg.DiscordAPIURL, redact.Text(err.Error(), token)))
		return
	case status == http.StatusUnauthorized:
		c.problem("Discord refused DISCORD_TOKEN (401 Unauthorized): copy a fresh token from the developer portal (Bot → Reset Token)")
		return
	case status != http.StatusOK || me.ID == "":
		c.problem(fmt.Sprintf("Discord answered GET /users/@me with HTTP %d (%s): try again later", status, http.StatusText(status)))
		return
	case !me.Bot:
		c.problem("DISCORD_TOKEN is not a bot's token: take it from the developer portal's Bot page")
		return
	}
	c.ok("Discord accepted DISCORD_TOKEN: the bot is %s (user id %s)", me.Username, me.ID)
	var app struct {
		ID        string `json:"id"`
		VerifyKey string `json:"verify_key"`
	}
	appID := me.ID
	status, err = discordGet(ctx, hc, cfg.DiscordAPIURL, "/oauth2/applications/@me", token, &app)
	read := err == nil && status == http.StatusOK && app.ID != ""
	if read {
		appID = app.ID
	}
	c.ok("invite URL: %s", bot.InviteURL(appID))
	// HTTP interactions: a public key that is not the application's refuses every interaction (401).
	switch {
	case len(cfg.DiscordPublicKey) == 0:
	case !read:
		c.problem("could not read the application (GET /oauth2/applications/@me) to compare DISCORD_PUBLIC_KEY with its Public Key: try again later")
	case !strings.EqualFold(app.VerifyKey, hex.EncodeToString(cfg.DiscordPublicKey)):
		c.problem("DISCORD_PUBLIC_KEY is not this application's Public Key: copy it from the developer portal (General Information → Public Key); with the wrong one every interaction is refused")
	default:
		c.ok("DISCORD_PUBLIC_KEY is the application's Public Key")
	}
}

// discordGet sends GET path of Discord's API v10 with the bot token and decodes a 200 answer into out.
func discordGet(ctx context.Context, hc *http.Client, origin, path, token string, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(origin, "/")+"/api/v10"+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bot "+token)
	req.Header.Set("User-Agent", "DiscordBot ("+userAgent+")")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("read the answer: %w", err)
	}
	return resp.StatusCode, nil
}

// viggle checks VIGGLE_API_KEY with GET /api/credits (not in mock mode, nor when servers bring their
// own keys and none is set).
func (c *checker) viggle(ctx context.Context, cfg Config) {
	switch {
	case cfg.Mock():
		c.ok("Viggle: mock mode (VIGGLE_API_URL=mock), no key to check")
		return
	case cfg.ViggleAPIKey == "" && !cfg.AllowSharedKey:
		c.ok("Viggle: no VIGGLE_API_KEY, and ALLOW_SHARED_KEY=false: every server brings its own key (/config key set)")
		return
	case cfg.ViggleAPIKey == "":
		c.problem(cfg.requireViggleKey().Error() + " (or set ALLOW_SHARED_KEY=false to have every server bring its own key)")
		return
	}
	vc, err := viggle.NewClient(cfg.ViggleAPIKey.Reveal(), viggle.WithBaseURL(cfg.ViggleAPIURL), viggle.WithUserAgent(userAgent))
	if err != nil {
		c.problem("Viggle client: " + redact.Text(err.Error(), cfg.ViggleAPIKey.Reveal()))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	b, err := vc.Credits(ctx)
	var apiErr *viggle.APIError
	switch {
	case errors.As(err, &apiErr) && (apiErr.HTTPStatus == http.StatusUnauthorized || apiErr.HTTPStatus == http.StatusForbidden):
		c.problem(fmt.Sprintf("Viggle refused VIGGLE_API_KEY (HTTP %d): create a key in the Viggle dashboard and put it in .env", apiErr.HTTPStatus))
	case err != nil:
		c.problem(fmt.Sprintf("Viggle (GET /api/credits at %s): %s", cfg.ViggleAPIURL, redact.Text(err.Error(), cfg.ViggleAPIKey.Reveal())))
	default:
		c.ok("Viggle accepted VIGGLE_API_KEY: %g credits left", b.Balance)
	}
}
