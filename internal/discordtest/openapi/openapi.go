// Package openapi checks REST requests against Discord's official OpenAPI
// 3.1 description (testdata/discord-openapi.json, MIT, © Discord; licence in
// testdata/discord-openapi.LICENSE).
//
// A request conforms when its path matches one of the description's path
// templates (after the /api/v{n} prefix is removed), the template has an
// operation for its method, every path parameter matches its schema, and its
// body matches the operation's request body: a JSON body against the
// application/json schema, a multipart body (the payload_json part plus file
// parts named files[n]) against the multipart/form-data schema. A request
// without a body conforms only if the operation does not require one.
//
// The description is loaded once; the schema of each operation is compiled
// the first time it is needed and then reused, so checking is cheap.
package openapi

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/viggle-bot/viggle-bot/redact"
)

//go:embed testdata/discord-openapi.json
var description []byte

// resourceURL is the URL under which the whole description is added to the
// schema compiler; every schema is compiled by a JSON pointer into it, so the
// description's own "#/components/schemas/…" references resolve within it.
const resourceURL = "https://discord.com/openapi.json"

const (
	mediaJSON      = "application/json"
	mediaMultipart = "multipart/form-data"
)

// filesField is how Discord names the file parts of a multipart request.
var filesField = regexp.MustCompile(`^files\[[0-9]+\]$`)

// Validator checks requests against the description. It is safe for
// concurrent use.
type Validator struct {
	routes []*route // most specific first

	mu       sync.Mutex // guards compiler and compiled
	compiler *jsonschema.Compiler
	compiled map[string]compileResult // by schema location
}

type compileResult struct {
	schema *jsonschema.Schema
	err    error
}

// route is one path template of the description.
type route struct {
	template string
	segs     []string          // "{name}" for a parameter
	params   map[string]string // path parameter name → schema location
	ops      map[string]*operation
}

// operation is what the validator needs of one method of a path.
type operation struct {
	bodyRequired bool
	media        map[string]string // media type → schema location
	fileFields   map[string]bool   // binary properties of the multipart schema
}

// httpMethods are the keys of a path item that are operations.
var httpMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true,
}

var (
	loadOnce sync.Once
	loaded   *Validator
	loadErr  error
)

// Load returns the validator for the embedded description, parsing it on
// the first call; later calls return the same validator.
func Load() (*Validator, error) {
	loadOnce.Do(func() { loaded, loadErr = load(description) })
	return loaded, loadErr
}

func load(raw []byte) (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("openapi: parse description: %w", err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("openapi: description is not an object")
	}
	adaptToWire(root)
	paths, ok := root["paths"].(map[string]any)
	if !ok {
		return nil, errors.New("openapi: description has no paths")
	}
	v := &Validator{compiled: map[string]compileResult{}}
	for tmpl, item := range paths {
		item, ok := item.(map[string]any)
		if !ok {
			continue
		}
		r := &route{
			template: tmpl,
			segs:     strings.Split(strings.TrimPrefix(tmpl, "/"), "/"),
			params:   map[string]string{},
			ops:      map[string]*operation{},
		}
		base := "#/paths/" + escape(tmpl)
		if ps, ok := item["parameters"].([]any); ok {
			for i, p := range ps {
				p, _ := p.(map[string]any)
				if p["in"] == "path" && p["schema"] != nil {
					name, _ := p["name"].(string)
					r.params[name] = fmt.Sprintf("%s/parameters/%d/schema", base, i)
				}
			}
		}
		for method, op := range item {
			op, ok := op.(map[string]any)
			if !ok || !httpMethods[method] {
				continue
			}
			r.ops[strings.ToUpper(method)] = newOperation(op, base+"/"+method)
		}
		v.routes = append(v.routes, r)
	}
	sort.Slice(v.routes, func(i, j int) bool { return moreSpecific(v.routes[i], v.routes[j]) })

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(resourceURL, root); err != nil {
		return nil, fmt.Errorf("openapi: add description: %w", err)
	}
	v.compiler = c
	return v, nil
}

func newOperation(op map[string]any, loc string) *operation {
	o := &operation{media: map[string]string{}}
	rb, ok := op["requestBody"].(map[string]any)
	if !ok {
		return o
	}
	o.bodyRequired, _ = rb["required"].(bool)
	content, _ := rb["content"].(map[string]any)
	for mt, m := range content {
		m, _ := m.(map[string]any)
		if m == nil || m["schema"] == nil {
			continue
		}
		o.media[mt] = loc + "/requestBody/content/" + escape(mt) + "/schema"
		if mt == mediaMultipart {
			o.fileFields = binaryProperties(m["schema"])
		}
	}
	return o
}

// binaryProperties collects the names of the binary (file) properties of a
// multipart schema: its own properties and those of its allOf members.
func binaryProperties(s any) map[string]bool {
	out := map[string]bool{}
	var walk func(s any)
	walk = func(s any) {
		m, ok := s.(map[string]any)
		if !ok {
			return
		}
		props, _ := m["properties"].(map[string]any)
		for name, p := range props {
			p, _ := p.(map[string]any)
			if p["contentEncoding"] == "binary" || p["format"] == "binary" {
				out[name] = true
			}
		}
		all, _ := m["allOf"].([]any)
		for _, a := range all {
			walk(a)
		}
	}
	walk(s)
	return out
}

// moreSpecific orders templates so that, among those matching a path, the one
// with a literal segment where the other has a parameter comes first (e.g.
// …/messages/@original before …/messages/{message_id}).
func moreSpecific(a, b *route) bool {
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		pa, pb := isParam(a.segs[i]), isParam(b.segs[i])
		if pa != pb {
			return !pa
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	return a.template < b.template
}

func isParam(seg string) bool {
	return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")
}

// escape encodes s as one JSON pointer token in a URI fragment.
func escape(s string) string {
	s = strings.ReplaceAll(s, "~", "~0")
	s = strings.ReplaceAll(s, "/", "~1")
	// Braces are not valid in a URI fragment; percent-encode them (the
	// compiler decodes the fragment before resolving the pointer).
	s = strings.ReplaceAll(s, "{", "%7B")
	return strings.ReplaceAll(s, "}", "%7D")
}

// adaptToWire adjusts the description where it disagrees with what Discord
// itself accepts and sends on the wire. Each adjustment is justified here:
//
//   - Permission bitsets. Request schemas type permission fields
//     (default_member_permissions, permissions, and the allow/deny of
//     permission overwrites) as integers, but Discord serialises them as
//     decimal strings (the description's own response schemas say "string")
//     because they exceed 2^53, accepts strings in requests, and discordgo
//     sends them as strings (`json:",string"`). Wherever such a property is
//     integer-typed (type integer or format int64), it also accepts a string
//     of decimal digits.
//
// Snowflakes need nothing: the description already types them as strings
// (SnowflakeType, pattern ^(0|[1-9][0-9]*)$), as Discord sends them.
func adaptToWire(doc any) {
	switch n := doc.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			for name, p := range props {
				if isPermissionField(name) && isIntegerSchema(p) {
					props[name] = map[string]any{"anyOf": []any{
						p,
						map[string]any{"type": "string", "pattern": "^[0-9]+$"},
					}}
				}
			}
		}
		for _, c := range n {
			adaptToWire(c)
		}
	case []any:
		for _, c := range n {
			adaptToWire(c)
		}
	}
}

func isPermissionField(name string) bool {
	return strings.Contains(name, "permissions") || name == "allow" || name == "deny"
}

func isIntegerSchema(s any) bool {
	m, ok := s.(map[string]any)
	if !ok {
		return false
	}
	if m["format"] == "int64" {
		return true
	}
	switch t := m["type"].(type) {
	case string:
		return t == "integer"
	case []any:
		for _, x := range t {
			if x == "integer" {
				return true
			}
		}
	}
	return false
}

// Check validates one request: method, path as sent (e.g.
// /api/v9/users/@me; the /api/v{n} prefix is optional), the JSON body (for
// a multipart request, the payload_json part; nil when there is none),
// whether the body was multipart, and the form names of its other parts,
// each of which must be a file field named files[n] (Discord's convention;
// where the multipart schema lists its file fields, one of those).
// The error names the method, the path (its token segment, if any, shown as
// [token]) and the first violation.
func (v *Validator) Check(method, path string, jsonBody []byte, multipart bool, fileFields []string) error {
	if err := v.check(strings.ToUpper(method), path, jsonBody, multipart, fileFields); err != nil {
		return fmt.Errorf("openapi: %s %s: %w", method, redactPath(path), err)
	}
	return nil
}

// redactPath hides the interaction or webhook token of a path: tokens are secrets and must not reach a
// log or a test report.
func redactPath(path string) string { return redact.Text(path) }

func (v *Validator) check(method, path string, body []byte, multipart bool, fileFields []string) error {
	r, params := v.match(routeOf(path))
	if r == nil {
		return errors.New("no such path in Discord's API description")
	}
	op := r.ops[method]
	if op == nil {
		return fmt.Errorf("method not allowed on %s", r.template)
	}
	for _, p := range params {
		name, value := p[0], p[1]
		loc, ok := r.params[name]
		if !ok {
			continue
		}
		if err := v.validate(loc, value); err != nil {
			if strings.Contains(name, "token") {
				return fmt.Errorf("path parameter {%s} of %s is invalid", name, r.template)
			}
			return fmt.Errorf("path parameter {%s} of %s: %q: %w", name, r.template, value, err)
		}
	}

	body = bytes.TrimSpace(body)
	if !multipart && len(body) == 0 {
		if op.bodyRequired {
			return fmt.Errorf("%s %s requires a request body", method, r.template)
		}
		return nil
	}
	if len(op.media) == 0 {
		return fmt.Errorf("%s %s takes no request body", method, r.template)
	}

	var instance any = map[string]any{}
	if len(body) > 0 {
		var err error
		if instance, err = jsonschema.UnmarshalJSON(bytes.NewReader(body)); err != nil {
			return fmt.Errorf("body is not JSON: %w", err)
		}
	}
	mt := mediaJSON
	if multipart {
		mt = mediaMultipart
	}
	loc, ok := op.media[mt]
	if !ok {
		return fmt.Errorf("%s %s does not accept %s", method, r.template, mt)
	}
	if multipart {
		obj, ok := instance.(map[string]any)
		if !ok {
			return errors.New("payload_json is not a JSON object")
		}
		for _, f := range fileFields {
			if !filesField.MatchString(f) {
				return fmt.Errorf("multipart part %q is neither payload_json nor files[n]", f)
			}
			if len(op.fileFields) == 0 {
				continue // the schema lists no file fields: files[n] is Discord's convention
			}
			if !op.fileFields[f] {
				return fmt.Errorf("file part %q is not one of the operation's file fields", f)
			}
			if _, dup := obj[f]; dup {
				return fmt.Errorf("file part %q also appears in payload_json", f)
			}
			obj[f] = "" // a binary part: a string in the multipart schema
		}
	}
	return v.validate(loc, instance)
}

// routeOf strips the /api and /v{n} prefixes and any query from a path.
func routeOf(path string) string {
	path, _, _ = strings.Cut(path, "?")
	if rest, ok := strings.CutPrefix(path, "/api"); ok && (rest == "" || rest[0] == '/') {
		path = rest
		if after, ok := strings.CutPrefix(rest, "/v"); ok {
			num, tail, _ := strings.Cut(after, "/")
			if num != "" && strings.Trim(num, "0123456789") == "" {
				path = "/" + tail
			}
		}
	}
	return path
}

// match returns the most specific template matching route, and its path
// parameters in order, as {name, value} pairs.
func (v *Validator) match(route string) (*route, [][2]string) {
	segs := strings.Split(strings.TrimPrefix(route, "/"), "/")
next:
	for _, r := range v.routes {
		if len(r.segs) != len(segs) {
			continue
		}
		var params [][2]string
		for i, s := range r.segs {
			switch {
			case isParam(s):
				if segs[i] == "" {
					continue next
				}
				params = append(params, [2]string{s[1 : len(s)-1], segs[i]})
			case s != segs[i]:
				continue next
			}
		}
		return r, params
	}
	return nil, nil
}

// validate validates instance against the schema at loc (a fragment of the
// description), compiling it on first use.
func (v *Validator) validate(loc string, instance any) error {
	s, err := v.schema(loc)
	if err != nil {
		return err
	}
	if err := s.Validate(instance); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return errors.New(firstViolation(ve))
		}
		return err
	}
	return nil
}

func (v *Validator) schema(loc string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.compiled[loc]; ok {
		return c.schema, c.err
	}
	s, err := v.compiler.Compile(resourceURL + loc)
	if err != nil {
		err = fmt.Errorf("compile schema %s: %w", loc, err)
	}
	v.compiled[loc] = compileResult{s, err}
	return s, err
}

var printer = message.NewPrinter(language.English)

// firstViolation describes the most relevant leaf of a validation error in
// one line.
func firstViolation(e *jsonschema.ValidationError) string {
	leaf := pick(e)
	msg := strings.TrimSpace(leaf.ErrorKind.LocalizedString(printer))
	switch k := leaf.ErrorKind.(type) {
	case *kind.Enum:
		msg = notAllowed(e, leaf.InstanceLocation, k.Got)
	case *kind.Const:
		msg = notAllowed(e, leaf.InstanceLocation, k.Got)
	case *kind.Type:
		msg = wrongType(e, leaf.InstanceLocation, k.Got)
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Sprintf("at %q: %s", "/"+strings.Join(leaf.InstanceLocation, "/"), msg)
}

// pick returns the most relevant leaf under e: the deepest in the instance,
// the first on a tie, after discarding the alternatives of an anyOf/oneOf
// that plainly do not apply (see ruledOut), so that the report comes from the
// branch the request meant.
func pick(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return e
	}
	causes := e.Causes
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		var kept []*jsonschema.ValidationError
		for _, c := range causes {
			if !ruledOut(c, e.InstanceLocation) {
				kept = append(kept, c)
			}
		}
		if len(kept) > 0 {
			causes = kept
		}
	}
	var best *jsonschema.ValidationError
	for _, c := range causes {
		if l := pick(c); best == nil || len(l.InstanceLocation) > len(best.InstanceLocation) {
			best = l
		}
	}
	return best
}

// ruledOut reports whether a union branch fails in a way that shows it is
// not the one meant: the value has another JSON type (e.g. the null branch of
// a nullable object), or its "type" discriminator (Discord's unions of
// callbacks, components and command options) has another value.
func ruledOut(branch *jsonschema.ValidationError, at []string) bool {
	out := false
	walkLeaves(branch, func(l *jsonschema.ValidationError) {
		switch l.ErrorKind.(type) {
		case *kind.Type:
			out = out || slices.Equal(l.InstanceLocation, at)
		case *kind.Enum, *kind.Const:
			out = out || (len(l.InstanceLocation) == len(at)+1 &&
				slices.Equal(l.InstanceLocation[:len(at)], at) && l.InstanceLocation[len(at)] == "type")
		}
	})
	return out
}

func walkLeaves(e *jsonschema.ValidationError, f func(*jsonschema.ValidationError)) {
	if len(e.Causes) == 0 {
		f(e)
	}
	for _, c := range e.Causes {
		walkLeaves(c, f)
	}
}

// notAllowed describes a value that none of the enum/const alternatives at
// its location accept, listing every allowed value.
func notAllowed(e *jsonschema.ValidationError, at []string, got any) string {
	var want []string
	seen := map[string]bool{}
	add := func(v any) {
		s := fmt.Sprint(v)
		if !seen[s] {
			seen[s] = true
			want = append(want, s)
		}
	}
	walkLeaves(e, func(l *jsonschema.ValidationError) {
		if !slices.Equal(l.InstanceLocation, at) {
			return
		}
		switch k := l.ErrorKind.(type) {
		case *kind.Enum:
			for _, v := range k.Want {
				add(v)
			}
		case *kind.Const:
			add(k.Want)
		}
	})
	return fmt.Sprintf("value %v is not allowed, want one of %s", got, strings.Join(want, ", "))
}

// wrongType describes a value whose JSON type none of the alternatives at its
// location accept, listing every accepted type.
func wrongType(e *jsonschema.ValidationError, at []string, got string) string {
	var want []string
	walkLeaves(e, func(l *jsonschema.ValidationError) {
		if k, ok := l.ErrorKind.(*kind.Type); ok && slices.Equal(l.InstanceLocation, at) {
			for _, t := range k.Want {
				if !slices.Contains(want, t) {
					want = append(want, t)
				}
			}
		}
	})
	slices.Sort(want)
	return fmt.Sprintf("got %s, want %s", got, strings.Join(want, " or "))
}
