package metrics

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// roundTripFunc lets a function be an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// transport is a counting RoundTripper that keeps the one underneath reachable for
// CloseIdleConnections (http.Client.CloseIdleConnections looks for it on its Transport).
type transport struct {
	roundTripFunc
	next http.RoundTripper
}

func (t transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func orDefault(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		return http.DefaultTransport
	}
	return next
}

// ViggleTransport returns a RoundTripper that counts every request to Viggle in
// viggle_bot_viggle_requests_total{endpoint, status} and sends it through next (nil:
// http.DefaultTransport) unchanged, the same *http.Request, so that httptrace hooks of the caller
// (the client's GotConn, which decides whether a failed POST may have been sent) still fire. A
// redirect's every hop is counted.
func (m *Metrics) ViggleTransport(next http.RoundTripper) http.RoundTripper {
	next = orDefault(next)
	return transport{next: next, roundTripFunc: func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		status := "error"
		if err == nil {
			status = statusLabel(resp.StatusCode)
		}
		m.viggle.WithLabelValues(ViggleEndpoint(req.Method, req.URL.EscapedPath()), status).Inc()
		return resp, err
	}}
}

// viggleResources are the first path segments after /api/ of Viggle's endpoints, each with the second
// segments that are words rather than ids.
var viggleResources = map[string]map[string]bool{
	"render":     {},
	"characters": {"preprocess": true},
	"scenes":     {"import": true},
	"credits":    {},
}

// ViggleEndpoint names a request for a label: its method and the template of its path from "/api/"
// on, ids replaced by {id} ("GET /api/render/{id}", "POST /api/characters/preprocess"); "GET asset"
// for a path outside /api/ (a video's link on Viggle's CDN), and "<method> /api/other" for an API path
// it does not know. escapedPath is the URL's escaped path, so an id with an escaped slash stays one
// segment. The value never holds an id or a query.
func ViggleEndpoint(method, escapedPath string) string {
	method = methodLabel(method)
	i := strings.Index(escapedPath, "/api/")
	if i < 0 {
		return method + " asset"
	}
	segs := strings.Split(strings.TrimSuffix(escapedPath[i+len("/api/"):], "/"), "/")
	words, ok := viggleResources[segs[0]]
	if !ok || len(segs) > 3 {
		return method + " /api/other"
	}
	tmpl := "/api/" + segs[0]
	if len(segs) >= 2 {
		if words[segs[1]] {
			tmpl += "/" + segs[1]
		} else {
			tmpl += "/{id}"
		}
	}
	if len(segs) == 3 {
		if segs[0] != "render" || segs[2] != "download" || words[segs[1]] {
			return method + " /api/other"
		}
		tmpl += "/download"
	}
	return method + " " + tmpl
}

// methodLabel is an HTTP method for a label: one of the standard ones, else "OTHER".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	case "":
		return http.MethodGet // net/http's meaning of an empty method
	}
	return "OTHER"
}

// statusLabel is an HTTP status for a label: its three digits, or "other" outside 100–599.
func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}

// maxCodes caps the distinct values of discord_rest_errors_total's code label (Discord has a few
// hundred codes; a proxy answering with anything must not grow the registry): later new codes count
// as "other".
const maxCodes = 100

// errorBodyLimit is how much of an error answer is read to find its code; the rest stays unread for
// the caller.
const errorBodyLimit = 64 << 10

// DiscordTransport returns a RoundTripper that counts Discord's REST errors in
// viggle_bot_discord_rest_errors_total{code} (see discordCode and codeLabel) and sends every request
// through next (nil:
// http.DefaultTransport). For an answer of status 400 or more it reads the JSON body's "code" (up to
// errorBodyLimit bytes) and gives the caller a body that yields the same bytes, so discordgo still
// decodes the error; other answers pass untouched.
func (m *Metrics) DiscordTransport(next http.RoundTripper) http.RoundTripper {
	next = orDefault(next)
	return transport{next: next, roundTripFunc: func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			if req.Context().Err() == nil { // a call abandoned by its caller is not Discord's error
				m.discordErrs.WithLabelValues("network").Inc()
			}
			return resp, err
		}
		if resp.StatusCode < 400 {
			return resp, nil
		}
		code := ""
		if resp.Body != nil && resp.Body != http.NoBody {
			head, rerr := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
			rest := io.Reader(resp.Body)
			if rerr != nil {
				rest = errReader{rerr}
			}
			resp.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(head), rest), Closer: resp.Body}
			code = discordCode(head)
		}
		m.discordErrs.WithLabelValues(m.codeLabel(code, resp.StatusCode)).Inc()
		return resp, nil
	}}
}

// discordCode is the "code" of a Discord error body: "" when it has none, is not JSON, or is 0 (Discord's
// "general error", also on its 429s, which says less than the status).
func discordCode(body []byte) string {
	var v struct {
		Code json.Number `json:"code"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	n, err := strconv.ParseInt(string(v.Code), 10, 64)
	if err != nil || n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// codeLabel is the label of a Discord error: its code, "http_<status>" without one, and "other" once
// maxCodes distinct codes were seen.
func (m *Metrics) codeLabel(code string, status int) string {
	if code == "" {
		return "http_" + statusLabel(status)
	}
	m.codesMu.Lock()
	defer m.codesMu.Unlock()
	if !m.codes[code] {
		if len(m.codes) >= maxCodes {
			return "other"
		}
		m.codes[code] = true
	}
	return code
}

type readCloser struct {
	io.Reader
	io.Closer
}

// errReader returns err once the bytes before it were read: the caller sees the read error it would
// have seen without us.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
