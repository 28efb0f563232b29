package viggletest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
)

const testKey = "sk-test-0123456789"

// newClock returns a clock for time-based scenarios, moved by hand.
func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
}

// client speaks raw HTTP to a fake.
type client struct {
	base string
	key  string // sent as a bearer token when not empty
	hc   *http.Client
}

// setup starts s behind httptest and returns a client using testKey.
func setup(t testing.TB, s *viggletest.Server) *client {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &client{
		base: ts.URL,
		key:  testKey,
		hc: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// do sends a request; target is a path on the fake or an absolute URL.
func (c *client) do(t testing.TB, method, target string, body io.Reader, contentType string) (*http.Response, []byte) {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = c.base + target
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, body)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, target, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return resp, b
}

// postMultipart posts fields as multipart/form-data to /api/render.
func (c *client) postMultipart(t testing.TB, fields map[string]string) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatalf("write field: %v", err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatalf("close multipart: %v", err)
	}
	resp, b := c.do(t, http.MethodPost, "/api/render", &buf, mw.FormDataContentType())
	return resp.StatusCode, decode(t, b)
}

// create posts a valid multi-character render of scene and returns the job id.
func (c *client) create(t testing.TB, scene string, extra ...string) string {
	t.Helper()
	fields := map[string]string{
		"scene_id":          scene,
		"character_mapping": `{"person_a1b2c3d4":"char_alice"}`,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		fields[extra[i]] = extra[i+1]
	}
	code, body := c.postMultipart(t, fields)
	if code != http.StatusOK {
		t.Fatalf("create %s: got HTTP %d %v, want 200", scene, code, body)
	}
	id, _ := body["job_id"].(string)
	if id == "" {
		t.Fatalf("create %s: no job_id in %v", scene, body)
	}
	return id
}

// status polls a job and requires HTTP 200.
func (c *client) status(t testing.TB, id string) map[string]any {
	t.Helper()
	resp, b := c.do(t, http.MethodGet, "/api/render/"+url.PathEscape(id), nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s: got HTTP %d %s, want 200", id, resp.StatusCode, b)
	}
	return decode(t, b)
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return m
}

// detailCode returns detail.error_code of an error body.
func detailCode(m map[string]any) string {
	d, _ := m["detail"].(map[string]any)
	s, _ := d["error_code"].(string)
	return s
}

func wantField(t testing.TB, m map[string]any, key string, want any) {
	t.Helper()
	if got := m[key]; got != want {
		t.Errorf("%s = %#v, want %#v (body %v)", key, got, want, m)
	}
}

func readAll(t testing.TB, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}
