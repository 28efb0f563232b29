package explain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/keyring"
	"github.com/viggle-bot/viggle-bot/viggle"
)

func TestViggleError(t *testing.T) {
	refused := func(status int, code string) error {
		return fmt.Errorf("jobs: import scene s1: %w", &viggle.APIError{HTTPStatus: status, Code: code, Message: "m", Decoded: true})
	}
	unknown := fmt.Errorf("viggle: import scene: %w", errors.Join(viggle.ErrOutcomeUnknown, &viggle.APIError{HTTPStatus: 502}))
	for _, tc := range []struct {
		op   string
		err  error
		want []string
	}{
		{explain.OpImport, refused(402, "CS-UORC01-008"), []string{"Viggle refused to import the scene (error `CS-UORC01-008`).", "run out of credits"}},
		{explain.OpImport, refused(402, "CS-ORCR-001"), []string{"(error `CS-ORCR-001`)", "run out of credits"}},
		{explain.OpCredits, refused(401, "CS-UORC01-007"), []string{"read the credit balance (error `CS-UORC01-007`)", "VIGGLE_API_KEY"}},
		{explain.OpCharacter, refused(400, "CS-ORIV-001"), []string{"make the character (error `CS-ORIV-001`)", "PNG, JPEG or WebP"}},
		{explain.OpImport, refused(404, "CS-NOTFOUND"), []string{"(error `CS-NOTFOUND`)", "check the id or link"}},
		{explain.OpImport, refused(429, ""), []string{"Viggle refused to import the scene. ", "try again in a minute"}},
		{explain.OpImport, unknown, []string{"no usable answer (Viggle answered HTTP 502)", "may have used credits", "not sent again", "/scene list"}},
		{explain.OpCharacter, fmt.Errorf("x: %w", viggle.ErrNotSent), []string{"could not make the character", "no credits were used"}},
		{explain.OpCredits, errors.New("dial tcp: connection refused"), []string{"Viggle did not answer, so I could not read the credit balance."}},
		{explain.OpImport, keyErr(keyring.ErrNoKey), []string{"no Viggle key of its own", "/config key set", "so I could not import the scene; nothing was sent"}},
		{explain.OpCharacter, keyErr(keyring.ErrUndecryptable), []string{"cannot be read any more", "BOT_ENCRYPTION_KEY", "so I could not make the character"}},
		{explain.OpCredits, keyErr(keyring.ErrNoEncryption), []string{"needs to set BOT_ENCRYPTION_KEY"}},
		{explain.OpImport, keyErr(keyring.ErrKeyGone), []string{"was removed from the bot", "no credits were used"}},
	} {
		got := explain.ViggleError(tc.op, tc.err)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("ViggleError(%q, %v) = %q, want it to say %q", tc.op, tc.err, got, w)
			}
		}
		if strings.Count(got, "\n") != 0 {
			t.Errorf("ViggleError(%q, %v) = %q: more than one paragraph", tc.op, tc.err, got)
		}
	}
}

func TestCatalogFailure(t *testing.T) {
	for _, tc := range []struct {
		recorded string
		unknown  bool
		want     string
	}{
		{jobs.FactNotSent, false, "no credits were used"},
		{jobs.FactNoAnswer, true, "may exist there"},
		{jobs.FactInterrupted, true, "was not sent again"},
		{jobs.FactNoReason, false, "gave no reason"},
		{jobs.FactNotFound, false, "no longer knows it"},
		{"HTTP 502", true, "the answer was HTTP 502, so it may exist there"},
		{"HTTP 400", false, "Viggle refused it (HTTP 400 Bad Request)."},
		{"CS-UORC01-008", false, "Viggle refused it (error `CS-UORC01-008`). The Viggle account has run out of credits"},
		{"Template import failed: no person could be tracked in the video", false, "Viggle said: Template import failed: no person could be tracked in the video."},
		{"", false, "Viggle could not make it."},
		{"Rendering failed (CS-UORC01-008)", false, "Viggle said: Rendering failed (error `CS-UORC01-008`). The Viggle account has run out of credits"},
		{"a message (with an aside)", false, "Viggle said: a message (with an aside)."},
		{jobs.FactKeyUnavailable, false, "The Viggle key it was made with can no longer be used"},
	} {
		if got := explain.CatalogFailure(tc.recorded, tc.unknown); !strings.Contains(got, tc.want) {
			t.Errorf("CatalogFailure(%q, %v) = %q, want %q in it", tc.recorded, tc.unknown, got, tc.want)
		}
	}
}

// keyErr is a keyring error as Ring.ForGuild or Ring.Client returns it, wrapped by a caller.
func keyErr(cause error) error {
	return fmt.Errorf("jobs: import scene from template %q: %w", "tpl", fmt.Errorf("keyring: key k1: %w: %w", keyring.ErrUnavailable, cause))
}
