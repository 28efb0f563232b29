package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/redact"
)

// The discordgo.Logger package variable is process-wide: it is set once, and sends each line to the
// logger of the most recently built Bot.
var (
	dgLoggerOnce sync.Once
	dgSink       atomic.Pointer[slog.Logger]
)

// installDiscordgoLogger routes discordgo's logging into l, redacting token (and every other token
// registered in this process) from every line.
func installDiscordgoLogger(l *slog.Logger, token string) {
	redact.Register(token)
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
	msg := redact.Text(strings.TrimSpace(fmt.Sprintf(format, sanitizeArgs(a)...)))
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
