package viggle

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors of the creates (CreateRender, ImportScene, PreprocessCharacter), usable with errors.Is. Exactly one of
// them is in the chain of a create's error, unless Viggle refused it: a 4xx with a decodable error body, an *APIError alone. A 5xx or a 4xx
// whose body is not one of Viggle's error envelopes is ErrOutcomeUnknown with the *APIError in its chain (its
// status stays visible).
var (
	// ErrNotSent means the request certainly did not reach Viggle (invalid request, limiter or context done
	// before a connection was obtained, DNS or dial error): it is safe to try again.
	ErrNotSent = errors.New("viggle: request not sent")
	// ErrOutcomeUnknown means the request may have reached Viggle but no usable answer came (a timeout or reset
	// after a connection was obtained, a 5xx, a 4xx without a decodable error, a 2xx whose body is unreadable or
	// has no job_id, a redirect). The render
	// may exist and may be charged: it must not be resubmitted automatically.
	ErrOutcomeUnknown = errors.New("viggle: request outcome unknown")
)

// maxErrorText is the longest message an APIError prints.
const maxErrorText = 200

// APIError is an error answer from Viggle (or from the CDN serving its videos).
type APIError struct {
	HTTPStatus int
	Code       string // Viggle's error_code, e.g. CS-UORC01-008; "" when none
	Message    string
	Action     string        // Viggle's hint on what to do, if any
	RetryAfter time.Duration // parsed Retry-After header, if any (not capped)
	// Decoded says that the body was one of Viggle's JSON error envelopes (with a code or a message),
	// not a proxy's page or an unreadable body: only then is a 4xx to a create a refusal for sure.
	Decoded bool
}

// Error returns e.g. `viggle: HTTP 402 CS-UORC01-008: Insufficient credits`. The message is truncated and
// stripped of unprintable characters.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("viggle: HTTP ")
	b.WriteString(strconv.Itoa(e.HTTPStatus))
	if code := cleanText(e.Code, 64); code != "" {
		b.WriteString(" ")
		b.WriteString(code)
	}
	msg := cleanText(e.Message, maxErrorText)
	if msg == "" {
		msg = http.StatusText(e.HTTPStatus)
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	return b.String()
}

// Temporary reports whether the request may succeed later: HTTP 429 or 5xx.
func (e *APIError) Temporary() bool {
	return e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus >= 500
}

// redact removes the API key from the fields taken from the body (a server may echo it back).
func (e *APIError) redact(key string) {
	e.Code = redactKey(e.Code, key)
	e.Message = redactKey(e.Message, key)
	e.Action = redactKey(e.Action, key)
}

// TooLargeError is returned by Download when the file is larger than the caller's limit.
type TooLargeError struct {
	Size int64 // announced size in bytes; -1 when unknown (no Content-Length)
	Max  int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("viggle: download larger than the limit of %d bytes", e.Max)
	}
	return fmt.Sprintf("viggle: download of %d bytes is larger than the limit of %d bytes", e.Size, e.Max)
}

// opError adds what was being done to an error and, for creates, the ErrNotSent/ErrOutcomeUnknown verdict. Its
// message is built once, redacted of the API key as a last line of defence (the key itself is not kept, so %#v
// cannot print it).
type opError struct {
	msg  string
	kind error // ErrNotSent, ErrOutcomeUnknown or nil
	err  error
}

func (e *opError) Error() string { return e.msg }

func (e *opError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

// wrap returns err with the operation's context (op, e.g. `get render "job_1"`); nil stays nil.
func (c *Client) wrap(op string, kind, err error) error {
	if err == nil && kind == nil {
		return nil
	}
	var b strings.Builder
	b.WriteString("viggle: ")
	b.WriteString(op)
	switch kind {
	case ErrNotSent:
		b.WriteString(": not sent")
	case ErrOutcomeUnknown:
		b.WriteString(": outcome unknown")
	}
	if err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(err.Error(), "viggle: "))
	}
	return &opError{msg: redactKey(b.String(), c.apiKey), kind: kind, err: err}
}

// redactKey replaces the key in s. Very short keys are not redacted (they would match ordinary text); real keys
// are long.
func redactKey(s, key string) string {
	if len(key) < 8 || !strings.Contains(s, key) {
		return s
	}
	return strings.ReplaceAll(s, key, "[REDACTED]")
}

// sanitizeErr strips query strings, fragments and user info from the URL of a *url.Error, as signed CDN URLs
// carry their signature in the query.
func sanitizeErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: stripURL(ue.URL), Err: ue.Err}
	}
	return err
}

// stripURL removes user info, query and fragment from a URL for use in messages.
func stripURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				raw = raw[:j+3] + raw[i+1:]
			}
		}
		return raw
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}

// errorEnvelope covers the documented error shapes (viggle-api.md §10).
type errorEnvelope struct {
	Detail    json.RawMessage `json:"detail"`
	ErrorCode json.RawMessage `json:"error_code"`
	Code      json.RawMessage `json:"code"`
	Message   json.RawMessage `json:"message"`
	Error     json.RawMessage `json:"error"`
	Action    json.RawMessage `json:"action"`
}

// decodeAPIError turns an error answer into an *APIError. It tries, in order: {"detail": {error_code, message,
// action}}, {"detail": "text"}, top-level {error_code, message} (or "error"), and otherwise keeps a cleaned,
// truncated text of the body.
func decodeAPIError(status int, h http.Header, body []byte) *APIError {
	e := &APIError{HTTPStatus: status}
	if ra, ok := parseRetryAfter(h.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = ra
	}
	var env errorEnvelope
	if json.Unmarshal(body, &env) == nil && (env.Detail != nil || env.ErrorCode != nil || env.Message != nil || env.Error != nil || env.Code != nil) {
		// "detail" as an object.
		var d errorEnvelope
		if len(env.Detail) > 0 && env.Detail[0] == '{' && json.Unmarshal(env.Detail, &d) == nil {
			e.Code = firstText(d.ErrorCode, d.Code)
			e.Message = firstText(d.Message, d.Error, d.Detail)
			e.Action = firstText(d.Action)
			if e.Code != "" || e.Message != "" {
				e.Decoded = true
				return e
			}
		}
		// "detail" as a string (or a list, as FastAPI's validation errors are).
		if msg := firstText(env.Detail); msg != "" {
			e.Message = msg
			e.Code = firstText(env.ErrorCode, env.Code)
			e.Action = firstText(env.Action)
			e.Decoded = true
			return e
		}
		// Top-level fields; "error" may be a string or an object.
		var inner errorEnvelope
		if len(env.Error) > 0 && env.Error[0] == '{' && json.Unmarshal(env.Error, &inner) == nil {
			e.Code = firstText(env.ErrorCode, env.Code, inner.ErrorCode, inner.Code)
			e.Message = firstText(env.Message, inner.Message, inner.Error)
			e.Action = firstText(env.Action, inner.Action)
		} else {
			e.Code = firstText(env.ErrorCode, env.Code)
			e.Message = firstText(env.Message, env.Error)
			e.Action = firstText(env.Action)
		}
		if e.Code != "" || e.Message != "" {
			e.Decoded = true
			return e
		}
	}
	e.Message = plainText(body)
	return e
}

// firstText returns the first value that is a non-empty JSON string (or number), as text. A list of
// FastAPI-style {"msg": …} objects yields their messages.
func firstText(vals ...json.RawMessage) string {
	for _, v := range vals {
		if s := jsonText(v); s != "" {
			return s
		}
	}
	return ""
}

func jsonText(v json.RawMessage) string {
	if len(v) > 0 && v[0] == '[' { // FastAPI-style validation errors: [{"msg": …}, …]
		var items []struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(v, &items) == nil {
			var msgs []string
			for _, it := range items {
				if it.Msg != "" {
					msgs = append(msgs, it.Msg)
				}
			}
			return strings.Join(msgs, "; ")
		}
		return ""
	}
	return strings.TrimSpace(jsonString(v))
}

var htmlTag = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>`)

// plainText makes a short, printable message of a non-JSON body (e.g. a proxy's HTML or text 502 page).
func plainText(body []byte) string {
	if len(body) > 4096 {
		body = body[:4096]
	}
	s := string(body)
	if strings.HasPrefix(strings.TrimSpace(s), "<") {
		s = htmlTag.ReplaceAllString(s, " ")
	}
	return cleanText(s, maxErrorText)
}

// cleanText keeps printable characters, collapses whitespace and truncates to about max bytes.
func cleanText(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > max {
			return b.String() + "…"
		}
		b.WriteRune(r)
	}
	return b.String()
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date. A date in the past is zero.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		if secs > maxSecs {
			secs = maxSecs
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}
