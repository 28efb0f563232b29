package bot

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"golang.org/x/time/rate"

	"github.com/viggle-bot/viggle-bot/redact"
)

// HTTP interactions (Config.InteractionsAddr): instead of INTERACTION_CREATE on the gateway, Discord
// POSTs every interaction to the application's Interactions Endpoint URL, signed with the
// application's Ed25519 key, and takes the HTTP answer as the interaction's first response. The bot
// then needs no gateway session; everything after the first response (edits, follow-ups, channel
// posts) is REST with the bot token, as in gateway mode.

// HTTPHandler handles one interaction received over HTTP. s is the bot's session for this one
// interaction: its first InteractionRespond for it is written as the HTTP answer (and returns once
// it was written); every other call is the session's own REST call. A handler that has not answered
// within AckWait has lost the interaction (Discord gave up). ctx is cancelled when the handler
// returns or the bot shuts down; the handler runs after the HTTP answer was written, in its own
// goroutine, as gateway handlers do.
type HTTPHandler interface {
	HandleHTTPInteraction(ctx context.Context, s *InlineSession, i *discordgo.Interaction, raw RawInteraction)
}

const (
	// InteractionsPath is the only path the interactions server answers (POST).
	InteractionsPath = "/interactions"
	// maxInteractionBody caps a request body; Discord's payloads are a few KiB.
	maxInteractionBody = 1 << 20
	// SignatureWindow is how far an X-Signature-Timestamp may be from the bot's clock, either way: an
	// older request is a replay, a newer one is not from Discord.
	SignatureWindow = 5 * time.Minute
	// DefaultAckWait is how long the server waits for a handler's first response: Discord's 3 s.
	DefaultAckWait = 3 * time.Second
	// httpShutdownGrace bounds how long shutdown waits for requests being answered.
	httpShutdownGrace = 5 * time.Second
)

// InlineSession is the bot's session for one interaction received over HTTP: its first
// InteractionRespond for that interaction becomes the HTTP answer instead of a POST to the callback
// endpoint. It answers a second acknowledgement as Discord does (400 / 40060) and one that comes after
// the HTTP request ended (AckWait passed, or Discord hung up) with 404 / 10062 Unknown interaction.
type InlineSession struct {
	*discordgo.Session

	id      string
	answers chan<- inlineAnswer
	gone    <-chan struct{} // closed once the HTTP handler takes no answer any more

	mu       sync.Mutex
	answered bool
}

type inlineAnswer struct {
	contentType string
	body        []byte
	written     chan<- error
}

// InteractionRespond writes r as the HTTP answer of the session's interaction and returns once it
// was written and flushed (nil), or why it could not be (an error with Discord's code for it).
// Another interaction's response goes to the callback endpoint.
func (s *InlineSession) InteractionRespond(i *discordgo.Interaction, r *discordgo.InteractionResponse, options ...discordgo.RequestOption) error {
	if i == nil || i.ID != s.id {
		return s.Session.InteractionRespond(i, r, options...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answered {
		return restError(http.StatusBadRequest, discordgo.ErrCodeInteractionHasAlreadyBeenAcknowledged, "Interaction has already been acknowledged.")
	}
	ctype, body, err := encodeResponse(r)
	if err != nil {
		return err
	}
	written := make(chan error, 1)
	select {
	case s.answers <- inlineAnswer{contentType: ctype, body: body, written: written}:
	case <-s.gone:
		return restError(http.StatusNotFound, discordgo.ErrCodeUnknownInteraction, "Unknown interaction")
	}
	s.answered = true
	if err := <-written; err != nil {
		return fmt.Errorf("bot: write the interaction's HTTP answer: %w", err)
	}
	return nil
}

// encodeResponse is r as discordgo's InteractionRespond would send it: JSON, or multipart with files.
func encodeResponse(r *discordgo.InteractionResponse) (string, []byte, error) {
	if r == nil {
		return "", nil, errors.New("bot: no interaction response")
	}
	if r.Data != nil && len(r.Data.Files) > 0 {
		ctype, body, err := discordgo.MultipartBodyWithJSON(r, r.Data.Files)
		if err != nil {
			return "", nil, fmt.Errorf("bot: encode the interaction response: %w", err)
		}
		return ctype, body, nil
	}
	body, err := json.Marshal(r)
	if err != nil {
		return "", nil, fmt.Errorf("bot: encode the interaction response: %w", err)
	}
	return "application/json", body, nil
}

// restError is what Discord would have answered, as discordgo reports it, so that callers handle an
// inline answer's refusal as they handle the callback endpoint's.
func restError(status, code int, msg string) error {
	body, _ := json.Marshal(map[string]any{"message": msg, "code": code})
	return &discordgo.RESTError{
		Response:     &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status)},
		ResponseBody: body,
		Message:      &discordgo.APIErrorMessage{Code: code, Message: msg},
	}
}

// verifier checks the signature and freshness of interaction requests and refuses replays.
type verifier struct {
	key    ed25519.PublicKey
	window time.Duration
	now    func() time.Time

	// refusals limits the warnings about refused requests (anyone may POST to a public URL).
	refusals rate.Sometimes

	mu        sync.Mutex
	seen      map[string]time.Time // signature → when it may be forgotten
	nextSweep time.Time
}

func newVerifier(key ed25519.PublicKey, now func() time.Time) *verifier {
	return &verifier{key: key, window: SignatureWindow, now: now, seen: map[string]time.Time{},
		refusals: rate.Sometimes{First: 5, Interval: time.Minute}}
}

// check returns "" for a request Discord signed for this application within the window and that was
// not seen before, else why it is refused.
func (v *verifier) check(h http.Header, body []byte) string {
	sigHex, ts := h.Get("X-Signature-Ed25519"), h.Get("X-Signature-Timestamp")
	if sigHex == "" || ts == "" {
		return "unsigned"
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "bad signature"
	}
	msg := make([]byte, 0, len(ts)+len(body))
	msg = append(append(msg, ts...), body...)
	if !ed25519.Verify(v.key, msg, sig) {
		return "bad signature"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "bad timestamp"
	}
	now := v.now()
	at := time.Unix(sec, 0)
	if d := now.Sub(at); d > v.window || d < -v.window {
		return "stale timestamp"
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if now.After(v.nextSweep) {
		for k, until := range v.seen {
			if now.After(until) {
				delete(v.seen, k)
			}
		}
		v.nextSweep = now.Add(v.window)
	}
	key := string(sig)
	if _, dup := v.seen[key]; dup {
		return "replayed"
	}
	// A signature stays acceptable until at+window: keep it until then (and a sweep later).
	v.seen[key] = at.Add(v.window)
	return ""
}

// runHTTP serves POST /interactions on Config.InteractionsAddr until ctx ends. The application id
// comes from GET /oauth2/applications/@me; Ready is closed once the server listens, then the
// commands are registered.
func (b *Bot) runHTTP(ctx context.Context) error {
	// Session.Application takes no context: the same request, under ctx.
	resp, err := b.s.RequestWithBucketID(http.MethodGet, discordgo.EndpointOAuth2Application("@me"), nil,
		discordgo.EndpointOAuth2Application(""), discordgo.WithContext(ctx))
	if err != nil {
		return redact.Wrap("bot: read the application (GET /oauth2/applications/@me)", err)
	}
	var app struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp, &app); err != nil || app.ID == "" {
		return errors.New("bot: GET /oauth2/applications/@me carried no application id")
	}
	ln, err := net.Listen("tcp", b.cfg.InteractionsAddr)
	if err != nil {
		return fmt.Errorf("bot: listen for HTTP interactions on INTERACTIONS_ADDR %s: %w", b.cfg.InteractionsAddr, err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(b.serveInteraction),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	b.mu.Lock()
	b.appID, b.listenAddr, b.listening = app.ID, ln.Addr().String(), true
	b.mu.Unlock()
	if b.cfg.ShardCount > 1 {
		b.log.Warn("SHARD_ID and SHARD_COUNT are ignored with HTTP interactions: there is no gateway, and this process answers every server")
	}
	b.firstReadyOnce.Do(func() { close(b.firstReady) })
	b.log.Info("serving HTTP interactions (no gateway session): set the application's Interactions Endpoint URL "+
		"in the developer portal to this server's public https URL ending in "+InteractionsPath,
		"addr", ln.Addr().String(), "path", InteractionsPath, "invite_url", InviteURL(app.ID), "app_id", app.ID)

	stop := func() {
		b.mu.Lock()
		b.closing, b.listening = true, false
		b.mu.Unlock()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			b.log.Warn("HTTP interactions still being answered at shutdown; closing them", "err", err)
			_ = srv.Close()
		}
	}
	if err := b.register(ctx, app.ID); err != nil {
		stop()
		<-served
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	select {
	case <-ctx.Done():
		stop()
		<-served
		return nil
	case err := <-served:
		stop()
		return fmt.Errorf("bot: serve HTTP interactions: %w", err)
	}
}

// serving reports whether the HTTP interactions server takes requests (HTTP mode).
func (b *Bot) serving() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.listening && !b.closing
}

// InteractionsAddr is the address the HTTP interactions server listens on (INTERACTIONS_ADDR with
// the port chosen, e.g. for ":0"); "" before Ready or in gateway mode.
func (b *Bot) InteractionsAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.listenAddr
}

// serveInteraction answers POST /interactions: 401 for a request without Discord's valid, fresh
// signature, PONG for a PING, and for anything else the handler's first response (or 500 when the
// handler ended without one, 503 when it had none within AckWait or the bot is stopping).
func (b *Bot) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != InteractionsPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInteractionBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the request", http.StatusBadRequest)
		return
	}
	if why := b.verify.check(r.Header, body); why != "" {
		b.verify.refusals.Do(func() {
			b.log.Warn("refused an HTTP interaction (401): not signed by Discord with DISCORD_PUBLIC_KEY, or not fresh",
				"reason", why, "remote_addr", r.RemoteAddr)
		})
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		b.log.Warn("ignored a signed HTTP interaction that could not be decoded", "err", redact.Error(err))
		http.Error(w, "could not decode the interaction", http.StatusBadRequest)
		return
	}
	if i.Type == discordgo.InteractionPing {
		writeAnswer(w, "application/json", []byte(`{"type":1}`))
		return
	}
	if i.ID == "" || i.Token == "" {
		http.Error(w, "interaction without id or token", http.StatusBadRequest)
		return
	}
	raw, err := decodeRawInteraction(body)
	if err != nil {
		b.log.Warn("could not decode attachment_size_limit; using 0", "interaction_id", i.ID, "err", redact.Text(err.Error(), i.Token))
	}

	b.mu.Lock()
	if b.closing || b.runCtx == nil {
		b.mu.Unlock()
		b.log.Info("interaction arrived during shutdown; not handled", "interaction_id", i.ID)
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	parent, wg := b.runCtx, b.inflight
	wg.Add(1)
	b.mu.Unlock()
	b.log.Debug("interaction", "interaction_id", i.ID, "interaction_type", i.Type.String(), "transport", "http",
		"name", interactionName(&i), "guild_id", i.GuildID, "attachment_size_limit", raw.AttachmentSizeLimit)

	answers := make(chan inlineAnswer)
	gone := make(chan struct{})
	s := &InlineSession{Session: b.s, id: i.ID, answers: answers, gone: gone}
	handled := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(handled)
		ctx, cancel := context.WithCancel(parent)
		defer cancel()
		defer func() {
			if v := recover(); v != nil {
				b.recovered(ctx, s, &i, v, debug.Stack())
			}
		}()
		b.hh.HandleHTTPInteraction(ctx, s, &i, raw)
	}()

	t := time.NewTimer(b.cfg.AckWait)
	defer t.Stop()
	defer close(gone)
	select {
	case a := <-answers:
		a.written <- writeAnswer(w, a.contentType, a.body)
	case <-handled:
		b.log.Warn("an HTTP interaction's handler ended without answering it", "interaction_id", i.ID, "name", interactionName(&i))
		http.Error(w, "no answer", http.StatusInternalServerError)
	case <-t.C:
		b.log.Warn("an HTTP interaction was not answered in time; Discord has given up on it", "interaction_id", i.ID,
			"name", interactionName(&i), "waited", b.cfg.AckWait)
		http.Error(w, "no answer in time", http.StatusServiceUnavailable)
	case <-r.Context().Done():
		b.log.Warn("Discord hung up before an HTTP interaction was answered", "interaction_id", i.ID, "name", interactionName(&i))
	}
}

// writeAnswer writes a 200 answer and flushes it, so that the caller knows Discord can read it.
func writeAnswer(w http.ResponseWriter, contentType string, body []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		return err
	}
	return http.NewResponseController(w).Flush()
}
