package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bwmarrin/discordgo"
)

const (
	redactedToken = "[token]"
	redacted      = "[REDACTED]"
)

var (
	// /interactions/{id}/{token}/callback and /webhooks/{app id}/{token}[/...]: the second segment is
	// an interaction (or webhook) token.
	reTokenPath = regexp.MustCompile(`(/(?:interactions|webhooks)/[^/\s"'?#]+/)[^/\s"'?#]+`)
	// "Bot xxx" / "Bearer xxx" as in an Authorization header.
	reAuthScheme = regexp.MustCompile(`(?i)\b(Bot|Bearer)(\s+)[A-Za-z0-9._~+/=-]{20,}`)
	// "token": "..." in a JSON payload (identify, resume, an interaction), also with escaped quotes.
	reJSONToken = regexp.MustCompile(`(\\?"(?:token|access_token)\\?"\s*:\s*\\?")[^"\\]*`)
	// Interaction tokens are base64url text that starts with "interaction:".
	reInteractionToken = regexp.MustCompile(`aW50ZXJhY3Rpb246[A-Za-z0-9_-]+`)
	// The shape of a Discord bot token: three base64url parts joined by dots.
	reBotToken = regexp.MustCompile(`[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}`)
)

// secrets are exact strings (the bot tokens of every Bot built in this process) that never reach a
// log line, whatever text surrounds them.
var secrets struct {
	sync.RWMutex
	list []string
}

func registerSecret(s string) {
	if len(s) < 4 {
		return // too short to redact without mangling ordinary text
	}
	secrets.Lock()
	defer secrets.Unlock()
	for _, x := range secrets.list {
		if x == s {
			return
		}
	}
	secrets.list = append(secrets.list, s)
}

// redact removes anything that looks like a token from s: the registered bot tokens, the extra
// strings given (an interaction's token), Authorization values, token path segments, JSON "token"
// fields, interaction-token and bot-token shapes.
func redact(s string, extra ...string) string {
	for _, x := range extra {
		if len(x) >= 4 {
			s = strings.ReplaceAll(s, x, redactedToken)
		}
	}
	secrets.RLock()
	for _, x := range secrets.list {
		s = strings.ReplaceAll(s, x, redacted)
	}
	secrets.RUnlock()
	s = reAuthScheme.ReplaceAllString(s, "${1}${2}"+redacted)
	s = reTokenPath.ReplaceAllString(s, "${1}"+redactedToken)
	s = reJSONToken.ReplaceAllString(s, `${1}`+redacted)
	s = reInteractionToken.ReplaceAllString(s, redactedToken)
	s = reBotToken.ReplaceAllString(s, redacted)
	return s
}

// SafeError renders err for a log line or a user-facing report without secrets: interaction and
// webhook token path segments (which *url.Error and *discordgo.RateLimitError strings carry) become
// "[token]", the bot token never appears, and a *discordgo.RESTError (which keeps the request, its
// Authorization header included) is shown only as "HTTP <status>: code <code> <message>".
func SafeError(err error) string {
	if err == nil {
		return "<nil>"
	}
	full, ok := errorString(err)
	var re *discordgo.RESTError
	if errors.As(err, &re) && re != nil {
		short := formatRESTError(re)
		if !ok || err == error(re) || strings.Contains(full, "(PANIC=") {
			return redact(short)
		}
		// Wrapped: keep the wrapper's words, show the REST error in its short form.
		if inner, ok := errorString(re); ok && inner != "" {
			full = strings.Replace(full, inner, short, 1)
		}
		return redact(full)
	}
	if !ok {
		return fmt.Sprintf("unprintable error of type %T", err)
	}
	return redact(full)
}

// errorString calls Error, surviving a panic (a hand-built *discordgo.RESTError without a Response
// panics in its Error method).
func errorString(err error) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	return err.Error(), true
}

// formatRESTError shows status, Discord's JSON error code and message, and its field errors, but
// never the request.
func formatRESTError(re *discordgo.RESTError) string {
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	var body struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	if re.Message != nil {
		body.Code, body.Message = re.Message.Code, re.Message.Message
	}
	if json.Unmarshal(re.ResponseBody, &body) != nil && re.Message == nil {
		return fmt.Sprintf("HTTP %d", status)
	}
	s := fmt.Sprintf("HTTP %d: code %d %s", status, body.Code, body.Message)
	if len(body.Errors) > 0 && string(body.Errors) != "null" {
		e := string(body.Errors)
		if len(e) > 600 {
			e = e[:600] + "…"
		}
		s += " " + e
	}
	return s
}

// The discordgo.Logger package variable is process-wide: it is set once, and sends each line to the
// logger of the most recently built Bot.
var (
	dgLoggerOnce sync.Once
	dgSink       atomic.Pointer[slog.Logger]
)

// installDiscordgoLogger routes discordgo's logging into l, redacting token (and every other token
// registered in this process) from every line.
func installDiscordgoLogger(l *slog.Logger, token string) {
	registerSecret(token)
	dgSink.Store(l)
	dgLoggerOnce.Do(func() { discordgo.Logger = discordgoLog })
}

// discordgoLog is the discordgo.Logger adapter. LogDebug lines (which carry the identify payload with
// the token and raw gateway traffic) are dropped; LogInformational lines are chatty ("called", "sending
// close frame") and go to slog at Debug; LogWarning and LogError keep their level.
func discordgoLog(msgL, caller int, format string, a ...any) {
	var level slog.Level
	switch msgL {
	case discordgo.LogError:
		level = slog.LevelError
	case discordgo.LogWarning:
		level = slog.LevelWarn
	case discordgo.LogInformational:
		level = slog.LevelDebug
	default:
		return // LogDebug and anything noisier
	}
	l := dgSink.Load()
	if l == nil || !l.Enabled(context.Background(), level) {
		return
	}
	msg := redact(strings.TrimSpace(fmt.Sprintf(format, sanitizeArgs(a)...)))
	attrs := []any{"source", "discordgo"}
	if pc, _, _, ok := runtime.Caller(caller + 1); ok {
		if fn := runtime.FuncForPC(pc); fn != nil {
			name := fn.Name()
			if i := strings.LastIndex(name, "/"); i >= 0 {
				name = name[i+1:]
			}
			attrs = append(attrs, "func", name)
		}
	}
	l.Log(context.Background(), level, msg, attrs...)
}

// sanitizeArgs makes discordgo's arguments redactable before formatting: raw payloads printed with
// %#v would come out as hex bytes, out of reach of redact, so bytes become strings, and an *Event
// (logged whole with %#v when Open reads an unexpected first packet, which after a RESUME can be a
// replayed INTERACTION_CREATE) is reduced to its op, sequence and type.
func sanitizeArgs(a []any) []any {
	out := make([]any, len(a))
	for i, v := range a {
		switch v := v.(type) {
		case *discordgo.Event:
			if v != nil {
				out[i] = eventSummary{op: v.Operation, seq: v.Sequence, typ: v.Type}
				continue
			}
		case discordgo.Event:
			out[i] = eventSummary{op: v.Operation, seq: v.Sequence, typ: v.Type}
			continue
		case json.RawMessage:
			out[i] = rawText(v)
			continue
		case []byte:
			out[i] = rawText(v)
			continue
		}
		out[i] = v
	}
	return out
}

// eventSummary prints a gateway event without its payload, whatever the verb.
type eventSummary struct {
	op  int
	seq int64
	typ string
}

func (e eventSummary) String() string {
	return fmt.Sprintf("Event{Op: %d, Seq: %d, Type: %q}", e.op, e.seq, e.typ)
}

func (e eventSummary) GoString() string { return e.String() }

// rawText prints bytes as plain text whatever the verb, so that redact sees the payload as it is.
type rawText []byte

func (r rawText) String() string   { return string(r) }
func (r rawText) GoString() string { return string(r) }
