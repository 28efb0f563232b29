package viggle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// postCall is one of the creates (ImportScene, PreprocessCharacter) that must be sent once and classified.
type postCall struct {
	name string
	path string
	call func(ctx context.Context, c *Client) error
	ok   string // a 2xx body with an id
}

var postCalls = []postCall{
	{"import scene", "/api/scenes/import", func(ctx context.Context, c *Client) error {
		_, err := c.ImportScene(ctx, "tpl_1", "Group Dance")
		return err
	}, `{"id":"scene_1","status":"pending"}`},
	{"preprocess character", "/api/characters/preprocess", func(ctx context.Context, c *Client) error {
		_, err := c.PreprocessCharacter(ctx, "alice", "https://cdn.example/alice.png?sig=abc")
		return err
	}, `{"character_id":"char_1","status":"pending"}`},
}

func TestImportSceneRequest(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, tpl, scene, want string
	}{
		{"with name", "770e8400-e29b-41d4-a716-446655440000", "Group Dance",
			`{"template_id":"770e8400-e29b-41d4-a716-446655440000","name":"Group Dance"}`},
		{"name omitted", "tpl_1", "", `{"template_id":"tpl_1"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			var n counter
			mux.HandleFunc("/api/scenes/import", n.wrap(func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodPost)
				testAPIHeaders(t, r)
				testHeader(t, r, "Content-Type", "application/json")
				b, _ := io.ReadAll(r.Body)
				if string(b) != tt.want {
					t.Errorf("body = %s, want %s", b, tt.want)
				}
				fmt.Fprint(w, `{"id":"scene_1","status":"pending"}`)
			}))
			s, err := c.ImportScene(t.Context(), tt.tpl, tt.scene)
			if err != nil {
				t.Fatalf("ImportScene: %v", err)
			}
			if s.ID != "scene_1" || s.Status != ScenePending || n.get() != 1 {
				t.Errorf("got %+v after %d requests, want scene_1 pending after 1", s, n.get())
			}
		})
	}
}

func TestImportSceneShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   Scene
	}{
		{"documented", 200, `{"id":"770e8400-e29b-41d4-a716-446655440000","status":"pending","credits_reserved":15,
			"segments":[{"uuid":"person_a1b2c3d4","type":"human"},{"uuid":"person_e5f6a7b8","type":"human"}]}`,
			Scene{ID: "770e8400-e29b-41d4-a716-446655440000", Status: ScenePending, CreditsReserved: 15,
				Segments: []Segment{{"person_a1b2c3d4", "human"}, {"person_e5f6a7b8", "human"}}}},
		{"connector shape", 201, `{"scene_id":"scene_9","template_uuid":"tpl_1","status":"pending","character_uuids":["person_1","person_2"]}`,
			Scene{ID: "scene_9", TemplateID: "tpl_1", Status: ScenePending, Segments: []Segment{{"person_1", ""}, {"person_2", ""}}}},
		{"segments win over character_uuids", 200, `{"id":"s","segments":[{"uuid":"p1","type":"human"}],"character_uuids":["x"]}`,
			Scene{ID: "s", Segments: []Segment{{"p1", "human"}}}},
		{"odd segments", 202, `{"id":"s","segments":["p1",{"id":"p2"},{"type":"human"},7,{"uuid":""}],"duration_seconds":"12.5"}`,
			Scene{ID: "s", Segments: []Segment{{"p1", ""}, {"p2", ""}, {"7", ""}}, DurationSeconds: 12.5}},
		{"no segments", 200, `{"id":"s","status":"pending","segments":null,"name":"Solo","template_id":"tpl_2","duration_seconds":8}`,
			Scene{ID: "s", Status: ScenePending, Name: "Solo", TemplateID: "tpl_2", DurationSeconds: 8}},
		{"data wrapper", 200, `{"data":{"id":"s","status":"pending"}}`, Scene{ID: "s", Status: ScenePending}},
		{"numeric id, odd types", 200, `{"id":42,"status":["x"],"credits_reserved":"3","duration_seconds":-1}`,
			Scene{ID: "42", CreditsReserved: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			mux.HandleFunc("POST /api/scenes/import", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			got, err := c.ImportScene(t.Context(), "tpl_1", "")
			if err != nil {
				t.Fatalf("ImportScene: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// The two creates are classified like CreateRender: a decodable 4xx is a refusal (an *APIError alone); a 5xx,
// an undecodable 4xx, a cut, a redirect or a 2xx without an id is ErrOutcomeUnknown; each is sent once.
func TestCreatesClassified(t *testing.T) {
	t.Parallel()
	type answer struct {
		name    string
		status  int
		body    string
		cut     bool
		refusal bool // a decodable 4xx: *APIError alone
	}
	answers := []answer{
		{name: "400 detail", status: 400, body: `{"detail":{"error_code":"CS-UORC01-002","message":"bad"}}`, refusal: true},
		{name: "402 detail", status: 402, body: `{"detail":{"error_code":"CS-UORC01-008","message":"Insufficient credits"}}`, refusal: true},
		{name: "404 string", status: 404, body: `{"detail":"Template not found"}`, refusal: true},
		{name: "422 fastapi", status: 422, body: `{"detail":[{"loc":["body","name"],"msg":"field required"}]}`, refusal: true},
		{name: "429 detail", status: 429, body: `{"detail":"slow down"}`, refusal: true},
		{name: "500 detail", status: 500, body: `{"detail":{"error_code":"CS-X","message":"oops"}}`},
		{name: "502 html", status: 502, body: "<html><h1>502 Bad Gateway</h1></html>"},
		{name: "503 string", status: 503, body: `{"detail":"overloaded"}`},
		{name: "403 empty", status: 403, body: ""},
		{name: "200 without id", status: 200, body: `{"status":"pending"}`},
		{name: "200 not json", status: 200, body: `<html>ok</html>`},
		{name: "200 job_id only", status: 200, body: `{"job_id":"char_550e8400e29b","status":"pending"}`},
		{name: "303", status: http.StatusSeeOther},
		{name: "cut", cut: true},
	}
	for _, pc := range postCalls {
		for _, a := range answers {
			t.Run(pc.name+"/"+a.name, func(t *testing.T) {
				t.Parallel()
				mux, c, srv := setup(t)
				var posts, others counter
				mux.HandleFunc("POST "+pc.path, posts.wrap(func(w http.ResponseWriter, r *http.Request) {
					if a.cut {
						_, _ = io.Copy(io.Discard, r.Body)
						conn, _, err := w.(http.Hijacker).Hijack()
						if err == nil {
							_ = conn.Close()
						}
						return
					}
					if a.status/100 == 3 {
						w.Header().Set("Location", srv.URL+"/elsewhere")
					}
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(a.status)
					fmt.Fprint(w, a.body)
				}))
				mux.HandleFunc("/", others.wrap(func(http.ResponseWriter, *http.Request) {}))
				err := pc.call(t.Context(), c)
				var ae *APIError
				if a.refusal {
					if !errors.As(err, &ae) || ae.HTTPStatus != a.status || !ae.Decoded {
						t.Fatalf("error = %v, want a decoded *APIError %d", err, a.status)
					}
					if errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrNotSent) {
						t.Errorf("error %v carries a sentinel; Viggle refused", err)
					}
				} else {
					if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrNotSent) {
						t.Fatalf("error = %v, want ErrOutcomeUnknown only", err)
					}
					if a.status >= 300 && (!errors.As(err, &ae) || ae.HTTPStatus != a.status) {
						t.Errorf("error = %v, want the *APIError %d in its chain", err, a.status)
					}
				}
				if posts.get() != 1 || others.get() != 0 {
					t.Errorf("requests: %d POST, %d others; want 1 POST only", posts.get(), others.get())
				}
				noKey(t, err)
				if strings.Contains(err.Error(), "sig=abc") {
					t.Errorf("error %q shows the image URL's signature", err)
				}
			})
		}
	}
}

func TestCreatesNotSent(t *testing.T) {
	t.Parallel()
	for _, pc := range postCalls {
		t.Run(pc.name+"/connection refused", func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(testKey, WithBaseURL("http://"+closedAddr(t)))
			if err != nil {
				t.Fatal(err)
			}
			err = pc.call(t.Context(), c)
			if !errors.Is(err, ErrNotSent) || errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("error = %v, want ErrNotSent", err)
			}
			noKey(t, err)
		})
		t.Run(pc.name+"/limiter fails", func(t *testing.T) {
			t.Parallel()
			lim := &countingLimiter{err: errors.New("limiter closed")}
			mux, c, _ := setup(t, WithLimiter(lim))
			var n counter
			mux.HandleFunc("/", n.wrap(func(http.ResponseWriter, *http.Request) {}))
			err := pc.call(t.Context(), c)
			if !errors.Is(err, ErrNotSent) || !errors.Is(err, lim.err) || n.get() != 0 {
				t.Fatalf("error = %v after %d requests, want ErrNotSent wrapping the limiter error, none sent", err, n.get())
			}
		})
	}
	mux, c, _ := setup(t)
	var n counter
	mux.HandleFunc("/", n.wrap(func(http.ResponseWriter, *http.Request) {}))
	invalid := map[string]func() error{
		"empty template": func() error { _, err := c.ImportScene(t.Context(), "", "x"); return err },
		"bad template":   func() error { _, err := c.ImportScene(t.Context(), "a\nb", "x"); return err },
		"no name":        func() error { _, err := c.PreprocessCharacter(t.Context(), " ", "https://x/a.png"); return err },
		"no image":       func() error { _, err := c.PreprocessCharacter(t.Context(), "alice", ""); return err },
		"relative image": func() error { _, err := c.PreprocessCharacter(t.Context(), "alice", "/a.png"); return err },
		"ftp image":      func() error { _, err := c.PreprocessCharacter(t.Context(), "alice", "ftp://x/a.png"); return err },
	}
	for name, call := range invalid {
		if err := call(); !errors.Is(err, ErrNotSent) {
			t.Errorf("%s: error = %v, want ErrNotSent", name, err)
		}
	}
	if n.get() != 0 {
		t.Errorf("%d requests sent for invalid calls", n.get())
	}
}

func TestGetScene(t *testing.T) {
	t.Parallel()
	full := `{"id":"scene_1","name":"Group Dance","status":"ready","duration_seconds":12.5,"fps":30,"total_frames":375,
		"width":720,"height":1280,"job_id":"scene_660e8400e29b","error_message":null,"credits_used":0,
		"created_at":"2024-01-01T00:00:00Z","completed_at":"2024-01-01T00:01:00Z","unknown":{"x":1}}`
	wantFull := Scene{ID: "scene_1", Name: "Group Dance", Status: SceneReady, DurationSeconds: 12.5, FPS: 30, TotalFrames: 375,
		Width: 720, Height: 1280, JobID: "scene_660e8400e29b", CreatedAt: "2024-01-01T00:00:00Z", CompletedAt: "2024-01-01T00:01:00Z"}
	tests := []struct {
		name, body string
		want       Scene
	}{
		{"every field", full, wantFull},
		{"data wrapper", `{"data":` + full + `}`, wantFull},
		{"failed", `{"id":"scene_1","status":"failed","error_message":"Template not importable","error":{"message":"bad","code":"E1"}}`,
			Scene{ID: "scene_1", Status: SceneFailed, ErrorMessage: "Template not importable", Error: "bad"}},
		{"segments if present", `{"id":"scene_1","status":"ready","segments":[{"uuid":"p1","type":"human"}]}`,
			Scene{ID: "scene_1", Status: SceneReady, Segments: []Segment{{"p1", "human"}}}},
		{"scene_id", `{"scene_id":"scene_1","status":"processing"}`, Scene{ID: "scene_1", Status: SceneProcessing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			mux.HandleFunc("GET /api/scenes/{id}", func(w http.ResponseWriter, r *http.Request) {
				testAPIHeaders(t, r)
				if got, want := r.URL.EscapedPath(), "/api/scenes/scene_1"; got != want {
					t.Errorf("path = %s, want %s", got, want)
				}
				fmt.Fprint(w, tt.body)
			})
			got, err := c.GetScene(t.Context(), "scene_1")
			if err != nil {
				t.Fatalf("GetScene: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// The three GETs are retried like GetRender: 429, 5xx, malformed 2xx and cuts, never another 4xx; ids are
// escaped and validated.
func TestGetsRetried(t *testing.T) {
	t.Parallel()
	gets := []struct {
		name, path, ok string
		call           func(ctx context.Context, c *Client, id string) error
	}{
		{"scene", "/api/scenes/", `{"id":"x","status":"ready"}`, func(ctx context.Context, c *Client, id string) error {
			_, err := c.GetScene(ctx, id)
			return err
		}},
		{"character", "/api/characters/", `{"id":"x","status":"ready"}`, func(ctx context.Context, c *Client, id string) error {
			_, err := c.GetCharacter(ctx, id)
			return err
		}},
		{"credits", "/api/credits", `{"balance":5}`, func(ctx context.Context, c *Client, _ string) error {
			_, err := c.Credits(ctx)
			return err
		}},
	}
	tests := []struct {
		name     string
		first    []string // answers before ok: a status code, "malformed" or "cut"
		wantErr  int      // HTTP status of the final *APIError; 0 = success; -1 = some other error
		wantReqs int
	}{
		{"ok", nil, 0, 1},
		{"429, 503, malformed, cut, then ok", []string{"429", "503", "malformed", "cut"}, 0, 5},
		{"502 until exhausted", []string{"502", "502", "502", "502", "502"}, 502, fastRetry.MaxAttempts},
		{"404 not retried", []string{"404"}, 404, 1},
		{"401 not retried", []string{"401"}, 401, 1},
	}
	for _, g := range gets {
		for _, tt := range tests {
			t.Run(g.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				mux, c, _ := setup(t)
				var n counter
				mux.HandleFunc(g.path, n.wrap(func(w http.ResponseWriter, r *http.Request) {
					testMethod(t, r, http.MethodGet)
					testAPIHeaders(t, r)
					if g.name != "credits" && r.URL.EscapedPath() != g.path+"a%2Fb%20c" {
						t.Errorf("path = %s, want %sa%%2Fb%%20c", r.URL.EscapedPath(), g.path)
					}
					i := n.get() - 1
					if i >= len(tt.first) {
						fmt.Fprint(w, g.ok)
						return
					}
					switch a := tt.first[i]; a {
					case "malformed":
						fmt.Fprint(w, `{"id":"x","sta`)
					case "cut":
						conn, _, err := w.(http.Hijacker).Hijack()
						if err == nil {
							_ = conn.Close()
						}
					default:
						var code int
						fmt.Sscan(a, &code)
						w.Header().Set("Retry-After", "0")
						w.WriteHeader(code)
						fmt.Fprint(w, `{"detail":{"error_code":"CS-X","message":"no `+testKey+`"}}`)
					}
				}))
				err := g.call(t.Context(), c, "a/b c")
				switch {
				case tt.wantErr == 0 && err != nil:
					t.Fatalf("error = %v, want success", err)
				case tt.wantErr > 0:
					var ae *APIError
					if !errors.As(err, &ae) || ae.HTTPStatus != tt.wantErr {
						t.Fatalf("error = %v, want *APIError %d", err, tt.wantErr)
					}
				}
				if n.get() != tt.wantReqs {
					t.Errorf("%d requests, want %d", n.get(), tt.wantReqs)
				}
				noKey(t, err)
			})
		}
	}
	_, c, _ := setup(t)
	for _, bad := range []string{"", "a\nb", strings.Repeat("x", 300)} {
		if _, err := c.GetScene(t.Context(), bad); err == nil {
			t.Errorf("GetScene(%q) accepted a bad id", bad)
		}
		if _, err := c.GetCharacter(t.Context(), bad); err == nil {
			t.Errorf("GetCharacter(%q) accepted a bad id", bad)
		}
	}
}

func TestSceneHelpers(t *testing.T) {
	t.Parallel()
	s := Scene{DurationSeconds: 2.5}
	if d, ok := s.Duration(); !ok || d != 2500*time.Millisecond {
		t.Errorf("Duration() = %v, %v; want 2.5s, true", d, ok)
	}
	if _, ok := (&Scene{}).Duration(); ok {
		t.Error("Duration() of a scene without one says it is known")
	}
	for _, tt := range []struct {
		s    Scene
		want string
	}{
		{Scene{ErrorMessage: " m ", Error: "e", ErrorCode: "c"}, "m"},
		{Scene{Error: "e", ErrorCode: "c"}, "e"},
		{Scene{ErrorCode: "c"}, "c"},
		{Scene{}, ""},
	} {
		if got := tt.s.Failure(); got != tt.want {
			t.Errorf("Failure() of %+v = %q, want %q", tt.s, got, tt.want)
		}
	}
	for _, tt := range []struct {
		secs float64
		fast bool
		want int
	}{
		{0, false, 0}, {-1, true, 0}, {12, false, 12}, {12, true, 24}, {12.2, false, 13}, {0.5, true, 2},
	} {
		if got := RenderCredits(tt.secs, tt.fast); got != tt.want {
			t.Errorf("RenderCredits(%v, %v) = %d, want %d", tt.secs, tt.fast, got, tt.want)
		}
	}
	// Scene survives a JSON round trip (the fake and stores may encode it).
	in := Scene{ID: "s", Name: "n", TemplateID: "t", Status: SceneReady, Segments: []Segment{{"p1", "human"}}, DurationSeconds: 3}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Scene
	if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Errorf("round trip: got %+v (%v), want %+v", out, err, in)
	}
}

func TestStatusesTerminalKnown(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s               string
		terminal, known bool
	}{
		{"pending", false, true}, {"processing", false, true}, {"ready", true, true}, {"failed", true, true},
		{"", false, false}, {"READY", false, false}, {"complete", false, false}, {"error", false, false},
	} {
		if got := SceneStatus(tt.s).Terminal(); got != tt.terminal {
			t.Errorf("SceneStatus(%q).Terminal() = %v", tt.s, got)
		}
		if got := SceneStatus(tt.s).Known(); got != tt.known {
			t.Errorf("SceneStatus(%q).Known() = %v", tt.s, got)
		}
		if got := CharacterStatus(tt.s).Terminal(); got != tt.terminal {
			t.Errorf("CharacterStatus(%q).Terminal() = %v", tt.s, got)
		}
		if got := CharacterStatus(tt.s).Known(); got != tt.known {
			t.Errorf("CharacterStatus(%q).Known() = %v", tt.s, got)
		}
	}
}
