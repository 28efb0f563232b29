package viggletest_test

import (
	"bytes"
	"errors"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// preprocess posts fields as multipart/form-data to /api/characters/preprocess.
func (c *client) preprocess(t testing.TB, fields map[string]string) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, b := c.do(t, http.MethodPost, "/api/characters/preprocess", &buf, mw.FormDataContentType())
	return resp.StatusCode, decode(t, b)
}

// character polls GET /api/characters/{id}, requiring HTTP 200.
func (c *client) character(t testing.TB, id string) map[string]any {
	t.Helper()
	resp, b := c.do(t, http.MethodGet, "/api/characters/"+id, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("character %s: HTTP %d %s, want 200", id, resp.StatusCode, b)
	}
	m := decode(t, b)
	for _, k := range []string{"id", "name", "status", "job_id", "error", "error_message", "thumbnail_url",
		"credits_used", "created_at", "completed_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("character %s: field %s missing in %v", id, k, m)
		}
	}
	return m
}

func TestCharacterPreprocess(t *testing.T) {
	t.Parallel()
	s := viggletest.New(viggletest.WithAPIKey(testKey), viggletest.WithCharacterPolls(3))
	c := setup(t, s)
	const img = "https://cdn.discordapp.com/attachments/1/2/alice.png?ex=1&hm=2"
	code, got := c.preprocess(t, map[string]string{"name": "Alice", "image_url": img})
	if code != http.StatusOK {
		t.Fatalf("preprocess: HTTP %d %v", code, got)
	}
	id, _ := got["character_id"].(string)
	if !uuidRe.MatchString(id) {
		t.Fatalf("character_id %q is not a UUID", id)
	}
	wantField(t, got, "job_id", "char_"+strings.ReplaceAll(id, "-", "")[:12])
	wantField(t, got, "status", "pending")
	if _, err := time.Parse(time.RFC3339, got["enqueued_at"].(string)); err != nil {
		t.Errorf("enqueued_at: %v", err)
	}
	for i, want := range []string{"pending", "processing", "ready", "ready"} {
		st := c.character(t, id)
		wantField(t, st, "status", want)
		wantField(t, st, "id", id)
		wantField(t, st, "name", "Alice")
		if want != "ready" {
			wantField(t, st, "thumbnail_url", nil)
			continue
		}
		wantField(t, st, "error_message", nil)
		wantField(t, st, "credits_used", 1.0)
		thumb, _ := st["thumbnail_url"].(string)
		if thumb != c.base+"/cdn/characters/"+id+".png" {
			t.Fatalf("poll %d: thumbnail_url = %q", i+1, thumb)
		}
		anon := *c
		anon.key = ""
		resp, b := anon.do(t, http.MethodGet, thumb, nil, "")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("thumbnail: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("thumbnail is not a PNG: %v", err)
		}
	}
	if s.Characters() != 1 {
		t.Errorf("Characters() = %d, want 1", s.Characters())
	}
	var rec *viggletest.Request
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && r.Path == "/api/characters/preprocess" {
			rec = &r
		}
	}
	if rec == nil || rec.Form.Get("name") != "Alice" || rec.Form.Get("image_url") != img {
		t.Errorf("recorded preprocess = %+v", rec)
	}

	// Another process knows the character from its id alone: ready, name unknown.
	c2 := setup(t, viggletest.New())
	st := c2.character(t, id)
	wantField(t, st, "status", "ready")
	wantField(t, st, "name", nil)
}

func TestCharacterFails(t *testing.T) {
	t.Parallel()
	c := setup(t, viggletest.New(viggletest.WithCharacterPolls(1)))
	code, got := c.preprocess(t, map[string]string{"name": "Bob", "image_url": "https://x.example/FAIL-bob.png"})
	if code != http.StatusOK {
		t.Fatalf("preprocess: HTTP %d %v", code, got)
	}
	id := got["character_id"].(string)
	st := c.character(t, id)
	wantField(t, st, "status", "failed")
	wantField(t, st, "error_message", viggletest.CharacterFailMessage)
	wantField(t, st, "thumbnail_url", nil)
	wantField(t, st, "credits_used", 0.0)
	if st["error"] == nil || st["completed_at"] == nil {
		t.Errorf("failed character lacks error or completed_at: %v", st)
	}
	if resp, _ := c.do(t, http.MethodGet, "/cdn/characters/"+id+".png", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("thumbnail of a failed character: HTTP %d, want 404", resp.StatusCode)
	}
}

func TestCharacterRefused(t *testing.T) {
	t.Parallel()
	s := viggletest.New(viggletest.WithAPIKey(testKey))
	c := setup(t, s)
	for _, tt := range []struct {
		name   string
		fields map[string]string
		status int
		code   string // "" = a FastAPI 422 list
	}{
		{"no name", map[string]string{"image_url": "https://x.example/a.png"}, 422, ""},
		{"blank name", map[string]string{"name": " ", "image_url": "https://x.example/a.png"}, 422, ""},
		{"no image", map[string]string{"name": "a"}, 400, viggletest.CodeMissingImage},
		{"relative image", map[string]string{"name": "a", "image_url": "/a.png"}, 400, viggletest.CodeValidation},
	} {
		code, body := c.preprocess(t, tt.fields)
		if code != tt.status {
			t.Errorf("%s: HTTP %d %v, want %d", tt.name, code, body, tt.status)
			continue
		}
		if tt.code != "" && detailCode(body) != tt.code {
			t.Errorf("%s: body %v, want %s", tt.name, body, tt.code)
		}
		if list, _ := body["detail"].([]any); tt.code == "" && len(list) != 1 {
			t.Errorf("%s: body %v, want a FastAPI detail list", tt.name, body)
		}
	}
	resp, b := c.do(t, http.MethodPost, "/api/characters/preprocess", strings.NewReader(`{"name":"a"}`), "application/json")
	if resp.StatusCode != 422 {
		t.Errorf("JSON preprocess: HTTP %d %s, want 422", resp.StatusCode, b)
	}
	if s.Characters() != 0 {
		t.Errorf("Characters() = %d after refusals", s.Characters())
	}
	for _, p := range []string{"/api/characters/550e8400-e29b-41d4-a716-446655440000", "/api/characters/char_alice", "/cdn/characters/550e8400-e29b-41d4-a716-446655440000.png"} {
		if resp, b := c.do(t, http.MethodGet, p, nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: HTTP %d %s, want 404", p, resp.StatusCode, b)
		}
	}
	if resp, _ := c.do(t, http.MethodGet, "/api/characters/preprocess", nil, ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET preprocess: HTTP %d, want 405", resp.StatusCode)
	}
	none := *c
	none.key = ""
	for _, p := range []string{"/api/characters/preprocess", "/api/scenes/import"} {
		if resp, _ := none.do(t, http.MethodPost, p, nil, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without key: HTTP %d, want 401", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/api/characters/x", "/api/scenes/x"} {
		if resp, _ := none.do(t, http.MethodGet, p, nil, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without key: HTTP %d, want 401", p, resp.StatusCode)
		}
	}
}

func TestCredits(t *testing.T) {
	t.Parallel()
	c := setup(t, viggletest.New())
	resp, b := c.do(t, http.MethodGet, "/api/credits", nil, "")
	if m := decode(t, b); resp.StatusCode != 200 || m["balance"] != float64(viggletest.DefaultCredits) || len(m) != 1 {
		t.Errorf("default credits: HTTP %d %s", resp.StatusCode, b)
	}
	s := viggletest.New(viggletest.WithCredits(42))
	c = setup(t, s)
	c.create(t, "scene_demo") // renders do not touch the balance
	_, b = c.do(t, http.MethodGet, "/api/credits", nil, "")
	wantField(t, decode(t, b), "balance", 42.0)
	s.SetCredits(0)
	_, b = c.do(t, http.MethodGet, "/api/credits", nil, "")
	wantField(t, decode(t, b), "balance", 0.0)
}

// The bot's own client speaks to the fake: import a default template, follow it, preprocess a character,
// render the scene with it, read the balance.
func TestViggleClientAgainstFake(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := viggletest.New(viggletest.WithAPIKey(testKey), viggletest.WithClock(clk.Now), viggletest.WithCharacterPolls(2),
		viggletest.WithCredits(77))
	c := setup(t, s)
	vc, err := viggle.NewClient(testKey, viggle.WithBaseURL(c.base))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for tpl, persons := range map[string]int{"tpl_duo": 2, "tpl_legacy": 2, "tpl_plain": 0} {
		sc, err := vc.ImportScene(ctx, tpl, "My "+tpl)
		if err != nil {
			t.Fatalf("ImportScene(%s): %v", tpl, err)
		}
		if sc.ID == "" || sc.Status != viggle.ScenePending || len(sc.Segments) != persons {
			t.Fatalf("ImportScene(%s) = %+v, want pending with %d segments", tpl, sc, persons)
		}
	}
	sc, err := vc.ImportScene(ctx, "tpl_trio", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Segments) != 3 || sc.Segments[0].Type != "human" || sc.CreditsReserved != 12 {
		t.Fatalf("tpl_trio import = %+v", sc)
	}
	_, err = vc.ImportScene(ctx, "tpl_nope", "")
	var ae *viggle.APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 404 || errors.Is(err, viggle.ErrOutcomeUnknown) {
		t.Errorf("unknown template: %v, want a 404 refusal", err)
	}
	got, err := vc.GetScene(ctx, sc.ID)
	if err != nil || got.Status != viggle.ScenePending {
		t.Fatalf("GetScene = %+v, %v; want pending", got, err)
	}
	clk.Advance(3 * time.Second)
	got, err = vc.GetScene(ctx, sc.ID)
	if d, ok := got.Duration(); err != nil || got.Status != viggle.SceneReady || !ok || d != 12*time.Second || got.Name != "tpl_trio" {
		t.Fatalf("GetScene = %+v, %v; want ready, 12 s, named tpl_trio", got, err)
	}

	ch, err := vc.PreprocessCharacter(ctx, "alice", "https://x.example/alice.png")
	if err != nil || ch.ID == "" || ch.Status != viggle.CharacterPending {
		t.Fatalf("PreprocessCharacter = %+v, %v", ch, err)
	}
	var last *viggle.Character
	for range 2 {
		if last, err = vc.GetCharacter(ctx, ch.ID); err != nil {
			t.Fatal(err)
		}
	}
	if last.Status != viggle.CharacterReady || last.ThumbnailURL == "" || last.Name != "alice" {
		t.Fatalf("GetCharacter = %+v, want ready with a thumbnail", last)
	}
	_, err = vc.PreprocessCharacter(ctx, "alice", "")
	if !errors.Is(err, viggle.ErrNotSent) {
		t.Errorf("preprocess without an image: %v, want ErrNotSent", err)
	}

	mapping := `{"` + sc.Segments[0].UUID + `":"` + ch.ID + `","` + sc.Segments[2].UUID + `":"` + ch.ID + `"}`
	sub, err := vc.CreateRender(ctx, viggle.RenderRequest{SceneID: sc.ID, CharacterMapping: mapping})
	if err != nil {
		t.Fatalf("CreateRender on the imported scene: %v", err)
	}
	clk.Advance(time.Minute)
	r, err := vc.GetRender(ctx, sub.JobID)
	if err != nil || r.Status != viggle.StatusComplete {
		t.Fatalf("GetRender = %+v, %v; want complete", r, err)
	}
	b, err := vc.Credits(ctx)
	if err != nil || b.Balance != 77 {
		t.Fatalf("Credits = %+v, %v; want 77", b, err)
	}
}
