package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// discordHost is the host of discordgo's fixed REST endpoints ("discord.com"). Only requests to exactly
// this host are rewritten; cdn.discordapp.com, gateway.discord.gg and any subdomain pass unchanged.
var discordHost = func() string {
	u, err := url.Parse(discordgo.EndpointDiscord)
	if err != nil || u.Hostname() == "" {
		return "discord.com"
	}
	return strings.ToLower(u.Hostname())
}()

// ParseOrigin validates the origin that replaces https://discord.com, such as "https://discord.com" or
// "http://127.0.0.1:1234": a scheme (http or https) and a host, with no path (a lone "/" is tolerated),
// query, fragment or user info. Its errors quote only the scheme, host and path, so a token pasted
// into the URL is not repeated.
func ParseOrigin(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, errors.New("bot: API URL: not a URL")
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("bot: API URL %q: scheme must be http or https", shown)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("bot: API URL %q: no host", shown)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("bot: API URL %q: give an origin only (no path, query, fragment or user info), such as https://discord.com", shown)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// rewriteTransport sends every request for https://discord.com to another origin, keeping path and
// query. discordgo computes its endpoints once at init, so this is the only per-session way to point
// it elsewhere (a REST proxy or a fake). It never logs anything, headers least of all.
type rewriteTransport struct {
	scheme, host string // the replacement origin
	next         http.RoundTripper
}

// newRewriteTransport returns a RoundTripper that rewrites discord.com requests to origin and sends
// everything through next. With origin https://discord.com it passes every request through as is.
func newRewriteTransport(origin *url.URL, next http.RoundTripper) *rewriteTransport {
	return &rewriteTransport{scheme: origin.Scheme, host: origin.Host, next: next}
}

// RoundTrip implements http.RoundTripper. It never mutates req: a rewritten request is a clone.
func (t *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || !strings.EqualFold(req.URL.Hostname(), discordHost) {
		return t.next.RoundTrip(req)
	}
	if req.URL.Scheme == t.scheme && strings.EqualFold(req.URL.Host, t.host) {
		return t.next.RoundTrip(req) // the origin is discord.com itself
	}
	r2 := req.Clone(req.Context()) // deep-copies URL and headers; the body is shared, as it must be
	r2.URL.Scheme = t.scheme
	r2.URL.Host = t.host
	r2.Host = "" // the Host header follows the new URL
	return t.next.RoundTrip(r2)
}

// CloseIdleConnections closes the idle connections of the transport underneath.
func (t *rewriteTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// errConnsBlocked is returned by connTracker's dialer while the bot aborts a start-up.
var errConnsBlocked = errors.New("bot: shutting down, no new connections")

// connTracker remembers every TCP connection the session dialled (REST and gateway) so that Run can
// abort calls discordgo makes without a context (gateway discovery, the websocket handshake, the wait
// for HELLO and READY inside Session.Open) and leave no connection behind at shutdown.
type connTracker struct {
	dialer *net.Dialer

	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	blocked bool
}

func newConnTracker() *connTracker {
	return &connTracker{
		dialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		conns:  make(map[*trackedConn]struct{}),
	}
}

// DialContext dials and tracks the connection.
func (t *connTracker) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	t.mu.Lock()
	blocked := t.blocked
	t.mu.Unlock()
	if blocked {
		return nil, errConnsBlocked
	}
	c, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.blocked {
		c.Close()
		return nil, errConnsBlocked
	}
	t.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every tracked connection; with block set, new dials fail until unblock.
func (t *connTracker) closeAll(block bool) {
	t.mu.Lock()
	if block {
		t.blocked = true
	}
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (t *connTracker) unblock() {
	t.mu.Lock()
	t.blocked = false
	t.mu.Unlock()
}

type trackedConn struct {
	net.Conn
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

// maxIdleConns is how many idle connections the session's client keeps, per host and in all (90 s
// each at most). Discord itself answers over HTTP/2, one connection for everything; over HTTP/1.1
// (DISCORD_API_URL pointing at a proxy or a fake) a burst of /render needs one connection per
// acknowledgement, and keeping them spares a burst soon after another dialling them all again
// (BENCHMARKS.md).
const maxIdleConns = 128

// newHTTPTransport is the transport under the rewriting RoundTripper: bounded waits for connecting and
// for response headers, no limit on the body (uploads are bounded by the client's overall timeout).
func newHTTPTransport(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          maxIdleConns,
		MaxIdleConnsPerHost:   maxIdleConns,
		ForceAttemptHTTP2:     true,
	}
}
