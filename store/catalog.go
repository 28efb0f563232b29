package store

import (
	"fmt"
	"strings"

	"golang.org/x/text/cases"
)

// What scenes and characters share: their status, their case-folded names, prefix patterns and errors.

// Status is Viggle's processing status of an imported scene or a preprocessed character.
type Status string

// Scene and character statuses.
const (
	StatusPending    Status = "pending"    // asked for at Viggle, not started
	StatusProcessing Status = "processing" // Viggle is working on it
	StatusReady      Status = "ready"      // usable in a render
	StatusFailed     Status = "failed"     // Viggle could not make it; Error says why
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusProcessing, StatusReady, StatusFailed:
		return true
	}
	return false
}

// suggestOrder is the order of statuses in suggestions: usable ones first, failed ones last.
var suggestOrder = [...]Status{StatusReady, StatusProcessing, StatusPending, StatusFailed}

// MaxSuggestions is the most suggestions a Suggest method returns (Discord's limit of autocomplete
// choices); a limit ≤ 0 or above it means MaxSuggestions.
const MaxSuggestions = 25

func suggestLimit(limit int) int {
	if limit <= 0 || limit > MaxSuggestions {
		return MaxSuggestions
	}
	return limit
}

// nameKey is the key under which a name is unique and looked up: the name without surrounding
// spaces, Unicode case-folded ("Alice", "ALICE" and " alice " are one name).
func nameKey(name string) string {
	return cases.Fold().String(strings.TrimSpace(name))
}

// prefixKey folds a typed prefix as nameKey folds names; trailing spaces are kept (they are part
// of what was typed: "big " is not "bigger").
func prefixKey(prefix string) string {
	return cases.Fold().String(strings.TrimLeft(prefix, " \t"))
}

// keyRange returns the range [lo, hi) of the byte strings that start with prefix (compared as
// SQLite's BINARY collation does, byte by byte): no pattern, so '%', '_' and '\\' are plain characters.
// hi is prefix with its last byte below 0xff incremented (valid UTF-8 has no 0xff byte, so for
// the empty prefix "\xff" is above every key).
func keyRange(prefix string) (lo, hi string) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return prefix, string(b[:i+1])
		}
	}
	return prefix, prefix + "\xff"
}

// asciiLower lowers ASCII letters only, as SQLite's lower() does without ICU.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// recordError is a not-found or duplicate error about a scene or a character, with its own message;
// errors.Is matches it against its kind (ErrNotFound or ErrDuplicate).
type recordError struct {
	kind error
	msg  string
}

func (e *recordError) Error() string        { return "store: " + e.msg }
func (e *recordError) Is(target error) bool { return target == e.kind }

func notFound(format string, args ...any) error {
	return &recordError{kind: ErrNotFound, msg: fmt.Sprintf(format, args...)}
}

func duplicate(format string, args ...any) error {
	return &recordError{kind: ErrDuplicate, msg: fmt.Sprintf(format, args...)}
}
