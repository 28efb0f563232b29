// Package redact renders errors and text from Discord calls without their secrets: interaction tokens
// travel in URL paths (/interactions/{id}/{token}/callback, /webhooks/{app}/{token}/…), which *url.Error
// and *discordgo.RateLimitError strings repeat; discordgo's *RESTError keeps the whole request, its
// Authorization header included; and discordgo's own log lines can carry the bot token and gateway
// payloads. Token-shaped text becomes "[token]", every other secret "[REDACTED]".
package redact

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

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

// Register adds secret to the process-wide list of exact strings that Text (and so Error) replaces
// with "[REDACTED]" wherever they appear, such as the bot token. Strings shorter than 4 bytes are
// ignored (too short to redact without mangling ordinary text); registering a string twice is a no-op.
func Register(secret string) {
	if len(secret) < 4 {
		return
	}
	secrets.Lock()
	defer secrets.Unlock()
	for _, x := range secrets.list {
		if x == secret {
			return
		}
	}
	secrets.list = append(secrets.list, secret)
}

// Text removes anything that looks like a token from s: the extra strings given (an interaction's
// token) become "[token]", the registered secrets "[REDACTED]"; then Authorization values
// ("Bot …", "Bearer …"), token path segments (/interactions/{id}/{token}, /webhooks/{app}/{token}),
// JSON "token" fields, and text shaped like an interaction token or a bot token. Extra strings shorter
// than 4 bytes are ignored.
func Text(s string, extra ...string) string {
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

// Error renders err for a log line or a user-facing report without secrets: a nil err is "<nil>",
// the text goes through Text, and a *discordgo.RESTError (which keeps the request, its Authorization
// header included) is shown only as "HTTP <status>: code <code> <message> [field errors]", in place
// when wrapped (the wrappers' words are kept). An Error method that panics (a hand-built RESTError
// without a Response does) does not escape: the REST error's short form, or
// "unprintable error of type T", is returned instead.
func Error(err error) string {
	if err == nil {
		return "<nil>"
	}
	full, ok := errorString(err)
	var re *discordgo.RESTError
	if errors.As(err, &re) && re != nil {
		short := formatRESTError(re)
		if !ok || err == error(re) || strings.Contains(full, "(PANIC=") {
			return Text(short)
		}
		// Wrapped: keep the wrapper's words, show the REST error in its short form.
		if inner, ok := errorString(re); ok && inner != "" {
			full = strings.Replace(full, inner, short, 1)
		}
		return Text(full)
	}
	if !ok {
		return fmt.Sprintf("unprintable error of type %T", err)
	}
	return Text(full)
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

// Wrap returns err with what was being done (op) in front, printing err through Error, so that neither
// the message nor a log line of it carries a token, while errors.Is and errors.As still see err.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &wrapped{op: op, err: err}
}

type wrapped struct {
	op  string
	err error
}

func (e *wrapped) Error() string { return e.op + ": " + Error(e.err) }
func (e *wrapped) Unwrap() error { return e.err }
