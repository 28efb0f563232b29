package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestJobNeverPrintsToken(t *testing.T) {
	t.Parallel()
	const token = "SECRET-interaction-token"
	j := testJob("job-1", OriginDiscord, "u", "g", ms(1))
	j.InteractionToken = token
	j.ViggleJobID = "vj-1"
	j.State = StateRunning

	var out []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out = append(out, fmt.Sprintf(format, j), fmt.Sprintf(format, *j), fmt.Sprintf(format, []*Job{j}))
	}
	out = append(out, fmt.Sprint(j), fmt.Sprint(*j), j.String())

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("pointer", "job", j)
	log.Info("value", "job", *j)
	text := slog.New(slog.NewTextHandler(&logs, nil))
	text.Info("text", "job", j)
	out = append(out, logs.String())

	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(b))

	for _, s := range out {
		if strings.Contains(s, token) {
			t.Errorf("token printed in %q", s)
		}
		if !strings.Contains(s, "job-1") {
			t.Errorf("job id missing from %q", s)
		}
	}
	// The safe fields are present in the structured log.
	var entry struct {
		Job map[string]string `json:"job"`
	}
	first, _, _ := strings.Cut(logs.String(), "\n")
	if err := json.Unmarshal([]byte(first), &entry); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"id": "job-1", "guild": "g", "user": "u", "origin": "discord", "state": "running",
		"viggle_job_id": "vj-1", "scene": "scene-job-1"}
	for k, v := range want {
		if entry.Job[k] != v {
			t.Errorf("log group %s = %q, want %q (group %v)", k, entry.Job[k], v, entry.Job)
		}
	}
}

// Every line logged through Job.Logger names the job, its guild and its user at the top level, in
// JSON and in text, and never the token.
func TestJobLoggerAttrs(t *testing.T) {
	t.Parallel()
	j := testJob("job-2", OriginDiscord, "u2", "g2", ms(1))
	var logs bytes.Buffer
	j.Logger(slog.New(slog.NewJSONHandler(&logs, nil))).Warn("step failed", "err", "boom")
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["job"] != "job-2" || line["guild"] != "g2" || line["user"] != "u2" || line["err"] != "boom" {
		t.Fatalf("line = %v", line)
	}
	logs.Reset()
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", JobAttrs("job-3", "", "me")...)
	if got := logs.String(); !strings.Contains(got, `job=job-3 guild="" user=me`) {
		t.Fatalf("text line = %q", got)
	}
	if strings.Contains(logs.String(), j.InteractionToken) {
		t.Fatal("token logged")
	}
}
