package viggle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// CharacterStatus is a character's status (viggle-api.md §6). Treat unknown values as in progress.
type CharacterStatus string

// Documented character status values.
const (
	CharacterPending    CharacterStatus = "pending"
	CharacterProcessing CharacterStatus = "processing"
	CharacterReady      CharacterStatus = "ready"
	CharacterFailed     CharacterStatus = "failed"
)

// Terminal reports whether preprocessing has finished: ready or failed. Any other value, unknown ones included,
// means it is still running.
func (s CharacterStatus) Terminal() bool { return s == CharacterReady || s == CharacterFailed }

// Known reports whether s is one of the documented values.
func (s CharacterStatus) Known() bool {
	switch s {
	case CharacterPending, CharacterProcessing, CharacterReady, CharacterFailed:
		return true
	}
	return false
}

// Character is a reusable character as Viggle describes it: the answer to a preprocess (POST
// /api/characters/preprocess) or a status (GET /api/characters/{id}). Every field is optional.
type Character struct {
	ID           string          `json:"id"` // character_id in the preprocess answer
	Name         string          `json:"name,omitempty"`
	Status       CharacterStatus `json:"status,omitempty"`
	JobID        string          `json:"job_id,omitempty"` // the preprocessing job, e.g. char_550e8400e29b; not the id
	Error        string          `json:"error,omitempty"`  // a short label
	ErrorCode    string          `json:"error_code,omitempty"`
	ErrorMessage string          `json:"error_message,omitempty"`
	ThumbnailURL string          `json:"thumbnail_url,omitempty"`
	CreditsUsed  float64         `json:"credits_used,omitempty"`
	EnqueuedAt   string          `json:"enqueued_at,omitempty"`
	CreatedAt    string          `json:"created_at,omitempty"`
	CompletedAt  string          `json:"completed_at,omitempty"`
}

// UnmarshalJSON decodes tolerantly: the id is character_id or id (never job_id); a field of an unexpected type
// is left empty, an "error" object gives its message, unknown fields are ignored. Only a body that is not a
// JSON object is an error.
func (ch *Character) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("character is null")
	}
	*ch = Character{
		ID:           firstText(m["character_id"], m["id"]),
		Name:         jsonString(m["name"]),
		Status:       CharacterStatus(jsonString(m["status"])),
		JobID:        jsonString(m["job_id"]),
		Error:        errorText(m["error"]),
		ErrorCode:    jsonString(m["error_code"]),
		ErrorMessage: jsonString(m["error_message"]),
		ThumbnailURL: jsonString(m["thumbnail_url"]),
		CreditsUsed:  jsonNumber(m["credits_used"]),
		EnqueuedAt:   jsonString(m["enqueued_at"]),
		CreatedAt:    jsonString(m["created_at"]),
		CompletedAt:  jsonString(m["completed_at"]),
	}
	return nil
}

// Failure is the best text Viggle gave for a failed character: error_message, else error, else error_code.
func (ch *Character) Failure() string {
	for _, t := range []string{ch.ErrorMessage, ch.Error, ch.ErrorCode} {
		if t = strings.TrimSpace(t); t != "" {
			return t
		}
	}
	return ""
}

// createdID is the id a preprocess must answer with.
func (ch *Character) createdID() string { return ch.ID }

// characterPath is /api/characters/{id} with the opaque id escaped.
func characterPath(id string) string { return "/api/characters/" + url.PathEscape(id) }

// PreprocessCharacter creates a reusable character from an image Viggle downloads (POST
// /api/characters/preprocess, multipart with name and image_url). The answer is pending: follow it with
// GetCharacter until Terminal.
//
// It costs a credit, so it is never retried, and its errors are classified like CreateRender's: an *APIError
// alone when Viggle refused it (a 4xx with its error body), else ErrNotSent (safe to try again) or
// ErrOutcomeUnknown (a 5xx, a cut, an undecodable answer or one without an id: the character may exist). The
// image URL (often signed) is never put in an error.
func (c *Client) PreprocessCharacter(ctx context.Context, name, imageURL string) (*Character, error) {
	op := fmt.Sprintf("preprocess character %q", name)
	if err := checkCharacterInput(name, imageURL); err != nil {
		return nil, c.wrap(op, ErrNotSent, fmt.Errorf("invalid request: %w", err))
	}
	body, contentType, err := multipartForm([][2]string{{"name", name}, {"image_url", imageURL}})
	if err != nil {
		return nil, c.wrap(op, ErrNotSent, fmt.Errorf("invalid request: %w", err))
	}
	var ch Character
	if err := c.create(ctx, op, "/api/characters/preprocess", body, contentType, &ch, "character_id", "id"); err != nil {
		return nil, hideImageURL(err, imageURL)
	}
	return &ch, nil
}

// hideImageURL removes the image URL (a signed link to a photo of a person) from err's text and from
// the fields of the *APIError in its chain, should Viggle's answer repeat it.
func hideImageURL(err error, imageURL string) error {
	hide := func(s string) string {
		for _, u := range []string{imageURL, stripURL(imageURL)} {
			if u != "" {
				s = strings.ReplaceAll(s, u, "[image URL]")
			}
		}
		return s
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		apiErr.Code, apiErr.Message, apiErr.Action = hide(apiErr.Code), hide(apiErr.Message), hide(apiErr.Action)
	}
	var oe *opError
	if errors.As(err, &oe) {
		oe.msg = hide(oe.msg)
	}
	return err
}

// checkCharacterInput requires a name and an absolute http(s) image URL.
func checkCharacterInput(name, imageURL string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("character name is empty")
	}
	u, err := url.Parse(imageURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("image URL is not an absolute http or https URL")
	}
	return nil
}

// GetCharacter returns a character's status (GET /api/characters/{id}), retrying per the retry policy.
func (c *Client) GetCharacter(ctx context.Context, characterID string) (*Character, error) {
	op := fmt.Sprintf("get character %q", characterID)
	if err := checkID("character", characterID); err != nil {
		return nil, c.wrap(op, nil, err)
	}
	var ch Character
	if err := c.get(ctx, op, characterPath(characterID), &ch, "id", "character_id", "status"); err != nil {
		return nil, err
	}
	return &ch, nil
}
