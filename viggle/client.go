// Package viggle is an HTTP client for the /api edition of the Viggle REST API: it creates, polls, cancels and
// downloads renders (Multi-Character Render included), imports template scenes and follows them, preprocesses
// characters from image URLs and follows them, and reads the credit balance.
//
// Creates (CreateRender, ImportScene, PreprocessCharacter) are never retried: Viggle documents no idempotency
// key, so a POST that may have reached Viggle is reported as ErrOutcomeUnknown instead of being sent again.
// Status polls (GetRender, GetScene, GetCharacter, Credits), cancels and downloads are retried with capped,
// jittered backoff. The API key never appears in error strings.
package viggle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is the origin of Viggle's API; every path starts with /api/.
const DefaultBaseURL = "https://apis.viggle.ai"

// defaultUserAgent is sent when WithUserAgent is not given.
const defaultUserAgent = "viggle-bot (+https://github.com/viggle-bot/viggle-bot)"

// maxErrorBody caps how much of an error (or JSON) body is read.
const maxErrorBody = 1 << 20

// Limiter paces requests to the Viggle API. *rate.Limiter (golang.org/x/time/rate) satisfies it.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Client talks to Viggle's /api edition. It is safe for concurrent use. Create it with NewClient.
type Client struct {
	apiKey    string // never printed; see String
	base      *url.URL
	baseStr   string // base URL without trailing slash
	hc        *http.Client
	userAgent string
	limiter   Limiter
	retry     RetryPolicy
}

// Option configures a Client in NewClient.
type Option func(*Client) error

// NewClient returns a Client for the given API key. The key may be empty (for a mock server): then no
// Authorization header is sent. Options are validated; all their errors are returned together.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	if strings.ContainsAny(apiKey, "\r\n") {
		return nil, errors.New("viggle: new client: API key contains a line break")
	}
	c := &Client{
		apiKey:    apiKey,
		userAgent: defaultUserAgent,
		retry:     RetryPolicy{}.withDefaults(),
	}
	var errs []error
	if err := WithBaseURL(DefaultBaseURL)(c); err != nil {
		errs = append(errs, err)
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("viggle: new client: %w", err)
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient()
	}
	// Use a shallow copy so the caller's client is not modified, with a redirect policy that keeps the key on
	// the API origin only.
	hc := *c.hc
	hc.CheckRedirect = c.checkRedirect(c.hc.CheckRedirect)
	c.hc = &hc
	return c, nil
}

// ParseBaseURL checks an API base URL: an absolute http or https URL with a host and without query,
// fragment or user info; an optional path prefix is kept without its trailing slash. Its errors quote the
// URL without user info, query or fragment, so a key pasted into it is not repeated.
func ParseBaseURL(raw string) (*url.URL, error) {
	p, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("base URL %q: not a URL", stripURL(raw))
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return nil, fmt.Errorf("base URL %q: scheme must be http or https", stripURL(raw))
	}
	if p.Host == "" {
		return nil, fmt.Errorf("base URL %q: no host", stripURL(raw))
	}
	if p.User != nil || p.RawQuery != "" || p.ForceQuery || p.Fragment != "" {
		return nil, fmt.Errorf("base URL %q: must not have user info, query or fragment", stripURL(raw))
	}
	p.Path = strings.TrimRight(p.Path, "/")
	p.RawPath = ""
	return p, nil
}

// WithBaseURL sets the API origin (optionally with a path prefix), e.g. a fake server's URL in tests; see
// ParseBaseURL for what it accepts.
func WithBaseURL(u string) Option {
	return func(c *Client) error {
		p, err := ParseBaseURL(u)
		if err != nil {
			return err
		}
		c.base = p
		c.baseStr = p.String()
		return nil
	}
}

// WithHTTPClient sets the HTTP client. Its CheckRedirect, if any, still runs; the Client adds its own rule that
// drops the Authorization header once a redirect leaves the API origin. Set timeouts on the Transport rather than
// Client.Timeout, which would also cut long downloads; every call takes a context.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("HTTP client is nil")
		}
		c.hc = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(ua) == "" {
			return errors.New("user agent is empty")
		}
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("user agent contains a line break")
		}
		c.userAgent = ua
		return nil
	}
}

// WithLimiter makes every HTTP attempt to the Viggle API (retries and the API calls of Download included) wait on
// l first. Requests to the CDN that serves finished videos do not wait.
func WithLimiter(l Limiter) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("limiter is nil")
		}
		c.limiter = l
		return nil
	}
}

// WithRetryPolicy sets the retry policy of status polls, cancels and downloads. Zero fields take defaults;
// negative ones are an error.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if err := p.validate(); err != nil {
			return err
		}
		c.retry = p.withDefaults()
		return nil
	}
}

// String describes the client without its API key.
func (c Client) String() string {
	key := "none"
	if c.apiKey != "" {
		key = "[REDACTED]"
	}
	return fmt.Sprintf("viggle.Client{base: %s, key: %s}", c.baseStr, key)
}

// GoString is String, so %#v does not print the key either.
func (c Client) GoString() string { return c.String() }

// defaultHTTPClient follows reliability.md §4: bounded connect and header waits, no overall timeout (calls
// carry contexts; downloads may be long) and no proxy from the environment.
func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: DefaultTransport()}
}

// DefaultTransport returns a new transport as the default client has (bounded dial, TLS handshake and
// wait for headers, no proxy from the environment), for a caller that wraps it in its own client
// (WithHTTPClient) rather than replace it.
func DefaultTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
	}
}

// checkRedirect wraps the caller's redirect policy (or Go's default of 10 redirects). A redirect of a POST is
// not followed (the 3xx is returned), so a create is never re-sent elsewhere. Once any hop leaves the API origin
// (scheme, host and port), Authorization is removed — Go itself keeps it for another port of the same host.
// Referer is removed too, as it may carry a signed URL.
func (c *Client) checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && via[0].Method == http.MethodPost {
			return http.ErrUseLastResponse
		}
		left := !c.isAPIOrigin(req.URL)
		for _, v := range via {
			if !c.isAPIOrigin(v.URL) {
				left = true
			}
		}
		if left {
			req.Header.Del("Authorization")
		}
		req.Header.Del("Referer")
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// isAPIOrigin reports whether u has the scheme, host and port of the base URL.
func (c *Client) isAPIOrigin(u *url.URL) bool {
	return u != nil && strings.EqualFold(u.Scheme, c.base.Scheme) &&
		strings.EqualFold(u.Hostname(), c.base.Hostname()) && port(u) == port(c.base)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// apiURL joins the base URL and a path whose variable parts are already escaped.
func (c *Client) apiURL(escapedPath string) string {
	return c.baseStr + escapedPath
}

// renderPath is /api/render/{id} with the opaque id escaped.
func renderPath(jobID string) string {
	return "/api/render/" + url.PathEscape(jobID)
}

// newRequest builds a request. API requests carry the bearer token (when there is a key) and ask for JSON; others
// (the CDN) carry no credentials.
func (c *Client) newRequest(ctx context.Context, method, rawURL string, body io.Reader, api bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, sanitizeErr(err)
	}
	if api && c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// errLimiter marks a limiter failure: the request was not sent, and retrying will not help.
type limiterError struct{ err error }

func (e *limiterError) Error() string { return "rate limiter: " + e.err.Error() }
func (e *limiterError) Unwrap() error { return e.err }

// transportError marks a failure to get or read a response: worth another attempt for safe calls.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// send performs one HTTP attempt: it waits on the limiter (for API requests), then sends. Errors have their URLs
// stripped of query strings.
func (c *Client) send(req *http.Request, limited bool) (*http.Response, error) {
	if limited && c.limiter != nil {
		if err := c.limiter.Wait(req.Context()); err != nil {
			return nil, &limiterError{err}
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &transportError{sanitizeErr(err)}
	}
	return resp, nil
}

// readBody reads at most limit bytes of a body; a longer body is an error.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, &transportError{sanitizeErr(err)}
	}
	if int64(len(b)) > limit {
		return b[:limit], fmt.Errorf("response body larger than %d bytes", limit)
	}
	return b, nil
}

// closeBody drains a little of the body (so the connection can be reused) and closes it.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// checkResponse returns nil for a 2xx answer, else an *APIError decoded from the (limited) body. It does not
// close the body.
func (c *Client) checkResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := decodeAPIError(resp.StatusCode, resp.Header, body)
	e.redact(c.apiKey)
	return e
}
