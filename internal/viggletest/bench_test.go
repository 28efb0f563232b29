package viggletest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
)

// BenchmarkCreateAndPoll measures one create plus five status polls through
// ServeHTTP (no sockets), the load a many-jobs benchmark puts on the fake.
func BenchmarkCreateAndPoll(b *testing.B) {
	s := viggletest.New(viggletest.WithScenarios(map[string]viggletest.Scenario{"scene_b": {Polls: 5}}))
	form := url.Values{"scene_id": {"scene_b"}, "character_mapping": {`{"person_a":"char_a"}`}}.Encode()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/api/render", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			var created struct {
				JobID string `json:"job_id"`
			}
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &created) != nil {
				b.Errorf("create: HTTP %d %s", rec.Code, rec.Body)
				return
			}
			for range 5 {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/render/"+created.JobID, nil))
				if rec.Code != http.StatusOK {
					b.Errorf("poll: HTTP %d", rec.Code)
					return
				}
			}
		}
	})
}
