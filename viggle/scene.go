package viggle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// SceneStatus is a scene's status (viggle-api.md §7). Treat unknown values as in progress.
type SceneStatus string

// Documented scene status values ("processing" is documented for characters; scenes may use it too).
const (
	ScenePending    SceneStatus = "pending"
	SceneProcessing SceneStatus = "processing"
	SceneReady      SceneStatus = "ready"
	SceneFailed     SceneStatus = "failed"
)

// Terminal reports whether the scene is finished: ready or failed. Any other value, unknown ones included,
// means it is still being prepared.
func (s SceneStatus) Terminal() bool { return s == SceneReady || s == SceneFailed }

// Known reports whether s is one of the documented values.
func (s SceneStatus) Known() bool {
	switch s {
	case ScenePending, SceneProcessing, SceneReady, SceneFailed:
		return true
	}
	return false
}

// Segment is one tracked person of a multi-person template scene: the key of a character_mapping.
type Segment struct {
	UUID string `json:"uuid"` // e.g. person_a1b2c3d4
	Type string `json:"type"` // e.g. human; "" when Viggle gave none (character_uuids)
}

// Scene is a scene as Viggle describes it: the answer to an import (POST /api/scenes/import) or a status
// (GET /api/scenes/{id}). Every field is optional; numbers Viggle did not give are 0.
type Scene struct {
	ID         string      `json:"id"`
	Name       string      `json:"name,omitempty"`
	TemplateID string      `json:"template_id,omitempty"`
	Status     SceneStatus `json:"status,omitempty"`
	// Segments are the persons, in Viggle's order. Only the import answer documents them (as segments
	// [{uuid, type}], or character_uuids [...]): store them then, no later call gives them back.
	Segments        []Segment `json:"segments,omitempty"`
	CreditsReserved float64   `json:"credits_reserved,omitempty"`
	CreditsUsed     float64   `json:"credits_used,omitempty"`
	DurationSeconds float64   `json:"duration_seconds,omitempty"` // 0 = not given
	FPS             float64   `json:"fps,omitempty"`
	TotalFrames     int       `json:"total_frames,omitempty"`
	Width           int       `json:"width,omitempty"`
	Height          int       `json:"height,omitempty"`
	JobID           string    `json:"job_id,omitempty"`
	ErrorCode       string    `json:"error_code,omitempty"`
	ErrorMessage    string    `json:"error_message,omitempty"`
	Error           string    `json:"error,omitempty"`
	EnqueuedAt      string    `json:"enqueued_at,omitempty"`
	CreatedAt       string    `json:"created_at,omitempty"`
	CompletedAt     string    `json:"completed_at,omitempty"`
}

// UnmarshalJSON decodes tolerantly: the id is id or scene_id, the template template_id or template_uuid; the
// persons are segments (objects with uuid — or id — and type, or bare strings) or else character_uuids (type
// ""); a field of an unexpected type is left empty, numbers in strings are read, unknown fields are ignored.
// Only a body that is not a JSON object is an error.
func (s *Scene) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("scene is null")
	}
	*s = Scene{
		ID:              firstText(m["id"], m["scene_id"]),
		Name:            jsonString(m["name"]),
		TemplateID:      firstText(m["template_id"], m["template_uuid"]),
		Status:          SceneStatus(jsonString(m["status"])),
		CreditsReserved: jsonNumber(m["credits_reserved"]),
		CreditsUsed:     jsonNumber(m["credits_used"]),
		DurationSeconds: nonNegative(jsonNumber(m["duration_seconds"])),
		FPS:             nonNegative(jsonNumber(m["fps"])),
		TotalFrames:     jsonInt(m["total_frames"]),
		Width:           jsonInt(m["width"]),
		Height:          jsonInt(m["height"]),
		JobID:           jsonString(m["job_id"]),
		ErrorCode:       jsonString(m["error_code"]),
		ErrorMessage:    jsonString(m["error_message"]),
		Error:           errorText(m["error"]),
		EnqueuedAt:      jsonString(m["enqueued_at"]),
		CreatedAt:       jsonString(m["created_at"]),
		CompletedAt:     jsonString(m["completed_at"]),
	}
	s.Segments = jsonSegments(m["segments"])
	if s.Segments == nil {
		s.Segments = jsonSegments(m["character_uuids"])
	}
	return nil
}

// Duration is the scene's video length, and whether Viggle gave it.
func (s *Scene) Duration() (time.Duration, bool) {
	if s.DurationSeconds <= 0 {
		return 0, false
	}
	return time.Duration(s.DurationSeconds * float64(time.Second)), true
}

// Failure is the best text Viggle gave for a failed scene: error_message, else error, else error_code.
func (s *Scene) Failure() string {
	for _, t := range []string{s.ErrorMessage, s.Error, s.ErrorCode} {
		if t = strings.TrimSpace(t); t != "" {
			return t
		}
	}
	return ""
}

// RenderCredits estimates what a render of a video of the given length costs: one credit per second started
// (viggle-api.md §9), twice that with fast. It is an estimate for the user, never a promise; 0 for an unknown
// (non-positive) length.
func RenderCredits(seconds float64, fast bool) int {
	if seconds <= 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		return 0
	}
	n := int(math.Ceil(seconds - 1e-9))
	if fast {
		n *= 2
	}
	return n
}

// jsonSegments reads a list of segments: objects {uuid|id|segment_uuid, type} or bare strings (uuid only).
// Entries without a uuid are skipped; nil when v is not a non-empty list.
func jsonSegments(v json.RawMessage) []Segment {
	var items []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &items) != nil {
		return nil
	}
	var out []Segment
	for _, it := range items {
		var seg Segment
		if len(it) > 0 && it[0] == '{' {
			var m map[string]json.RawMessage
			if json.Unmarshal(it, &m) != nil {
				continue
			}
			seg = Segment{UUID: firstText(m["uuid"], m["id"], m["segment_uuid"]), Type: jsonString(m["type"])}
		} else {
			seg.UUID = jsonString(it)
		}
		if seg.UUID = strings.TrimSpace(seg.UUID); seg.UUID != "" {
			out = append(out, seg)
		}
	}
	return out
}

// jsonInt reads a JSON number or numeric string as an int (rounded); other values give 0.
func jsonInt(v json.RawMessage) int {
	f := jsonNumber(v)
	if math.IsNaN(f) || f <= math.MinInt32 || f >= math.MaxInt32 {
		return 0
	}
	return int(math.Round(f))
}

func nonNegative(f float64) float64 {
	if f < 0 || math.IsNaN(f) {
		return 0
	}
	return f
}

// errorText reads an "error" field: a string, or an object's message (or error, or code).
func errorText(v json.RawMessage) string {
	if len(v) > 0 && v[0] == '{' {
		var obj struct{ Message, Error, Code, ErrorCode json.RawMessage }
		if json.Unmarshal(v, &obj) == nil {
			return firstText(obj.Message, obj.Error, obj.ErrorCode, obj.Code)
		}
		return ""
	}
	return jsonString(v)
}

// createdID is the id an import must answer with.
func (s *Scene) createdID() string { return s.ID }

// scenePath is /api/scenes/{id} with the opaque id escaped.
func scenePath(id string) string { return "/api/scenes/" + url.PathEscape(id) }

// ImportScene imports a viggle.ai template as a scene (POST /api/scenes/import, JSON {"template_id", "name"};
// name is left out when ""). The answer is pending: follow it with GetScene until Terminal. Keep its Segments,
// which only this answer documents.
//
// An import may reserve credits, so it is never retried, and its errors are classified like CreateRender's: an
// *APIError alone when Viggle refused it (a 4xx with its error body), else ErrNotSent (safe to try again) or
// ErrOutcomeUnknown (a 5xx, a cut, an undecodable answer or one without an id: the scene may exist).
func (c *Client) ImportScene(ctx context.Context, templateID, name string) (*Scene, error) {
	op := fmt.Sprintf("import scene from template %q", templateID)
	if err := checkID("template", templateID); err != nil {
		return nil, c.wrap(op, ErrNotSent, fmt.Errorf("invalid request: %w", err))
	}
	body, err := json.Marshal(struct {
		TemplateID string `json:"template_id"`
		Name       string `json:"name,omitempty"`
	}{templateID, name})
	if err != nil {
		return nil, c.wrap(op, ErrNotSent, fmt.Errorf("invalid request: %w", err))
	}
	var s Scene
	if err := c.create(ctx, op, "/api/scenes/import", body, "application/json", &s, "id", "scene_id"); err != nil {
		return nil, err
	}
	return &s, nil
}

// GetScene returns a scene's status (GET /api/scenes/{id}), retrying per the retry policy. Viggle documents no
// segments here; Segments is filled only if it sends them.
func (c *Client) GetScene(ctx context.Context, sceneID string) (*Scene, error) {
	op := fmt.Sprintf("get scene %q", sceneID)
	if err := checkID("scene", sceneID); err != nil {
		return nil, c.wrap(op, nil, err)
	}
	var s Scene
	if err := c.get(ctx, op, scenePath(sceneID), &s, "id", "scene_id", "status"); err != nil {
		return nil, err
	}
	return &s, nil
}
