package viggletest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
)

var (
	uuidRe    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	personRe  = regexp.MustCompile(`^person_[0-9a-f]{8}$`)
	sceneKeys = []string{"id", "name", "status", "duration_seconds", "fps", "total_frames", "width", "height",
		"job_id", "error_message", "credits_used", "created_at", "completed_at"}
)

// postJSON posts body to path with Content-Type application/json.
func (c *client) postJSON(t testing.TB, path, body string) (int, map[string]any) {
	t.Helper()
	resp, b := c.do(t, http.MethodPost, path, strings.NewReader(body), "application/json")
	return resp.StatusCode, decode(t, b)
}

// importScene imports template and returns the answer, requiring HTTP 200.
func (c *client) importScene(t testing.TB, template, name string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"template_id": template, "name": name})
	code, m := c.postJSON(t, "/api/scenes/import", string(body))
	if code != http.StatusOK {
		t.Fatalf("import %s: HTTP %d %v, want 200", template, code, m)
	}
	return m
}

// scene polls GET /api/scenes/{id}, requiring HTTP 200.
func (c *client) scene(t testing.TB, id string) map[string]any {
	t.Helper()
	resp, b := c.do(t, http.MethodGet, "/api/scenes/"+id, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scene %s: HTTP %d %s, want 200", id, resp.StatusCode, b)
	}
	m := decode(t, b)
	for _, k := range sceneKeys {
		if _, ok := m[k]; !ok {
			t.Errorf("scene %s: field %s missing in %v", id, k, m)
		}
	}
	return m
}

func TestImportSceneCountBased(t *testing.T) {
	t.Parallel()
	s := viggletest.New(viggletest.WithAPIKey(testKey), viggletest.WithTemplates(map[string]viggletest.Template{
		"tpl_a": {Persons: 2, Duration: 7500 * time.Millisecond, ImportPolls: 3, Render: &viggletest.Scenario{Polls: 2}},
	}))
	c := setup(t, s)
	got := c.importScene(t, "tpl_a", "Group Dance")
	id, _ := got["id"].(string)
	if !uuidRe.MatchString(id) {
		t.Fatalf("id %q is not a UUID", id)
	}
	wantField(t, got, "status", "pending")
	wantField(t, got, "credits_reserved", 8.0)
	segs, _ := got["segments"].([]any)
	if len(segs) != 2 {
		t.Fatalf("segments = %v, want 2", got["segments"])
	}
	var persons []string
	for _, sg := range segs {
		m, _ := sg.(map[string]any)
		p, _ := m["uuid"].(string)
		if !personRe.MatchString(p) || m["type"] != "human" {
			t.Errorf("segment %v, want {uuid: person_…, type: human}", m)
		}
		persons = append(persons, p)
	}
	if persons[0] == persons[1] {
		t.Errorf("persons are not distinct: %v", persons)
	}
	if len(got) != 4 {
		t.Errorf("import answer %v has other fields than the documented id, status, credits_reserved, segments", got)
	}

	// A render before the scene is ready is refused as documented (CS-ORIV-010).
	code, body := c.postMultipart(t, map[string]string{"scene_id": id, "character_mapping": `{"` + persons[0] + `":"char_a"}`})
	if code != http.StatusBadRequest || detailCode(body) != viggletest.CodeSceneProcessing {
		t.Errorf("render of a pending scene: HTTP %d %v, want 400 %s", code, body, viggletest.CodeSceneProcessing)
	}
	for i, want := range []string{"pending", "pending", "ready", "ready"} {
		st := c.scene(t, id)
		wantField(t, st, "status", want)
		wantField(t, st, "id", id)
		wantField(t, st, "name", "Group Dance")
		if _, ok := st["segments"]; ok {
			t.Errorf("poll %d: GET carries segments, which Viggle does not document", i+1)
		}
		if want == "pending" {
			wantField(t, st, "duration_seconds", nil)
			wantField(t, st, "completed_at", nil)
			continue
		}
		wantField(t, st, "duration_seconds", 7.5)
		wantField(t, st, "fps", 30.0)
		wantField(t, st, "total_frames", 225.0)
		wantField(t, st, "error_message", nil)
		if _, err := time.Parse(time.RFC3339, st["completed_at"].(string)); err != nil {
			t.Errorf("completed_at: %v", err)
		}
	}
	// Once ready, a render of the scene runs with the template's Render scenario.
	job := c.create(t, id)
	wantField(t, c.status(t, job), "status", "queued")
	wantField(t, c.status(t, job), "status", "complete")
	if s.Imports() != 1 || s.Accepted() != 1 {
		t.Errorf("Imports() = %d, Accepted() = %d, want 1, 1", s.Imports(), s.Accepted())
	}
	// The import is recorded with its JSON body.
	var rec *viggletest.Request
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && r.Path == "/api/scenes/import" {
			rec = &r
		}
	}
	if rec == nil || !bytes.Contains(rec.Body, []byte(`"template_id":"tpl_a"`)) || rec.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("recorded import = %+v", rec)
	}
	if n := s.Count(http.MethodGet, "/api/scenes/"+id); n != 4 {
		t.Errorf("Count(GET scene) = %d, want 4", n)
	}
}

func TestImportSceneTimeBasedAcrossInstances(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tpls := map[string]viggletest.Template{
		"tpl_a":   {Persons: 1, Duration: 4 * time.Second, ReadyAfter: 2 * time.Second},
		"tpl_bad": {Persons: 2, ReadyAfter: time.Second, FailMessage: "no person found"},
	}
	c1 := setup(t, viggletest.New(viggletest.WithClock(clk.Now), viggletest.WithTemplates(tpls)))
	c2 := setup(t, viggletest.New(viggletest.WithClock(clk.Now), viggletest.WithTemplates(tpls))) // "another process"
	id := c1.importScene(t, "tpl_a", "")["id"].(string)
	bad := c1.importScene(t, "tpl_bad", "Broken")["id"].(string)
	created := clk.Now()
	wantField(t, c1.scene(t, id), "name", "tpl_a") // no name given: the template id
	for _, c := range []*client{c1, c2} {
		wantField(t, c.scene(t, id), "status", "pending")
		wantField(t, c.scene(t, bad), "status", "pending")
	}
	clk.Advance(time.Second)
	for _, c := range []*client{c1, c2} {
		st := c.scene(t, bad)
		wantField(t, st, "status", "failed")
		wantField(t, st, "error_message", "no person found")
		wantField(t, st, "duration_seconds", nil)
		wantField(t, st, "completed_at", created.Add(time.Second).Format(time.RFC3339))
		code, body := c.postMultipart(t, map[string]string{"scene_id": bad, "character_mapping": `{"p":"c"}`})
		if code != http.StatusBadRequest || detailCode(body) != viggletest.CodeSceneNotFound {
			t.Errorf("render of a failed scene: HTTP %d %v, want 400 %s", code, body, viggletest.CodeSceneNotFound)
		}
	}
	clk.Advance(time.Second)
	for _, c := range []*client{c1, c2} {
		st := c.scene(t, id)
		wantField(t, st, "status", "ready")
		wantField(t, st, "duration_seconds", 4.0)
		wantField(t, st, "created_at", created.Format(time.RFC3339))
		job := c.create(t, id) // ImportedScenario: about 6 s
		wantField(t, c.status(t, job), "status", "queued")
	}
	wantField(t, c2.scene(t, id), "name", "tpl_a") // the name is kept in memory only
	// A scene of a template the other process does not know is not found there.
	c3 := setup(t, viggletest.New(viggletest.WithClock(clk.Now), viggletest.WithTemplates(map[string]viggletest.Template{"tpl_x": {}})))
	if resp, b := c3.do(t, http.MethodGet, "/api/scenes/"+id, nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("scene of an unknown template: HTTP %d %s, want 404", resp.StatusCode, b)
	}
}

func TestImportSceneConnectorShape(t *testing.T) {
	t.Parallel()
	for _, shape := range []string{viggletest.ShapeCharacterUUIDs, viggletest.ShapeTemplateUUID} {
		c := setup(t, viggletest.New(viggletest.WithTemplates(map[string]viggletest.Template{
			"tpl_c": {Persons: 3, Duration: 2 * time.Second, Shape: shape},
		})))
		got := c.importScene(t, "tpl_c", "")
		id, _ := got["scene_id"].(string)
		if !uuidRe.MatchString(id) || got["id"] != nil || got["segments"] != nil {
			t.Fatalf("%s: answer %v, want scene_id and no id or segments", shape, got)
		}
		wantField(t, got, "template_uuid", "tpl_c")
		wantField(t, got, "status", "pending")
		uuids, _ := got["character_uuids"].([]any)
		if len(uuids) != 3 {
			t.Fatalf("%s: character_uuids = %v, want 3", shape, got["character_uuids"])
		}
		for _, u := range uuids {
			if s, _ := u.(string); !personRe.MatchString(s) {
				t.Errorf("%s: character_uuid %v", shape, u)
			}
		}
		wantField(t, c.scene(t, id), "status", "ready") // ReadyAfter 0: ready at once
	}
}

func TestImportSceneRefused(t *testing.T) {
	t.Parallel()
	s := viggletest.New(viggletest.WithAPIKey(testKey))
	c := setup(t, s)
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    string // detail.error_code, or "" for a FastAPI list naming field
		field                   string
	}{
		{"unknown template", "application/json", `{"template_id":"tpl_nope"}`, 404, viggletest.CodeTemplateNotFound, ""},
		{"no template_id", "application/json", `{"template_uuid":"tpl_duo"}`, 422, "", "template_id"},
		{"empty template_id", "application/json", `{"template_id":""}`, 422, "", "template_id"},
		{"name not a string", "application/json", `{"template_id":"tpl_duo","name":7}`, 422, "", "name"},
		{"not json", "application/json", `template_id=tpl_duo`, 422, "", ""},
		{"form content type", "application/x-www-form-urlencoded", `{"template_id":"tpl_duo"}`, 422, "", ""},
	}
	for _, tt := range tests {
		resp, b := c.do(t, http.MethodPost, "/api/scenes/import", strings.NewReader(tt.body), tt.contentType)
		m := decode(t, b)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: HTTP %d %s, want %d", tt.name, resp.StatusCode, b, tt.status)
			continue
		}
		if tt.code != "" {
			if detailCode(m) != tt.code {
				t.Errorf("%s: body %s, want error_code %s", tt.name, b, tt.code)
			}
			continue
		}
		list, _ := m["detail"].([]any)
		if len(list) != 1 {
			t.Errorf("%s: body %s, want a FastAPI detail list", tt.name, b)
			continue
		}
		item, _ := list[0].(map[string]any)
		loc, _ := item["loc"].([]any)
		if item["msg"] == "" || (tt.field != "" && (len(loc) != 2 || loc[1] != tt.field)) {
			t.Errorf("%s: detail %v, want msg and loc [body %s]", tt.name, item, tt.field)
		}
	}
	if s.Imports() != 0 {
		t.Errorf("Imports() = %d after refusals", s.Imports())
	}
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/api/scenes/import", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/api/scenes/770e8400-e29b-41d4-a716-446655440000", http.StatusMethodNotAllowed},
		{http.MethodGet, "/api/scenes/770e8400-e29b-41d4-a716-446655440000", http.StatusNotFound},
		{http.MethodGet, "/api/scenes/scene_demo", http.StatusNotFound},
		{http.MethodGet, "/api/scenes/", http.StatusNotFound},
	} {
		if resp, b := c.do(t, tt.method, tt.path, nil, ""); resp.StatusCode != tt.status {
			t.Errorf("%s %s: HTTP %d %s, want %d", tt.method, tt.path, resp.StatusCode, b, tt.status)
		}
	}
	// A render of an unknown UUID scene is refused as today.
	code, body := c.postMultipart(t, map[string]string{"scene_id": "770e8400-e29b-41d4-a716-446655440000", "character_mapping": `{"p":"c"}`})
	if code != http.StatusBadRequest || detailCode(body) != viggletest.CodeSceneNotFound {
		t.Errorf("render of an unknown scene: HTTP %d %v", code, body)
	}
}

// Every default template imports, and the documentation lists each.
func TestDefaultTemplates(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := setup(t, viggletest.New(viggletest.WithClock(clk.Now), viggletest.WithScenarios(map[string]viggletest.Scenario{})))
	ids := map[string]string{}
	for name, tpl := range viggletest.DefaultTemplates() {
		got := c.importScene(t, name, "")
		id, _ := got["id"].(string)
		if id == "" {
			id, _ = got["scene_id"].(string)
		}
		ids[name] = id
		if tpl.ImportPolls != 0 || tpl.ReadyAfter > 10*time.Second {
			t.Errorf("%s: default templates are time-based and quick, got %+v", name, tpl)
		}
	}
	clk.Advance(10 * time.Second)
	for name, tpl := range viggletest.DefaultTemplates() {
		want := "ready"
		if tpl.FailMessage != "" {
			want = "failed"
		}
		wantField(t, c.scene(t, ids[name]), "status", want)
	}
}
