// Command viggle-bot is a Discord bot that renders Viggle multi-character videos for a community server,
// and a terminal `render` command that runs the same engine without Discord.
//
// main.go is the composition root: configuration → logger → store → Viggle client → engine → commands.
// It holds no business logic.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/joho/godotenv"
	"golang.org/x/time/rate"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/keyring"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/terminal"
	"github.com/viggle-bot/viggle-bot/viggle"
)

const userAgent = "viggle-bot/0.1 (+https://github.com/viggle-bot/viggle-bot)"

func main() {
	if err := loadDotenv(".env"); err != nil {
		fmt.Fprintf(os.Stderr, "error: reading .env: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, filepath.Base(os.Args[0]), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// loadDotenv applies the variables of the file at path that the environment leaves unset or empty: a
// real value wins, and an empty one means unset (godotenv.Load alone would let an exported empty
// variable, as compose files produce, hide the file's value). A missing file is fine.
func loadDotenv(path string) error {
	vars, err := godotenv.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for k, v := range vars {
		if os.Getenv(k) == "" {
			if err := os.Setenv(k, v); err != nil {
				return fmt.Errorf("set %s: %w", k, err)
			}
		}
	}
	return nil
}

// run is the whole program with its inputs made explicit, so tests run it in-process.
func run(ctx context.Context, prog string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return botCommand(ctx, prog, getenv, stderr)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		printHelp(stdout, prog)
		return 0
	case "render":
		return renderCommand(ctx, prog, args[1:], getenv, stdout, stderr)
	case "check":
		return checkCommand(ctx, prog, args[1:], getenv, stdout, stderr)
	case "backup":
		return backupCommand(ctx, prog, args[1:], getenv, stdout, stderr)
	case "migrate-to-postgres":
		return migrateCommand(ctx, prog, args[1:], getenv, stdout, stderr)
	}
	fmt.Fprintf(stderr, "error: unknown command %q; see %s --help\n", args[0], prog)
	return 2
}

func printHelp(w io.Writer, prog string) {
	fmt.Fprintf(w, `%[1]s: render Viggle multi-character videos for a Discord server.

commands:
  %[1]s                 run the Discord bot (needs DISCORD_TOKEN)
  %[1]s render ...      run one render from the terminal (%[1]s render --help)
  %[1]s check           check the configuration, the database, the Discord token and the Viggle key
  %[1]s backup --out F  write a consistent copy of the database to F, also while the bot runs
  %[1]s migrate-to-postgres --from F  copy the SQLite database F into DATABASE_URL's PostgreSQL (bot stopped)
  %[1]s --help          this text

environment (also read from .env in the working directory; a real variable wins):
`, prog)
	for _, v := range variables {
		def := v.def
		if def == "" {
			def = "unset"
		}
		fmt.Fprintf(w, "  %-21s %s (default: %s)\n", v.name, v.doc, def)
	}
}

func renderCommand(ctx context.Context, prog string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	a, err := terminal.ParseArgs(prog, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return terminal.ExitBadInput
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "error: configuration: %v\n", err)
		return terminal.ExitBadInput
	}
	if err := cfg.requireViggleKey(); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return terminal.ExitBadInput
	}
	progress := terminal.NotifierFor(stdout) // a bar on a terminal: the logs keep out of its line
	log := cfg.logger(progress.Around(stderr), slog.LevelWarn)
	a2, err := build(ctx, cfg, log, jobs.Options{Origin: store.OriginTerminal},
		func(*store.DB) jobs.Notifier { return progress })
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return terminal.ExitLocal
	}
	defer a2.Close()
	return terminal.Run(ctx, prog, a2.engine, a, stdout, stderr)
}

// app holds what build wired together.
type app struct {
	db      *store.DB
	viggle  *viggle.Client // the shared key's (VIGGLE_API_KEY)
	keys    *keyring.Ring  // every key's client: the shared one and the servers' own
	engine  *jobs.Engine
	closers []func()
}

func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// openStore opens the database cfg names: PostgreSQL when DATABASE_URL is set, else the SQLite file at
// DATABASE_PATH. Either is migrated to the current schema.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*store.DB, error) {
	if cfg.DatabaseURL != "" {
		return store.OpenPostgres(ctx, string(cfg.DatabaseURL), log)
	}
	return store.Open(ctx, cfg.DatabasePath, log)
}

// wrapTransport wraps an HTTP transport (the bot's metrics count Viggle's requests with one).
type wrapTransport func(http.RoundTripper) http.RoundTripper

// build opens the database and wires the Viggle client and the engine for one origin (eo: the
// origin's own engine options; the rest come from cfg). wrap, when given, wraps the transport of every
// Viggle client.
func build(ctx context.Context, cfg Config, log *slog.Logger, eo jobs.Options, notifier func(*store.DB) jobs.Notifier, wrap ...wrapTransport) (*app, error) {
	a := &app{}
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("open the database %s: %w", cfg.Database(), err)
	}
	a.db = db
	a.closers = append(a.closers, func() {
		if err := db.Close(); err != nil {
			log.Warn("close database", "err", err)
		}
	})
	baseURL, key := cfg.ViggleAPIURL, cfg.ViggleAPIKey.Reveal()
	if cfg.Mock() {
		// The fake keeps no request log in a long-running process, and never sees a real key.
		fake := viggletest.New(viggletest.WithRecordLimit(0))
		key = ""
		u, stop, err := fake.Start()
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("start the mock Viggle: %w", err)
		}
		a.closers = append(a.closers, stop)
		baseURL = u
		log.Info("using the built-in mock Viggle", "url", u)
	}
	// Each Viggle key gets its own client and limiter (VIGGLE_MAX_RPS each): one server's burst never
	// spends another's rate, nor the shared key's.
	newClient := func(apiKey string) (*viggle.Client, error) {
		opts := []viggle.Option{viggle.WithBaseURL(baseURL),
			viggle.WithUserAgent(userAgent),
			viggle.WithLimiter(rate.NewLimiter(rate.Limit(cfg.MaxRPS), max(1, int(cfg.MaxRPS))))}
		if len(wrap) > 0 {
			var rt http.RoundTripper = viggle.DefaultTransport()
			for _, w := range wrap {
				rt = w(rt)
			}
			opts = append(opts, viggle.WithHTTPClient(&http.Client{Transport: rt}))
		}
		return viggle.NewClient(apiKey, opts...)
	}
	vc, err := newClient(key)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("viggle client: %w", err)
	}
	a.viggle = vc
	var sealer *keyring.Sealer
	if cfg.EncryptionKey != "" {
		secret, err := keyring.ParseSecret(cfg.EncryptionKey.Reveal())
		if err == nil {
			sealer, err = keyring.NewSealer(secret)
		}
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("BOT_ENCRYPTION_KEY: %w", err)
		}
	}
	shared := vc
	if key == "" && !cfg.Mock() {
		shared = nil // no VIGGLE_API_KEY (ALLOW_SHARED_KEY=false): only the servers' own keys
	}
	a.keys = keyring.New(db, keyring.Options{Shared: shared, AllowShared: cfg.AllowSharedKey && shared != nil,
		Sealer: sealer, NewClient: newClient, Logger: log})
	eo.ViggleFor = func(ctx context.Context, keyRef string) (jobs.Viggle, error) {
		c, err := a.keys.Client(ctx, keyRef)
		if err != nil {
			return nil, err // not a typed nil
		}
		return c, nil
	}
	eo.PollInterval = cfg.PollInterval
	eo.RenderTimeout = cfg.RenderTimeout
	eo.WorkDir = filepath.Join(filepath.Dir(cfg.DatabasePath), "tmp")
	eo.Logger = log
	eng, err := jobs.New(db, vc, notifier(db), eo)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.engine = eng
	return a, nil
}

// sensitiveKeys are attribute names whose values never reach a log line, whatever their type: a safety
// net behind the secret type.
var sensitiveKeys = []string{"authorization", "token", "api_key", "apikey", "key", "password", "secret"}

// newLogger is a text logger at level that redacts sensitive attributes (see newLoggerFormat).
func newLogger(w io.Writer, level slog.Level) *slog.Logger { return newLoggerFormat(w, level, false) }

// logger is the program's logger on w: LOG_FORMAT's handler at LOG_LEVEL, or def when it is unset.
func (c Config) logger(w io.Writer, def slog.Level) *slog.Logger {
	return newLoggerFormat(w, c.level(def), c.LogJSON)
}

// newLoggerFormat is a logger at level writing text, or one JSON object per line with asJSON, with the
// same redaction either way: an attribute named like a secret (sensitiveKeys, also as a suffix after
// "_") shows [redacted] whatever its value, behind the secret types' own LogValue.
func newLoggerFormat(w io.Writer, level slog.Level, asJSON bool) *slog.Logger {
	opts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			k := strings.ToLower(a.Key)
			for _, s := range sensitiveKeys {
				if k == s || strings.HasSuffix(k, "_"+s) {
					return slog.String(a.Key, redacted)
				}
			}
			return a
		},
	}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
