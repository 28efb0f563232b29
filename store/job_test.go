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
	want := map[string]string{"id": "job-1", "origin": "discord", "state": "running",
		"viggle_job_id": "vj-1", "scene": "scene-job-1"}
	for k, v := range want {
		if entry.Job[k] != v {
			t.Errorf("log group %s = %q, want %q (group %v)", k, entry.Job[k], v, entry.Job)
		}
	}
}
