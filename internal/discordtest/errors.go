package discordtest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Discord JSON error codes the fake answers with.
const (
	CodeUnknownChannel      = 10003
	CodeUnknownGuild        = 10004
	CodeUnknownMessage      = 10008
	CodeUnknownUser         = 10013
	CodeUnknownWebhook      = 10015
	CodeUnknownCommand      = 10063
	CodeUnknownInteraction  = 10062
	CodeTooLarge            = 40005
	CodeAlreadyAcknowledged = 40060
	CodeMissingAccess       = 50001
	CodeEmptyMessage        = 50006
	CodeCannotDMUser        = 50007
	CodeMissingPermissions  = 50013
	CodeInvalidWebhookToken = 50027
	CodeInvalidFormBody     = 50035
	CodeInvalidJSON         = 50109
	CodeMaxEditsOldMessage  = 30046
)

// apiError is an error answer in Discord's JSON error shape.
type apiError struct {
	status  int
	code    int
	message string
	errors  map[string]any // nested "errors" object of 50035, or nil
}

func errUnauthorized() *apiError {
	return &apiError{status: http.StatusUnauthorized, message: "401: Unauthorized"}
}

func errTooLarge() *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: CodeTooLarge, message: "Request entity too large"}
}

func errUnknownInteraction() *apiError {
	return &apiError{status: http.StatusNotFound, code: CodeUnknownInteraction, message: "Unknown interaction"}
}

func errUnknownWebhook() *apiError {
	return &apiError{status: http.StatusNotFound, code: CodeUnknownWebhook, message: "Unknown Webhook"}
}

func errInvalidWebhookToken() *apiError {
	return &apiError{status: http.StatusUnauthorized, code: CodeInvalidWebhookToken, message: "Invalid Webhook Token"}
}

func errUnknownMessage() *apiError {
	return &apiError{status: http.StatusNotFound, code: CodeUnknownMessage, message: "Unknown Message"}
}

func errUnknownChannel() *apiError {
	return &apiError{status: http.StatusNotFound, code: CodeUnknownChannel, message: "Unknown Channel"}
}

func errMissingAccess() *apiError {
	return &apiError{status: http.StatusForbidden, code: CodeMissingAccess, message: "Missing Access"}
}

func errNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, message: "404: Not Found"}
}

func errMethodNotAllowed() *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, message: "405: Method Not Allowed"}
}

func errInvalidJSON() *apiError {
	return &apiError{status: http.StatusBadRequest, code: CodeInvalidJSON, message: "The request body contains invalid JSON."}
}

func errEmptyMessage() *apiError {
	return &apiError{status: http.StatusBadRequest, code: CodeEmptyMessage, message: "Cannot send an empty message"}
}

func (e *apiError) body() map[string]any {
	b := map[string]any{"message": e.message, "code": e.code}
	if e.errors != nil {
		b["errors"] = e.errors
	}
	return b
}

// writeError answers with e. The answer never contains request headers.
func writeError(w http.ResponseWriter, e *apiError, bucket string) {
	b, _ := json.Marshal(e.body())
	setRateHeaders(w.Header(), bucket, time.Now())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// statusForCode is the HTTP status Discord uses with a JSON error code.
func statusForCode(code int) int {
	switch {
	case code == CodeInvalidWebhookToken:
		return http.StatusUnauthorized
	case code == CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case code >= 10001 && code < 20000:
		return http.StatusNotFound
	case code == CodeMissingAccess || code == CodeMissingPermissions || code == CodeCannotDMUser ||
		(code >= 20001 && code < 30000):
		return http.StatusForbidden
	default:
		return http.StatusBadRequest
	}
}

// defaultMessages are Discord's messages for the codes tests script most.
var defaultMessages = map[int]string{
	CodeUnknownChannel:      "Unknown Channel",
	CodeUnknownGuild:        "Unknown Guild",
	CodeUnknownMessage:      "Unknown Message",
	CodeUnknownUser:         "Unknown User",
	CodeUnknownWebhook:      "Unknown Webhook",
	CodeUnknownInteraction:  "Unknown interaction",
	CodeUnknownCommand:      "Unknown application command",
	CodeTooLarge:            "Request entity too large",
	CodeAlreadyAcknowledged: "Interaction has already been acknowledged.",
	CodeMissingAccess:       "Missing Access",
	CodeEmptyMessage:        "Cannot send an empty message",
	CodeCannotDMUser:        "Cannot send messages to this user",
	CodeMissingPermissions:  "Missing Permissions",
	CodeInvalidWebhookToken: "Invalid Webhook Token",
	CodeInvalidFormBody:     "Invalid Form Body",
	CodeInvalidJSON:         "The request body contains invalid JSON.",
	CodeMaxEditsOldMessage:  "Maximum number of edits to messages older than 1 hour reached. Try again later",
}

// writeFailure answers with a scripted Failure.
func writeFailure(w http.ResponseWriter, f Failure, bucket string, now time.Time) {
	status := f.Status
	switch {
	case status != 0:
	case f.RetryAfter > 0:
		status = http.StatusTooManyRequests
	case f.Code != 0:
		status = statusForCode(f.Code)
	default:
		status = http.StatusInternalServerError
	}
	h := w.Header()
	setRateHeaders(h, bucket, now)
	if status == http.StatusTooManyRequests {
		ra := f.RetryAfter
		h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(ra)), 10))
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(ra, 'f', 3, 64))
		h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(now.UnixMilli())/1000+ra, 'f', 3, 64))
		scope := f.Scope
		if scope == "" {
			scope = "user"
			if f.Global {
				scope = "global"
			}
		}
		h.Set("X-RateLimit-Scope", scope)
		if f.Global {
			h.Set("X-RateLimit-Global", "true")
		}
	}
	if f.Body != "" {
		h.Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	msg := f.Message
	if msg == "" {
		msg = defaultMessages[f.Code]
	}
	if msg == "" {
		if status == http.StatusTooManyRequests {
			msg = "You are being rate limited."
		} else {
			msg = fmt.Sprintf("%d: %s", status, http.StatusText(status))
		}
	}
	body := map[string]any{"message": msg, "code": f.Code}
	if status == http.StatusTooManyRequests {
		body["retry_after"] = f.RetryAfter
		body["global"] = f.Global
	}
	b, _ := json.Marshal(body)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// bucketFor derives a stable X-RateLimit-Bucket value from the route's
// top-level resource, as Discord keys its limits.
func bucketFor(method, route string) string {
	seg := strings.Split(strings.Trim(route, "/"), "/")
	key := method
	for i, s := range seg {
		if i <= 2 || !isSnowflake(s) {
			key += "/" + s
		} else {
			key += "/:id"
		}
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return strconv.FormatUint(h.Sum64(), 16)
}

func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// fieldErr is one entry of a 50035 Invalid Form Body answer.
type fieldErr struct {
	path    []string
	code    string
	message string
}

func ferr(path []string, code, format string, args ...any) fieldErr {
	return fieldErr{path: append([]string(nil), path...), code: code, message: fmt.Sprintf(format, args...)}
}

func sub(path []string, more ...string) []string {
	out := make([]string, 0, len(path)+len(more))
	out = append(out, path...)
	return append(out, more...)
}

// invalidForm builds Discord's 50035 answer with its nested "errors" object.
func invalidForm(errs []fieldErr) *apiError {
	root := map[string]any{}
	for _, fe := range errs {
		node := root
		for _, p := range fe.path {
			next, ok := node[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				node[p] = next
			}
			node = next
		}
		list, _ := node["_errors"].([]any)
		node["_errors"] = append(list, map[string]any{"code": fe.code, "message": fe.message})
	}
	return &apiError{status: http.StatusBadRequest, code: CodeInvalidFormBody, message: "Invalid Form Body", errors: root}
}
