package discordtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// HTTP interactions: with an Interactions Endpoint URL set (SetInteractionsEndpoint), Discord stops
// sending INTERACTION_CREATE on the gateway and POSTs each interaction to that URL instead, signed
// with the application's Ed25519 key (X-Signature-Ed25519 over X-Signature-Timestamp + body), and
// takes the HTTP answer as the interaction's first response: 200 with a callback object ({"type": 4,
// "data": …}, JSON or multipart), or 202 when the app answers through the callback endpoint instead.
// Anything else fails the interaction ("the application did not respond").

// httpAnswerTimeout is how long the fake waits for an HTTP answer without WithAckDeadline (Discord
// waits 3 s; tests under the race detector on a busy machine get more).
const httpAnswerTimeout = 10 * time.Second

// maxHTTPAnswer caps the answer the fake reads.
const maxHTTPAnswer = 32 << 20

// SetInteractionsEndpoint makes the fake deliver every interaction (SendCommand, SendCommands,
// SendComponent, Redeliver, SendPing) as a signed POST to endpointURL instead of the gateway, and
// process the answer as Discord does; "" goes back to the gateway. key signs the requests: its
// public half is what the bot must be configured with (DISCORD_PUBLIC_KEY), also shown as the
// application's verify_key.
func (s *Server) SetInteractionsEndpoint(endpointURL string, key ed25519.PrivateKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoint, s.endpointKey = endpointURL, key
	s.notifyLocked()
}

// Signature returns the X-Signature-Ed25519 header Discord sends with body at timestamp (Unix
// seconds, as in X-Signature-Timestamp): the hex Ed25519 signature of timestamp + body.
func Signature(key ed25519.PrivateKey, timestamp string, body []byte) string {
	msg := append([]byte(timestamp), body...)
	return hex.EncodeToString(ed25519.Sign(key, msg))
}

func (s *Server) endpointSet() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endpoint != ""
}

// verifyKeyLocked is the application's public key as hex: the endpoint key's, else a fixed one.
func (s *Server) verifyKeyLocked() string {
	if s.endpointKey != nil {
		return hex.EncodeToString(s.endpointKey.Public().(ed25519.PublicKey))
	}
	return randomHexFixed
}

func (s *Server) endpointJSONLocked() any {
	if s.endpoint == "" {
		return nil
	}
	return s.endpoint
}

// SendPing POSTs a PING (type 1) to the interactions endpoint, as Discord does when the endpoint URL
// is saved in the developer portal, and returns it with the bot's answer (HTTPStatus, HTTPResponse).
// Acknowledged reports 1 once the bot answered {"type": 1}.
func (s *Server) SendPing(ctx context.Context) (*Interaction, error) {
	if !s.endpointSet() {
		return nil, errors.New("discordtest: send ping: no interactions endpoint (SetInteractionsEndpoint)")
	}
	s.mu.Lock()
	id := s.snowflakeLocked()
	st := s.registerLocked(map[string]any{
		"id": id, "application_id": s.appID, "type": InteractionPing, "token": newToken(id), "version": 1,
		"user": s.userJSONLocked(DefaultUserID), "entitlements": []any{},
	}, false)
	s.mu.Unlock()
	return s.deliverHTTP(ctx, st)
}

// deliverAllHTTP delivers each interaction concurrently and returns them in order with the first
// error. Unlike the gateway, an interaction whose answer failed stays known (Interaction,
// Callbacks): it was delivered.
func (s *Server) deliverAllHTTP(ctx context.Context, sts []*interactionState) ([]*Interaction, error) {
	out := make([]*Interaction, len(sts))
	errs := make([]error, len(sts))
	var wg sync.WaitGroup
	for k, st := range sts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[k], errs[k] = s.deliverHTTP(ctx, st)
		}()
	}
	wg.Wait()
	var kept []*Interaction
	for _, i := range out {
		if i != nil {
			kept = append(kept, i)
		}
	}
	return kept, errors.Join(errs...)
}

// deliverHTTP POSTs one interaction's payload, signed, to the endpoint, waits for the answer and
// applies it as the interaction's callback. Webhook calls with its token wait until that is done.
// A request that could not be sent at all forgets the interaction (nil, error); one whose answer did
// not come, or was not a 200 or 202, leaves it failed (the token never works) and returns it with an
// error.
func (s *Server) deliverHTTP(ctx context.Context, st *interactionState) (*Interaction, error) {
	s.mu.Lock()
	endpoint, key, origin, deadline := s.endpoint, s.endpointKey, s.origin, s.ackDeadline
	done := make(chan struct{})
	st.inline = done
	st.DispatchedAt = s.clock()
	ts := strconv.FormatInt(s.clock().Unix(), 10)
	s.notifyLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if st.inline == done {
			st.inline = nil
		}
		close(done)
		s.notifyLocked()
		s.mu.Unlock()
	}()

	if deadline <= 0 {
		deadline = httpAnswerTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, endpoint, bytes.NewReader(st.Payload))
	if err != nil {
		return nil, fmt.Errorf("discordtest: deliver interaction: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	req.Header.Set("X-Signature-Timestamp", ts)
	req.Header.Set("X-Signature-Ed25519", Signature(key, ts, st.Payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if rctx.Err() != nil { // sent, but no answer in time: the interaction failed
			st.dead = true
			i := st.Interaction
			return &i, fmt.Errorf("discordtest: deliver interaction %s: no answer within %v: %w", st.ID, deadline, err)
		}
		s.forgetLocked(st)
		return nil, fmt.Errorf("discordtest: deliver interaction: %w", err)
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxHTTPAnswer))
	resp.Body.Close()

	s.mu.Lock()
	st.HTTPStatus, st.HTTPResponse = resp.StatusCode, body
	s.mu.Unlock()
	switch {
	case rerr != nil:
		err = fmt.Errorf("read the answer: %w", rerr)
	case resp.StatusCode == http.StatusAccepted: // the bot answers through the callback endpoint
	case resp.StatusCode == http.StatusOK:
		err = s.inlineCallback(st, endpoint, origin, resp.Header, body)
	default:
		err = fmt.Errorf("the bot answered HTTP %d", resp.StatusCode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		st.dead = !st.acked
	}
	i := st.Interaction
	if err != nil {
		return &i, fmt.Errorf("discordtest: interaction %s over HTTP: %w", st.ID, err)
	}
	return &i, nil
}

// inlineCallback applies an HTTP answer as the interaction's callback, with the checks of the
// callback endpoint, and records it in Callbacks (Route "/interactions/{id}/{token}/callback", as if
// POSTed there; it is not in Requests, which are the bot's own REST requests).
func (s *Server) inlineCallback(st *interactionState, endpoint, origin string, h http.Header, body []byte) error {
	u, _ := url.Parse(endpoint)
	req := Request{
		Method: http.MethodPost,
		Route:  "/interactions/" + st.ID + "/" + st.Token + "/callback",
		Query:  url.Values{},
		Header: h.Clone(),
		Body:   body,
		At:     s.clock(),
	}
	if u != nil {
		req.Path = u.Path
	}
	js, files, e := parseBody(h.Get("Content-Type"), body)
	req.JSON, req.Files = js, files
	if e == nil {
		_, _, e = s.handleCallback(st.ID, st.Token, &req, origin)
	}
	req.Status = http.StatusOK
	if e != nil {
		req.Status = e.status
		req.Response = []byte(e.message)
	}
	s.mu.Lock()
	st.callbacks = append(st.callbacks, req)
	s.notifyLocked()
	s.mu.Unlock()
	if e != nil {
		return fmt.Errorf("the answer was refused: %d %s", e.status, e.message)
	}
	return nil
}

// awaitInline holds a webhook call (seg: /webhooks/{app}/{token}/…) while the HTTP answer of its
// interaction is being processed.
func (s *Server) awaitInline(ctx context.Context, seg []string) {
	if len(seg) < 3 {
		return
	}
	s.mu.Lock()
	var ch chan struct{}
	if st := s.byToken[seg[2]]; st != nil {
		ch = st.inline
	}
	s.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}
