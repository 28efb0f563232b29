package viggletest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// job is a decoded job id with its scenario.
type job struct {
	id string
	jobKey
	sc Scenario
}

func (j job) mode() string {
	if j.fast {
		return "fast"
	}
	return "preprocessed"
}

// lookup decodes id and finds its scene's scenario in this Server.
func (s *Server) lookup(id string) (job, bool) {
	k, ok := decodeJobID(id)
	if !ok {
		return job{}, false
	}
	if k.hashed {
		if k.scene, ok = s.sceneByHash(k.scene); !ok {
			return job{}, false
		}
		k.hashed = false
	}
	sc, ok := s.scenario(k.scene)
	if !ok {
		return job{}, false
	}
	return job{id: id, jobKey: k, sc: sc}, true
}

func (s *Server) memLocked(id string) *jobMem {
	m := s.jobs[id]
	if m == nil {
		m = &jobMem{}
		s.jobs[id] = m
	}
	return m
}

var checkpoints = []string{"ref_done", "dri_done", "bg_done", "render_done"}

// view is the state of a job at some instant.
type view struct {
	status string
	step   int // completed steps, 0..steps
	steps  int
	end    time.Time // completed_at for terminal states
}

// pct is rounded down so that only complete jobs reach 100.
func (v view) pct() float64 { return math.Floor(float64(v.step) * 100 / float64(v.steps)) }

func (v view) terminal() bool {
	return v.status == "complete" || v.status == "failed" || v.status == "cancelled"
}

// checkpoint is null below 25 %, then ref_done, dri_done, bg_done at 25, 50
// and 75 %, and render_done only when complete.
func (v view) checkpoint() *string {
	i := int(v.pct())/25 - 1
	if i < 0 {
		return nil
	}
	if v.status != "complete" {
		i = min(i, len(checkpoints)-2)
	}
	return &checkpoints[min(i, len(checkpoints)-1)]
}

// running computes progress at now, ignoring cancellation: frac in [0,1)
// while running, or done with the time the job ended.
func running(j job, m *jobMem, now time.Time) (frac float64, done bool, end time.Time) {
	sc := j.sc
	if sc.Polls > 0 && m != nil && m.local {
		n := int(m.polls)
		if n >= sc.Polls {
			return 1, true, time.UnixMilli(m.doneAt).UTC()
		}
		if sc.Polls == 1 || n <= 1 {
			return 0, false, time.Time{}
		}
		return float64(n-1) / float64(sc.Polls-1), false, time.Time{}
	}
	el := now.Sub(j.created)
	if el >= sc.Duration {
		return 1, true, j.created.Add(sc.Duration)
	}
	if el <= 0 {
		return 0, false, time.Time{}
	}
	return float64(el) / float64(sc.Duration), false, time.Time{}
}

// evalLocked returns the job's state at now.
func evalLocked(j job, m *jobMem, now time.Time) view {
	steps := j.sc.steps()
	at := now
	cancelled := m != nil && m.cancelledAt != 0
	if cancelled {
		at = time.UnixMilli(m.cancelledAt).UTC()
	}
	frac, done, end := running(j, m, at)
	step := min(int(frac*float64(steps)), steps-1)
	v := view{step: step, steps: steps}
	switch {
	case cancelled:
		v.status, v.end = "cancelled", at
	case j.sc.Stuck:
		v.status = "processing" // step is capped below the last one
	case done && j.sc.fails():
		v.status, v.step, v.end = "failed", steps-1, end
	case done:
		v.status, v.step, v.end = "complete", steps, end
	case frac < 0.1:
		v.status = "queued"
	default:
		v.status = "processing"
	}
	return v
}

// statusBody is the JSON of GET /api/render/{id}. Nullable fields are
// pointers so that they serialise as null, as a FastAPI server would.
type statusBody struct {
	JobID        string       `json:"job_id"`
	Status       string       `json:"status"`
	Mode         string       `json:"mode"`
	Checkpoint   *string      `json:"checkpoint"`
	ProgressPct  float64      `json:"progress_pct"`
	CDNURL       *string      `json:"cdn_url"`
	MaskCDNURL   *string      `json:"mask_cdn_url"`
	DownloadURL  *string      `json:"download_url"`
	ErrorCode    *string      `json:"error_code"`
	ErrorMessage *string      `json:"error_message"`
	Error        *string      `json:"error"`
	Progress     progressBody `json:"progress"`
	Chunks       []struct{}   `json:"chunks"`
	CreatedAt    string       `json:"created_at"`
	CompletedAt  *string      `json:"completed_at"`
}

type progressBody struct {
	CompletedChunks int     `json:"completed_chunks"`
	TotalChunks     int     `json:"total_chunks"`
	Percent         float64 `json:"percent"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, form url.Values, formErr error) {
	s.waitHold()
	now := s.now()
	if formErr != nil {
		writeError(w, http.StatusBadRequest, CodeValidation, "Request validation failed: "+formErr.Error(), "")
		return
	}
	sceneID := form.Get("scene_id")
	if sceneID == "" {
		writeError(w, http.StatusBadRequest, CodeMissingInput, "scene_id is required", "Send scene_id")
		return
	}
	bg := form.Get("background_mode")
	if bg == "" {
		bg = "original"
	}
	if _, ok := bgCodes[bg]; !ok {
		writeError(w, http.StatusBadRequest, CodeBadBackground, "Invalid background_mode",
			"Use original, solid or transparent")
		return
	}
	if form.Has("bg_color") {
		if bg != "solid" {
			writeError(w, http.StatusBadRequest, CodeValidation,
				"bg_color is only allowed with background_mode=solid", "")
			return
		}
		if !validColor(form.Get("bg_color")) {
			writeError(w, http.StatusBadRequest, CodeValidation,
				`bg_color must be "R,G,B" with each value 0-255`, "")
			return
		}
	}
	if form.Has("model") {
		if m := form.Get("model"); m != "V4_Preview" && m != "V3_Preview" {
			writeError(w, http.StatusBadRequest, CodeValidation, "model must be V4_Preview or V3_Preview", "")
			return
		}
	}
	fast := false
	if form.Has("fast") {
		switch form.Get("fast") {
		case "true":
			fast = true
		case "false":
		default:
			writeError(w, http.StatusBadRequest, CodeValidation, `fast must be "true" or "false"`, "")
			return
		}
	}
	if form.Has("character_mapping") {
		if msg := checkMapping(form.Get("character_mapping")); msg != "" {
			writeError(w, http.StatusBadRequest, CodeBadMapping, msg,
				`Send a JSON object of segment UUID to character ID, e.g. {"person_a1b2c3d4":"char_alice"}`)
			return
		}
	} else if form.Get("character_id") == "" {
		writeError(w, http.StatusBadRequest, CodeValidation, "character_mapping or character_id is required", "")
		return
	}
	sc, ok := s.scenario(sceneID)
	if !ok {
		writeError(w, http.StatusBadRequest, CodeSceneNotFound, "Scene not found",
			"Check the scene ID; the scene must be ready")
		return
	}
	if code, msg := s.sceneNotReady(sceneID, now); code != "" {
		writeError(w, http.StatusBadRequest, code, msg, "Wait until the scene is ready")
		return
	}
	k := jobKey{scene: sceneID, created: time.UnixMilli(now.UnixMilli()).UTC(), bg: bg, fast: fast}
	if sc.SubmitCut {
		if sc.SubmitCutCreates {
			s.accept(encodeJobID(k), sc)
		}
		cutConnection(w, r)
		return
	}
	if sc.SubmitStatus >= 500 && sc.SubmitCode == "" && sc.SubmitMessage == "" {
		writeGatewayError(w, sc.SubmitStatus)
		return
	}
	if sc.SubmitStatus != 0 {
		msg := sc.SubmitMessage
		if msg == "" {
			msg = http.StatusText(sc.SubmitStatus)
		}
		if sc.SubmitCode == "" {
			writeDetailString(w, sc.SubmitStatus, msg)
			return
		}
		writeError(w, sc.SubmitStatus, sc.SubmitCode, msg, sc.SubmitAction)
		return
	}

	id := encodeJobID(k)
	s.accept(id, sc)
	body := map[string]string{
		"job_id":      id,
		"status":      "queued",
		"mode":        job{jobKey: k}.mode(),
		"enqueued_at": now.UTC().Format(time.RFC3339),
	}
	if sc.SubmitNoJobID {
		delete(body, "job_id")
	}
	writeJSON(w, http.StatusOK, body)
}

// accept records a created job.
func (s *Server) accept(id string, sc Scenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted++
	if sc.Polls > 0 {
		s.memLocked(id).local = true
	}
}

// cutConnection reads what is left of the request and closes the connection without an answer.
func cutConnection(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Not hijackable (HTTP/2, a recorder): abort the handler, which drops the answer.
	panic(http.ErrAbortHandler)
}

// writeGatewayError answers as the gateway in front of Viggle does when the API behind it fails: no
// JSON, a plain-text body for 500 and an nginx-style HTML page for the others.
func writeGatewayError(w http.ResponseWriter, code int) {
	if code == http.StatusInternalServerError {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "Internal Server Error")
		return
	}
	title := fmt.Sprintf("%d %s", code, http.StatusText(code))
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, "<html><head><title>"+title+"</title></head><body><center><h1>"+title+"</h1></center></body></html>\n")
}

func validColor(s string) bool {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > 255 {
			return false
		}
	}
	return true
}

// checkMapping returns why raw is not a JSON object of non-empty strings to
// non-empty strings, or "" if it is.
func checkMapping(raw string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m == nil {
		return "Invalid character_mapping JSON: expected an object"
	}
	if len(m) == 0 {
		return "Invalid character_mapping: map at least one segment"
	}
	for k, v := range m {
		sv, ok := v.(string)
		if k == "" || !ok || sv == "" {
			return "Invalid character_mapping: keys and values must be non-empty strings"
		}
	}
	return ""
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, id string) {
	j, ok := s.lookup(id)
	if !ok {
		jobNotFound(w)
		return
	}
	now := s.now()
	s.mu.Lock()
	m := s.jobs[id]
	if n := len(j.sc.PollErrors); n > 0 {
		m = s.memLocked(id)
		if int(m.errs) < n {
			code := j.sc.PollErrors[m.errs]
			m.errs++
			s.mu.Unlock()
			servePollError(w, id, code, j.sc.RetryAfter)
			return
		}
	}
	if j.sc.Polls > 0 && m != nil && m.local && m.cancelledAt == 0 && int(m.polls) < j.sc.Polls {
		m.polls++
		if int(m.polls) == j.sc.Polls {
			m.doneAt = now.UnixMilli()
		}
	}
	v := evalLocked(j, m, now)
	gen := int32(0)
	if v.status == "complete" && j.sc.CDNExpired {
		gen = s.memLocked(id).cdnGen
	}
	s.mu.Unlock()

	body := statusBody{
		JobID:       id,
		Status:      v.status,
		Mode:        j.mode(),
		Checkpoint:  v.checkpoint(),
		ProgressPct: v.pct(),
		Progress:    progressBody{CompletedChunks: v.step, TotalChunks: v.steps, Percent: v.pct()},
		Chunks:      []struct{}{},
		CreatedAt:   j.created.Format(time.RFC3339),
	}
	if v.terminal() {
		body.CompletedAt = strPtr(v.end.UTC().Format(time.RFC3339))
	}
	switch v.status {
	case "complete":
		if !j.sc.NoCDN {
			u := s.cdnURL(r, id+".mp4", now, gen)
			body.CDNURL, body.DownloadURL = &u, &u
			if j.bg == "transparent" {
				body.MaskCDNURL = strPtr(s.cdnURL(r, id+"-mask.mp4", now, gen))
			}
		}
	case "failed":
		label := j.sc.FailLabel
		if label == "" {
			label = "Rendering failed"
		}
		body.ErrorCode, body.ErrorMessage, body.Error = strPtr(j.sc.FailCode), strPtr(j.sc.FailMessage), &label
	}
	writeJSON(w, http.StatusOK, body)
}

func servePollError(w http.ResponseWriter, id string, code int, retryAfter string) {
	if (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	switch code {
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"job_id":"`+id+`","status":"process`)
	case NotFound:
		writeDetailString(w, http.StatusNotFound, "Not found")
	case http.StatusInternalServerError, http.StatusBadGateway:
		writeGatewayError(w, code)
	case http.StatusTooManyRequests:
		writeDetailString(w, code, "Too many requests, slow down")
	case http.StatusServiceUnavailable:
		writeDetailString(w, code, "Service temporarily unavailable")
	default:
		writeDetailString(w, code, http.StatusText(code))
	}
}

func (s *Server) handleDelete(w http.ResponseWriter, id string) {
	j, ok := s.lookup(id)
	if !ok {
		jobNotFound(w)
		return
	}
	s.mu.Lock()
	v := s.cancelLocked(j, s.now())
	s.mu.Unlock()
	if v.status != "cancelled" {
		writeError(w, http.StatusConflict, CodeConflict, "Job already "+v.status+" and cannot be cancelled", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"job_id": id, "status": "cancelled"})
}

// cancelLocked cancels j if it is in progress and returns its state after.
func (s *Server) cancelLocked(j job, now time.Time) view {
	v := evalLocked(j, s.jobs[j.id], now)
	if v.terminal() {
		return v
	}
	s.memLocked(j.id).cancelledAt = now.UnixMilli()
	return evalLocked(j, s.jobs[j.id], now)
}

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request, id string) {
	j, ok := s.lookup(id)
	if !ok {
		jobNotFound(w)
		return
	}
	now := s.now()
	s.mu.Lock()
	v := evalLocked(j, s.jobs[id], now)
	gen := int32(0)
	if v.status == "complete" && j.sc.CDNExpired {
		gen = s.memLocked(id).cdnGen
	}
	s.mu.Unlock()
	if v.status != "complete" {
		writeError(w, http.StatusConflict, CodeConflict, "Job is not complete (status "+v.status+")",
			"Poll the job until its status is complete")
		return
	}
	w.Header().Set("Location", s.cdnURL(r, id+".mp4", now, gen))
	w.WriteHeader(http.StatusFound)
}

// cdnKey signs CDN URLs. It is fixed so that URLs stay valid across
// processes; this is a fake, not a secret.
var cdnKey = []byte("viggletest-cdn-v1")

func cdnSig(name string, exp int64, gen int32) string {
	mac := hmac.New(sha256.New, cdnKey)
	_, _ = fmt.Fprintf(mac, "%s|%d|%d", name, exp, gen)
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// cdnURL builds an absolute signed URL for /cdn/name from the request's host.
func (s *Server) cdnURL(r *http.Request, name string, now time.Time, gen int32) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	exp := now.Add(s.cdnTTL).UnixMilli()
	u := scheme + "://" + r.Host + "/cdn/" + name + "?exp=" + strconv.FormatInt(exp, 10)
	if gen != 0 {
		u += "&g=" + strconv.FormatInt(int64(gen), 10)
	}
	return u + "&sig=" + cdnSig(name, exp, gen)
}

// serveCDN serves /cdn/<id>.mp4 and /cdn/<id>-mask.mp4 without auth.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request, name string, now time.Time) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		cdnError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Method not allowed")
		return
	}
	base, ok := strings.CutSuffix(name, ".mp4")
	if !ok {
		cdnError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	id, mask := base, false
	if b, ok := strings.CutSuffix(base, "-mask"); ok {
		if _, ok := decodeJobID(b); ok {
			id, mask = b, true
		}
	}
	j, ok := s.lookup(id)
	if !ok || (mask && j.bg != "transparent") {
		cdnError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	q := r.URL.Query()
	exp, err1 := strconv.ParseInt(q.Get("exp"), 10, 64)
	gen64, err2 := int64(0), error(nil)
	if q.Has("g") {
		gen64, err2 = strconv.ParseInt(q.Get("g"), 10, 32)
	}
	gen := int32(gen64)
	if err1 != nil || err2 != nil || !constantTimeEqual(q.Get("sig"), cdnSig(name, exp, gen)) {
		cdnError(w, http.StatusForbidden, "AccessDenied", "Request signature does not match")
		return
	}
	if now.UnixMilli() > exp {
		cdnError(w, http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	if j.sc.CDNExpired {
		s.mu.Lock()
		m := s.memLocked(id)
		refuse := !m.cdnExpired || gen < m.cdnGen
		if !m.cdnExpired {
			m.cdnExpired, m.cdnGen = true, gen+1
		}
		s.mu.Unlock()
		if refuse {
			cdnError(w, http.StatusForbidden, "AccessDenied", "Request has expired")
			return
		}
	}

	var body io.Reader
	var n int64
	if mask {
		body, n = MaskVideo(), MaskVideoLen()
	} else {
		body, n = Video(j.sc.VideoSize), VideoLen(j.sc.VideoSize)
	}
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, body) // a client that goes away ends the copy
}

func cdnError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>%s</Code><Message>%s</Message></Error>\n", code, msg)
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

type errorDetail struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
	Action    string `json:"action,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for the fake's own types
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes {"detail":{"error_code":…,"message":…,"action":…}}.
func writeError(w http.ResponseWriter, status int, code, msg, action string) {
	writeJSON(w, status, struct {
		Detail errorDetail `json:"detail"`
	}{errorDetail{ErrorCode: code, Message: msg, Action: action}})
}

// writeDetailString writes {"detail":"…"}.
func writeDetailString(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg})
}

func jobNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, CodeJobNotFound, "Job not found", "Check the job ID")
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeDetailString(w, http.StatusMethodNotAllowed, "Method Not Allowed")
}
