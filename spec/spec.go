// Package spec holds a user's render request and its validation. It is shared by
// the terminal render command and the Discord /render command, so it depends on
// the standard library only.
//
// Every error caused by bad input is an *Error whose Message is written for the
// end user: plain words that say what is wrong and what to write instead. The
// messages are plain text; a caller that shows them in Markdown (Discord) should
// escape them as it sees fit.
package spec

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pair maps one person (segment id) of a scene to a character id.
type Pair struct{ Person, Character string }

// Background modes, models and limits.
const (
	// BackgroundOriginal keeps the scene's background (Viggle's default).
	BackgroundOriginal = "original"
	// BackgroundSolid paints a flat colour, taken from BGColor when given.
	BackgroundSolid = "solid"
	// BackgroundTransparent returns the characters on black plus a mask video.
	BackgroundTransparent = "transparent"

	// ModelV4 is Viggle's current model (its default).
	ModelV4 = "V4_Preview"
	// ModelV3 is Viggle's legacy model.
	ModelV3 = "V3_Preview"

	// MaxPairs is the largest number of person=character pairs in one map.
	MaxPairs = 50
	// MaxIDLen is the longest accepted id, counted in runes.
	MaxIDLen = 128
)

// Request is a validated render request. Empty Background/Model mean "not given" (not sent to Viggle).
type Request struct {
	SceneID    string
	Mapping    []Pair // order as typed by the user
	Background string // "", original, solid, transparent
	BGColor    string // normalised "R,G,B" (only with solid), "" if not given
	Fast       bool
	Model      string // "", V4_Preview, V3_Preview
}

// Error is a bad-input error with a message meant for the end user (plain words, says what to do).
//
// Field is one of "scene", "map", "background", "bg_color", "model", or "id" for
// errors from ValidateID.
type Error struct {
	Field   string // "scene", "map", "background", "bg_color", "model" ("id" from ValidateID)
	Message string
}

// Error returns Field + ": " + Message.
func (e *Error) Error() string { return e.Field + ": " + e.Message }

const (
	pairExample  = "person_a=char_alice"
	pairsExample = "person_a=char_alice, person_b=char_bob"
	writePair    = "write each pair as person=character, e.g. " + pairExample
	showMax      = 40 // runes of user text quoted in a message
)

// ValidateID checks one opaque id (a scene, person or character id): it must be
// valid UTF-8, 1 to MaxIDLen runes long, and contain no white space, quote
// marks, control characters (Cc) or invisible format characters (Cf). The
// returned error is an *Error with Field "id" whose message names the id.
func ValidateID(id string) error {
	if p := idProblem(id); p != nil {
		return &Error{Field: "id", Message: "the id " + show(id) + " " + p.what + " — " + p.fix}
	}
	return nil
}

// ParseMap parses the person=character map typed by a user.
//
// Pairs are separated by commas, semicolons or white space; white space around
// "=" is removed first, so "a = b" is one pair. Stray separators are ignored.
// Ids are opaque and case-sensitive; a person may appear only once, a character
// any number of times. The result has 1 to MaxPairs pairs in the order typed.
// Errors are *Error with Field "map" and name the first bad pair as typed.
func ParseMap(text string) ([]Pair, error) {
	toks := tokenize(text)
	if len(toks) == 0 {
		return nil, mapErr("the map is empty — write at least one pair as person=character, e.g. " +
			pairExample + " (separate several pairs with commas)")
	}
	pairs := make([]Pair, 0, min(len(toks), MaxPairs))
	first := make(map[string]string, len(pairs)) // person -> the pair that named it first, as typed
	for _, t := range toks {
		p, msg := parsePair(t)
		if msg != "" {
			return nil, mapErr(msg)
		}
		if prev, dup := first[p.Person]; dup {
			return nil, mapErr(duplicateMsg(p.Person, prev, t.raw))
		}
		first[p.Person] = t.raw
		pairs = append(pairs, p)
	}
	if len(pairs) > MaxPairs {
		return nil, mapErr(tooManyMsg(len(pairs)))
	}
	return pairs, nil
}

// ParseColor parses a solid background colour and returns it normalised as
// "R,G,B". It accepts "R,G,B" with each part a decimal number from 0 to 255
// (white space allowed around the numbers) or "#RRGGBB" in hexadecimal (either
// case). Errors are *Error with Field "bg_color".
func ParseColor(text string) (string, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return "", colorErr("the colour is empty — write it as R,G,B with numbers from 0 to 255, e.g. 0,255,0, or as #00FF00")
	}
	if hex, ok := strings.CutPrefix(s, "#"); ok {
		if len(hex) != 6 {
			return "", colorErr(show(text) + " is not a colour — after \"#\" write exactly six hex digits, e.g. #00FF00, or write R,G,B such as 0,255,0")
		}
		var rgb [3]uint64
		for i := range rgb {
			v, err := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
			if err != nil {
				return "", colorErr(show(text) + " is not a colour — after \"#\" use only the digits 0-9 and letters A-F, e.g. #00FF00")
			}
			rgb[i] = v
		}
		return fmt.Sprintf("%d,%d,%d", rgb[0], rgb[1], rgb[2]), nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		if len(s) == 6 && isHex(s) {
			return "", colorErr(show(text) + " is not a colour — put a \"#\" in front of hex colours: #" + s)
		}
		return "", colorErr(show(text) + " is not a colour — write three numbers from 0 to 255 separated by commas (R,G,B), e.g. 0,255,0, or write #00FF00")
	}
	nums := make([]string, 3)
	for i, p := range parts {
		p = strings.TrimSpace(p)
		v, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return "", colorErr(show(text) + " is not a colour — " + show(p) +
				" must be a whole number from 0 to 255; write R,G,B, e.g. 0,255,0")
		}
		nums[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(nums, ","), nil
}

// NewRequest builds and validates a request from raw user input (what a CLI flag or slash-command option holds).
// bgColor given with background "" implies solid; bgColor with original/transparent is bad input.
// background must be "" or one of the three modes (exact, lowercase); model "" or one of the two (exact).
// White space around the scene id is removed. Errors are *Error; the first problem found is returned,
// checking scene, map, background, bg_color and model in that order.
func NewRequest(scene, mapText, background, bgColor string, fast bool, model string) (Request, error) {
	r := Request{SceneID: strings.TrimSpace(scene), Background: background, Fast: fast, Model: model}
	if err := checkScene(r.SceneID); err != nil {
		return Request{}, err
	}
	mapping, err := ParseMap(mapText)
	if err != nil {
		return Request{}, err
	}
	r.Mapping = mapping
	if bgColor != "" {
		r.BGColor = bgColor
		if background == "" {
			r.Background = BackgroundSolid // a colour alone means a solid background
		}
		if c, err := ParseColor(bgColor); err == nil && r.Background == BackgroundSolid {
			r.BGColor = c // normalised; Validate reports a colour that does not parse, in its turn
		}
	}
	// The rest of the rules are Validate's: the same messages, in the same order.
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	return r, nil
}

// Validate checks a Request: NewRequest ends with it, and the engine checks every request it is given
// with it. It applies the same rules as NewRequest, and also requires that ids in the
// mapping contain no "=", "," or ";" (so MappingText parses back to the same
// pairs) and that BGColor is in its normalised "R,G,B" form.
func (r Request) Validate() error {
	if err := checkScene(r.SceneID); err != nil {
		return err
	}
	if len(r.Mapping) == 0 {
		return mapErr("the map is empty — write at least one pair as person=character, e.g. " + pairExample)
	}
	first := make(map[string]string, len(r.Mapping))
	for _, p := range r.Mapping {
		raw := p.Person + "=" + p.Character
		if msg := checkPair(p, raw); msg != "" {
			return mapErr(msg)
		}
		if prev, dup := first[p.Person]; dup {
			return mapErr(duplicateMsg(p.Person, prev, raw))
		}
		first[p.Person] = raw
	}
	if len(r.Mapping) > MaxPairs {
		return mapErr(tooManyMsg(len(r.Mapping)))
	}
	if err := checkBackground(r.Background); err != nil {
		return err
	}
	if r.BGColor != "" {
		if r.Background != BackgroundSolid {
			return colorErr("a colour only works with the solid background, not " + show(r.Background) +
				" — leave out the colour or choose background solid")
		}
		c, err := ParseColor(r.BGColor)
		if err != nil {
			return err
		}
		if c != r.BGColor {
			return colorErr(show(r.BGColor) + " is not in the form R,G,B — write it as " + c)
		}
	}
	return checkModel(r.Model)
}

// MappingJSON returns the mapping as a JSON object string with exactly the
// pairs in their given order, e.g. {"person_a":"char_x"}. This is the value of
// Viggle's character_mapping form field.
func (r Request) MappingJSON() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range r.Mapping {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(p.Person))
		b.WriteByte(':')
		b.Write(jsonString(p.Character))
	}
	b.WriteByte('}')
	return b.String()
}

// MappingText returns the mapping for display, e.g. "person_a=char_x, person_b=char_y".
// For a valid request, ParseMap(r.MappingText()) yields r.Mapping again.
func (r Request) MappingText() string {
	parts := make([]string, len(r.Mapping))
	for i, p := range r.Mapping {
		parts[i] = p.Person + "=" + p.Character
	}
	return strings.Join(parts, ", ")
}

// token is one pair of a map as typed, before it is split at "=".
type token struct {
	text string // the pair with white space around "=" removed
	raw  string // the pair as typed, including that white space
}

func isPairSep(r rune) bool { return r == ',' || r == ';' }

// tokenize splits a map into pairs. Commas, semicolons and white space
// separate pairs, except that a run of white space directly before or after
// "=" is dropped, joining "a = b" into "a=b".
func tokenize(s string) []token {
	var (
		toks       []token
		cur        []byte
		start, end int
	)
	flush := func() {
		if len(cur) > 0 {
			toks = append(toks, token{text: string(cur), raw: s[start:end]})
			cur = cur[:0]
		}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case isPairSep(r):
			flush()
			i += size
		case unicode.IsSpace(r):
			j := i + size
			for j < len(s) {
				r2, n := utf8.DecodeRuneInString(s[j:])
				if !unicode.IsSpace(r2) {
					break
				}
				j += n
			}
			afterEq := len(cur) > 0 && cur[len(cur)-1] == '='
			beforeEq := j < len(s) && s[j] == '='
			if !afterEq && !beforeEq {
				flush()
			}
			i = j
		default:
			if len(cur) == 0 {
				start = i
			}
			// Copy the bytes, not r: an invalid byte must reach the id check as it is.
			cur = append(cur, s[i:i+size]...)
			i += size
			end = i
		}
	}
	flush()
	return toks
}

// parsePair splits one token at "=" and checks both ids. It returns a user
// message naming the pair when something is wrong.
func parsePair(t token) (Pair, string) {
	pair := show(t.raw)
	switch strings.Count(t.text, "=") {
	case 0:
		return Pair{}, pair + " has no \"=\" — " + writePair
	case 1:
	default:
		return Pair{}, pair + " has more than one \"=\" — " + writePair +
			", and separate pairs with commas: " + pairsExample
	}
	person, character, _ := strings.Cut(t.text, "=")
	p := Pair{Person: person, Character: character}
	return p, checkPair(p, t.raw)
}

// checkPair checks the two ids of a pair; raw is the pair as typed.
func checkPair(p Pair, raw string) string {
	pair := show(raw)
	switch {
	case p.Person == "" && p.Character == "":
		return pair + " has no person and no character — " + writePair
	case p.Person == "":
		return pair + " has nothing before \"=\" — put the person first: " + writePair
	case p.Character == "":
		return pair + " has nothing after \"=\" — put the character after it: " + writePair
	}
	for _, id := range []struct{ role, id string }{{"person", p.Person}, {"character", p.Character}} {
		if pr := mapIDProblem(id.id); pr != nil {
			msg := "in " + pair + " the " + id.role + " " + pr.what + " — " + pr.fix
			if pr.fix == fixQuotes {
				msg += ", e.g. " + pairExample
			}
			return msg
		}
	}
	return ""
}

func duplicateMsg(person, firstRaw, secondRaw string) string {
	return "the person " + show(person) + " appears twice (" + show(firstRaw) + " and " + show(secondRaw) +
		") — give each person only one character, e.g. " + pairsExample
}

func tooManyMsg(n int) string {
	return fmt.Sprintf("the map has %d pairs, but at most %d are allowed — remove some pairs "+
		"(persons you leave out keep their original look)", n, MaxPairs)
}

// problem says what is wrong with an id and how to fix it.
type problem struct{ what, fix string }

// fixQuotes is the fix for quote marks; in a map the message also shows a bare pair.
const fixQuotes = "write the id without quotes"

// idProblem applies the id rule of ValidateID; nil means the id is fine.
func idProblem(id string) *problem {
	if id == "" {
		return &problem{"is empty", "give the id"}
	}
	if !utf8.ValidString(id) {
		return &problem{"contains bytes that are not valid text", "type the id again or copy it from Viggle again"}
	}
	if n := utf8.RuneCountInString(id); n > MaxIDLen {
		return &problem{
			fmt.Sprintf("is %d characters long, but an id can have at most %d", n, MaxIDLen),
			"check that you copied the right id",
		}
	}
	for _, r := range id {
		switch {
		case unicode.IsSpace(r):
			return &problem{fmt.Sprintf("contains white space (%U)", r), "remove the spaces from the id"}
		case isQuote(r):
			return &problem{fmt.Sprintf("contains the quote mark %c", r), fixQuotes}
		case unicode.Is(unicode.Cc, r):
			return &problem{fmt.Sprintf("contains an invisible control character (%U)", r),
				"type the id again without it"}
		case unicode.Is(unicode.Cf, r):
			return &problem{fmt.Sprintf("contains an invisible formatting character (%U)", r),
				"type the id again by hand; such characters often come along when copying text"}
		}
	}
	return nil
}

// mapIDProblem is idProblem plus the characters that would split a pair.
// ParseMap never produces such ids; Validate needs the check for stored requests.
func mapIDProblem(id string) *problem {
	if p := idProblem(id); p != nil {
		return p
	}
	if i := strings.IndexAny(id, "=,;"); i >= 0 {
		return &problem{fmt.Sprintf("contains %q, which separates pairs", id[i]),
			"ids cannot contain \"=\", \",\" or \";\""}
	}
	return nil
}

// isQuote reports quote marks: ASCII quotes, the backtick, typographic quotes
// and everything Unicode lists as Quotation_Mark.
func isQuote(r rune) bool {
	switch r {
	case '"', '\'', '`', '“', '”', '‘', '’', '„', '‚', '«', '»', '‹', '›':
		return true
	}
	return unicode.Is(unicode.Quotation_Mark, r)
}

func checkScene(id string) error {
	if id == "" {
		return &Error{Field: "scene", Message: "the scene id is empty — give the id of the scene to render"}
	}
	if p := idProblem(id); p != nil {
		return &Error{Field: "scene", Message: "the scene id " + show(id) + " " + p.what + " — " + p.fix}
	}
	return nil
}

func checkBackground(b string) error {
	switch b {
	case "", BackgroundOriginal, BackgroundSolid, BackgroundTransparent:
		return nil
	}
	return &Error{Field: "background", Message: show(b) + " is not a background — choose original, solid or transparent (lowercase)"}
}

func checkModel(m string) error {
	switch m {
	case "", ModelV4, ModelV3:
		return nil
	}
	return &Error{Field: "model", Message: show(m) + " is not a model — choose " + ModelV4 + " or " + ModelV3 +
		" (written exactly like that), or leave it out to use the scene's model"}
}

func mapErr(msg string) error   { return &Error{Field: "map", Message: msg} }
func colorErr(msg string) error { return &Error{Field: "bg_color", Message: msg} }

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// show quotes user text for a message: at most showMax runes (then "…"),
// with characters that do not print (control, format, white space other than
// the plain space, invalid bytes) written as escapes so they can be seen.
func show(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, n := 0, 0; i < len(s); n++ {
		if n == showMax {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02X`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// jsonString encodes s as a JSON string. Marshalling a string cannot fail.
func jsonString(s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic("spec: json.Marshal of a string failed: " + err.Error())
	}
	return b
}
