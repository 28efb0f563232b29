package viggle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RenderRequest is a Multi-Character Render: a scene and a mapping of its persons to characters.
type RenderRequest struct {
	SceneID string
	// CharacterMapping is a JSON object string, {"<segment uuid>": "<character id>", …}, sent as is.
	CharacterMapping string
	BackgroundMode   string // original, solid or transparent; "" = not sent (Viggle's default)
	BGColor          string // "R,G,B" for solid; "" = not sent
	Fast             bool   // sent as "true" only when true; never sent otherwise
	Model            string // "" = not sent (the scene's model is used)
}

// Submitted is Viggle's answer to a create. Only JobID is guaranteed.
type Submitted struct {
	JobID      string `json:"job_id"`
	Status     string `json:"status,omitempty"`
	Mode       string `json:"mode,omitempty"`
	EnqueuedAt string `json:"enqueued_at,omitempty"`
	PollURL    string `json:"poll_url,omitempty"`
	StatusURL  string `json:"status_url,omitempty"`
}

// UnmarshalJSON decodes tolerantly: fields of an unexpected type are left empty, numbers are kept as text.
func (s *Submitted) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*s = Submitted{
		JobID:      jsonString(m["job_id"]),
		Status:     jsonString(m["status"]),
		Mode:       jsonString(m["mode"]),
		EnqueuedAt: jsonString(m["enqueued_at"]),
		PollURL:    jsonString(m["poll_url"]),
		StatusURL:  jsonString(m["status_url"]),
	}
	return nil
}

// Status is a render job's status. Values differ between versions of Viggle's docs; treat unknown ones as in
// progress.
type Status string

// Documented status values.
const (
	StatusQueued     Status = "queued"
	StatusProcessing Status = "processing"
	StatusRendering  Status = "rendering"
	StatusMerging    Status = "merging"
	StatusComplete   Status = "complete"
	StatusFailed     Status = "failed"
	StatusCancelled  Status = "cancelled"
)

// Terminal reports whether the job has finished: complete, failed or cancelled. Any other value, unknown ones
// included, means the job is still in progress.
func (s Status) Terminal() bool {
	switch s {
	case StatusComplete, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// Known reports whether s is one of the statuses Viggle documents (any other value is treated as in
// progress).
func (s Status) Known() bool {
	switch s {
	case StatusQueued, StatusProcessing, StatusRendering, StatusMerging, StatusComplete, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// ChunkProgress is the compatibility progress object some versions send.
type ChunkProgress struct {
	CompletedChunks int     `json:"completed_chunks"`
	TotalChunks     int     `json:"total_chunks"`
	Percent         float64 `json:"percent"`
}

// Render is the status of a render job (GET /api/render/{id}). Every field is optional.
type Render struct {
	JobID        string            `json:"job_id"`
	Status       Status            `json:"status"`
	Mode         string            `json:"mode"`
	Checkpoint   string            `json:"checkpoint"`
	ProgressPct  float64           `json:"progress_pct"`
	CDNURL       string            `json:"cdn_url"`
	MaskCDNURL   string            `json:"mask_cdn_url"`
	DownloadURL  string            `json:"download_url"`
	ErrorCode    string            `json:"error_code"`
	ErrorMessage string            `json:"error_message"`
	Error        string            `json:"error"`
	Progress     *ChunkProgress    `json:"progress"`
	Chunks       []json.RawMessage `json:"chunks"`
	CreatedAt    string            `json:"created_at"`
	CompletedAt  string            `json:"completed_at"`
}

// UnmarshalJSON decodes tolerantly: unknown fields are ignored and a field of an unexpected type is left empty
// instead of failing the whole status (numbers in strings are read, a numeric "progress" becomes its Percent, an
// "error" object gives its message). Only a body that is not a JSON object is an error.
func (r *Render) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("render status is null")
	}
	*r = Render{
		JobID:        jsonString(m["job_id"]),
		Status:       Status(jsonString(m["status"])),
		Mode:         jsonString(m["mode"]),
		Checkpoint:   jsonString(m["checkpoint"]),
		ProgressPct:  jsonNumber(m["progress_pct"]),
		CDNURL:       jsonString(m["cdn_url"]),
		MaskCDNURL:   jsonString(m["mask_cdn_url"]),
		DownloadURL:  jsonString(m["download_url"]),
		ErrorCode:    jsonString(m["error_code"]),
		ErrorMessage: jsonString(m["error_message"]),
		Error:        jsonString(m["error"]),
		Progress:     jsonProgress(m["progress"]),
		CreatedAt:    jsonString(m["created_at"]),
		CompletedAt:  jsonString(m["completed_at"]),
	}
	if v := m["error"]; len(v) > 0 && v[0] == '{' {
		var obj struct {
			Message, Error, Code, ErrorCode json.RawMessage
		}
		if json.Unmarshal(v, &obj) == nil {
			r.Error = firstText(obj.Message, obj.Error, obj.ErrorCode, obj.Code)
			if r.ErrorCode == "" {
				r.ErrorCode = firstText(obj.ErrorCode, obj.Code)
			}
		}
	}
	if v := m["chunks"]; len(v) > 0 && v[0] == '[' {
		_ = json.Unmarshal(v, &r.Chunks)
	}
	return nil
}

// Percent returns the progress, 0 to 100: ProgressPct, else Progress.Percent, else the share of completed
// chunks.
func (r *Render) Percent() float64 {
	p := r.ProgressPct
	if p == 0 && r.Progress != nil {
		p = r.Progress.Percent
		if p == 0 && r.Progress.TotalChunks > 0 {
			p = 100 * float64(r.Progress.CompletedChunks) / float64(r.Progress.TotalChunks)
		}
	}
	switch {
	case math.IsNaN(p) || p < 0:
		return 0
	case p > 100:
		return 100
	}
	return p
}

// jsonString reads a JSON string (or number, as text); other types give "".
func jsonString(v json.RawMessage) string {
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			return n.String()
		}
	}
	return ""
}

// jsonNumber reads a JSON number or a numeric string; other values give 0.
func jsonNumber(v json.RawMessage) float64 {
	var f float64
	if json.Unmarshal(v, &f) == nil && !math.IsInf(f, 0) {
		return f
	}
	if s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(jsonString(v)), "%")); s != "" {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return 0
}

// jsonProgress reads the compatibility progress object; a bare number is taken as its percent.
func jsonProgress(v json.RawMessage) *ChunkProgress {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	if v[0] == '{' {
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil {
			return nil
		}
		return &ChunkProgress{
			CompletedChunks: int(jsonNumber(m["completed_chunks"])),
			TotalChunks:     int(jsonNumber(m["total_chunks"])),
			Percent:         jsonNumber(m["percent"]),
		}
	}
	if f := jsonNumber(v); f != 0 {
		return &ChunkProgress{Percent: f}
	}
	return nil
}

// unwrapData returns the object inside a {"data": {...}} wrapper, unless the body already has one of the
// expected top-level keys. A body that is not a JSON object is an error.
func unwrapData(b []byte, keys ...string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("body is null")
	}
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return b, nil
		}
	}
	if d := bytes.TrimSpace(m["data"]); len(d) > 0 && d[0] == '{' {
		return d, nil
	}
	return b, nil
}

// form encodes the request as multipart/form-data.
func (req RenderRequest) form() (body []byte, contentType string, err error) {
	if strings.TrimSpace(req.SceneID) == "" {
		return nil, "", errors.New("scene id is empty")
	}
	m := strings.TrimSpace(req.CharacterMapping)
	if m == "" || m[0] != '{' || !json.Valid([]byte(m)) {
		return nil, "", errors.New("character mapping is not a JSON object")
	}
	fields := [][2]string{
		{"scene_id", req.SceneID},
		{"character_mapping", req.CharacterMapping},
		{"background_mode", req.BackgroundMode},
		{"bg_color", req.BGColor},
		{"model", req.Model},
	}
	if req.Fast {
		fields = append(fields, [2]string{"fast", "true"})
	}
	return multipartForm(fields)
}

// CreateRender submits a render (POST /api/render) and returns Viggle's answer. It is never retried. On failure
// the error is an *APIError (Viggle answered with an error status: it refused), or carries ErrNotSent (safe to
// try again) or ErrOutcomeUnknown (the render may exist and may be charged: do not resubmit automatically).
//
// The verdict comes from net/http/httptrace: a failure before the transport reported GotConn is ErrNotSent, after
// it ErrOutcomeUnknown. http.Transport (and RoundTrippers that delegate to it) report GotConn; a RoundTripper
// that never does would have all its failures classified as ErrNotSent.
func (c *Client) CreateRender(ctx context.Context, req RenderRequest) (*Submitted, error) {
	const op = "create render"
	body, contentType, err := req.form()
	if err != nil {
		return nil, c.wrap(op, ErrNotSent, fmt.Errorf("invalid request: %w", err))
	}
	var s Submitted
	if err := c.create(ctx, op, "/api/render", body, contentType, &s, "job_id"); err != nil {
		return nil, err
	}
	return &s, nil
}

// createdID is the id a create must answer with: its job_id.
func (s *Submitted) createdID() string { return s.JobID }

// GetRender returns a job's status (GET /api/render/{id}), retrying per the retry policy.
func (c *Client) GetRender(ctx context.Context, jobID string) (*Render, error) {
	op := fmt.Sprintf("get render %q", jobID)
	if err := checkJobID(jobID); err != nil {
		return nil, c.wrap(op, nil, err)
	}
	var out *Render
	err := c.withRetry(ctx, func() (bool, error) {
		r, err := c.getRender(ctx, jobID)
		out = r
		return true, err
	})
	if err != nil {
		return nil, c.wrap(op, nil, err)
	}
	return out, nil
}

// getRender is one attempt of GetRender.
func (c *Client) getRender(ctx context.Context, jobID string) (*Render, error) {
	var r Render
	if err := c.getJSON(ctx, renderPath(jobID), &r, "job_id", "status"); err != nil {
		return nil, err
	}
	return &r, nil
}

// CancelRender asks Viggle to cancel a job (DELETE /api/render/{id}), retrying per the retry policy. Any 2xx
// means the request was accepted; confirm the outcome with GetRender. A 404 or 409 comes back as an *APIError.
func (c *Client) CancelRender(ctx context.Context, jobID string) error {
	op := fmt.Sprintf("cancel render %q", jobID)
	if err := checkJobID(jobID); err != nil {
		return c.wrap(op, nil, err)
	}
	err := c.withRetry(ctx, func() (bool, error) {
		req, err := c.newRequest(ctx, http.MethodDelete, c.apiURL(renderPath(jobID)), nil, true)
		if err != nil {
			return false, err
		}
		resp, err := c.send(req, true)
		if err != nil {
			return true, err
		}
		defer closeBody(resp)
		return true, c.checkResponse(resp)
	})
	return c.wrap(op, nil, err)
}

// checkJobID accepts any opaque job id of sane length made of printable text.
func checkJobID(id string) error { return checkID("job", id) }

// checkID accepts any opaque id of sane length made of printable text (viggle-api.md §12 #8); kind names it in
// the error ("job", "scene", …).
func checkID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("%s id is empty", kind)
	}
	if len(id) > 256 {
		return fmt.Errorf("%s id is longer than 256 bytes", kind)
	}
	if !utf8.ValidString(id) || strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("%s id contains unprintable characters", kind)
	}
	return nil
}
