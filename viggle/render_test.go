package viggle

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestCreateRenderForm(t *testing.T) {
	t.Parallel()
	// Key order in the mapping must survive byte for byte.
	const mapping = `{"person_b":"char_2","person_a":"char_1"}`
	tests := []struct {
		name string
		req  RenderRequest
		want map[string]string
	}{
		{
			name: "required only",
			req:  RenderRequest{SceneID: "scene_1", CharacterMapping: mapping},
			want: map[string]string{"scene_id": "scene_1", "character_mapping": mapping},
		},
		{
			name: "every field",
			req: RenderRequest{SceneID: "scene_1", CharacterMapping: mapping, BackgroundMode: "solid",
				BGColor: "0,255,0", Fast: true, Model: "V4_Preview"},
			want: map[string]string{"scene_id": "scene_1", "character_mapping": mapping, "background_mode": "solid",
				"bg_color": "0,255,0", "fast": "true", "model": "V4_Preview"},
		},
		{
			name: "fast false, model given",
			req:  RenderRequest{SceneID: "scene_1", CharacterMapping: mapping, Model: "V3_Preview"},
			want: map[string]string{"scene_id": "scene_1", "character_mapping": mapping, "model": "V3_Preview"},
		},
		{
			name: "transparent without colour",
			req:  RenderRequest{SceneID: "scene_1", CharacterMapping: mapping, BackgroundMode: "transparent"},
			want: map[string]string{"scene_id": "scene_1", "character_mapping": mapping, "background_mode": "transparent"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			mux.HandleFunc("/api/render", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodPost)
				testAPIHeaders(t, r)
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/form-data; boundary=") {
					t.Errorf("Content-Type = %q, want multipart/form-data", ct)
				}
				for _, h := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
					if _, ok := r.Header[h]; ok {
						t.Errorf("%s header sent", h)
					}
				}
				if err := r.ParseMultipartForm(1 << 20); err != nil {
					t.Fatalf("parse form: %v", err)
				}
				if len(r.MultipartForm.File) != 0 {
					t.Errorf("unexpected file parts: %v", r.MultipartForm.File)
				}
				got := map[string]string{}
				for k, v := range r.MultipartForm.Value {
					if len(v) != 1 {
						t.Errorf("field %s sent %d times", k, len(v))
					}
					got[k] = v[0]
				}
				if !maps.Equal(got, tt.want) {
					t.Errorf("form = %v, want %v", got, tt.want)
				}
				w.WriteHeader(http.StatusAccepted)
				fmt.Fprint(w, `{"job_id":"job_abc","status":"queued","mode":"full_pipeline","enqueued_at":"2023-11-07T05:31:56Z"}`)
			})
			s, err := c.CreateRender(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("CreateRender: %v", err)
			}
			want := &Submitted{JobID: "job_abc", Status: "queued", Mode: "full_pipeline", EnqueuedAt: "2023-11-07T05:31:56Z"}
			if *s != *want {
				t.Errorf("got %+v, want %+v", s, want)
			}
		})
	}
}

func TestCreateRenderSuccessShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   Submitted
	}{
		{"200", 200, `{"job_id":"j1"}`, Submitted{JobID: "j1"}},
		{"201", 201, `{"job_id":"j1","status":"queued"}`, Submitted{JobID: "j1", Status: "queued"}},
		{"202 with urls", 202, `{"job_id":"j1","poll_url":"/api/render/j1","status_url":"/s","extra":{"x":1}}`,
			Submitted{JobID: "j1", PollURL: "/api/render/j1", StatusURL: "/s"}},
		{"data wrapper", 200, `{"data":{"job_id":"j1","status":"queued"}}`, Submitted{JobID: "j1", Status: "queued"}},
		{"numeric id", 200, `{"job_id":12345,"status":7}`, Submitted{JobID: "12345", Status: "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			mux.HandleFunc("POST /api/render", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			s, err := c.CreateRender(t.Context(), RenderRequest{SceneID: "s", CharacterMapping: `{"a":"b"}`})
			if err != nil {
				t.Fatalf("CreateRender: %v", err)
			}
			if *s != tt.want {
				t.Errorf("got %+v, want %+v", *s, tt.want)
			}
		})
	}
}

// A 2xx without a usable job id, or a redirect, may mean the render exists: outcome unknown.
func TestCreateRenderUnusableAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		status     int
	}{
		{"no job_id", `{"status":"queued"}`, 200},
		{"empty job_id", `{"job_id":""}`, 202},
		{"not json", `<html>ok</html>`, 200},
		{"json array", `[{"job_id":"j1"}]`, 200},
		{"empty body", ``, 201},
		{"303 redirect", ``, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, srv := setup(t)
			var posts, others counter
			mux.HandleFunc("POST /api/render", posts.wrap(func(w http.ResponseWriter, r *http.Request) {
				if tt.status/100 == 3 {
					w.Header().Set("Location", srv.URL+"/api/render/j1")
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			mux.HandleFunc("/", others.wrap(func(http.ResponseWriter, *http.Request) {}))
			_, err := c.CreateRender(t.Context(), RenderRequest{SceneID: "s", CharacterMapping: `{"a":"b"}`})
			if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrNotSent) {
				t.Fatalf("error = %v, want ErrOutcomeUnknown only", err)
			}
			if posts.get() != 1 || others.get() != 0 {
				t.Errorf("requests: %d POST, %d others; want 1 POST only", posts.get(), others.get())
			}
			noKey(t, err)
		})
	}
}

// Viggle's refusal of a create (a 4xx with its error body) is an *APIError, sent once (never retried), and
// neither sentinel: nothing was created.
func TestCreateRenderErrorNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusPaymentRequired, http.StatusBadRequest} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			var n counter
			mux.HandleFunc("POST /api/render", n.wrap(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(status)
				fmt.Fprint(w, `{"detail":{"error_code":"CS-X","message":"no"}}`)
			}))
			_, err := c.CreateRender(t.Context(), RenderRequest{SceneID: "s", CharacterMapping: `{"a":"b"}`})
			var ae *APIError
			if !errors.As(err, &ae) || ae.HTTPStatus != status || ae.Code != "CS-X" || !ae.Decoded {
				t.Fatalf("error = %v, want a decoded *APIError %d CS-X", err, status)
			}
			if errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrNotSent) {
				t.Errorf("error %v carries a sentinel; Viggle answered", err)
			}
			if n.get() != 1 {
				t.Errorf("%d requests, want exactly 1", n.get())
			}
			noKey(t, err)
		})
	}
}

// A 5xx to a create, even with Viggle's error body, or a 4xx whose body is not one of Viggle's error
// envelopes (a proxy's page) may come after the render was made: ErrOutcomeUnknown, with the *APIError
// (its status) in the chain, sent once.
func TestCreateRenderOutcomeUnknownAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		body   string
	}{
		{http.StatusInternalServerError, `{"detail":{"error_code":"CS-X","message":"no"}}`},
		{http.StatusBadGateway, "<html><body><h1>502 Bad Gateway</h1></body></html>"},
		{http.StatusServiceUnavailable, `{"detail":"overloaded"}`},
		{http.StatusBadRequest, "<html><body>Request rejected by proxy</body></html>"},
		{http.StatusForbidden, ""},
		{http.StatusTooManyRequests, `{"foo":1}`},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			var n counter
			mux.HandleFunc("POST /api/render", n.wrap(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			_, err := c.CreateRender(t.Context(), RenderRequest{SceneID: "s", CharacterMapping: `{"a":"b"}`})
			if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrNotSent) {
				t.Fatalf("error = %v, want ErrOutcomeUnknown only", err)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.HTTPStatus != tc.status {
				t.Fatalf("error = %v, want the *APIError %d in its chain", err, tc.status)
			}
			if n.get() != 1 {
				t.Errorf("%d requests, want exactly 1", n.get())
			}
			noKey(t, err)
		})
	}
}

// The server accepts the request and hangs up without answering: the render may exist.
func TestCreateRenderConnectionDropped(t *testing.T) {
	t.Parallel()
	mux, c, _ := setup(t)
	var n counter
	mux.HandleFunc("POST /api/render", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close()
	}))
	_, err := c.CreateRender(t.Context(), RenderRequest{SceneID: "s", CharacterMapping: `{"a":"b"}`})
	if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrNotSent) {
		t.Fatalf("error = %v, want ErrOutcomeUnknown", err)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		t.Errorf("error %v should not be an *APIError", err)
	}
	if n.get() != 1 {
		t.Errorf("%d requests, want exactly 1", n.get())
	}
	noKey(t, err)
}

func TestCreateRenderNotSent(t *testing.T) {
	t.Parallel()
	valid := RenderRequest{SceneID: "s", CharacterMapping: `{"a":"b"}`}
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		c, err := NewClient(testKey, WithBaseURL("http://"+closedAddr(t)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreateRender(t.Context(), valid)
		if !errors.Is(err, ErrNotSent) || errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("error = %v, want ErrNotSent", err)
		}
		noKey(t, err)
	})
	for name, req := range map[string]RenderRequest{
		"no scene":        {CharacterMapping: `{"a":"b"}`},
		"no mapping":      {SceneID: "s"},
		"mapping invalid": {SceneID: "s", CharacterMapping: `{"a":`},
		"mapping array":   {SceneID: "s", CharacterMapping: `["a"]`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			var n counter
			mux.HandleFunc("/", n.wrap(func(http.ResponseWriter, *http.Request) {}))
			_, err := c.CreateRender(t.Context(), req)
			if !errors.Is(err, ErrNotSent) {
				t.Fatalf("error = %v, want ErrNotSent", err)
			}
			if n.get() != 0 {
				t.Errorf("%d requests sent for an invalid request", n.get())
			}
			noKey(t, err)
		})
	}
	t.Run("context done", func(t *testing.T) {
		t.Parallel()
		mux, c, _ := setup(t)
		var n counter
		mux.HandleFunc("/", n.wrap(func(http.ResponseWriter, *http.Request) {}))
		ctx, cancel := contextCancelled(t)
		cancel()
		_, err := c.CreateRender(ctx, valid)
		if !errors.Is(err, ErrNotSent) || !errors.Is(err, ctx.Err()) {
			t.Fatalf("error = %v, want ErrNotSent and context.Canceled", err)
		}
		if n.get() != 0 {
			t.Errorf("%d requests sent", n.get())
		}
	})
	t.Run("limiter fails", func(t *testing.T) {
		t.Parallel()
		lim := &countingLimiter{err: errors.New("limiter closed")}
		mux, c, _ := setup(t, WithLimiter(lim))
		var n counter
		mux.HandleFunc("/", n.wrap(func(http.ResponseWriter, *http.Request) {}))
		_, err := c.CreateRender(t.Context(), valid)
		if !errors.Is(err, ErrNotSent) || !errors.Is(err, lim.err) {
			t.Fatalf("error = %v, want ErrNotSent wrapping the limiter error", err)
		}
		if n.get() != 0 || lim.calls() != 1 {
			t.Errorf("%d requests, %d limiter waits; want 0 and 1", n.get(), lim.calls())
		}
	})
}

func TestGetRender(t *testing.T) {
	t.Parallel()
	full := `{"job_id":"job_1","status":"processing","mode":"preprocessed","checkpoint":"dri_done","progress_pct":42.5,
		"cdn_url":"https://cdn.example/v.mp4","mask_cdn_url":"https://cdn.example/m.mp4","download_url":"https://cdn.example/d.mp4",
		"error_code":"CS-UORC01-009","error_message":"it broke","error":"render_failed",
		"progress":{"completed_chunks":2,"total_chunks":4,"percent":50},"chunks":[],"created_at":"2024-01-01T00:00:00Z",
		"completed_at":null,"unknown_field":{"nested":true}}`
	wantFull := Render{JobID: "job_1", Status: StatusProcessing, Mode: "preprocessed", Checkpoint: "dri_done", ProgressPct: 42.5,
		CDNURL: "https://cdn.example/v.mp4", MaskCDNURL: "https://cdn.example/m.mp4", DownloadURL: "https://cdn.example/d.mp4",
		ErrorCode: "CS-UORC01-009", ErrorMessage: "it broke", Error: "render_failed",
		Progress: &ChunkProgress{CompletedChunks: 2, TotalChunks: 4, Percent: 50}, Chunks: []json.RawMessage{},
		CreatedAt: "2024-01-01T00:00:00Z"}
	tests := []struct {
		name, body string
		want       Render
	}{
		{"every field", full, wantFull},
		{"data wrapper", `{"data":` + full + `}`, wantFull},
		{"minimal", `{"status":"queued"}`, Render{Status: StatusQueued}},
		{"odd types", `{"job_id":77,"status":"rendering","progress_pct":"12.5","progress":30,"error":{"message":"bad","code":"E1"},"chunks":"none"}`,
			Render{JobID: "77", Status: StatusRendering, ProgressPct: 12.5, Progress: &ChunkProgress{Percent: 30}, Error: "bad", ErrorCode: "E1"}},
		{"nulls", `{"job_id":"j","status":null,"progress":null,"progress_pct":null,"cdn_url":null}`, Render{JobID: "j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
				testAPIHeaders(t, r)
				if id := r.PathValue("id"); id != "job_1" {
					t.Errorf("id = %q, want job_1", id)
				}
				fmt.Fprint(w, tt.body)
			})
			got, err := c.GetRender(t.Context(), "job_1")
			if err != nil {
				t.Fatalf("GetRender: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestJobIDIsEscaped(t *testing.T) {
	t.Parallel()
	mux, c, _ := setup(t)
	const id = "job/1 x?y#z"
	mux.HandleFunc("/api/render/", func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.URL.EscapedPath(), "/api/render/job%2F1%20x%3Fy%23z"; got != want {
			t.Errorf("path = %s, want %s", got, want)
		}
		if r.URL.RawQuery != "" {
			t.Errorf("query %q leaked from the id", r.URL.RawQuery)
		}
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		fmt.Fprint(w, `{"job_id":"x"}`)
	})
	if _, err := c.GetRender(t.Context(), id); err != nil {
		t.Error(err)
	}
	if err := c.CancelRender(t.Context(), id); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "a\nb", strings.Repeat("x", 300)} {
		if _, err := c.GetRender(t.Context(), bad); err == nil {
			t.Errorf("GetRender(%q) accepted a bad id", bad)
		}
	}
}

func TestCancelRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		statuses []int // answers in order; the last repeats
		wantErr  int   // HTTP status of the expected *APIError; 0 = success
		wantReqs int
	}{
		{"204", []int{204}, 0, 1},
		{"200 with body", []int{200}, 0, 1},
		{"202", []int{202}, 0, 1},
		{"404 not retried", []int{404}, 404, 1},
		{"409 not retried", []int{409}, 409, 1},
		{"503 then 204", []int{503, 204}, 0, 2},
		{"503 until exhausted", []int{503}, 503, fastRetry.MaxAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			var n counter
			mux.HandleFunc("/api/render/{id}", n.wrap(func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodDelete)
				testAPIHeaders(t, r)
				i := min(n.get(), len(tt.statuses)) - 1
				w.WriteHeader(tt.statuses[i])
				if tt.statuses[i] != http.StatusNoContent {
					fmt.Fprint(w, `{"success":true,"detail":"whatever"}`)
				}
			}))
			err := c.CancelRender(t.Context(), "job_1")
			if tt.wantErr == 0 && err != nil {
				t.Fatalf("CancelRender: %v", err)
			}
			if tt.wantErr != 0 {
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

func TestErrorShapes(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        APIError
		wantText    string // expected APIError.Error()
	}{
		{"detail object", 402, "application/json",
			`{"detail":{"error_code":"CS-UORC01-008","message":"Insufficient credits","action":"Buy credits"}}`,
			APIError{HTTPStatus: 402, Code: "CS-UORC01-008", Message: "Insufficient credits", Action: "Buy credits", Decoded: true},
			"viggle: HTTP 402 CS-UORC01-008: Insufficient credits"},
		{"detail string", 401, "application/json", `{"detail":"Invalid API key"}`,
			APIError{HTTPStatus: 401, Message: "Invalid API key", Decoded: true}, "viggle: HTTP 401: Invalid API key"},
		{"top-level code and message", 400, "application/json", `{"error_code":"CS-ORIV-012","message":"Invalid character_mapping"}`,
			APIError{HTTPStatus: 400, Code: "CS-ORIV-012", Message: "Invalid character_mapping", Decoded: true},
			"viggle: HTTP 400 CS-ORIV-012: Invalid character_mapping"},
		{"top-level error", 404, "application/json", `{"error":"Job not found"}`,
			APIError{HTTPStatus: 404, Message: "Job not found", Decoded: true}, "viggle: HTTP 404: Job not found"},
		{"fastapi validation list", 422, "application/json", `{"detail":[{"loc":["body","scene_id"],"msg":"field required"}]}`,
			APIError{HTTPStatus: 422, Message: "field required", Decoded: true}, "viggle: HTTP 422: field required"},
		{"plain text 502", 502, "text/plain", "Bad Gateway\n",
			APIError{HTTPStatus: 502, Message: "Bad Gateway"}, "viggle: HTTP 502: Bad Gateway"},
		{"html 502", 502, "text/html", "<html><head><title>502 Bad Gateway</title></head>\n<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>",
			APIError{HTTPStatus: 502, Message: "502 Bad Gateway 502 Bad Gateway nginx"}, "viggle: HTTP 502: 502 Bad Gateway 502 Bad Gateway nginx"},
		{"empty 500", 500, "", "",
			APIError{HTTPStatus: 500}, "viggle: HTTP 500: Internal Server Error"},
		{"unrelated json", 503, "application/json", `{"foo":1}`,
			APIError{HTTPStatus: 503, Message: `{"foo":1}`}, `viggle: HTTP 503: {"foo":1}`},
		{"key echoed", 401, "application/json", `{"detail":"bad key sk-SECRET-abc123"}`,
			APIError{HTTPStatus: 401, Message: "bad key [REDACTED]", Decoded: true}, "viggle: HTTP 401: bad key [REDACTED]"},
		{"control characters", 400, "text/plain", "bad\x00\x1b[31m\ttext\r\n",
			APIError{HTTPStatus: 400, Message: "bad [31m text"}, "viggle: HTTP 400: bad [31m text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			_, err := c.GetRender(t.Context(), "job_1")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error = %v, want *APIError", err)
			}
			if *ae != tt.want {
				t.Errorf("got  %+v\nwant %+v", *ae, tt.want)
			}
			if ae.Error() != tt.wantText {
				t.Errorf("Error() = %q, want %q", ae.Error(), tt.wantText)
			}
			if want := `viggle: get render "job_1": ` + strings.TrimPrefix(tt.wantText, "viggle: "); err.Error() != want {
				t.Errorf("wrapped error = %q, want %q", err.Error(), want)
			}
			noKey(t, err)
		})
	}
	t.Run("long body truncated", func(t *testing.T) {
		t.Parallel()
		e := decodeAPIError(502, http.Header{}, []byte(long))
		if n := len(e.Error()); n > 260 {
			t.Errorf("Error() is %d bytes long", n)
		}
		e = &APIError{HTTPStatus: 400, Message: long + "\x07"}
		if n := len(e.Error()); n > 260 || strings.ContainsRune(e.Error(), 7) {
			t.Errorf("Error() is %d bytes long or unprintable", n)
		}
	})
}

func TestAPIErrorTemporary(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{400: false, 401: false, 402: false, 404: false, 409: false, 429: true, 500: true, 502: true, 503: true, 504: true} {
		if got := (&APIError{HTTPStatus: status}).Temporary(); got != want {
			t.Errorf("Temporary(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestStatusTerminal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    Status
		want bool
	}{
		{StatusQueued, false},
		{StatusProcessing, false},
		{StatusRendering, false},
		{StatusMerging, false},
		{StatusComplete, true},
		{StatusFailed, true},
		{StatusCancelled, true},
		{"", false},
		{"error", false},
		{"canceled", false},
		{"COMPLETE", false},
		{"something_new", false},
	}
	for _, tt := range tests {
		if got := tt.s.Terminal(); got != tt.want {
			t.Errorf("Status(%q).Terminal() = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestRenderPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    Render
		want float64
	}{
		{"none", Render{}, 0},
		{"progress_pct", Render{ProgressPct: 40, Progress: &ChunkProgress{Percent: 90}}, 40},
		{"progress.percent", Render{Progress: &ChunkProgress{Percent: 90}}, 90},
		{"chunks", Render{Progress: &ChunkProgress{CompletedChunks: 1, TotalChunks: 4}}, 25},
		{"above 100", Render{ProgressPct: 150}, 100},
		{"negative", Render{ProgressPct: -3}, 0},
		{"negative compat", Render{Progress: &ChunkProgress{Percent: -3}}, 0},
	}
	for _, tt := range tests {
		if got := tt.r.Percent(); got != tt.want {
			t.Errorf("%s: Percent() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Render and Submitted survive a JSON round trip (the fake server encodes them).
func TestRenderRoundTrip(t *testing.T) {
	t.Parallel()
	in := Render{JobID: "j", Status: StatusComplete, ProgressPct: 100, CDNURL: "https://c/v.mp4", Progress: &ChunkProgress{1, 1, 100}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Render
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
	if err := json.Unmarshal([]byte(`[1]`), &out); err == nil {
		t.Error("a JSON array decoded as a Render")
	}
}
