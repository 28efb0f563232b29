package viggle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
)

// created is the tolerant decoding of a create's answer: createdID is the id it must carry.
type created interface {
	json.Unmarshaler
	createdID() string
}

// create sends a request that may make something at Viggle and spend credits (a render, a scene import, a
// character): once, never retried, as Viggle documents no idempotency key. It decodes a 2xx answer into out
// (after unwrapping a {"data": …} wrapper lacking every one of idKeys, the keys an answer names its id with).
// Its errors are wrapped with op and classified like CreateRender's: an *APIError alone for a decodable 4xx (a
// refusal), ErrNotSent before a connection was obtained, ErrOutcomeUnknown after (a cut, a 3xx, a 5xx, an
// undecodable 4xx, a 2xx that is unreadable or names no id).
//
// The verdict comes from net/http/httptrace: a failure before the transport reported GotConn is ErrNotSent, after
// it ErrOutcomeUnknown.
func (c *Client) create(ctx context.Context, op, path string, body []byte, contentType string, out created, idKeys ...string) error {
	// Once a connection is obtained, bytes may reach Viggle; any failure after that is "outcome unknown".
	var gotConn atomic.Bool
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})
	hreq, err := c.newRequest(tctx, http.MethodPost, c.apiURL(path), bytes.NewReader(body), true)
	if err != nil {
		return c.wrap(op, ErrNotSent, err)
	}
	hreq.Header.Set("Content-Type", contentType)
	// The transport must never replay this request: it does not for a POST without an Idempotency-Key header,
	// which is deliberately not set.
	if err := ctx.Err(); err != nil {
		return c.wrap(op, ErrNotSent, err)
	}
	resp, err := c.send(hreq, true)
	if err != nil {
		var le *limiterError
		if errors.As(err, &le) || !gotConn.Load() {
			return c.wrap(op, ErrNotSent, err)
		}
		return c.wrap(op, ErrOutcomeUnknown, err)
	}
	defer closeBody(resp)
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		// Redirects of a create are not followed; a 303 "see other" could mean it was created.
		return c.wrap(op, ErrOutcomeUnknown, c.checkResponse(resp))
	}
	if err := c.checkResponse(resp); err != nil {
		// Only a 4xx with Viggle's own error body says that nothing was created; a 5xx (or a proxy's page)
		// may come after the thing was made.
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.HTTPStatus >= 400 && apiErr.HTTPStatus <= 499 && apiErr.Decoded {
			return c.wrap(op, nil, err)
		}
		return c.wrap(op, ErrOutcomeUnknown, err)
	}
	b, err := readBody(resp.Body, maxErrorBody)
	if err != nil {
		return c.wrap(op, ErrOutcomeUnknown, fmt.Errorf("HTTP %d: read body: %w", resp.StatusCode, err))
	}
	if b, err = unwrapData(b, idKeys...); err != nil {
		return c.wrap(op, ErrOutcomeUnknown, fmt.Errorf("HTTP %d: %w", resp.StatusCode, &malformedError{err}))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return c.wrap(op, ErrOutcomeUnknown, fmt.Errorf("HTTP %d: %w", resp.StatusCode, &malformedError{err}))
	}
	if strings.TrimSpace(out.createdID()) == "" {
		return c.wrap(op, ErrOutcomeUnknown, fmt.Errorf("HTTP %d: %w", resp.StatusCode,
			&malformedError{fmt.Errorf("no %s in the answer", strings.Join(idKeys, " or "))}))
	}
	return nil
}

// getJSON is one attempt of a safe GET of an API path: it decodes a 2xx answer into out (after unwrapping a
// {"data": …} wrapper lacking every one of keys). Errors are unwrapped, for withRetry: an *APIError, a
// transportError or a malformedError.
func (c *Client) getJSON(ctx context.Context, path string, out json.Unmarshaler, keys ...string) error {
	req, err := c.newRequest(ctx, http.MethodGet, c.apiURL(path), nil, true)
	if err != nil {
		return err
	}
	resp, err := c.send(req, true)
	if err != nil {
		return err
	}
	defer closeBody(resp)
	if err := c.checkResponse(resp); err != nil {
		return err
	}
	b, err := readBody(resp.Body, maxErrorBody)
	if err != nil {
		var te *transportError
		if errors.As(err, &te) {
			return err
		}
		return &malformedError{err}
	}
	if b, err = unwrapData(b, keys...); err != nil {
		return &malformedError{err}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &malformedError{err}
	}
	return nil
}

// get is a safe GET of an API path, retried per the retry policy, its error wrapped with op.
func (c *Client) get(ctx context.Context, op, path string, out json.Unmarshaler, keys ...string) error {
	err := c.withRetry(ctx, func() (bool, error) {
		return true, c.getJSON(ctx, path, out, keys...)
	})
	return c.wrap(op, nil, err)
}

// multipartForm encodes fields (name, value pairs; empty values are left out) as multipart/form-data.
func multipartForm(fields [][2]string) (body []byte, contentType string, err error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		if err := w.WriteField(f[0], f[1]); err != nil {
			return nil, "", fmt.Errorf("encode %s: %w", f[0], err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("encode form: %w", err)
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}
