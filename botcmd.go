package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/bot"
	"github.com/viggle-bot/viggle-bot/commands"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/metrics"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/terminal"
)

// routeInteractions adapts the commands router to the bot's Handler: the bot knows sessions and raw
// gateway events, the router only REST and interactions.
type routeInteractions struct{ h *commands.Router }

func (r routeInteractions) HandleInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate, raw bot.RawInteraction) {
	r.h.HandleInteraction(ctx, s, i.Interaction, raw.AttachmentSizeLimit)
}

// HandleHTTPInteraction routes an interaction received over HTTP (INTERACTIONS_ADDR) through the same
// router: s writes the first response as the HTTP answer.
func (r routeInteractions) HandleHTTPInteraction(ctx context.Context, s *bot.InlineSession, i *discordgo.Interaction, raw bot.RawInteraction) {
	r.h.HandleInteraction(ctx, s, i, raw.AttachmentSizeLimit)
}

// readyChecks are /readyz's: the gateway connected (in HTTP interactions mode, POST /interactions
// served), and the database writable.
func readyChecks(b *bot.Bot, db *store.DB, httpInteractions bool) []metrics.Check {
	discord := metrics.Check{Name: "gateway", Func: func(context.Context) error {
		if !b.Connected() {
			return errors.New("not connected to the Discord gateway")
		}
		return nil
	}}
	if httpInteractions {
		discord = metrics.Check{Name: "interactions", Func: func(context.Context) error {
			if !b.Connected() {
				return errors.New("not serving POST /interactions on INTERACTIONS_ADDR")
			}
			return nil
		}}
	}
	return []metrics.Check{discord, {Name: "database", Func: db.Writable}}
}

// botCommand runs the Discord bot until ctx ends (SIGINT, SIGTERM). Its exit codes mean what the render
// command's do: 0 a clean stop, 1 Discord refused the bot, 2 bad configuration, 4 a local error.
func botCommand(ctx context.Context, prog string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "error: configuration: %v\n", err)
		return terminal.ExitBadInput
	}
	if cfg.DiscordToken == "" {
		fmt.Fprintf(stderr, "error: DISCORD_TOKEN is not set.\n"+
			"Create an application at https://discord.com/developers/applications, open Bot, press Reset Token,\n"+
			"and put the token in .env as DISCORD_TOKEN=… (see README.md, \"Run the bot\").\n"+
			"Without Discord you can still try a render: VIGGLE_API_URL=mock %s render --scene scene_demo --map \"person_a=char_alice\"\n", prog)
		return terminal.ExitBadInput
	}
	if cfg.AllowSharedKey { // else the servers bring their own keys (/config key set)
		if err := cfg.requireViggleKey(); err != nil {
			fmt.Fprintf(stderr, "error: %v\n(or set ALLOW_SHARED_KEY=false to have every server bring its own key with /config key set)\n", err)
			return terminal.ExitBadInput
		}
	}
	log := cfg.logger(stderr, slog.LevelInfo)
	// The operations server (HTTP_ADDR): its port is taken first, so a busy one stops the bot before
	// it connects; it serves once everything it reports on is wired.
	var (
		m     *metrics.Metrics
		opsLn net.Listener
	)
	if cfg.HTTPAddr != "" {
		if opsLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			fmt.Fprintf(stderr, "error: HTTP_ADDR: %v\n", err)
			return terminal.ExitBadInput
		}
		defer opsLn.Close() // until Serve owns it
		m = metrics.New(log)
	}

	route := &routeInteractions{}
	bc := bot.Config{
		Token:    cfg.DiscordToken.Reveal(),
		APIURL:   cfg.DiscordAPIURL,
		GuildID:  cfg.GuildID,
		Commands: commands.Definitions(),
		Logger:   log,
		// SHARD_COUNT unset: shard 0 of what GET /gateway/bot recommends (see bot.Run).
		ShardID: cfg.ShardID, ShardCount: cfg.ShardCount,
	}
	if cfg.HTTPInteractions() { // POST /interactions, no gateway session
		bc.InteractionsAddr, bc.PublicKey = cfg.InteractionsAddr, cfg.DiscordPublicKey
	}
	b, err := bot.New(bc, route)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return terminal.ExitBadInput
	}
	// A process resumes only the jobs of the guilds its shard owns (all of them unsharded or over HTTP).
	eo := jobs.Options{Origin: store.OriginDiscord, RequireAck: true, OwnsGuild: b.OwnsGuild}
	var wrapViggle []wrapTransport
	if m != nil {
		b.WrapTransport(m.DiscordTransport)
		eo.Observer = m
		wrapViggle = append(wrapViggle, m.ViggleTransport)
	}
	var notifier *commands.Notifier
	a, err := build(ctx, cfg, log, eo,
		func(db *store.DB) jobs.Notifier {
			notifier = commands.NewNotifier(b.Session(), b.AppID, db, log, nil)
			return notifier
		}, wrapViggle...)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return terminal.ExitLocal
	}
	defer a.Close()
	// The catalog imports scenes and makes characters (/scene import, /character create), each
	// recorded before it is sent and followed until ready or failed.
	// Each row is followed with the key it was made with.
	catalog := jobs.NewCatalog(a.db, a.viggle, jobs.CatalogOptions{PollInterval: cfg.PollInterval, Logger: log,
		OwnsGuild: b.OwnsGuild,
		ViggleFor: func(ctx context.Context, keyRef string) (jobs.CatalogViggle, error) {
			c, err := a.keys.Client(ctx, keyRef)
			if err != nil {
				return nil, err
			}
			return c, nil
		}})
	route.h = commands.NewHandler(a.engine, &commands.Catalogued{DB: a.db, Catalog: catalog, Credits: a.viggle, Keys: a.keys},
		log, nil, cfg.OwnerIDs)
	if cfg.EncryptionKey == "" {
		log.Info("BOT_ENCRYPTION_KEY is not set: servers cannot bring their own Viggle keys (/config key set)")
	}
	if !cfg.AllowSharedKey {
		log.Info("ALLOW_SHARED_KEY=false: servers without their own Viggle key are refused")
	}

	if m != nil {
		route.h.Observe(m)
		m.WatchJobs(a.db)
		m.WatchQueue(a.engine.QueueDepth)
		// It answers until the very end (after the engine stopped), /readyz with 503 once the
		// gateway is gone.
		opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
		opsDone := make(chan struct{})
		go func() {
			defer close(opsDone)
			if err := metrics.Serve(opsCtx, opsLn, m.Handler(readyChecks(b, a.db, cfg.HTTPInteractions())...)); err != nil {
				log.Error("ops server stopped", "err", err)
			}
		}()
		defer func() { stopOps(); <-opsDone }()
		log.Info("ops server listening", "addr", opsLn.Addr().String(), "paths", "/metrics /livez /readyz")
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Retired server keys are kept while something unfinished uses them: purged at start and hourly
	// (and at every /config key set or clear).
	purgeDone := make(chan struct{})
	go func() {
		defer close(purgeDone)
		tick := time.NewTicker(time.Hour)
		defer tick.Stop()
		for {
			if _, err := a.keys.Purge(runCtx); err != nil && runCtx.Err() == nil {
				log.Warn("purge retired Viggle keys", "err", err)
			}
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	notifierDone := make(chan struct{})
	go func() { notifier.Run(runCtx); close(notifierDone) }()
	// Unfinished jobs resume once the gateway is up (their deliveries need the application id), and
	// so do imports and characters, of this shard's guilds (known then): interrupted sends become
	// unknown, the rest are followed to the end in the background.
	startDone := make(chan struct{})
	go func() {
		defer close(startDone)
		select {
		case <-b.Ready():
		case <-runCtx.Done():
			return
		}
		if err := catalog.Resume(runCtx); err != nil {
			log.Error("resume unfinished imports and characters", "err", err)
		}
		if err := a.engine.Start(runCtx); err != nil {
			log.Error("resume unfinished jobs", "err", err)
		}
		// With several processes on one database, an import or character that another process of this
		// shard was sending or following when it died is taken over here: once a minute, as the engine's
		// rescue takes over jobs whose lease expired.
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
			}
			if err := catalog.Resume(runCtx); err != nil && runCtx.Err() == nil {
				log.Warn("take over unfinished imports and characters", "err", err)
			}
		}
	}()
	err = b.Run(runCtx)
	cancel()
	<-startDone // a Start under way finishes (its context is cancelled) before Stop, so Stop sees it
	// Stop returns only once no worker runs (a POST in flight is finished and recorded first, however
	// long that takes), so the database closed below is never closed under a step; past 15 s it warns.
	stopCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer stop()
	if serr := a.engine.Stop(stopCtx); serr != nil {
		log.Warn("stop the engine", "err", serr)
	}
	<-notifierDone
	<-purgeDone
	catalog.Close() // its calls and follows end (runCtx is done): none uses the database after this
	switch {
	case errors.Is(err, bot.ErrUnauthorized):
		fmt.Fprintln(stderr, "error: Discord refused DISCORD_TOKEN (401 Unauthorized): copy a fresh token from the developer portal (Bot → Reset Token).")
		return terminal.ExitFailed
	case err != nil:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return terminal.ExitFailed
	}
	log.Info("stopped")
	return terminal.ExitDelivered
}
