package viggle

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestPreprocessCharacterForm(t *testing.T) {
	t.Parallel()
	mux, c, _ := setup(t)
	var n counter
	const img = "https://cdn.discordapp.com/attachments/1/2/alice.png?ex=1&is=2&hm=3"
	mux.HandleFunc("/api/characters/preprocess", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testAPIHeaders(t, r)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/form-data; boundary=") {
			t.Errorf("Content-Type = %q, want multipart/form-data", ct)
		}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Errorf("parse form: %v", err) // not Fatalf: this runs on the server's goroutine
			return
		}
		got := map[string]string{}
		for k, v := range r.MultipartForm.Value {
			got[k] = strings.Join(v, "|")
		}
		if want := map[string]string{"name": "Alice Smith", "image_url": img}; !maps.Equal(got, want) {
			t.Errorf("form = %v, want %v", got, want)
		}
		if len(r.MultipartForm.File) != 0 {
			t.Errorf("file parts sent: %v", r.MultipartForm.File)
		}
		fmt.Fprint(w, `{"character_id":"550e8400-e29b-41d4-a716-446655440000","job_id":"char_550e8400e29b","status":"pending","enqueued_at":"2024-01-01T00:00:00Z"}`)
	}))
	ch, err := c.PreprocessCharacter(t.Context(), "Alice Smith", img)
	if err != nil {
		t.Fatalf("PreprocessCharacter: %v", err)
	}
	want := Character{ID: "550e8400-e29b-41d4-a716-446655440000", JobID: "char_550e8400e29b", Status: CharacterPending,
		EnqueuedAt: "2024-01-01T00:00:00Z"}
	if *ch != want || n.get() != 1 {
		t.Errorf("got %+v after %d requests, want %+v after 1", *ch, n.get(), want)
	}
}

func TestPreprocessCharacterShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       Character
	}{
		{"character_id", `{"character_id":"c1","status":"pending"}`, Character{ID: "c1", Status: CharacterPending}},
		{"id", `{"id":"c1","name":"alice","status":"processing"}`, Character{ID: "c1", Name: "alice", Status: CharacterProcessing}},
		{"both", `{"character_id":"c1","id":"c2"}`, Character{ID: "c1"}},
		{"data wrapper", `{"data":{"id":"c1","status":"pending"}}`, Character{ID: "c1", Status: CharacterPending}},
		{"numeric id", `{"id":17,"credits_used":"1"}`, Character{ID: "17", CreditsUsed: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			mux.HandleFunc("POST /api/characters/preprocess", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				fmt.Fprint(w, tt.body)
			})
			got, err := c.PreprocessCharacter(t.Context(), "alice", "https://x.example/a.png")
			if err != nil {
				t.Fatalf("PreprocessCharacter: %v", err)
			}
			if *got != tt.want {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestGetCharacter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       Character
	}{
		{"ready", `{"id":"c1","name":"alice","status":"ready","job_id":"char_1","error":null,"error_message":null,
			"thumbnail_url":"https://cdn.example/t.png","credits_used":1,"created_at":"2024-01-01T00:00:00Z",
			"completed_at":"2024-01-01T00:00:30Z","extra":[1]}`,
			Character{ID: "c1", Name: "alice", Status: CharacterReady, JobID: "char_1", ThumbnailURL: "https://cdn.example/t.png",
				CreditsUsed: 1, CreatedAt: "2024-01-01T00:00:00Z", CompletedAt: "2024-01-01T00:00:30Z"}},
		{"failed", `{"id":"c1","status":"failed","error":"preprocess_failed","error_message":"No face found"}`,
			Character{ID: "c1", Status: CharacterFailed, Error: "preprocess_failed", ErrorMessage: "No face found"}},
		{"error object", `{"id":"c1","status":"failed","error":{"message":"bad image","code":"E2"}}`,
			Character{ID: "c1", Status: CharacterFailed, Error: "bad image"}},
		{"data wrapper", `{"data":{"id":"c1","status":"pending"}}`, Character{ID: "c1", Status: CharacterPending}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			mux.HandleFunc("GET /api/characters/{id}", func(w http.ResponseWriter, r *http.Request) {
				testAPIHeaders(t, r)
				if id := r.PathValue("id"); id != "c1" {
					t.Errorf("id = %q, want c1", id)
				}
				fmt.Fprint(w, tt.body)
			})
			got, err := c.GetCharacter(t.Context(), "c1")
			if err != nil {
				t.Fatalf("GetCharacter: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		c    Character
		want string
	}{
		{Character{ErrorMessage: "m", Error: "e"}, "m"}, {Character{Error: "e", ErrorCode: "c"}, "e"}, {Character{ErrorCode: "c"}, "c"},
	} {
		if got := tt.c.Failure(); got != tt.want {
			t.Errorf("Failure() of %+v = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestCredits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       Balance
		wantErr    bool
	}{
		{"balance", `{"balance":1000}`, Balance{Balance: 1000}, false},
		{"every field", `{"balance":12.5,"credits":99,"total_purchased":100,"total_used":87.5,"updated_at":"2024-01-01T00:00:00Z"}`,
			Balance{Balance: 12.5, TotalPurchased: 100, TotalUsed: 87.5, UpdatedAt: "2024-01-01T00:00:00Z"}, false},
		{"zero", `{"balance":0}`, Balance{}, false},
		{"credits only", `{"credits":42}`, Balance{Balance: 42}, false},
		{"null balance, credits", `{"balance":null,"credits":"7"}`, Balance{Balance: 7}, false},
		{"data wrapper", `{"data":{"balance":3}}`, Balance{Balance: 3}, false},
		{"neither", `{"total_used":3}`, Balance{}, true},
		{"not a number", `{"balance":"lots"}`, Balance{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			var n counter
			mux.HandleFunc("/api/credits", n.wrap(func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testAPIHeaders(t, r)
				fmt.Fprint(w, tt.body)
			}))
			got, err := c.Credits(t.Context())
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Credits = %+v, want an error", got)
				}
				if n.get() != fastRetry.MaxAttempts {
					t.Errorf("%d requests, want %d (a malformed answer is retried)", n.get(), fastRetry.MaxAttempts)
				}
				noKey(t, err)
				return
			}
			if err != nil {
				t.Fatalf("Credits: %v", err)
			}
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// A refusal that repeats the image URL (a signed link to a photo of a person) does not carry it into
// the error, its text or its *APIError.
func TestPreprocessCharacterErrorHidesTheImageURL(t *testing.T) {
	t.Parallel()
	mux, c, _ := setup(t)
	const img = "https://cdn.discordapp.com/attachments/1/2/alice.png?ex=1&is=2&hm=secret3"
	mux.HandleFunc("/api/characters/preprocess", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"detail":{"error_code":"CS-ORIV-001","message":"cannot fetch %s (also tried https://cdn.discordapp.com/attachments/1/2/alice.png)"}}`, img)
	})
	_, err := c.PreprocessCharacter(t.Context(), "Alice", img)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusBadRequest {
		t.Fatalf("error = %v, want the *APIError 400", err)
	}
	for what, s := range map[string]string{"error": err.Error(), "message": apiErr.Message, "APIError": apiErr.Error()} {
		if strings.Contains(s, "alice.png") || strings.Contains(s, "secret3") {
			t.Errorf("the %s shows the image URL: %q", what, s)
		}
	}
	noKey(t, err)
}
