package spec

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// p builds a []Pair from alternating person, character arguments.
func p(ids ...string) []Pair {
	var out []Pair
	for i := 0; i+1 < len(ids); i += 2 {
		out = append(out, Pair{ids[i], ids[i+1]})
	}
	return out
}

// nPairs returns text with n pairs person_1=c, person_2=c, ... and the pairs themselves.
func nPairs(n int) (string, []Pair) {
	var parts []string
	var pairs []Pair
	for i := 1; i <= n; i++ {
		person := "person_" + itoa(i)
		parts = append(parts, person+"=c")
		pairs = append(pairs, Pair{person, "c"})
	}
	return strings.Join(parts, ","), pairs
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// wantUserError checks that err is an *Error for field whose message contains every substring.
func wantUserError(tb testing.TB, err error, field string, substrings ...string) {
	tb.Helper()
	var e *Error
	if !errors.As(err, &e) {
		tb.Fatalf("got error %v (%T), want *Error", err, err)
	}
	if e.Field != field {
		tb.Errorf("got Field %q, want %q (message %q)", e.Field, field, e.Message)
	}
	if got, want := e.Error(), field+": "+e.Message; got != want {
		tb.Errorf("Error() = %q, want %q", got, want)
	}
	for _, s := range substrings {
		if !strings.Contains(e.Message, s) {
			tb.Errorf("message %q does not contain %q", e.Message, s)
		}
	}
}

func TestParseMap(t *testing.T) {
	t.Parallel()
	const hint = "person=character" // every pair-shaped error says what to write instead

	mb128 := strings.Repeat("é", 128) // 128 runes, 256 bytes
	mb129 := strings.Repeat("é", 129)
	text50, pairs50 := nPairs(50)
	text51, _ := nPairs(51)

	tests := []struct {
		name string
		in   string
		want []Pair   // when err is empty
		err  []string // substrings of the message; nil means success
	}{
		// Separators.
		{"one pair", "person_a=char_x", p("person_a", "char_x"), nil},
		{"comma", "a=x,b=y", p("a", "x", "b", "y"), nil},
		{"comma and space", "a=x, b=y", p("a", "x", "b", "y"), nil},
		{"semicolon", "a=x;b=y", p("a", "x", "b", "y"), nil},
		{"space only", "a=x b=y", p("a", "x", "b", "y"), nil},
		{"newline", "a=x\nb=y\r\nc=z", p("a", "x", "b", "y", "c", "z"), nil},
		{"tab", "a=x\tb=y", p("a", "x", "b", "y"), nil},
		{"non-breaking space separates", "a=x\u00a0b=y", p("a", "x", "b", "y"), nil},
		{"ideographic space separates", "a=x\u3000b=y", p("a", "x", "b", "y"), nil},
		{"line separator separates", "a=x\u2028b=y", p("a", "x", "b", "y"), nil},
		{"mixed separators", "a=x ,; b=y;\n c=z", p("a", "x", "b", "y", "c", "z"), nil},
		{"order kept", "z=1, a=2, m=3", p("z", "1", "a", "2", "m", "3"), nil},

		// White space around "=".
		{"spaces both sides", "a = b", p("a", "b"), nil},
		{"space before only", "a =b", p("a", "b"), nil},
		{"space after only", "a= b", p("a", "b"), nil},
		{"tabs around", "a\t=\tb", p("a", "b"), nil},
		{"nbsp around", "a\u00a0=\u00a0b", p("a", "b"), nil},
		{"ideographic space around", "a\u3000=\u3000b", p("a", "b"), nil},
		{"many spaces and newlines around", "a  \n = \n  b, c = d", p("a", "b", "c", "d"), nil},
		{"spaced pairs without commas", "a = x b = y", p("a", "x", "b", "y"), nil},
		// Edge: "=" on its own joins across the white space; a pair broken after "=" joins with the next one.
		{"double = with spaces joins into a==b", "a = = b", nil, []string{`"a = = b"`, `more than one "="`, hint}},
		{"pair left open before a newline joins the next pair", "a=\nb=c", nil, []string{`"a=\nb=c"`, `more than one "="`}},
		{"open pair before a comma", "a = , b=c", nil, []string{`"a ="`, `nothing after "="`, hint}},
		{"comma then spaced =", "a=x, = b", nil, []string{`"= b"`, `nothing before "="`, hint}},

		// Stray separators.
		{"trailing comma", "a=b,", p("a", "b"), nil},
		{"double comma", "a=b,,c=d", p("a", "b", "c", "d"), nil},
		{"leading separators", ", ;a=b", p("a", "b"), nil},
		{"surrounding white space", "  \n a=b \t ", p("a", "b"), nil},
		{"only separators between", "a=b ;;, ,\n c=d", p("a", "b", "c", "d"), nil},

		// Partial maps, shared characters, opaque case-sensitive ids.
		{"one character on several persons", "a=x, b=x", p("a", "x", "b", "x"), nil},
		{"person equals character", "x=x", p("x", "x"), nil},
		{"case-sensitive persons", "Person_A=x, person_a=y", p("Person_A", "x", "person_a", "y"), nil},
		{"uuid-like ids", "person_a1b2c3d4=550e8400-e29b-41d4-a716-446655440000",
			p("person_a1b2c3d4", "550e8400-e29b-41d4-a716-446655440000"), nil},
		{"no prefix needed and punctuation kept", "1=#x, ä.b/c=日本(1)", p("1", "#x", "ä.b/c", "日本(1)"), nil},
		{"fullwidth comma is part of an id", "a=x，y", p("a", "x，y"), nil},

		// Count.
		{"50 pairs", text50, pairs50, nil},
		{"51 pairs", text51, nil, []string{"51 pairs", "at most 50"}},

		// Id length, counted in runes.
		{"128 multi-byte runes", "a=" + mb128, p("a", mb128), nil},
		{"129 runes", "a=" + mb129, nil, []string{"the character is 129 characters long", "at most 128", `"a=ééé`, "…"}},
		{"129-rune person", mb129 + "=x", nil, []string{"the person is 129 characters long"}},

		// Missing "=" and empty sides.
		{"no =", "person_a", nil, []string{`"person_a" has no "="`, hint, "person_a=char_alice"}},
		{"no = after good pair", "a=b person_c", nil, []string{`"person_c" has no "="`, hint}},
		{"empty person", "=x", nil, []string{`"=x"`, `nothing before "="`, hint}},
		{"empty character", "a=", nil, []string{`"a="`, `nothing after "="`, hint}},
		{"lone =", "=", nil, []string{`"="`, "no person and no character", hint}},
		{"lone = between pairs joins them", "a=b = c=d", nil, []string{`"a=b = c=d"`, `more than one "="`}},
		{"more than one =", "a=b=c", nil, []string{`"a=b=c"`, `more than one "="`, hint, "commas"}},
		{"first bad pair is named", "a=b, c, d=, e=f=g", nil, []string{`"c" has no "="`}},

		// Duplicates.
		{"same person twice", "person_a=x, person_b=y, person_a=z", nil,
			[]string{`"person_a" appears twice`, `"person_a=x"`, `"person_a=z"`}},
		{"same pair twice", "a=x a=x", nil, []string{`"a" appears twice`}},

		// Empty maps.
		{"empty", "", nil, []string{"the map is empty", "person_a=char_alice"}},
		{"only separators", " ,; \n\t", nil, []string{"the map is empty", "person=character"}},

		// Quotes.
		{"double quote", `"a"=x`, nil, []string{"the person contains the quote mark \"", "without quotes, e.g. person_a=char_alice"}},
		{"single quote", "a='x'", nil, []string{"the character contains the quote mark '"}},
		{"backtick", "a=`x`", nil, []string{"quote mark `"}},
		{"typographic double quotes", "a=“x”", nil, []string{"quote mark “"}},
		{"closing typographic quote", "a=x”", nil, []string{"quote mark ”"}},
		{"typographic single quotes", "a=‘x’", nil, []string{"quote mark ‘"}},
		{"right single quote (apostrophe)", "a=x’s", nil, []string{"quote mark ’"}},
		{"low double quote", "a=„x", nil, []string{"quote mark „"}},
		{"low single quote", "a=‚x", nil, []string{"quote mark ‚"}},
		{"guillemets", "a=«x»", nil, []string{"quote mark «"}},
		{"closing guillemet", "a=x»", nil, []string{"quote mark »"}},
		{"single guillemets", "a=‹x›", nil, []string{"quote mark ‹"}},
		{"closing single guillemet", "a=x›", nil, []string{"quote mark ›"}},
		{"CJK corner bracket (Quotation_Mark)", "a=「x」", nil, []string{"quote mark 「"}},
		{"fullwidth quote (Quotation_Mark)", "a=＂x", nil, []string{"quote mark ＂"}},
		{"quote in first bad pair only", "a=x, b=\"y\", c='z'", nil, []string{`in "b="y"" the character`}},

		// Control and format characters.
		{"bell control character", "a=x\ay", nil, []string{"invisible control character (U+0007)", `"a=x\u0007y"`}},
		{"DEL control character", "a=x\x7f", nil, []string{"control character (U+007F)"}},
		{"C1 control character", "a=x\u0090", nil, []string{"control character (U+0090)"}},
		{"zero width space", "a=x\u200by", nil, []string{"formatting character (U+200B)", `"a=x\u200By"`, "by hand"}},
		{"left-to-right mark", "a\u200e=x", nil, []string{"the person contains an invisible formatting character (U+200E)"}},
		{"byte order mark", "\ufeffa=x", nil, []string{"formatting character (U+FEFF)"}},
		{"soft hyphen", "a=x\u00ady", nil, []string{"formatting character (U+00AD)"}},
		{"invalid UTF-8", "a=x\xffy", nil, []string{"not valid text", `"a=x\xFFy"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMap(tt.in)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("ParseMap(%q) error: %v", tt.in, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("ParseMap(%q) = %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseMap(%q) = %q, want error", tt.in, got)
			}
			if got != nil {
				t.Errorf("ParseMap(%q) returned pairs %q with an error", tt.in, got)
			}
			wantUserError(t, err, "map", tt.err...)
		})
	}
}

func TestMessagesTruncateLongInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 500)
	_, err := ParseMap(long)
	wantUserError(t, err, "map", `"`+strings.Repeat("x", 40)+`…" has no "="`)
	if n := utf8.RuneCountInString(err.Error()); n > 200 {
		t.Errorf("message is %d runes long, want a short one: %q", n, err)
	}
}

func TestValidateID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id  string
		err []string // nil means valid
	}{
		{"scene_123", nil},
		{"660e8400-e29b-41d4-a716-446655440000", nil},
		{"Ä=b,c;d", nil}, // only map ids are split at these
		{strings.Repeat("日", 128), nil},
		{"", []string{`""`, "is empty"}},
		{strings.Repeat("日", 129), []string{"129 characters", "at most 128", strings.Repeat("日", 40) + "…"}},
		{"a b", []string{`"a b"`, "white space (U+0020)"}},
		{"ab\n", []string{`"ab\n"`, "white space (U+000A)"}},
		{"a\u00a0b", []string{`"a\u00A0b"`, "white space (U+00A0)"}},
		{"it's", []string{"quote mark '"}},
		{"«x»", []string{"quote mark «"}},
		{"x\x00", []string{"control character (U+0000)"}},
		{"x\u2060", []string{"formatting character (U+2060)"}},
		{"\xc3", []string{"not valid text"}},
	}
	for _, tt := range tests {
		err := ValidateID(tt.id)
		if tt.err == nil {
			if err != nil {
				t.Errorf("ValidateID(%q) = %v, want nil", tt.id, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ValidateID(%q) = nil, want error", tt.id)
			continue
		}
		wantUserError(t, err, "id", tt.err...)
	}
}

func TestParseColor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		err  []string // nil means valid
	}{
		{"0,255,0", "0,255,0", nil},
		{"255,255,255", "255,255,255", nil},
		{" 1 , 2 ,\t3 ", "1,2,3", nil},
		{"007,0,00", "7,0,0", nil},
		{"#00FF00", "0,255,0", nil},
		{"#00ff7f", "0,255,127", nil},
		{"  #FfFfFf ", "255,255,255", nil},
		{"#000000", "0,0,0", nil},
		{"", "", []string{"empty", "R,G,B"}},
		{"   ", "", []string{"empty"}},
		{"256,0,0", "", []string{`"256"`, "0 to 255"}},
		{"-1,0,0", "", []string{`"-1"`, "0 to 255"}},
		{"+1,0,0", "", []string{`"+1"`}},
		{"1.5,0,0", "", []string{`"1.5"`}},
		{"1,2", "", []string{`"1,2" is not a colour`, "three numbers"}},
		{"1,2,3,4", "", []string{"three numbers"}},
		{"1,,3", "", []string{`""`, "0 to 255"}},
		{"1 2 3", "", []string{"three numbers"}},
		{"green", "", []string{`"green" is not a colour`}},
		{"00FF00", "", []string{`put a "#" in front`, "#00FF00"}},
		{"#0F0", "", []string{"six hex digits"}},
		{"#00FF00FF", "", []string{"six hex digits"}},
		{"#00GG00", "", []string{"0-9", "A-F"}},
		{"#+1FF00", "", []string{"A-F"}},
	}
	for _, tt := range tests {
		got, err := ParseColor(tt.in)
		if tt.err == nil {
			if err != nil || got != tt.want {
				t.Errorf("ParseColor(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseColor(%q) = %q, want error", tt.in, got)
			continue
		}
		wantUserError(t, err, "bg_color", tt.err...)
	}
}

func TestNewRequest(t *testing.T) {
	t.Parallel()
	type args struct {
		scene, mapText, background, bgColor string
		fast                                bool
		model                               string
	}
	tests := []struct {
		name  string
		args  args
		want  Request
		field string   // "" means success
		msg   []string // substrings of the message
	}{
		{"minimal", args{scene: "scene_1", mapText: "a=x"},
			Request{SceneID: "scene_1", Mapping: p("a", "x")}, "", nil},
		{"everything", args{"scene_1", "a=x, b=y", "solid", "#FF0000", true, ModelV3},
			Request{"scene_1", p("a", "x", "b", "y"), BackgroundSolid, "255,0,0", true, ModelV3}, "", nil},
		{"scene id trimmed", args{scene: " \tscene_1\n", mapText: "a=x"},
			Request{SceneID: "scene_1", Mapping: p("a", "x")}, "", nil},
		{"colour implies solid", args{scene: "s", mapText: "a=x", bgColor: "0, 255, 0"},
			Request{SceneID: "s", Mapping: p("a", "x"), Background: BackgroundSolid, BGColor: "0,255,0"}, "", nil},
		{"solid without colour", args{scene: "s", mapText: "a=x", background: "solid"},
			Request{SceneID: "s", Mapping: p("a", "x"), Background: BackgroundSolid}, "", nil},
		{"original", args{scene: "s", mapText: "a=x", background: "original", model: ModelV4},
			Request{SceneID: "s", Mapping: p("a", "x"), Background: BackgroundOriginal, Model: ModelV4}, "", nil},
		{"transparent", args{scene: "s", mapText: "a=x", background: "transparent"},
			Request{SceneID: "s", Mapping: p("a", "x"), Background: BackgroundTransparent}, "", nil},

		{"empty scene", args{scene: "", mapText: "a=x"}, Request{}, "scene", []string{"scene id is empty"}},
		{"blank scene", args{scene: "  ", mapText: "a=x"}, Request{}, "scene", []string{"scene id is empty"}},
		{"scene with quote", args{scene: `"scene_1"`, mapText: "a=x"}, Request{}, "scene",
			[]string{`the scene id ""scene_1"" contains the quote mark "`, "without quotes"}},
		{"scene with inner space", args{scene: "scene 1", mapText: "a=x"}, Request{}, "scene", []string{"white space"}},
		{"scene with zero width space", args{scene: "scene_1\u200b", mapText: "a=x"}, Request{}, "scene",
			[]string{"U+200B"}},
		{"scene too long", args{scene: strings.Repeat("s", 129), mapText: "a=x"}, Request{}, "scene",
			[]string{"129 characters"}},
		{"bad map", args{scene: "s", mapText: "a"}, Request{}, "map", []string{`"a" has no "="`}},
		{"empty map", args{scene: "s"}, Request{}, "map", []string{"empty"}},
		{"capitalised background", args{scene: "s", mapText: "a=x", background: "Solid"}, Request{}, "background",
			[]string{`"Solid" is not a background`, "original, solid or transparent"}},
		{"legacy inpaint background", args{scene: "s", mapText: "a=x", background: "inpaint"}, Request{}, "background", nil},
		{"colour with original", args{scene: "s", mapText: "a=x", background: "original", bgColor: "0,0,0"},
			Request{}, "bg_color", []string{"only works with the solid background", `"original"`}},
		{"colour with transparent", args{scene: "s", mapText: "a=x", background: "transparent", bgColor: "0,0,0"},
			Request{}, "bg_color", []string{"solid"}},
		{"bad colour", args{scene: "s", mapText: "a=x", bgColor: "red"}, Request{}, "bg_color", []string{`"red"`}},
		{"lowercase model", args{scene: "s", mapText: "a=x", model: "v4_preview"}, Request{}, "model",
			[]string{`"v4_preview" is not a model`, ModelV4, ModelV3}},
		{"unknown model", args{scene: "s", mapText: "a=x", model: "V5"}, Request{}, "model", nil},
		{"first problem wins", args{scene: "", mapText: "", background: "x", bgColor: "y", model: "z"}, Request{}, "scene", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := tt.args
			got, err := NewRequest(a.scene, a.mapText, a.background, a.bgColor, a.fast, a.model)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("NewRequest error: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				if err := got.Validate(); err != nil {
					t.Fatalf("Validate of a built request: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want error in %s", got, tt.field)
			}
			if !reflect.DeepEqual(got, Request{}) {
				t.Errorf("got %+v with an error, want the zero Request", got)
			}
			wantUserError(t, err, tt.field, tt.msg...)
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := Request{SceneID: "s", Mapping: p("a", "x", "b", "x"), Background: BackgroundSolid, BGColor: "1,2,3",
		Fast: true, Model: ModelV4}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	_, pairs51 := nPairs(51)
	tests := []struct {
		name   string
		change func(r *Request)
		field  string
		msg    string
	}{
		{"empty scene", func(r *Request) { r.SceneID = "" }, "scene", "empty"},
		{"scene with space", func(r *Request) { r.SceneID = " s" }, "scene", "white space"},
		{"no pairs", func(r *Request) { r.Mapping = nil }, "map", "empty"},
		{"51 pairs", func(r *Request) { r.Mapping = pairs51 }, "map", "51 pairs"},
		{"duplicate person", func(r *Request) { r.Mapping = p("a", "x", "a", "y") }, "map", `"a" appears twice`},
		{"empty character", func(r *Request) { r.Mapping = p("a", "") }, "map", `nothing after "="`},
		{"comma in id", func(r *Request) { r.Mapping = p("a,b", "x") }, "map", `contains ','`},
		{"= in id", func(r *Request) { r.Mapping = p("a", "x=y") }, "map", `contains '='`},
		{"semicolon in id", func(r *Request) { r.Mapping = p("a", "x;y") }, "map", `contains ';'`},
		{"space in id", func(r *Request) { r.Mapping = p("a b", "x") }, "map", "white space"},
		{"quote in id", func(r *Request) { r.Mapping = p("a", "x'") }, "map", "quote mark"},
		{"bad background", func(r *Request) { r.Background = "inpaint" }, "background", "not a background"},
		{"colour without solid", func(r *Request) { r.Background = "" }, "bg_color", "only works with the solid"},
		{"colour not normalised", func(r *Request) { r.BGColor = "#010203" }, "bg_color", "write it as 1,2,3"},
		{"colour with spaces", func(r *Request) { r.BGColor = "1, 2, 3" }, "bg_color", "write it as 1,2,3"},
		{"colour out of range", func(r *Request) { r.BGColor = "1,2,300" }, "bg_color", "0 to 255"},
		{"bad model", func(r *Request) { r.Model = "V4" }, "model", "not a model"},
	}
	for _, tt := range tests {
		r := good
		r.Mapping = append([]Pair(nil), good.Mapping...)
		tt.change(&r)
		err := r.Validate()
		if err == nil {
			t.Errorf("%s: Validate(%+v) = nil, want error", tt.name, r)
			continue
		}
		wantUserError(t, err, tt.field, tt.msg)
	}
}

func TestMappingJSONAndText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mapping  []Pair
		wantJSON string
		wantText string
	}{
		{nil, `{}`, ``},
		{p("person_a", "char_x"), `{"person_a":"char_x"}`, `person_a=char_x`},
		{p("b", "x", "a", "y"), `{"b":"x","a":"y"}`, `b=x, a=y`},
		{p(`a\b`, "日本", "<&>", "x"), `{"a\\b":"日本","\u003c\u0026\u003e":"x"}`, `a\b=日本, <&>=x`},
	}
	for _, tt := range tests {
		r := Request{Mapping: tt.mapping}
		if got := r.MappingJSON(); got != tt.wantJSON {
			t.Errorf("MappingJSON(%q) = %s, want %s", tt.mapping, got, tt.wantJSON)
		}
		if got := r.MappingText(); got != tt.wantText {
			t.Errorf("MappingText(%q) = %q, want %q", tt.mapping, got, tt.wantText)
		}
	}
}

// FuzzParseMap checks the invariants of ParseMap on arbitrary input. Without
// -fuzz it runs the seeds below as a normal test.
func FuzzParseMap(f *testing.F) {
	for _, s := range []string{
		"", ",", "a=b", "a = b", "a =b, c= d", "a = = b", "a=b=c", "=", "=x", "a=", "a=b,,c=d", ", ;a=b",
		"a=x, b=x", "Person_A=x, person_a=y", "a=x, a=y", "a=x\u00a0b=y", "a\u3000=\u3000b", "a=\nb=c",
		"a=“x”", "a=x\u200b", "\ufeffa=b", "a=x\xff", "a=x\x00", strings.Repeat("é", 128) + "=x",
		strings.Repeat("é", 129) + "=x", strings.Repeat("a=b ", 51), "a=b\u0085c=d", "a=b\u2029c=d",
	} {
		f.Add(s)
	}
	text50, _ := nPairs(50)
	f.Add(text50)

	f.Fuzz(func(t *testing.T, text string) {
		pairs, err := ParseMap(text)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Field != "map" || e.Message == "" {
				t.Fatalf("ParseMap(%q) error %#v, want *Error with Field map", text, err)
			}
			if !utf8.ValidString(e.Message) {
				t.Fatalf("message is not valid UTF-8: %q", e.Message)
			}
			return
		}
		if len(pairs) < 1 || len(pairs) > MaxPairs {
			t.Fatalf("ParseMap(%q) gave %d pairs", text, len(pairs))
		}
		seen := make(map[string]bool)
		for _, pr := range pairs {
			for _, id := range []string{pr.Person, pr.Character} {
				if err := ValidateID(id); err != nil {
					t.Fatalf("ParseMap(%q) gave id %q that fails ValidateID: %v", text, id, err)
				}
			}
			if seen[pr.Person] {
				t.Fatalf("ParseMap(%q) gave person %q twice", text, pr.Person)
			}
			seen[pr.Person] = true
		}
		r := Request{SceneID: "s", Mapping: pairs}
		if err := r.Validate(); err != nil {
			t.Fatalf("Validate after ParseMap(%q): %v", text, err)
		}
		again, err := ParseMap(r.MappingText())
		if err != nil || !reflect.DeepEqual(again, pairs) {
			t.Fatalf("re-parsing %q gave %q, %v; want %q", r.MappingText(), again, err, pairs)
		}
		var decoded map[string]string
		if err := json.Unmarshal([]byte(r.MappingJSON()), &decoded); err != nil {
			t.Fatalf("MappingJSON %s is not JSON: %v", r.MappingJSON(), err)
		}
		if len(decoded) != len(pairs) {
			t.Fatalf("MappingJSON %s has %d keys, want %d", r.MappingJSON(), len(decoded), len(pairs))
		}
		for _, pr := range pairs {
			if decoded[pr.Person] != pr.Character {
				t.Fatalf("MappingJSON %s maps %q to %q, want %q", r.MappingJSON(), pr.Person, decoded[pr.Person], pr.Character)
			}
		}
	})
}
