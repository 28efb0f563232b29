package viggletest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Template shapes of the import answer (Template.Shape).
const (
	// ShapeDocumented answers {"id","status","credits_reserved","segments":[{"uuid","type"}]} as
	// docs.viggle.ai documents it.
	ShapeDocumented = ""
	// ShapeCharacterUUIDs answers as third-party clients expect: {"scene_id","template_uuid","status",
	// "credits_reserved","character_uuids":["person_…",…]}.
	ShapeCharacterUUIDs = "character_uuids"
	// ShapeTemplateUUID is ShapeCharacterUUIDs under another name.
	ShapeTemplateUUID = "template_uuid"
)

// CodeTemplateNotFound answers the import of an unknown template (404). The docs name no code for it: made up.
const CodeTemplateNotFound = "CS-NOTFOUND"

// ImportedScenario is how renders of an imported scene behave when its Template has no Render: like
// scene_demo, complete about 6 s after creation.
var ImportedScenario = Scenario{Duration: 6 * time.Second, Steps: 4}

// Template is a viggle.ai template that POST /api/scenes/import turns into a new scene.
//
// The scene is ready (or failed) after ReadyAfter, measured with the server's clock from the import (so a
// second process answers for it too), unless ImportPolls > 0: then the ImportPolls-th GET /api/scenes/{id}
// answers ready and the earlier ones pending (kept in memory; another process uses ReadyAfter).
type Template struct {
	// Persons is the number of person segments (person_…, type "human"); 0 is a plain video template with
	// no segments.
	Persons int
	// Duration is the scene's video length (duration_seconds once ready; 0 leaves it null). The import
	// reserves one credit per second started.
	Duration time.Duration
	// ImportPolls and ReadyAfter say when the scene is ready, as Scenario's Polls and Duration do for renders.
	ImportPolls int
	ReadyAfter  time.Duration
	// FailMessage, if set, ends the import failed with this error_message instead of ready.
	FailMessage string
	// Shape is the shape of the import answer: ShapeDocumented, or ShapeCharacterUUIDs (ShapeTemplateUUID).
	Shape string
	// Render is how renders of the scene behave once it is ready; nil means ImportedScenario.
	Render *Scenario
}

// DefaultTemplates returns the templates a New Server knows unless WithTemplates is given (see the package
// documentation for the list).
func DefaultTemplates() map[string]Template {
	return map[string]Template{
		"tpl_duo":    {Persons: 2, Duration: 8 * time.Second, ReadyAfter: 2 * time.Second},
		"tpl_trio":   {Persons: 3, Duration: 12 * time.Second, ReadyAfter: 3 * time.Second},
		"tpl_solo":   {Persons: 1, Duration: 5 * time.Second, ReadyAfter: time.Second},
		"tpl_plain":  {Duration: 6 * time.Second, ReadyAfter: time.Second},
		"tpl_legacy": {Persons: 2, Duration: 10 * time.Second, ReadyAfter: 2 * time.Second, Shape: ShapeCharacterUUIDs},
		"tpl_broken": {Persons: 2, ReadyAfter: 2 * time.Second,
			FailMessage: "Template import failed: no person could be tracked in the video"},
	}
}

// WithTemplates replaces the default templates with m (copied). Use SetTemplate to add to the defaults.
func WithTemplates(m map[string]Template) Option {
	return func(s *Server) { s.templates = cloneTemplates(m) }
}

func cloneTemplates(m map[string]Template) map[string]Template {
	out := make(map[string]Template, len(m))
	for k, t := range m {
		if t.Render != nil {
			r := *t.Render
			t.Render = &r
		}
		out[k] = t
	}
	return out
}

// SetTemplate adds or replaces a template.
func (s *Server) SetTemplate(templateID string, t Template) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templates[templateID] = cloneTemplates(map[string]Template{"": t})[""]
}

// sceneMem is the in-memory state of an imported scene.
type sceneMem struct {
	name   string
	polls  int32 // GET /api/scenes/{id} served (ImportPolls)
	doneAt int64 // unix ms at which a count-based import finished
}

// imported is a decoded imported-scene id with its template.
type imported struct {
	id       string
	template string
	t        Template
	created  time.Time
}

// templateHash stands for a template in a scene id: 8 bytes.
func templateHash(id string) []byte {
	sum := sha256.Sum256([]byte("template|" + id))
	return sum[:8]
}

// encodeSceneID makes a UUID-shaped scene id (as docs.viggle.ai shows them) carrying the import time (48
// bits of unix ms), 16 random bits and a hash of the template, so another process knowing the template can
// answer for it.
func encodeSceneID(template string, created time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(created.UnixMilli())<<16|uint64(rand.N(1<<16)))
	copy(b[8:], templateHash(template))
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func parseUUID(id string) ([16]byte, bool) {
	var b [16]byte
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return b, false
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(raw) != 16 || strings.ToLower(id) != id {
		return b, false
	}
	copy(b[:], raw)
	return b, true
}

// importedScene decodes an imported scene id against the templates this Server knows.
func (s *Server) importedScene(id string) (imported, bool) {
	b, ok := parseUUID(id)
	if !ok {
		return imported{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, t := range s.templates {
		if string(templateHash(name)) == string(b[8:]) {
			ms := int64(binary.BigEndian.Uint64(b[:8]) >> 16)
			return imported{id: id, template: name, t: t, created: time.UnixMilli(ms).UTC()}, true
		}
	}
	return imported{}, false
}

// sceneStateLocked is the scene's status at now ("pending", "ready" or "failed") and when it ended.
func (s *Server) sceneStateLocked(sc imported, now time.Time) (status string, end time.Time) {
	done, end := false, time.Time{}
	if m := s.scenes[sc.id]; sc.t.ImportPolls > 0 && m != nil {
		if done = int(m.polls) >= sc.t.ImportPolls; done {
			end = time.UnixMilli(m.doneAt).UTC()
		}
	} else if now.Sub(sc.created) >= sc.t.ReadyAfter {
		done, end = true, sc.created.Add(sc.t.ReadyAfter)
	}
	switch {
	case !done:
		return "pending", time.Time{}
	case sc.t.FailMessage != "":
		return "failed", end
	}
	return "ready", end
}

// segments are the persons of an imported scene: person_ + 8 hex digits, derived from the scene id.
func segments(sceneID string, n int) []map[string]string {
	out := make([]map[string]string, 0, n)
	for i := range n {
		sum := sha256.Sum256([]byte(sceneID + "|person|" + strconv.Itoa(i)))
		out = append(out, map[string]string{"uuid": "person_" + hex.EncodeToString(sum[:4]), "type": "human"})
	}
	return out
}

// reservedCredits is one per second started of the template's video.
func (t Template) reservedCredits() int {
	return int(math.Ceil(t.Duration.Seconds() - 1e-9))
}

// maxImportBody bounds the JSON body of POST /api/scenes/import.
const maxImportBody = 1 << 20

// readImportBody reads the JSON body of POST /api/scenes/import.
func readImportBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImportBody))
	if err != nil {
		return b, errors.New("request body unreadable or too large")
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		return b, errors.New("Content-Type must be application/json")
	}
	return b, nil
}

// validationError answers 422 in FastAPI's shape: {"detail":[{"loc":[…],"msg":…,"type":…}]}.
func validationError(w http.ResponseWriter, field, msg, typ string) {
	loc := []string{"body"}
	if field != "" {
		loc = append(loc, field)
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"detail": []map[string]any{{"loc": loc, "msg": msg, "type": typ}},
	})
}

func (s *Server) handleImport(w http.ResponseWriter, body []byte, bodyErr error) {
	now := s.now()
	if bodyErr != nil {
		validationError(w, "", bodyErr.Error(), "value_error")
		return
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil || req == nil {
		validationError(w, "", "Input should be a valid JSON object", "json_invalid")
		return
	}
	var tpl, name string
	if v, ok := req["template_id"]; !ok || string(v) == "null" {
		validationError(w, "template_id", "Field required", "missing")
		return
	} else if json.Unmarshal(v, &tpl) != nil || tpl == "" {
		validationError(w, "template_id", "Input should be a non-empty string", "string_type")
		return
	}
	if v, ok := req["name"]; ok && string(v) != "null" && json.Unmarshal(v, &name) != nil {
		validationError(w, "name", "Input should be a valid string", "string_type")
		return
	}
	s.mu.Lock()
	t, ok := s.templates[tpl]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, CodeTemplateNotFound, "Template not found",
			"Check the template ID in the viggle.ai gallery")
		return
	}
	id := encodeSceneID(tpl, time.UnixMilli(now.UnixMilli()))
	s.mu.Lock()
	s.scenes[id] = &sceneMem{name: name}
	s.imports++
	s.mu.Unlock()

	segs := segments(id, t.Persons)
	if t.Shape == ShapeCharacterUUIDs || t.Shape == ShapeTemplateUUID {
		uuids := make([]string, len(segs))
		for i, sg := range segs {
			uuids[i] = sg["uuid"]
		}
		writeJSON(w, http.StatusOK, map[string]any{"scene_id": id, "template_uuid": tpl, "status": "pending",
			"credits_reserved": t.reservedCredits(), "character_uuids": uuids})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": "pending",
		"credits_reserved": t.reservedCredits(), "segments": segs})
}

// sceneBody is the JSON of GET /api/scenes/{id}; nullable fields are pointers.
type sceneBody struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Status          string   `json:"status"`
	DurationSeconds *float64 `json:"duration_seconds"`
	FPS             *int     `json:"fps"`
	TotalFrames     *int     `json:"total_frames"`
	Width           *int     `json:"width"`
	Height          *int     `json:"height"`
	JobID           string   `json:"job_id"`
	ErrorMessage    *string  `json:"error_message"`
	CreditsUsed     int      `json:"credits_used"`
	CreatedAt       string   `json:"created_at"`
	CompletedAt     *string  `json:"completed_at"`
}

func (s *Server) handleScene(w http.ResponseWriter, id string) {
	sc, ok := s.importedScene(id)
	if !ok {
		writeError(w, http.StatusNotFound, CodeSceneNotFound, "Scene not found", "Check the scene ID")
		return
	}
	now := s.now()
	s.mu.Lock()
	m := s.scenes[id]
	if sc.t.ImportPolls > 0 && m != nil && int(m.polls) < sc.t.ImportPolls {
		m.polls++
		if int(m.polls) == sc.t.ImportPolls {
			m.doneAt = now.UnixMilli()
		}
	}
	status, end := s.sceneStateLocked(sc, now)
	name := sc.template
	if m != nil && m.name != "" {
		name = m.name
	}
	s.mu.Unlock()

	body := sceneBody{ID: id, Name: name, Status: status, JobID: "scene_" + strings.ReplaceAll(id, "-", "")[:12],
		CreatedAt: sc.created.Format(time.RFC3339)}
	switch status {
	case "ready":
		if sc.t.Duration > 0 {
			secs := sc.t.Duration.Seconds()
			fps, frames, width, height := 30, int(math.Round(secs*30)), 720, 1280
			body.DurationSeconds, body.FPS, body.TotalFrames, body.Width, body.Height = &secs, &fps, &frames, &width, &height
		}
		body.CreditsUsed = sc.t.reservedCredits()
		body.CompletedAt = strPtr(end.Format(time.RFC3339))
	case "failed":
		body.ErrorMessage = strPtr(sc.t.FailMessage)
		body.CompletedAt = strPtr(end.Format(time.RFC3339))
	}
	writeJSON(w, http.StatusOK, body)
}

// renderableScene is the render scenario of a scene id: a scenario of the Server, or an imported scene (whose
// readiness is not checked here).
func (s *Server) renderableScene(id string) (Scenario, bool) {
	if sc, ok := s.scenarioOnly(id); ok {
		return sc, true
	}
	imp, ok := s.importedScene(id)
	if !ok {
		return Scenario{}, false
	}
	if imp.t.Render != nil {
		return *imp.t.Render, true
	}
	return ImportedScenario, true
}

// sceneNotReady returns the refusal of a render of an imported scene that is not ready ("" when it is, or
// when id is not an imported scene).
func (s *Server) sceneNotReady(id string, now time.Time) (code, msg string) {
	if _, ok := s.scenarioOnly(id); ok {
		return "", ""
	}
	imp, ok := s.importedScene(id)
	if !ok {
		return "", ""
	}
	s.mu.Lock()
	status, _ := s.sceneStateLocked(imp, now)
	s.mu.Unlock()
	switch status {
	case "pending":
		return CodeSceneProcessing, "Scene is still preprocessing"
	case "failed":
		return CodeSceneNotFound, "Scene not found: its import failed"
	}
	return "", ""
}
