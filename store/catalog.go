package store

import (
	"crypto/rand"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// What scenes and characters share: their status, their ids, their keyed names, prefix ranges and errors.

// Status is the status of an imported scene or a preprocessed character: the bot's own while its
// create is being sent (submitting, unknown), then Viggle's processing status. Statuses are checked
// here (Valid), not by the table, so adding one needs no migration.
type Status string

// Scene and character statuses.
const (
	StatusSubmitting Status = "submitting" // recorded before the create is sent: the POST may be in flight
	StatusUnknown    Status = "unknown"    // the create's outcome is unknown: it may exist at Viggle (and have cost credits)
	StatusPending    Status = "pending"    // asked for at Viggle, not started
	StatusProcessing Status = "processing" // Viggle is working on it
	StatusReady      Status = "ready"      // usable in a render
	StatusFailed     Status = "failed"     // Viggle refused or could not make it; Error says why
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusSubmitting, StatusUnknown, StatusPending, StatusProcessing, StatusReady, StatusFailed:
		return true
	}
	return false
}

// Replaceable reports whether a row in status s may be replaced by a new one of its name (see
// ReplaceCharacter): it is failed, or its create's outcome is unknown.
func (s Status) Replaceable() bool {
	return s == StatusFailed || s == StatusUnknown
}

// suggestOrder is the order of statuses in suggestions: usable ones first, failed ones last. Rows
// still submitting or of unknown outcome have no Viggle id and are never suggested.
var suggestOrder = [...]Status{StatusReady, StatusProcessing, StatusPending, StatusFailed}

// idAlphabet has no look-alike characters (no 0/o, 1/l/i), as jobs.NewID's.
const idAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// NewID returns a bot-made id for a scene or a character, shaped as jobs.NewID's: 10 characters of
// a 31-letter alphabet (about 49 bits; the primary key rejects the astronomically rare collision).
func NewID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}

// OtherGuildError is returned by ShareCharacter for a character made outside the guild it is to be
// shared with: a character is shared only with the guild it was made in (and with its key).
type OtherGuildError struct {
	CharacterID string // the bot's id of the character
	Name        string
	MadeIn      string // the guild it was made in; "" outside a guild
	Guild       string // the guild it was to be shared with
}

func (e *OtherGuildError) Error() string {
	where := "outside a guild"
	if e.MadeIn != "" {
		where = "in guild " + e.MadeIn
	}
	if e.Guild == "" {
		return fmt.Sprintf("store: character %q (%s) was made %s and cannot be shared outside a guild", e.Name, e.CharacterID, where)
	}
	return fmt.Sprintf("store: character %q (%s) was made %s, not in guild %s", e.Name, e.CharacterID, where, e.Guild)
}

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
// spaces, in Unicode NFC (so a precomposed "é" and "e" + U+0301 are one name), case-folded ("Alice",
// "ALICE" and " alice " are one name), then NFC again (folding may decompose).
func nameKey(name string) string {
	return foldKey(strings.TrimSpace(name))
}

// prefixKey keys a typed prefix as nameKey keys names; trailing spaces are kept (they are part
// of what was typed: "big " is not "bigger").
func prefixKey(prefix string) string {
	return foldKey(strings.TrimLeft(prefix, " \t"))
}

func foldKey(s string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFC.String(s)))
}

// keyRange returns the range [lo, hi) of the strings that start with prefix, compared byte by byte (as
// SQLite's BINARY collation and PostgreSQL's "C" collation do): no pattern, so '%', '_' and '\\' are plain
// characters. hi is prefix with its last character replaced by the next one (UTF-8's byte order is code
// point order), so hi is valid UTF-8, which PostgreSQL requires of text; a last U+10FFFF is dropped and the
// one before it incremented. For a prefix of U+10FFFF only (the empty one included), hi is that prefix
// followed by U+10FFFF, which misses only keys with U+10FFFF there, a noncharacter no name has.
func keyRange(prefix string) (lo, hi string) {
	r := []rune(prefix)
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] < utf8.MaxRune {
			next := r[i] + 1
			if next >= 0xD800 && next <= 0xDFFF { // surrogates are not characters
				next = 0xE000
			}
			return prefix, string(r[:i]) + string(next)
		}
	}
	return prefix, prefix + string(utf8.MaxRune)
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
