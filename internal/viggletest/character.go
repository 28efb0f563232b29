package viggletest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultCharacterPolls is how many GET /api/characters/{id} a new character takes to be ready (or failed)
// unless WithCharacterPolls is given.
const DefaultCharacterPolls = 2

// DefaultCredits is the balance GET /api/credits answers unless WithCredits is given.
const DefaultCredits = 1000

// CodeMissingImage refuses a character preprocess without an image (400); CodeCharacterNotFound answers an
// unknown character id (404, made up like CodeJobNotFound).
const (
	CodeMissingImage      = "CS-ORIV-001"
	CodeCharacterNotFound = "CS-NOTFOUND"
)

// CharacterFailMessage is the error_message of a character whose image_url contains "fail".
const CharacterFailMessage = "Character preprocessing failed: no face could be detected in the image"

// WithCharacterPolls sets how many status polls a new character takes: the n-th GET /api/characters/{id}
// answers ready (or failed), the first "pending" and the others "processing". n <= 1 makes the first poll
// final. Default DefaultCharacterPolls.
func WithCharacterPolls(n int) Option { return func(s *Server) { s.charPolls = max(n, 1) } }

// WithCredits sets the balance GET /api/credits answers (default DefaultCredits).
func WithCredits(n int64) Option { return func(s *Server) { s.credits = n } }

// SetCredits changes the balance GET /api/credits answers from now on.
func (s *Server) SetCredits(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.credits = n
}

// Imports returns how many scenes POST /api/scenes/import created.
func (s *Server) Imports() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.imports
}

// Characters returns how many characters POST /api/characters/preprocess created.
func (s *Server) Characters() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.chars)
}

// charMem is the in-memory state of a character created by this Server.
type charMem struct {
	name   string
	polls  int32
	doneAt int64
}

// charKey signs character ids so that arbitrary UUIDs are unknown; a fake, not a secret.
var charKey = []byte("viggletest-character-v1")

// character is a decoded character id.
type character struct {
	id      string
	created time.Time
	fails   bool
}

// encodeCharacterID makes a UUID-shaped id (as docs.viggle.ai shows them) carrying the creation time (48 bits
// of unix ms), whether it fails, random bits and a 4-byte signature, so another process can answer for it.
func encodeCharacterID(created time.Time, fails bool) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(created.UnixMilli())<<16|uint64(rand.N(1<<15))<<1)
	if fails {
		b[7] |= 1
	}
	binary.BigEndian.PutUint32(b[8:12], rand.Uint32())
	copy(b[12:], charSig(b[:12]))
	return formatUUID(b)
}

func charSig(b []byte) []byte {
	mac := hmac.New(sha256.New, charKey)
	_, _ = mac.Write(b)
	return mac.Sum(nil)[:4]
}

func decodeCharacterID(id string) (character, bool) {
	b, ok := parseUUID(id)
	if !ok || !hmac.Equal(b[12:], charSig(b[:12])) {
		return character{}, false
	}
	ms := int64(binary.BigEndian.Uint64(b[:8]) >> 16)
	return character{id: id, created: time.UnixMilli(ms).UTC(), fails: b[7]&1 == 1}, true
}

// characterJobID is the preprocessing job's id as documented: char_ + the first 12 hex digits of the id.
func characterJobID(id string) string { return "char_" + strings.ReplaceAll(id, "-", "")[:12] }

func (s *Server) handlePreprocess(w http.ResponseWriter, r *http.Request, form url.Values, formErr error) {
	now := s.now()
	if formErr != nil {
		validationError(w, "", formErr.Error(), "value_error")
		return
	}
	name := strings.TrimSpace(form.Get("name"))
	if name == "" {
		validationError(w, "name", "Field required", "missing")
		return
	}
	imageURL := form.Get("image_url")
	hasFile := r.MultipartForm != nil && len(r.MultipartForm.File["image"]) > 0
	if imageURL == "" && !hasFile {
		writeError(w, http.StatusBadRequest, CodeMissingImage, "Reference image missing",
			"Send image (a PNG, JPG or WebP file) or image_url")
		return
	}
	if imageURL != "" {
		if u, err := url.Parse(imageURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			writeError(w, http.StatusBadRequest, CodeValidation, "image_url must be an absolute http or https URL", "")
			return
		}
	}
	id := encodeCharacterID(now, strings.Contains(strings.ToLower(imageURL), "fail"))
	s.mu.Lock()
	s.chars[id] = &charMem{name: name}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{
		"character_id": id,
		"job_id":       characterJobID(id),
		"status":       "pending",
		"enqueued_at":  now.UTC().Format(time.RFC3339),
	})
}

// characterBody is the JSON of GET /api/characters/{id}; nullable fields are pointers.
type characterBody struct {
	ID           string  `json:"id"`
	Name         *string `json:"name"`
	Status       string  `json:"status"`
	JobID        string  `json:"job_id"`
	Error        *string `json:"error"`
	ErrorMessage *string `json:"error_message"`
	ThumbnailURL *string `json:"thumbnail_url"`
	CreditsUsed  int     `json:"credits_used"`
	CreatedAt    string  `json:"created_at"`
	CompletedAt  *string `json:"completed_at"`
}

func (s *Server) handleCharacter(w http.ResponseWriter, r *http.Request, id string) {
	ch, ok := decodeCharacterID(id)
	if !ok {
		writeError(w, http.StatusNotFound, CodeCharacterNotFound, "Character not found", "Check the character ID")
		return
	}
	now := s.now()
	s.mu.Lock()
	status, end, name := "ready", ch.created, (*string)(nil)
	if m := s.chars[id]; m != nil {
		n := m.name
		name = &n
		if int(m.polls) < s.charPolls {
			m.polls++
			if int(m.polls) == s.charPolls {
				m.doneAt = now.UnixMilli()
			}
		}
		switch {
		case int(m.polls) >= s.charPolls:
			end = time.UnixMilli(m.doneAt).UTC()
		case m.polls == 1:
			status = "pending"
		default:
			status = "processing"
		}
	}
	s.mu.Unlock()
	if status == "ready" && ch.fails {
		status = "failed"
	}
	body := characterBody{ID: id, Name: name, Status: status, JobID: characterJobID(id),
		CreatedAt: ch.created.Format(time.RFC3339)}
	switch status {
	case "ready":
		body.ThumbnailURL = strPtr(baseURL(r) + "/cdn/characters/" + id + ".png")
		body.CreditsUsed = 1
		body.CompletedAt = strPtr(end.Format(time.RFC3339))
	case "failed":
		body.Error = strPtr("Preprocessing failed")
		body.ErrorMessage = strPtr(CharacterFailMessage)
		body.CompletedAt = strPtr(end.Format(time.RFC3339))
	}
	writeJSON(w, http.StatusOK, body)
}

// serveThumbnail serves /cdn/characters/<id>.png (no auth) for a ready character.
func (s *Server) serveThumbnail(w http.ResponseWriter, r *http.Request, file string) {
	id, ok := strings.CutSuffix(file, ".png")
	ch, known := decodeCharacterID(id)
	if !ok || !known || ch.fails || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		cdnError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(thumbnailPNG)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(thumbnailPNG)
	}
}

// baseURL is the scheme and host the request came to.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// thumbnailPNG is the 8x8 PNG every ready character's thumbnail_url serves.
var thumbnailPNG = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		img.Set(i%8, i/8, color.RGBA{R: 0x7c, G: 0x3a, B: 0xed, A: 0xff})
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // cannot fail for an in-memory image
	return buf.Bytes()
}()
