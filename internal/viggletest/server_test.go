package viggletest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
)

// statusFields are every field the status object must carry.
var statusFields = []string{
	"job_id", "status", "mode", "checkpoint", "progress_pct", "cdn_url", "mask_cdn_url",
	"download_url", "error_code", "error_message", "error", "progress", "chunks",
	"created_at", "completed_at",
}

func TestCreatePollDownload(t *testing.T) {
	t.Parallel()
	const size = 100_000
	s := viggletest.New(viggletest.WithAPIKey(testKey),
		viggletest.WithScenarios(map[string]viggletest.Scenario{"scene_t": {Polls: 5, VideoSize: size}}))
	c := setup(t, s)

	code, created := c.postMultipart(t, map[string]string{
		"scene_id":          "scene_t",
		"character_mapping": `{"person_a1b2c3d4":"char_alice","person_e5f6g7h8":"char_bob"}`,
		"background_mode":   "original",
		"model":             "V4_Preview",
		"fast":              "false",
	})
	if code != http.StatusOK {
		t.Fatalf("create: HTTP %d %v", code, created)
	}
	id, _ := created["job_id"].(string)
	if !strings.HasPrefix(id, "job_") || len(id) > 128 || url.PathEscape(id) != id {
		t.Fatalf("job_id %q: want a URL-safe job_ id of at most 128 chars", id)
	}
	wantField(t, created, "status", "queued")
	wantField(t, created, "mode", "preprocessed")
	if _, err := time.Parse(time.RFC3339, created["enqueued_at"].(string)); err != nil {
		t.Errorf("enqueued_at: %v", err)
	}

	want := []struct {
		status     string
		pct        float64
		checkpoint any
	}{
		{"queued", 0, nil},
		{"processing", 25, "ref_done"},
		{"processing", 50, "dri_done"},
		{"processing", 75, "bg_done"},
		{"complete", 100, "render_done"},
	}
	var st map[string]any
	for i, w := range want {
		st = c.status(t, id)
		for _, f := range statusFields {
			if _, ok := st[f]; !ok {
				t.Errorf("poll %d: field %s missing", i+1, f)
			}
		}
		if st["status"] != w.status || st["progress_pct"] != w.pct || st["checkpoint"] != w.checkpoint {
			t.Fatalf("poll %d: got status %v pct %v checkpoint %v, want %v %v %v",
				i+1, st["status"], st["progress_pct"], st["checkpoint"], w.status, w.pct, w.checkpoint)
		}
		p, _ := st["progress"].(map[string]any)
		if p["percent"] != w.pct || p["total_chunks"] != 4.0 {
			t.Errorf("poll %d: progress = %v", i+1, p)
		}
		if w.status != "complete" && st["cdn_url"] != nil {
			t.Errorf("poll %d: cdn_url %v before complete", i+1, st["cdn_url"])
		}
	}
	wantField(t, st, "job_id", id)
	wantField(t, st, "mask_cdn_url", nil)
	wantField(t, st, "error_code", nil)
	if ch, ok := st["chunks"].([]any); !ok || len(ch) != 0 {
		t.Errorf("chunks = %#v, want []", st["chunks"])
	}
	if _, err := time.Parse(time.RFC3339, st["completed_at"].(string)); err != nil {
		t.Errorf("completed_at: %v", err)
	}
	cdn, _ := st["cdn_url"].(string)
	if !strings.HasPrefix(cdn, c.base+"/cdn/"+id+".mp4?") {
		t.Fatalf("cdn_url %q: want %s/cdn/%s.mp4?...", cdn, c.base, id)
	}
	wantField(t, st, "download_url", cdn)

	// Further polls stay complete; the CDN needs no key.
	wantField(t, c.status(t, id), "status", "complete")
	anon := *c
	anon.key = ""
	resp, b := anon.do(t, http.MethodGet, cdn, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cdn GET: HTTP %d %s", resp.StatusCode, b)
	}
	if resp.Header.Get("Content-Type") != "video/mp4" || resp.ContentLength != size {
		t.Errorf("cdn headers: type %q length %d", resp.Header.Get("Content-Type"), resp.ContentLength)
	}
	if !bytes.Equal(b, readAll(t, viggletest.Video(size))) {
		t.Fatal("downloaded bytes differ from Video(size)")
	}
	checkMP4(t, b)

	// HEAD gives the length without the body.
	resp, b = anon.do(t, http.MethodHead, cdn, nil, "")
	if resp.StatusCode != http.StatusOK || resp.ContentLength != size || len(b) != 0 {
		t.Errorf("HEAD: HTTP %d length %d body %d", resp.StatusCode, resp.ContentLength, len(b))
	}

	// /download redirects to a working CDN URL.
	resp, _ = c.do(t, http.MethodGet, "/api/render/"+id+"/download", nil, "")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, c.base+"/cdn/"+id+".mp4?") {
		t.Fatalf("download: HTTP %d Location %q", resp.StatusCode, loc)
	}
	if resp, _ := anon.do(t, http.MethodGet, loc, nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("redirect target: HTTP %d", resp.StatusCode)
	}
	if got := s.Accepted(); got != 1 {
		t.Errorf("Accepted() = %d, want 1", got)
	}
}

func TestTimeBasedAcrossInstances(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c1 := setup(t, viggletest.New(viggletest.WithClock(clk.Now)))
	c2 := setup(t, viggletest.New(viggletest.WithClock(clk.Now))) // "another process"
	id := c1.create(t, "scene_demo")
	created := clk.Now()

	steps := []struct {
		at         time.Duration
		status     string
		pct        float64
		checkpoint any
	}{
		{0, "queued", 0, nil},
		{500 * time.Millisecond, "queued", 0, nil},
		{time.Second, "processing", 0, nil},
		{1600 * time.Millisecond, "processing", 25, "ref_done"},
		{3100 * time.Millisecond, "processing", 50, "dri_done"},
		{4600 * time.Millisecond, "processing", 75, "bg_done"},
		{5999 * time.Millisecond, "processing", 75, "bg_done"},
		{6 * time.Second, "complete", 100, "render_done"},
		{time.Hour, "complete", 100, "render_done"},
	}
	for _, st := range steps {
		clk.Advance(created.Add(st.at).Sub(clk.Now()))
		for i, c := range []*client{c1, c2} {
			got := c.status(t, id)
			if got["status"] != st.status || got["progress_pct"] != st.pct || got["checkpoint"] != st.checkpoint {
				t.Fatalf("server %d at +%v: got %v %v %v, want %v %v %v", i+1, st.at,
					got["status"], got["progress_pct"], got["checkpoint"], st.status, st.pct, st.checkpoint)
			}
			wantField(t, got, "created_at", created.Format(time.RFC3339))
			if st.status == "complete" {
				wantField(t, got, "completed_at", created.Add(6*time.Second).Format(time.RFC3339))
			}
		}
	}
	// The second instance serves the video of a job it never created.
	cdn := c2.status(t, id)["cdn_url"].(string)
	if resp, b := c2.do(t, http.MethodGet, cdn, nil, ""); resp.StatusCode != http.StatusOK || !bytes.Equal(b, readAll(t, viggletest.Video(0))) {
		t.Fatalf("cdn on second instance: HTTP %d, %d bytes", resp.StatusCode, len(b))
	}
}

func TestFailedJob(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := setup(t, viggletest.New(viggletest.WithClock(clk.Now)))
	id := c.create(t, "scene_fail")
	clk.Advance(2 * time.Second)
	wantField(t, c.status(t, id), "status", "processing")
	clk.Advance(2 * time.Second)
	st := c.status(t, id)
	wantField(t, st, "status", "failed")
	wantField(t, st, "error_code", "CS-UORC01-009")
	wantField(t, st, "error_message", "Rendering failed: could not track a person in the template")
	wantField(t, st, "error", "Rendering failed")
	wantField(t, st, "cdn_url", nil)
	wantField(t, st, "download_url", nil)
	wantField(t, st, "completed_at", clk.Now().Format(time.RFC3339)) // created + 4 s
	resp, b := c.do(t, http.MethodGet, "/api/render/"+id+"/download", nil, "")
	if resp.StatusCode != http.StatusConflict || detailCode(decode(t, b)) != viggletest.CodeConflict {
		t.Errorf("download of failed job: HTTP %d %s, want 409", resp.StatusCode, b)
	}
}

func TestSubmitRefused(t *testing.T) {
	t.Parallel()
	s := viggletest.New()
	s.SetScenario("scene_down", viggletest.Scenario{SubmitStatus: http.StatusServiceUnavailable, SubmitMessage: "Down for maintenance"})
	c := setup(t, s)

	code, body := c.postMultipart(t, map[string]string{"scene_id": "scene_nocredits", "character_mapping": `{"a":"b"}`})
	if code != http.StatusPaymentRequired || detailCode(body) != "CS-UORC01-008" {
		t.Fatalf("got HTTP %d %v, want 402 CS-UORC01-008", code, body)
	}
	d := body["detail"].(map[string]any)
	wantField(t, d, "message", "Insufficient credits")
	if d["action"] == "" || d["action"] == nil {
		t.Error("no action in 402 detail")
	}

	code, body = c.postMultipart(t, map[string]string{"scene_id": "scene_down", "character_mapping": `{"a":"b"}`})
	if code != http.StatusServiceUnavailable || body["detail"] != "Down for maintenance" {
		t.Fatalf("got HTTP %d %v, want 503 with a string detail", code, body)
	}
	if s.Creates() != 2 || s.Accepted() != 0 {
		t.Errorf("Creates %d Accepted %d, want 2 and 0", s.Creates(), s.Accepted())
	}
}

func TestPollErrors(t *testing.T) {
	t.Parallel()
	s := viggletest.New(viggletest.WithScenarios(map[string]viggletest.Scenario{"scene_e": {
		Polls:      2,
		PollErrors: []int{429, 500, 502, 503, viggletest.Malformed, viggletest.NotFound},
		RetryAfter: "1",
	}}))
	c := setup(t, s)
	id := c.create(t, "scene_e")
	id2 := c.create(t, "scene_e")

	checks := []struct {
		code       int
		retryAfter string
		check      func(t *testing.T, b []byte)
	}{
		{429, "1", func(t *testing.T, b []byte) { decode(t, b) }},
		{500, "", nil},
		{502, "", nil},
		{503, "1", func(t *testing.T, b []byte) { decode(t, b) }},
		{200, "", func(t *testing.T, b []byte) {
			var v any
			if json.Unmarshal(b, &v) == nil {
				t.Errorf("malformed body %q decodes", b)
			}
		}},
		{404, "", func(t *testing.T, b []byte) { wantField(t, decode(t, b), "detail", "Not found") }},
	}
	for i, ck := range checks {
		resp, b := c.do(t, http.MethodGet, "/api/render/"+id, nil, "")
		if resp.StatusCode != ck.code || resp.Header.Get("Retry-After") != ck.retryAfter {
			t.Fatalf("poll %d: HTTP %d Retry-After %q, want %d %q", i+1, resp.StatusCode,
				resp.Header.Get("Retry-After"), ck.code, ck.retryAfter)
		}
		if ck.check != nil {
			ck.check(t, b)
		}
	}
	wantField(t, c.status(t, id), "status", "queued")
	wantField(t, c.status(t, id), "status", "complete")
	// Each job gets its own sequence.
	if resp, _ := c.do(t, http.MethodGet, "/api/render/"+id2, nil, ""); resp.StatusCode != 429 {
		t.Errorf("second job first poll: HTTP %d, want 429", resp.StatusCode)
	}
}

func TestDefaultFlaky(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := setup(t, viggletest.New(viggletest.WithClock(clk.Now)))
	id := c.create(t, "scene_flaky")
	for _, want := range []int{429, 503, 200} {
		resp, b := c.do(t, http.MethodGet, "/api/render/"+id, nil, "")
		if resp.StatusCode != want {
			t.Fatalf("HTTP %d, want %d", resp.StatusCode, want)
		}
		if want == 200 && json.Valid(b) {
			t.Fatalf("third poll %q is valid JSON, want malformed", b)
		}
	}
	clk.Advance(7 * time.Second)
	wantField(t, c.status(t, id), "status", "processing")
	clk.Advance(time.Second)
	wantField(t, c.status(t, id), "status", "complete")
}

func TestCancel(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := viggletest.New(viggletest.WithClock(clk.Now))
	s.SetScenario("scene_quick", viggletest.Scenario{Polls: 1})
	c := setup(t, s)

	id := c.create(t, "scene_stuck")
	clk.Advance(time.Hour)
	st := c.status(t, id)
	if st["status"] != "processing" || st["progress_pct"] != 75.0 {
		t.Fatalf("stuck job: %v %v, want processing 75", st["status"], st["progress_pct"])
	}
	resp, b := c.do(t, http.MethodDelete, "/api/render/"+id, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: HTTP %d %s", resp.StatusCode, b)
	}
	body := decode(t, b)
	wantField(t, body, "job_id", id)
	wantField(t, body, "status", "cancelled")
	clk.Advance(time.Minute)
	st = c.status(t, id)
	wantField(t, st, "status", "cancelled")
	wantField(t, st, "completed_at", clk.Now().Add(-time.Minute).Format(time.RFC3339))
	wantField(t, st, "cdn_url", nil)
	if resp, _ := c.do(t, http.MethodDelete, "/api/render/"+id, nil, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("second DELETE: HTTP %d, want 200", resp.StatusCode)
	}

	// Cancelling from the outside.
	id2 := c.create(t, "scene_slow")
	s.Cancel(id2)
	wantField(t, c.status(t, id2), "status", "cancelled")

	// Finished jobs cannot be cancelled.
	done := c.create(t, "scene_quick")
	clk.Advance(1500 * time.Millisecond)
	st = c.status(t, done)
	wantField(t, st, "status", "complete")
	wantField(t, st, "completed_at", clk.Now().Format(time.RFC3339)) // the completing poll
	clk.Advance(time.Minute)
	wantField(t, c.status(t, done), "completed_at", st["completed_at"])
	failed := c.create(t, "scene_fail")
	clk.Advance(5 * time.Second)
	wantField(t, c.status(t, failed), "status", "failed")
	for _, id := range []string{done, failed} {
		resp, b := c.do(t, http.MethodDelete, "/api/render/"+id, nil, "")
		if resp.StatusCode != http.StatusConflict || detailCode(decode(t, b)) != viggletest.CodeConflict {
			t.Errorf("DELETE finished job: HTTP %d %s, want 409", resp.StatusCode, b)
		}
	}
	s.Cancel(done)
	wantField(t, c.status(t, done), "status", "complete")

	// Unknown jobs.
	for _, id := range []string{"job_nope", "job_" + strings.Repeat("A", 40), "abc"} {
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			resp, b := c.do(t, m, "/api/render/"+id, nil, "")
			if resp.StatusCode != http.StatusNotFound || detailCode(decode(t, b)) != viggletest.CodeJobNotFound {
				t.Errorf("%s %s: HTTP %d %s, want 404 %s", m, id, resp.StatusCode, b, viggletest.CodeJobNotFound)
			}
		}
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := viggletest.New(viggletest.WithAPIKey(testKey), viggletest.WithScenarios(map[string]viggletest.Scenario{"scene_q": {Polls: 1}}))
	c := setup(t, s)
	id := c.create(t, "scene_q")
	cdn := c.status(t, id)["cdn_url"].(string)

	for _, path := range []string{"/api/render", "/api/render/" + id, "/api/render/" + id + "/download", "/api/credits"} {
		method := http.MethodGet
		if path == "/api/render" {
			method = http.MethodPost
		}
		none := *c
		none.key = ""
		resp, b := none.do(t, method, path, nil, "")
		if resp.StatusCode != http.StatusUnauthorized || decode(t, b)["detail"] != "Not authenticated" {
			t.Errorf("%s %s without key: HTTP %d %s", method, path, resp.StatusCode, b)
		}
		bad := *c
		bad.key = "sk-wrong"
		resp, b = bad.do(t, method, path, nil, "")
		body := decode(t, b)
		if resp.StatusCode != http.StatusUnauthorized || detailCode(body) != "CS-UORC01-007" {
			t.Errorf("%s %s with wrong key: HTTP %d %s", method, path, resp.StatusCode, b)
		}
		if strings.Contains(string(b), "sk-wrong") || strings.Contains(string(b), testKey) {
			t.Errorf("401 body leaks a key: %s", b)
		}
		if d := body["detail"].(map[string]any); d["action"] == nil || d["message"] == nil {
			t.Errorf("401 detail lacks message or action: %v", d)
		}
	}
	// The CDN needs no key; refused requests are recorded too.
	anon := *c
	anon.key = ""
	if resp, _ := anon.do(t, http.MethodGet, cdn, nil, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("cdn without key: HTTP %d", resp.StatusCode)
	}
	if got := s.Creates(); got != 3 {
		t.Errorf("Creates() = %d, want 3 (1 ok + 2 refused)", got)
	}
	if got := s.Accepted(); got != 1 {
		t.Errorf("Accepted() = %d, want 1", got)
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	s := viggletest.New(viggletest.WithAPIKeys("sk-shared-1111", "", "sk-guild-2222"),
		viggletest.WithScenarios(map[string]viggletest.Scenario{"scene_q": {Polls: 1}}))
	c := setup(t, s)
	shared, guild, other := *c, *c, *c
	shared.key, guild.key, other.key = "sk-shared-1111", "sk-guild-2222", "sk-other-3333"

	// Either key is accepted, and one account serves both: a job made with one is seen with the other.
	id := shared.create(t, "scene_q")
	guild.status(t, id)
	for _, k := range []*client{&other, c} { // c: testKey, not one of them
		resp, b := k.do(t, http.MethodGet, "/api/credits", nil, "")
		if resp.StatusCode != http.StatusUnauthorized || detailCode(decode(t, b)) != "CS-UORC01-007" {
			t.Errorf("credits with %s: HTTP %d %s, want 401 CS-UORC01-007", k.key, resp.StatusCode, b)
		}
	}
	// Each request's bearer is recorded.
	var got []string
	for _, r := range s.Requests() {
		got = append(got, r.Header.Get("Authorization"))
	}
	want := []string{"Bearer sk-shared-1111", "Bearer sk-guild-2222", "Bearer sk-other-3333", "Bearer " + testKey}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("recorded Authorization headers = %q, want %q", got, want)
	}

	// The empty key alone, or WithAPIKey after it, keeps the last word.
	if resp, _ := setup(t, viggletest.New(viggletest.WithAPIKeys(""))).do(t, http.MethodGet, "/api/credits", nil, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("WithAPIKeys(\"\"): credits HTTP %d, want 200 (any key)", resp.StatusCode)
	}
	one := viggletest.New(viggletest.WithAPIKeys("sk-a-1", "sk-b-2"), viggletest.WithAPIKey(testKey))
	oc := setup(t, one)
	oc.key = "sk-a-1"
	if resp, _ := oc.do(t, http.MethodGet, "/api/credits", nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("WithAPIKey after WithAPIKeys: an earlier key answered HTTP %d, want 401", resp.StatusCode)
	}
}

func TestCDN(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := viggletest.New(viggletest.WithClock(clk.Now), viggletest.WithCDNTTL(10*time.Minute),
		viggletest.WithScenarios(map[string]viggletest.Scenario{
			"scene_q":       {Polls: 1},
			"scene_expired": {Polls: 1, CDNExpired: true},
			"scene_nocdn":   {Polls: 1, NoCDN: true, VideoSize: 50_000},
		}))
	c := setup(t, s)
	get := func(u string) int {
		t.Helper()
		resp, _ := c.do(t, http.MethodGet, u, nil, "")
		return resp.StatusCode
	}

	t.Run("expired then fresh", func(t *testing.T) {
		id := c.create(t, "scene_expired", "background_mode", "transparent")
		st := c.status(t, id)
		u1, m1 := st["cdn_url"].(string), st["mask_cdn_url"].(string)
		if got := get(u1); got != http.StatusForbidden {
			t.Fatalf("first GET: HTTP %d, want 403", got)
		}
		if got := get(u1); got != http.StatusForbidden {
			t.Fatalf("old URL again: HTTP %d, want 403", got)
		}
		if got := get(m1); got != http.StatusForbidden {
			t.Fatalf("old mask URL: HTTP %d, want 403", got)
		}
		st = c.status(t, id)
		u2, m2 := st["cdn_url"].(string), st["mask_cdn_url"].(string)
		if u2 == u1 {
			t.Fatal("fresh status gave the same URL")
		}
		if get(u2) != http.StatusOK || get(m2) != http.StatusOK {
			t.Fatal("fresh URLs do not work")
		}
	})

	t.Run("signature and expiry", func(t *testing.T) {
		id := c.create(t, "scene_q")
		u := c.status(t, id)["cdn_url"].(string)
		if got := get(strings.Replace(u, "sig=", "sig=0", 1)); got != http.StatusForbidden {
			t.Errorf("bad sig: HTTP %d, want 403", got)
		}
		exp := strings.Split(strings.Split(u, "exp=")[1], "&")[0]
		n, _ := strconv.ParseInt(exp, 10, 64)
		if got := get(strings.Replace(u, "exp="+exp, "exp="+strconv.FormatInt(n+1, 10), 1)); got != http.StatusForbidden {
			t.Errorf("tampered exp: HTTP %d, want 403", got)
		}
		if got := get(u); got != http.StatusOK {
			t.Errorf("valid URL: HTTP %d", got)
		}
		clk.Advance(10*time.Minute + time.Second)
		if got := get(u); got != http.StatusForbidden {
			t.Errorf("after TTL: HTTP %d, want 403", got)
		}
		if got := get(c.status(t, id)["cdn_url"].(string)); got != http.StatusOK {
			t.Errorf("fresh URL after TTL: HTTP %d", got)
		}
	})

	t.Run("mask only for transparent", func(t *testing.T) {
		tr := c.create(t, "scene_q", "background_mode", "transparent")
		st := c.status(t, tr)
		m, _ := st["mask_cdn_url"].(string)
		if !strings.Contains(m, "/cdn/"+tr+"-mask.mp4?") {
			t.Fatalf("mask_cdn_url = %q", m)
		}
		resp, b := c.do(t, http.MethodGet, m, nil, "")
		if resp.StatusCode != http.StatusOK || !bytes.Equal(b, readAll(t, viggletest.MaskVideo())) {
			t.Fatalf("mask: HTTP %d, %d bytes", resp.StatusCode, len(b))
		}
		op := c.create(t, "scene_q", "background_mode", "solid", "bg_color", "0,255,0")
		st = c.status(t, op)
		wantField(t, st, "mask_cdn_url", nil)
		forged := strings.Replace(st["cdn_url"].(string), ".mp4?", "-mask.mp4?", 1)
		if got := get(forged); got != http.StatusNotFound {
			t.Errorf("mask of a solid job: HTTP %d, want 404", got)
		}
		if got := get("/cdn/nothing.mp4"); got != http.StatusNotFound {
			t.Errorf("unknown cdn file: HTTP %d, want 404", got)
		}
	})

	t.Run("no cdn_url", func(t *testing.T) {
		id := c.create(t, "scene_nocdn")
		st := c.status(t, id)
		wantField(t, st, "status", "complete")
		wantField(t, st, "cdn_url", nil)
		wantField(t, st, "download_url", nil)
		follow := *c
		follow.hc = &http.Client{Timeout: 10 * time.Second}
		resp, b := follow.do(t, http.MethodGet, "/api/render/"+id+"/download", nil, "")
		if resp.StatusCode != http.StatusOK || !bytes.Equal(b, readAll(t, viggletest.Video(50_000))) {
			t.Fatalf("download: HTTP %d, %d bytes", resp.StatusCode, len(b))
		}
	})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	c := setup(t, viggletest.New())
	tests := []struct {
		name   string
		fields map[string]string
		code   int
		errc   string
	}{
		{"unknown scene", map[string]string{"scene_id": "scene_nope", "character_mapping": `{"a":"b"}`}, 400, "CS-ORIV-009"},
		{"missing scene", map[string]string{"character_mapping": `{"a":"b"}`}, 400, "CS-ORIV-002"},
		{"mapping not json", map[string]string{"scene_id": "scene_demo", "character_mapping": `{a:b}`}, 400, "CS-ORIV-012"},
		{"mapping array", map[string]string{"scene_id": "scene_demo", "character_mapping": `["a"]`}, 400, "CS-ORIV-012"},
		{"mapping number value", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":1}`}, 400, "CS-ORIV-012"},
		{"mapping empty", map[string]string{"scene_id": "scene_demo", "character_mapping": `{}`}, 400, "CS-ORIV-012"},
		{"mapping null", map[string]string{"scene_id": "scene_demo", "character_mapping": `null`}, 400, "CS-ORIV-012"},
		{"no mapping or character", map[string]string{"scene_id": "scene_demo"}, 400, "CS-UORC01-002"},
		{"bad background", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`, "background_mode": "green"}, 400, "CS-ORIV-011"},
		{"bg_color without solid", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`, "bg_color": "0,0,0"}, 400, "CS-UORC01-002"},
		{"bad bg_color", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`, "background_mode": "solid", "bg_color": "256,0,0"}, 400, "CS-UORC01-002"},
		{"bg_color two values", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`, "background_mode": "solid", "bg_color": "1,2"}, 400, "CS-UORC01-002"},
		{"bad model", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`, "model": "V5"}, 400, "CS-UORC01-002"},
		{"bad fast", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`, "fast": "yes"}, 400, "CS-UORC01-002"},
		{"solid ok", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`, "background_mode": "solid", "bg_color": "0,255,0"}, 200, ""},
		{"solid default colour", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`, "background_mode": "solid"}, 200, ""},
		{"inpaint ok", map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`, "background_mode": "inpaint", "model": "V3_Preview"}, 200, ""},
		{"character_id ok", map[string]string{"scene_id": "scene_demo", "character_id": "char_alice"}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, body := c.postMultipart(t, tt.fields)
			if code != tt.code || detailCode(body) != tt.errc {
				t.Fatalf("got HTTP %d %v, want %d %q", code, body, tt.code, tt.errc)
			}
			if code != 200 {
				if d := body["detail"].(map[string]any); d["message"] == "" {
					t.Errorf("no message: %v", d)
				}
			}
		})
	}

	t.Run("urlencoded and fast", func(t *testing.T) {
		t.Parallel()
		form := url.Values{"scene_id": {"scene_demo"}, "character_mapping": {`{"person_a":"char_a"}`}, "fast": {"true"}}
		resp, b := c.do(t, http.MethodPost, "/api/render", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
		body := decode(t, b)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d %s", resp.StatusCode, b)
		}
		wantField(t, body, "mode", "fast")
		wantField(t, c.status(t, body["job_id"].(string)), "mode", "fast")
	})

	t.Run("json body refused", func(t *testing.T) {
		t.Parallel()
		resp, b := c.do(t, http.MethodPost, "/api/render", strings.NewReader(`{"scene_id":"scene_demo"}`), "application/json")
		if resp.StatusCode != http.StatusBadRequest || detailCode(decode(t, b)) != "CS-UORC01-002" {
			t.Fatalf("HTTP %d %s, want 400 CS-UORC01-002", resp.StatusCode, b)
		}
	})

	t.Run("routing", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			method, path string
			code         int
		}{
			{http.MethodGet, "/api/nope", 404},
			{http.MethodGet, "/", 404},
			{http.MethodGet, "/api/render", 405},
			{http.MethodPut, "/api/render/job_x", 405},
			{http.MethodGet, "/api/render/job_x/y/z", 404},
			{http.MethodGet, "/api/credits", 200},
		} {
			resp, b := c.do(t, tt.method, tt.path, nil, "")
			if resp.StatusCode != tt.code || !json.Valid(b) {
				t.Errorf("%s %s: HTTP %d %s, want %d with JSON", tt.method, tt.path, resp.StatusCode, b, tt.code)
			}
		}
	})
}

func TestLongSceneID(t *testing.T) {
	t.Parallel()
	s := viggletest.New()
	for _, n := range []int{64, 65, 128, 300} {
		scene := strings.Repeat("s", n)
		s.SetScenario(scene, viggletest.Scenario{Duration: time.Second})
	}
	c := setup(t, s)
	for _, n := range []int{64, 65, 128, 300} {
		scene := strings.Repeat("s", n)
		id := c.create(t, scene, "background_mode", "transparent", "fast", "true")
		if len(id) > 128 {
			t.Errorf("%d-byte scene: job id is %d chars, want <= 128", n, len(id))
		}
		wantField(t, c.status(t, id), "status", "queued")
		// Another process that knows the scene answers for the job (the id carries a hash of a long scene id).
		other := setup(t, viggletest.New(viggletest.WithScenarios(map[string]viggletest.Scenario{scene: {Duration: time.Second}})))
		wantField(t, other.status(t, id), "job_id", id)
		// One that does not know it: the job is unknown.
		resp, _ := setup(t, viggletest.New()).do(t, http.MethodGet, "/api/render/"+id, nil, "")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%d-byte scene unknown to the server: HTTP %d, want 404", n, resp.StatusCode)
		}
	}
}

func TestRecordsAndCounters(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := viggletest.New(viggletest.WithRecordLimit(3), viggletest.WithClock(clk.Now))
	c := setup(t, s)
	id := c.create(t, "scene_demo", "background_mode", "transparent")
	for range 4 {
		c.status(t, id)
	}
	c.do(t, http.MethodGet, "/api/render/"+id+"/download", nil, "")

	if got := s.Count(http.MethodPost, "/api/render"); got != 1 {
		t.Errorf("Count(POST, /api/render) = %d, want 1", got)
	}
	if got := s.Count(http.MethodGet, "/api/render/"+id); got != 5 {
		t.Errorf("Count(GET, job) = %d, want 5 (4 polls + 1 download)", got)
	}
	if got := s.Count("", "/api/"); got != 6 {
		t.Errorf("Count(any, /api/) = %d, want 6", got)
	}
	if got := s.Creates(); got != 1 {
		t.Errorf("Creates() = %d, want 1", got)
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("len(Requests()) = %d, want 3 (the limit)", len(reqs))
	}
	if last := reqs[2]; last.Path != "/api/render/"+id+"/download" || last.Method != http.MethodGet {
		t.Errorf("last record = %s %s", last.Method, last.Path)
	}
	if reqs[0].Header.Get("Authorization") != "Bearer "+testKey || !reqs[0].At.Equal(clk.Now()) {
		t.Errorf("record header/time: %v %v", reqs[0].Header, reqs[0].At)
	}

	// The POST form is recorded (seen before it is pushed out).
	s2 := viggletest.New()
	c2 := setup(t, s2)
	c2.create(t, "scene_demo", "background_mode", "transparent")
	r := s2.Requests()[0]
	if r.Form.Get("scene_id") != "scene_demo" || r.Form.Get("background_mode") != "transparent" ||
		r.Form.Get("character_mapping") != `{"person_a1b2c3d4":"char_alice"}` {
		t.Errorf("recorded form = %v", r.Form)
	}
	// Requests returns copies.
	r.Form.Set("scene_id", "changed")
	r.Header.Set("Authorization", "changed")
	if r2 := s2.Requests()[0]; r2.Form.Get("scene_id") != "scene_demo" || r2.Header.Get("Authorization") == "changed" {
		t.Error("Requests() shares maps with the server")
	}
}

func TestHold(t *testing.T) {
	t.Parallel()
	s := viggletest.New()
	c := setup(t, s)
	release := s.Hold()
	type result struct {
		code int
		body map[string]any
	}
	done := make(chan result, 1)
	go func() {
		code, body := c.postMultipart(t, map[string]string{"scene_id": "scene_demo", "character_mapping": `{"a":"b"}`})
		done <- result{code, body}
	}()
	select {
	case <-s.Held():
	case <-time.After(5 * time.Second):
		t.Fatal("POST was not held")
	}
	if got := s.Creates(); got != 1 {
		t.Errorf("Creates() while held = %d, want 1", got)
	}
	if got := s.Accepted(); got != 0 {
		t.Errorf("Accepted() while held = %d, want 0", got)
	}
	select {
	case r := <-done:
		t.Fatalf("POST answered while held: %v", r)
	default:
	}
	release()
	release() // idempotent
	select {
	case r := <-done:
		if r.code != http.StatusOK {
			t.Fatalf("after release: HTTP %d %v", r.code, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("POST not answered after release")
	}
	// Not held any more.
	c.create(t, "scene_demo")
	if got := s.Accepted(); got != 2 {
		t.Errorf("Accepted() = %d, want 2", got)
	}
}

func TestStart(t *testing.T) {
	t.Parallel()
	s := viggletest.New(viggletest.WithAPIKey(testKey))
	base, stop, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, "/") {
		t.Fatalf("base URL %q", base)
	}
	c := &client{base: base, key: testKey, hc: &http.Client{Timeout: 10 * time.Second}}
	id := c.create(t, "scene_demo")
	if !strings.HasPrefix(id, "job_") {
		t.Fatalf("job id %q", id)
	}

	// stop releases a held POST and shuts down.
	s.Hold()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/api/render",
			strings.NewReader("scene_id=scene_demo&character_id=c"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-s.Held()
	stop()
	stop()
	select {
	case code := <-done:
		if code != http.StatusOK && code != -1 {
			t.Errorf("held POST after stop: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held POST still blocked after stop")
	}
	if got := s.Accepted(); got != 2 {
		t.Errorf("Accepted() after stop = %d, want 2 (the held POST was released)", got)
	}
	if resp, err := http.Get(base + "/api/credits"); err == nil {
		resp.Body.Close()
		t.Error("server still answers after stop")
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	s := viggletest.New(viggletest.WithScenarios(map[string]viggletest.Scenario{
		"scene_p": {Polls: 3, PollErrors: []int{503}, CDNExpired: true},
	}), viggletest.WithRecordLimit(50))
	c := setup(t, s)
	var wg sync.WaitGroup
	const workers, jobs = 8, 10
	for w := range workers {
		// Each worker is a subtest, so that the helpers' t.Fatalf runs on its own test's goroutine.
		wg.Go(func() {
			t.Run("worker"+strconv.Itoa(w), func(t *testing.T) { concurrentWorker(t, s, c, jobs) })
		})
	}
	wg.Wait()
	if got := s.Accepted(); got != workers*jobs {
		t.Errorf("Accepted() = %d, want %d", got, workers*jobs)
	}
	if got := len(s.Requests()); got != 50 {
		t.Errorf("len(Requests()) = %d, want 50", got)
	}
}

// concurrentWorker runs jobs renders of scene_p end to end for TestConcurrent.
func concurrentWorker(t *testing.T, s *viggletest.Server, c *client, jobs int) {
	for range jobs {
		id := c.create(t, "scene_p")
		c.do(t, http.MethodGet, "/api/render/"+id, nil, "") // the 503
		var st map[string]any
		for range 3 {
			st = c.status(t, id)
		}
		if st["status"] != "complete" {
			t.Errorf("job %s: %v", id, st["status"])
			return
		}
		c.do(t, http.MethodGet, st["cdn_url"].(string), nil, "")
		if resp, _ := c.do(t, http.MethodGet, c.status(t, id)["cdn_url"].(string), nil, ""); resp.StatusCode != 200 {
			t.Errorf("job %s: fresh cdn HTTP %d", id, resp.StatusCode)
		}
		_ = s.Requests()
	}
}

// TestSubmitOutcomeUnknown: submissions whose outcome a client cannot know. A cut connection (after
// the whole request was read) gives no answer and is counted once, also on a reused keep-alive
// connection; it creates the render only with SubmitCutCreates. A 2xx without a job id creates the
// render. A bare 5xx is no decodable JSON error, as Viggle's gateway answers.
func TestSubmitOutcomeUnknown(t *testing.T) {
	t.Parallel()
	s := viggletest.New()
	s.SetScenario("scene_cut", viggletest.Scenario{SubmitCut: true})
	s.SetScenario("scene_cut_made", viggletest.Scenario{SubmitCut: true, SubmitCutCreates: true, Duration: time.Second})
	s.SetScenario("scene_noid", viggletest.Scenario{SubmitNoJobID: true, Duration: time.Second})
	s.SetScenario("scene_502", viggletest.Scenario{SubmitStatus: http.StatusBadGateway})
	s.SetScenario("scene_500", viggletest.Scenario{SubmitStatus: http.StatusInternalServerError})
	s.SetScenario("scene_504", viggletest.Scenario{SubmitStatus: http.StatusGatewayTimeout})
	c := setup(t, s)
	fields := func(scene string) (*bytes.Buffer, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("scene_id", scene)
		_ = mw.WriteField("character_mapping", `{"person_a1b2c3d4":"char_alice"}`)
		_ = mw.Close()
		return &buf, mw.FormDataContentType()
	}
	var conns []bool // GotConn of each post: was the connection reused?
	post := func(scene string) (*http.Response, error) {
		body, ct := fields(scene)
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { conns = append(conns, info.Reused) },
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/render", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		return c.hc.Do(req)
	}

	t.Run("cut", func(t *testing.T) {
		c.create(t, "scene_demo") // leaves a keep-alive connection for the cut POST to reuse
		creates, accepted := s.Creates(), s.Accepted()
		resp, err := post("scene_cut")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got HTTP %d, want the connection cut without an answer", resp.StatusCode)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("POST timed out (%v), want the connection closed at once", err)
		}
		// One attempt over one connection (not retried). Usually the connection is the keep-alive one
		// the create above left, where a retry would be likeliest; on a loaded machine it may not be
		// back in the pool yet, which the check does not depend on.
		if got := s.Creates() - creates; got != 1 || len(conns) != 1 {
			t.Errorf("Creates rose by %d over connections %v, want 1 over one connection (not retried)", got, conns)
		}
		if got := s.Accepted() - accepted; got != 0 {
			t.Errorf("Accepted rose by %d, want 0 (nothing created)", got)
		}
		reqs := s.Requests()
		if last := reqs[len(reqs)-1]; last.Method != http.MethodPost || last.Form.Get("scene_id") != "scene_cut" {
			t.Errorf("last recorded request %s %s %v, want the cut POST with its form", last.Method, last.Path, last.Form)
		}
		c.create(t, "scene_demo") // the fake still serves
	})
	t.Run("cut after creating", func(t *testing.T) {
		creates, accepted := s.Creates(), s.Accepted()
		if resp, err := post("scene_cut_made"); err == nil {
			resp.Body.Close()
			t.Fatalf("got HTTP %d, want the connection cut", resp.StatusCode)
		}
		if s.Creates()-creates != 1 || s.Accepted()-accepted != 1 {
			t.Errorf("Creates +%d, Accepted +%d; want 1 and 1", s.Creates()-creates, s.Accepted()-accepted)
		}
	})
	t.Run("2xx without a job id", func(t *testing.T) {
		accepted := s.Accepted()
		code, body := c.postMultipart(t, map[string]string{"scene_id": "scene_noid", "character_mapping": `{"a":"b"}`})
		if code != http.StatusOK || body["status"] != "queued" {
			t.Fatalf("got HTTP %d %v, want 200 queued", code, body)
		}
		if _, ok := body["job_id"]; ok {
			t.Errorf("body %v has a job_id", body)
		}
		if s.Accepted()-accepted != 1 {
			t.Errorf("Accepted +%d, want 1", s.Accepted()-accepted)
		}
	})
	t.Run("bare 5xx", func(t *testing.T) {
		for _, tc := range []struct {
			scene, ctype string
			status       int
		}{
			{"scene_502", "text/html", http.StatusBadGateway},
			{"scene_500", "text/plain; charset=utf-8", http.StatusInternalServerError},
			{"scene_504", "text/html", http.StatusGatewayTimeout},
		} {
			accepted := s.Accepted()
			body, ct := fields(tc.scene)
			resp, b := c.do(t, http.MethodPost, "/api/render", body, ct)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("%s: HTTP %d %q, want %d %q", tc.scene, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.ctype)
			}
			var v any
			if json.Unmarshal(b, &v) == nil {
				t.Errorf("%s: body %q decodes as JSON, want a gateway page", tc.scene, b)
			}
			if s.Accepted() != accepted {
				t.Errorf("%s created a job", tc.scene)
			}
		}
	})
}
