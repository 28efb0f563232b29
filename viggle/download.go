package viggle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Asset selects the file Download fetches.
type Asset int

// Assets of a finished render.
const (
	AssetVideo Asset = iota // the rendered video
	AssetMask               // the mask video of a transparent render (white = character)
)

// String returns "video" or "mask".
func (a Asset) String() string {
	switch a {
	case AssetVideo:
		return "video"
	case AssetMask:
		return "mask"
	}
	return "asset(" + strconv.Itoa(int(a)) + ")"
}

// Download streams a finished render's video (or its mask) to w and returns the number of bytes written. At most
// maxBytes are written; a larger file gives a *TooLargeError (at once when Content-Length announces it).
//
// It fetches a fresh status first. The video comes from cdn_url (or download_url) without credentials; when
// neither is set, from /api/render/{id}/download with the bearer token, following redirects (the token is dropped
// once a redirect leaves the API origin). If the CDN answers 403, 404 or 410 (an expired link), the status is
// fetched once more and its new link tried (else /download). The mask comes only from mask_cdn_url. Requests are
// retried per the retry policy, but never after bytes were written to w.
func (c *Client) Download(ctx context.Context, jobID string, asset Asset, w io.Writer, maxBytes int64) (int64, error) {
	return c.DownloadFrom(ctx, jobID, asset, "", w, maxBytes)
}

// DownloadFrom is Download starting from link, the asset's link in a status the caller already read
// (cdn_url or download_url for the video, mask_cdn_url for the mask; a relative link is resolved against
// the base URL): the status is fetched only when link is empty, or when it has expired.
func (c *Client) DownloadFrom(ctx context.Context, jobID string, asset Asset, link string, w io.Writer, maxBytes int64) (int64, error) {
	op := fmt.Sprintf("download %s of render %q", asset, jobID)
	switch {
	case asset != AssetVideo && asset != AssetMask:
		return 0, c.wrap(op, nil, errors.New("unknown asset"))
	case w == nil:
		return 0, c.wrap(op, nil, errors.New("writer is nil"))
	case maxBytes <= 0:
		return 0, c.wrap(op, nil, errors.New("size limit must be positive"))
	}
	if err := checkJobID(jobID); err != nil {
		return 0, c.wrap(op, nil, err)
	}
	var u string
	if link != "" {
		var err error
		if u, err = c.resolveLink(link, asset); err != nil {
			return 0, c.wrap(op, nil, err)
		}
	} else {
		r, err := c.GetRender(ctx, jobID)
		if err != nil {
			return 0, c.wrap(op, nil, err)
		}
		if u, err = c.assetURL(r, asset); err != nil {
			return 0, c.wrap(op, nil, err)
		}
	}
	if u != "" {
		n, err := c.fetch(ctx, u, false, w, maxBytes)
		if err == nil || n > 0 || !linkExpired(err) {
			return n, c.wrap(op, nil, err)
		}
		// The link expired: ask for a fresh one, once.
		r, err := c.GetRender(ctx, jobID)
		if err != nil {
			return 0, c.wrap(op, nil, err)
		}
		fresh, err := c.assetURL(r, asset)
		if err != nil {
			return 0, c.wrap(op, nil, err)
		}
		if fresh != "" && fresh != u {
			n, err := c.fetch(ctx, fresh, false, w, maxBytes)
			return n, c.wrap(op, nil, err)
		}
		if asset == AssetMask {
			return 0, c.wrap(op, nil, errors.New("mask link expired and no fresh link was given"))
		}
	}
	n, err := c.fetch(ctx, c.apiURL(renderPath(jobID)+"/download"), true, w, maxBytes)
	return n, c.wrap(op, nil, err)
}

// assetURL picks the link of asset from a status: "" means "use /download" (video only). Relative links are
// resolved against the base URL.
func (c *Client) assetURL(r *Render, asset Asset) (string, error) {
	var raw string
	if asset == AssetMask {
		if raw = r.MaskCDNURL; raw == "" {
			return "", fmt.Errorf("render has no mask_cdn_url (status %q)", r.Status)
		}
	} else {
		raw = r.CDNURL
		if raw == "" {
			raw = r.DownloadURL
		}
		if raw == "" && (r.Status == StatusFailed || r.Status == StatusCancelled) {
			return "", fmt.Errorf("render has no video: status %q", r.Status)
		}
	}
	if raw == "" {
		return "", nil
	}
	return c.resolveLink(raw, asset)
}

// resolveLink checks an asset's link and resolves it against the base URL when relative.
func (c *Client) resolveLink(raw string, asset Asset) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid %s link: %w", asset, sanitizeErr(err))
	}
	if !u.IsAbs() {
		u = c.base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%s link %q is not http(s)", asset, stripURL(raw))
	}
	return u.String(), nil
}

// linkExpired reports whether a CDN error means the signed link is no longer valid.
func linkExpired(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.HTTPStatus {
	case http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return true
	}
	return false
}

// fetch GETs rawURL into w with retries; api requests carry credentials and wait on the limiter. Once bytes were
// written it does not retry.
func (c *Client) fetch(ctx context.Context, rawURL string, api bool, w io.Writer, maxBytes int64) (int64, error) {
	var written int64
	err := c.withRetry(ctx, func() (bool, error) {
		n, err := c.fetchOnce(ctx, rawURL, api, w, maxBytes)
		written += n
		return n == 0, err
	})
	return written, err
}

// markedReader marks the body's read errors as transport errors, to tell them from the writer's errors.
type markedReader struct{ r io.Reader }

func (m markedReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = &transportError{sanitizeErr(err)}
	}
	return n, err
}

func (c *Client) fetchOnce(ctx context.Context, rawURL string, api bool, w io.Writer, maxBytes int64) (int64, error) {
	req, err := c.newRequest(ctx, http.MethodGet, rawURL, nil, api)
	if err != nil {
		return 0, err
	}
	resp, err := c.send(req, api)
	if err != nil {
		return 0, err
	}
	// Close without draining: a file over the limit is not read.
	defer func() { _ = resp.Body.Close() }()
	if err := c.checkResponse(resp); err != nil {
		return 0, err
	}
	if resp.ContentLength > maxBytes {
		return 0, &TooLargeError{Size: resp.ContentLength, Max: maxBytes}
	}
	body := markedReader{resp.Body}
	n, err := io.Copy(w, io.LimitReader(body, maxBytes))
	if err != nil {
		var te *transportError
		if errors.As(err, &te) {
			return n, fmt.Errorf("read body: %w", err)
		}
		return n, fmt.Errorf("write: %w", err)
	}
	if n == maxBytes {
		// Anything more is over the limit.
		var one [1]byte
		k, err := io.ReadFull(body, one[:])
		if k > 0 {
			return n, &TooLargeError{Size: -1, Max: maxBytes}
		}
		if err != nil && err != io.EOF {
			return n, fmt.Errorf("read body: %w", err)
		}
	}
	return n, nil
}
