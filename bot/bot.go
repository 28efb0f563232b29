// Package bot runs the discordgo session: it checks the token, connects to the gateway (as one shard:
// see ShardOf), registers the slash commands, hands every interaction to a Handler and shuts down when
// its context ends. It knows nothing about what the commands mean. With Config.InteractionsAddr it
// opens no gateway session and serves HTTP interactions instead (POST /interactions, signed by
// Discord; see HTTPHandler), answering each interaction's first response in the HTTP body.
//
// Every REST call goes to Config.APIURL through a URL-rewriting RoundTripper (discordgo's endpoints
// are fixed at init), and the gateway URL is discovered there too. Neither the bot token nor an
// interaction token ever reaches a log line: discordgo's own logging is routed into slog with debug
// lines dropped and tokens redacted, and errors are logged through redact.Error.
package bot

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/viggle-bot/viggle-bot/backoff"
	"github.com/viggle-bot/viggle-bot/redact"
)

// RawInteraction is what the bot decodes from the raw gateway event that discordgo's types lack.
type RawInteraction struct {
	AttachmentSizeLimit int64 // bytes; 0 when Discord sent no attachment_size_limit
}

// Handler handles one interaction. It runs in its own goroutine per interaction (discordgo's
// default); the bot recovers panics around it. ctx is cancelled when the handler returns or the bot
// shuts down.
type Handler interface {
	HandleInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate, raw RawInteraction)
}

// Config configures a Bot.
type Config struct {
	Token       string // bot token WITHOUT the "Bot " prefix (the bot adds it)
	APIURL      string // origin replacing https://discord.com for every REST call, e.g. "https://discord.com" or "http://127.0.0.1:1234"
	GuildID     string // register commands to this guild only when set; globally otherwise
	Commands    []*discordgo.ApplicationCommand
	Logger      *slog.Logger
	HTTPTimeout time.Duration // overall per-request limit fit for uploads; default 5 minutes (not discordgo's 20 s)

	// ShardID and ShardCount are the gateway shard this process runs; ShardCount 0: shard 0 of the
	// count GET /gateway/bot recommends (see chooseShard).
	ShardID, ShardCount int

	// InteractionsAddr, when set, makes the bot serve HTTP interactions (POST /interactions) on this
	// address instead of opening a gateway session; PublicKey (the application's, required then)
	// verifies their signatures, and the Handler must also be an HTTPHandler.
	InteractionsAddr string
	PublicKey        ed25519.PublicKey
	// AckWait is how long an HTTP interaction waits for its first response; default DefaultAckWait.
	AckWait time.Duration
	// Now is the clock that HTTP interactions' timestamps are checked against; default time.Now.
	Now func() time.Time
}

// ErrUnauthorized is returned (wrapped) by Run when Discord answers GET /users/@me with 401.
var ErrUnauthorized = errors.New("bot: Discord refused the token")

// DefaultAPIURL is the origin of Discord's REST API (Config.APIURL when empty).
const DefaultAPIURL = "https://discord.com"

const (
	defaultHTTPTimeout = 5 * time.Minute
	// shutdownGrace bounds how long Run waits for interaction handlers after cancelling their context.
	shutdownGrace = 10 * time.Second
	// panicReplyTimeout bounds the answer sent to a user whose interaction panicked.
	panicReplyTimeout = 10 * time.Second
	maxReconnectDelay = 2 * time.Minute

	// PanicReply is the ephemeral answer to an interaction whose handler panicked.
	PanicReply = "Something went wrong on my side; nothing was charged. Please try again."

	// invitePermissions: View Channel, Send Messages, Embed Links, Attach Files (52224).
	invitePermissions = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
		discordgo.PermissionEmbedLinks | discordgo.PermissionAttachFiles
)

// InviteURL returns the invite URL for an application id: scopes bot and applications.commands,
// permissions View Channel, Send Messages, Embed Links and Attach Files.
func InviteURL(appID string) string {
	return "https://discord.com/oauth2/authorize?client_id=" + url.QueryEscape(appID) +
		"&scope=bot+applications.commands&permissions=" + strconv.FormatInt(invitePermissions, 10)
}

// Bot owns one discordgo session. Build it with New and run it with Run.
type Bot struct {
	cfg       Config
	h         Handler
	hh        HTTPHandler // HTTP interactions mode only
	verify    *verifier   // HTTP interactions mode only
	log       *slog.Logger
	s         *discordgo.Session
	transport *http.Transport
	conns     *connTracker

	mu       sync.Mutex
	running  bool
	closing  bool            // set at shutdown: no new interaction is dispatched
	runCtx   context.Context // parent of every interaction's context; nil outside Run
	inflight *sync.WaitGroup // interaction handlers of the current Run
	readyCh  chan<- struct{} // signalled on every READY of the current Run
	appID    string

	shardID, shardCount int    // decided by Run (gateway mode)
	listenAddr          string // HTTP interactions mode: where the server listens
	listening           bool   // HTTP interactions mode: between listen and shutdown

	firstReady     chan struct{} // closed at the first READY: AppID is known
	firstReadyOnce sync.Once
}

// New builds the session without connecting it: the "Bot " token, an HTTP client whose transport
// rewrites discord.com to cfg.APIURL with bounded dial, TLS and header waits and cfg.HTTPTimeout
// overall, intents limited to GUILDS, and discordgo's logging routed into cfg.Logger.
func New(cfg Config, h Handler) (*Bot, error) {
	cfg.Token = normalizeToken(cfg.Token)
	if cfg.Token == "" {
		return nil, errors.New("bot: no token")
	}
	if h == nil {
		return nil, errors.New("bot: no handler")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	origin, err := ParseOrigin(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = defaultHTTPTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShardCount < 0 || cfg.ShardID < 0 || (cfg.ShardCount > 0 && cfg.ShardID >= cfg.ShardCount) {
		return nil, fmt.Errorf("bot: shard %d of %d does not exist", cfg.ShardID, cfg.ShardCount)
	}
	var hh HTTPHandler
	if cfg.InteractionsAddr != "" {
		if len(cfg.PublicKey) != ed25519.PublicKeySize {
			return nil, errors.New("bot: HTTP interactions need the application's public key")
		}
		var ok bool
		if hh, ok = h.(HTTPHandler); !ok {
			return nil, fmt.Errorf("bot: HTTP interactions need a handler that is an HTTPHandler (%T is not)", h)
		}
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	installDiscordgoLogger(cfg.Logger, cfg.Token)

	s, err := discordgo.New("Bot " + cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("bot: new session: %s", redact.Error(err))
	}
	conns := newConnTracker()
	tr := newHTTPTransport(conns.DialContext)
	s.Client = &http.Client{Timeout: cfg.HTTPTimeout, Transport: newRewriteTransport(origin, tr)}
	s.Dialer = &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 30 * time.Second,
		NetDialContext:   conns.DialContext,
	}
	s.Identify.Intents = discordgo.IntentsGuilds
	// Plain JSON events (Discord's default): with compression on, discordgo allocates a new zlib reader
	// (~40 KB) for every event and inflates it in its single read loop, which every INTERACTION_CREATE
	// of a burst waits behind (BENCHMARKS.md). What it costs is bandwidth on (re)connect: READY and one
	// GUILD_CREATE per guild arrive uncompressed, small for a community bot in a few servers.
	s.Identify.Compress = false
	s.Debug = false                         // it prints every request header, Authorization included
	s.LogLevel = discordgo.LogInformational // never LogDebug: it prints the identify payload with the token
	// Run reconnects by itself, under its context: discordgo's own reconnect loop ignores Close and
	// may reopen the session after shutdown.
	s.ShouldReconnectOnError = false
	s.ShouldReconnectVoiceOnSessionError = false

	b := &Bot{cfg: cfg, h: h, hh: hh, log: cfg.Logger, s: s, transport: tr, conns: conns, firstReady: make(chan struct{})}
	if hh != nil {
		b.verify = newVerifier(cfg.PublicKey, cfg.Now)
	}
	return b, nil
}

// normalizeToken trims spaces and a "Bot " prefix given by mistake.
func normalizeToken(tok string) string {
	tok = strings.TrimSpace(tok)
	if tok == "Bot" {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(tok, "Bot "))
}

// Session returns the discordgo session (for REST calls; Run owns its gateway connection).
func (b *Bot) Session() *discordgo.Session { return b.s }

// AppID returns the application id learnt from READY (in HTTP interactions mode, from GET
// /oauth2/applications/@me); "" before the first READY.
func (b *Bot) AppID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.appID
}

// Ready returns a channel closed at the bot's first READY (in HTTP interactions mode, once the server
// listens), when AppID and Shard are known (commands may not be registered yet). It is never closed if
// Run fails before.
func (b *Bot) Ready() <-chan struct{} { return b.firstReady }

// Run checks the token (GET /users/@me; a 401 returns an error wrapping ErrUnauthorized), opens the
// gateway, waits for READY, logs the invite URL, registers the commands by bulk overwrite (to
// cfg.GuildID when set, globally otherwise; nil Commands means none), and reconnects after a lost
// connection until ctx is done. Interactions are routed to the Handler from the moment the gateway
// is open. When ctx ends, Run closes the session (discordgo waits 1 s for the close handshake),
// waits up to 10 s for interaction handlers (whose contexts are cancelled) and closes its
// connections; REST calls through Session still work afterwards (they dial anew). It returns nil
// when ctx ended it, an error when start-up failed (a failed first gateway connection included).
//
// Before opening the gateway it decides the shard (Config.ShardID and ShardCount, or shard 0 of GET
// /gateway/bot's count). With Config.InteractionsAddr it opens no gateway session: after the token
// check it reads the application id (GET /oauth2/applications/@me), serves POST /interactions (see
// HTTPHandler), registers the commands, and at shutdown stops taking requests, lets those being
// answered finish (5 s at most) and waits for the handlers as in gateway mode.
func (b *Bot) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.running {
		b.mu.Unlock()
		return errors.New("bot: Run is already running")
	}
	runCtx, cancel := context.WithCancel(ctx)
	ready := make(chan struct{}, 1)
	disconnected := make(chan struct{}, 1)
	b.running, b.closing = true, false
	b.runCtx, b.inflight, b.readyCh = runCtx, new(sync.WaitGroup), ready
	b.mu.Unlock()

	removeEvents := b.s.AddHandler(b.onEvent)
	removeDisconnect := b.s.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) {
		select {
		case disconnected <- struct{}{}:
		default:
		}
	})
	defer func() {
		b.shutdown(cancel)
		removeEvents()
		removeDisconnect()
	}()

	me, err := b.s.User("@me", discordgo.WithContext(runCtx))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		var re *discordgo.RESTError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("bot: check the token with GET /users/@me: %w", ErrUnauthorized)
		}
		return redact.Wrap("bot: check the token with GET /users/@me", err)
	}
	b.log.Info("Discord accepted the token", "bot_user", me.Username, "bot_user_id", me.ID)

	if b.hh != nil {
		err := b.runHTTP(runCtx)
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := b.chooseShard(runCtx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := b.open(runCtx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return redact.Wrap("bot: connect to the gateway", err)
	}

	registered := false
	for {
		select {
		case <-runCtx.Done():
			return nil
		case <-ready:
			if registered {
				b.log.Info("gateway session ready again")
				continue
			}
			appID := b.AppID()
			b.log.Info("connected to Discord; invite the bot to a server with this URL", "invite_url", InviteURL(appID), "app_id", appID)
			if err := b.register(runCtx, appID); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			registered = true
		case <-disconnected:
			if runCtx.Err() != nil {
				return nil
			}
			if err := b.reconnect(runCtx); err != nil {
				return nil // only a done context stops reconnect
			}
		}
	}
}

// open runs Session.Open, which takes no context; when ctx ends first, it closes every connection
// the session dialled (and refuses new ones) until Open gives up.
func (b *Bot) open(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- b.s.Open() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		b.conns.closeAll(true)
		<-done
		b.conns.unblock()
		return ctx.Err()
	}
}

// reconnect reopens the gateway with exponential backoff (from a second, at most maxReconnectDelay
// apart, jittered) until it succeeds or ctx ends. discordgo resumes the session when it can and
// identifies again when the resume is refused.
func (b *Bot) reconnect(ctx context.Context) error {
	b.log.Warn("gateway connection lost; reconnecting")
	p := backoff.Policy{Base: time.Second, Cap: maxReconnectDelay, Jitter: backoff.Equal}
	err := p.Do(ctx, func(ctx context.Context, attempt int) error {
		err := b.open(ctx)
		if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			b.log.Info("reconnected to the gateway")
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.log.Warn("reconnecting to the gateway failed", "err", redact.Error(err), "attempt", attempt)
		return backoff.Retryable(err)
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // only a done context stops it
	}
	return err
}

// register replaces the application's commands with cfg.Commands (nil means none).
func (b *Bot) register(ctx context.Context, appID string) error {
	cmds := b.cfg.Commands
	if cmds == nil {
		cmds = []*discordgo.ApplicationCommand{}
	}
	scope := "global"
	if b.cfg.GuildID != "" {
		scope = "guild " + b.cfg.GuildID
	}
	created, err := b.s.ApplicationCommandBulkOverwrite(appID, b.cfg.GuildID, cmds, discordgo.WithContext(ctx))
	if err != nil {
		return redact.Wrap("bot: register the commands ("+scope+")", err)
	}
	names := make([]string, 0, len(created))
	for _, c := range created {
		if c != nil {
			names = append(names, c.Name)
		}
	}
	b.log.Info("registered the slash commands", "scope", scope, "commands", strings.Join(names, ","))
	return nil
}

// shutdown stops dispatching, cancels the handlers' contexts, closes the session, waits for the
// handlers (bounded) and closes every connection.
func (b *Bot) shutdown(cancel context.CancelFunc) {
	b.mu.Lock()
	b.closing = true
	wg := b.inflight
	b.mu.Unlock()
	cancel()
	if err := b.s.Close(); err != nil {
		b.log.Warn("closing the gateway connection", "err", redact.Error(err))
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(shutdownGrace)
	select {
	case <-done:
	case <-t.C:
		b.log.Warn("interaction handlers still running after shutdown; not waiting longer", "waited", shutdownGrace)
	}
	t.Stop()
	b.conns.closeAll(false)
	b.transport.CloseIdleConnections()
	b.mu.Lock()
	b.running, b.runCtx, b.readyCh = false, nil, nil
	b.mu.Unlock()
}

// onEvent is the bot's only gateway handler. It receives every dispatch with its raw "d" payload
// (discordgo's typed InteractionCreate handler would lose attachment_size_limit).
func (b *Bot) onEvent(s *discordgo.Session, e *discordgo.Event) {
	switch e.Type {
	case "READY":
		b.onReady(e)
	case "INTERACTION_CREATE":
		b.dispatch(s, e)
	}
}

func (b *Bot) onReady(e *discordgo.Event) {
	r, _ := e.Struct.(*discordgo.Ready)
	id := ""
	if r != nil && r.Application != nil && r.Application.ID != "" {
		id = r.Application.ID
	} else if r != nil && r.User != nil {
		id = r.User.ID // a bot's user id is its application id
	}
	if id == "" {
		b.log.Error("READY carried no application or user id; commands cannot be registered")
		return
	}
	b.mu.Lock()
	b.appID = id
	ch := b.readyCh
	b.mu.Unlock()
	b.firstReadyOnce.Do(func() { close(b.firstReady) })
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// dispatch calls the Handler for one INTERACTION_CREATE with a context derived from Run's, and
// recovers a panic by logging it and answering the user ephemerally.
func (b *Bot) dispatch(s *discordgo.Session, e *discordgo.Event) {
	ic, _ := e.Struct.(*discordgo.InteractionCreate)
	if ic == nil || ic.Interaction == nil || ic.ID == "" || ic.Token == "" {
		b.log.Warn("ignored an INTERACTION_CREATE that could not be decoded", "seq", e.Sequence)
		return
	}
	raw, err := decodeRawInteraction(e.RawData)
	if err != nil {
		b.log.Warn("could not decode attachment_size_limit; using 0", "interaction_id", ic.ID, "err", redact.Text(err.Error(), ic.Token))
	}
	b.mu.Lock()
	if b.closing || b.runCtx == nil {
		b.mu.Unlock()
		b.log.Info("interaction arrived during shutdown; not handled", "interaction_id", ic.ID)
		return
	}
	parent, wg := b.runCtx, b.inflight
	wg.Add(1)
	b.mu.Unlock()
	defer wg.Done()
	b.log.Debug("interaction", "interaction_id", ic.ID, "interaction_type", ic.Type.String(),
		"name", interactionName(ic.Interaction), "guild_id", ic.GuildID, "attachment_size_limit", raw.AttachmentSizeLimit)

	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			b.recovered(ctx, s, ic.Interaction, v, debug.Stack())
		}
	}()
	b.h.HandleInteraction(ctx, s, ic, raw)
}

// decodeRawInteraction reads the fields discordgo's Interaction lacks from the raw "d" object.
func decodeRawInteraction(d json.RawMessage) (RawInteraction, error) {
	var v struct {
		Limit json.RawMessage `json:"attachment_size_limit"`
	}
	if err := json.Unmarshal(d, &v); err != nil {
		return RawInteraction{}, fmt.Errorf("decode interaction: %w", err)
	}
	if len(v.Limit) == 0 || string(v.Limit) == "null" {
		return RawInteraction{}, nil
	}
	var n int64
	if err := json.Unmarshal(v.Limit, &n); err != nil {
		var str string // tolerate a snowflake-style string
		if json.Unmarshal(v.Limit, &str) != nil {
			return RawInteraction{}, fmt.Errorf("attachment_size_limit %s: not an integer", v.Limit)
		}
		if n, err = strconv.ParseInt(str, 10, 64); err != nil {
			return RawInteraction{}, fmt.Errorf("attachment_size_limit %q: not an integer", str)
		}
	}
	if n < 0 {
		return RawInteraction{}, fmt.Errorf("attachment_size_limit %d: negative", n)
	}
	return RawInteraction{AttachmentSizeLimit: n}, nil
}

// responder is how recovered answers: the session, or an HTTP interaction's InlineSession.
type responder interface {
	InteractionRespond(i *discordgo.Interaction, r *discordgo.InteractionResponse, options ...discordgo.RequestOption) error
	FollowupMessageCreate(i *discordgo.Interaction, wait bool, data *discordgo.WebhookParams, options ...discordgo.RequestOption) (*discordgo.Message, error)
}

// recovered logs a handler's panic and tells the user: an ephemeral response, or an ephemeral
// follow-up when the interaction was already acknowledged (40060). An autocomplete cannot carry a
// message, so it gets none.
func (b *Bot) recovered(ctx context.Context, s responder, i *discordgo.Interaction, v any, stack []byte) {
	b.log.Error("interaction handler panicked",
		"interaction_id", i.ID,
		"interaction_type", i.Type.String(),
		"name", interactionName(i),
		"panic", redact.Text(fmt.Sprint(v), i.Token),
		"stack", redact.Text(string(stack), i.Token))
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		return
	}
	// The user deserves an answer even when the panic came with shutdown.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), panicReplyTimeout)
	defer cancel()
	err := s.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: PanicReply, Flags: discordgo.MessageFlagsEphemeral},
	}, discordgo.WithContext(ctx))
	if hasCode(err, discordgo.ErrCodeInteractionHasAlreadyBeenAcknowledged) {
		_, err = s.FollowupMessageCreate(i, false, &discordgo.WebhookParams{
			Content: PanicReply,
			Flags:   discordgo.MessageFlagsEphemeral,
		}, discordgo.WithContext(ctx))
	}
	if err != nil {
		b.log.Warn("could not tell the user that their interaction failed", "interaction_id", i.ID, "err", redact.Error(err))
	}
}

// interactionName is the command name or custom id, for logs.
func interactionName(i *discordgo.Interaction) string {
	switch d := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		return d.Name
	case discordgo.MessageComponentInteractionData:
		return d.CustomID
	case discordgo.ModalSubmitInteractionData:
		return d.CustomID
	}
	return ""
}

// hasCode reports whether err is a Discord REST error with the given JSON error code.
func hasCode(err error, code int) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Message != nil && re.Message.Code == code
}
