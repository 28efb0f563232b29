package discordtest

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

func runeLen(v any) int {
	s, _ := v.(string)
	return utf8.RuneCountInString(s)
}

func maxLen(path []string, v any, n int) []fieldErr {
	if runeLen(v) > n {
		return []fieldErr{ferr(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", n)}
	}
	return nil
}

// Discord's limits on what a message may carry, counted in Unicode code points
// (https://discord.com/developers/docs/resources/message#embed-object-embed-limits,
// …/interactions/message-components, …/interactions/receiving-and-responding).
const (
	maxContent          = 2000
	maxEmbeds           = 10
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxEmbedFields      = 25
	maxFieldName        = 256
	maxFieldValue       = 1024
	maxFooterText       = 2048
	maxAuthorName       = 256
	maxEmbedTotal       = 6000
	maxActionRows       = 5
	maxRowComponents    = 5
	maxButtonLabel      = 80
	maxCustomID         = 100
	maxSelectOptions    = 25
	maxOptionText       = 100 // select option label, value and description
	maxPlaceholder      = 150
	maxChoices          = 25
	maxChoiceText       = 100 // autocomplete choice name and string value
)

// tooLong is Discord's error for a string or a list over its maximum length.
func tooLong(path []string, n int) fieldErr {
	return ferr(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", n)
}

// tooMany refuses a list of more than hi entries.
func tooMany(path []string, n, hi int) []fieldErr {
	if n > hi {
		return []fieldErr{tooLong(path, hi)}
	}
	return nil
}

// lengthIn checks a required string of lo to hi code points: a missing one is
// required, a short one has a bad length, a long one is over the maximum
// length (the error a message over a limit gets).
func lengthIn(path []string, v any, lo, hi int) []fieldErr {
	s, ok := v.(string)
	if !ok {
		return []fieldErr{ferr(path, "BASE_TYPE_REQUIRED", "This field is required")}
	}
	n := utf8.RuneCountInString(s)
	if n > hi {
		return []fieldErr{tooLong(path, hi)}
	}
	if n < lo {
		return []fieldErr{ferr(path, "BASE_TYPE_BAD_LENGTH", "Must be between %d and %d in length.", lo, hi)}
	}
	return nil
}

func bounded(path []string, v any, lo, hi int) []fieldErr {
	s, ok := v.(string)
	if !ok {
		return []fieldErr{ferr(path, "BASE_TYPE_REQUIRED", "This field is required")}
	}
	if n := utf8.RuneCountInString(s); n < lo || n > hi {
		return []fieldErr{ferr(path, "BASE_TYPE_BAD_LENGTH", "Must be between %d and %d in length.", lo, hi)}
	}
	return nil
}

// validateEmbeds applies Discord's embed limits.
func validateEmbeds(list []any, path []string) []fieldErr {
	errs := tooMany(path, len(list), maxEmbeds)
	total := 0
	for i, it := range list {
		p := sub(path, strconv.Itoa(i))
		e, ok := it.(map[string]any)
		if !ok {
			errs = append(errs, ferr(p, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"))
			continue
		}
		errs = append(errs, maxLen(sub(p, "title"), e["title"], maxEmbedTitle)...)
		errs = append(errs, maxLen(sub(p, "description"), e["description"], maxEmbedDescription)...)
		total += runeLen(e["title"]) + runeLen(e["description"])
		if f, ok := e["footer"].(map[string]any); ok {
			errs = append(errs, maxLen(sub(p, "footer", "text"), f["text"], maxFooterText)...)
			total += runeLen(f["text"])
		}
		if a, ok := e["author"].(map[string]any); ok {
			errs = append(errs, maxLen(sub(p, "author", "name"), a["name"], maxAuthorName)...)
			total += runeLen(a["name"])
		}
		if fields, ok := e["fields"].([]any); ok {
			errs = append(errs, tooMany(sub(p, "fields"), len(fields), maxEmbedFields)...)
			for j, fi := range fields {
				fm, _ := fi.(map[string]any)
				fp := sub(p, "fields", strconv.Itoa(j))
				errs = append(errs, lengthIn(sub(fp, "name"), fm["name"], 1, maxFieldName)...)
				errs = append(errs, lengthIn(sub(fp, "value"), fm["value"], 1, maxFieldValue)...)
				total += runeLen(fm["name"]) + runeLen(fm["value"])
			}
		}
	}
	if total > maxEmbedTotal {
		errs = append(errs, ferr(path, "BASE_TYPE_MAX_LENGTH", "Embed size exceeds maximum size of %d", maxEmbedTotal))
	}
	return errs
}

// validateComponents applies Discord's component rules: at most 5 action
// rows, 1–5 buttons or one select per row, custom_id 1–100 and unique, link
// buttons with a url and no custom_id, labels up to 80 characters. With
// Components V2 only the custom_id rules are checked.
func validateComponents(list []any, path []string, v2 bool) []fieldErr {
	var errs []fieldErr
	seen := map[string]bool{}
	checkID := func(p []string, c map[string]any, required bool) {
		id, ok := c["custom_id"].(string)
		if !ok {
			if required {
				errs = append(errs, ferr(sub(p, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required"))
			}
			return
		}
		errs = append(errs, lengthIn(sub(p, "custom_id"), id, 1, maxCustomID)...)
		if seen[id] {
			errs = append(errs, ferr(sub(p, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"))
		}
		seen[id] = true
	}
	checkButton := func(p []string, c map[string]any) {
		style := int(num(c["style"]))
		switch {
		case style == 5:
			u, ok := c["url"].(string)
			if !ok || u == "" {
				errs = append(errs, ferr(sub(p, "url"), "BASE_TYPE_REQUIRED", "This field is required"))
			}
			errs = append(errs, maxLen(sub(p, "url"), c["url"], 512)...)
			if _, has := c["custom_id"]; has && c["custom_id"] != nil {
				errs = append(errs, ferr(sub(p, "custom_id"), "BUTTON_COMPONENT_CUSTOM_ID_WITH_URL", "A custom id cannot be used with a link button"))
			}
		case style >= 1 && style <= 4:
			checkID(p, c, true)
		case style == 6:
		default:
			errs = append(errs, ferr(sub(p, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}."))
		}
		errs = append(errs, maxLen(sub(p, "label"), c["label"], maxButtonLabel)...)
	}
	checkSelect := func(p []string, c map[string]any) {
		errs = append(errs, maxLen(sub(p, "placeholder"), c["placeholder"], maxPlaceholder)...)
		if int(num(c["type"])) != 3 {
			return
		}
		opts, _ := c["options"].([]any)
		if len(opts) > maxSelectOptions {
			errs = append(errs, tooLong(sub(p, "options"), maxSelectOptions))
		} else if len(opts) < 1 {
			errs = append(errs, ferr(sub(p, "options"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxSelectOptions))
		}
		for k, o := range opts {
			om, _ := o.(map[string]any)
			op := sub(p, "options", strconv.Itoa(k))
			errs = append(errs, lengthIn(sub(op, "label"), om["label"], 1, maxOptionText)...)
			errs = append(errs, lengthIn(sub(op, "value"), om["value"], 1, maxOptionText)...)
			errs = append(errs, maxLen(sub(op, "description"), om["description"], maxOptionText)...)
		}
	}
	if v2 {
		var walk func([]any, []string)
		walk = func(l []any, p []string) {
			for i, it := range l {
				c, _ := it.(map[string]any)
				if c == nil {
					continue
				}
				cp := sub(p, strconv.Itoa(i))
				switch int(num(c["type"])) {
				case 2:
					checkButton(cp, c)
				case 3, 5, 6, 7, 8:
					checkID(cp, c, true)
					checkSelect(cp, c)
				}
				if kids, ok := c["components"].([]any); ok {
					walk(kids, sub(cp, "components"))
				}
				if acc, ok := c["accessory"].(map[string]any); ok {
					walk([]any{acc}, sub(cp, "accessory"))
				}
			}
		}
		walk(list, path)
		return errs
	}
	errs = append(errs, tooMany(path, len(list), maxActionRows)...)
	for i, it := range list {
		p := sub(path, strconv.Itoa(i))
		row, ok := it.(map[string]any)
		if !ok {
			errs = append(errs, ferr(p, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"))
			continue
		}
		if int(num(row["type"])) != 1 {
			errs = append(errs, ferr(sub(p, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,)."))
			continue
		}
		kids, _ := row["components"].([]any)
		if len(kids) > maxRowComponents {
			errs = append(errs, tooLong(sub(p, "components"), maxRowComponents))
		} else if len(kids) < 1 {
			errs = append(errs, ferr(sub(p, "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxRowComponents))
		}
		for j, k := range kids {
			kp := sub(p, "components", strconv.Itoa(j))
			c, _ := k.(map[string]any)
			if c == nil {
				errs = append(errs, ferr(kp, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"))
				continue
			}
			switch int(num(c["type"])) {
			case 2:
				checkButton(kp, c)
			case 3, 5, 6, 7, 8:
				checkID(kp, c, true)
				if len(kids) > 1 {
					errs = append(errs, ferr(sub(p, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width"))
				}
				checkSelect(kp, c)
			default:
				errs = append(errs, ferr(sub(kp, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (2, 3, 5, 6, 7, 8)."))
			}
		}
	}
	return errs
}

// validateAllowedMentions checks the allowed_mentions object.
func validateAllowedMentions(raw json.RawMessage, path []string) []fieldErr {
	if isNull(raw) {
		return nil
	}
	var am struct {
		Parse []string `json:"parse"`
		Users []string `json:"users"`
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(raw, &am); err != nil {
		return []fieldErr{ferr(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")}
	}
	var errs []fieldErr
	for i, p := range am.Parse {
		switch p {
		case "users":
			if len(am.Users) > 0 {
				errs = append(errs, ferr(sub(path, "parse", strconv.Itoa(i)), "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
					"parse:[\"users\"] and users: [ids...] are mutually exclusive."))
			}
		case "roles":
			if len(am.Roles) > 0 {
				errs = append(errs, ferr(sub(path, "parse", strconv.Itoa(i)), "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
					"parse:[\"roles\"] and roles: [ids...] are mutually exclusive."))
			}
		case "everyone":
		default:
			errs = append(errs, ferr(sub(path, "parse", strconv.Itoa(i)), "BASE_TYPE_CHOICES", "Value must be one of ('roles', 'users', 'everyone')."))
		}
	}
	if len(am.Users) > 100 {
		errs = append(errs, ferr(sub(path, "users"), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."))
	}
	return errs
}

// nameRE is Discord's rule for command and option names.
var nameRE = regexp.MustCompile(`^[-_'\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// validateCommands applies Discord's application command rules to a bulk
// overwrite body.
func validateCommands(cmds []map[string]any) []fieldErr {
	var errs []fieldErr
	names := map[string]bool{}
	for i, c := range cmds {
		p := []string{strconv.Itoa(i)}
		typ := 1
		if t, ok := c["type"].(float64); ok {
			typ = int(t)
		}
		if typ < 1 || typ > 4 {
			errs = append(errs, ferr(sub(p, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}."))
		}
		name, _ := c["name"].(string)
		if typ == 1 {
			errs = append(errs, checkName(sub(p, "name"), name)...)
		} else {
			errs = append(errs, bounded(sub(p, "name"), name, 1, 32)...)
		}
		key := strconv.Itoa(typ) + ":" + name
		if names[key] {
			errs = append(errs, ferr(sub(p, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"))
		}
		names[key] = true
		desc, _ := c["description"].(string)
		size := utf8.RuneCountInString(name) + utf8.RuneCountInString(desc)
		if typ == 1 {
			errs = append(errs, bounded(sub(p, "description"), desc, 1, 100)...)
		} else if desc != "" {
			errs = append(errs, ferr(sub(p, "description"), "APPLICATION_COMMAND_INVALID_DESCRIPTION", "Context menu commands cannot have description"))
		}
		opts, _ := c["options"].([]any)
		if typ != 1 && len(opts) > 0 {
			errs = append(errs, ferr(sub(p, "options"), "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED", "Context menu commands cannot have options"))
		}
		e, n := validateOptions(opts, sub(p, "options"), 0)
		errs = append(errs, e...)
		size += n
		if size > 8000 {
			errs = append(errs, ferr(p, "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (8000)"))
		}
	}
	return errs
}

func checkName(path []string, name string) []fieldErr {
	if !nameRE.MatchString(name) {
		return []fieldErr{ferr(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")}
	}
	if strings.ToLower(name) != name {
		return []fieldErr{ferr(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid: must be lowercase")}
	}
	return nil
}

// validateOptions checks one level of options and returns the characters it counts.
func validateOptions(opts []any, path []string, depth int) ([]fieldErr, int) {
	var errs []fieldErr
	size := 0
	if len(opts) > 25 {
		errs = append(errs, ferr(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
	}
	names := map[string]bool{}
	optionalSeen := false
	for i, it := range opts {
		p := sub(path, strconv.Itoa(i))
		o, ok := it.(map[string]any)
		if !ok {
			errs = append(errs, ferr(p, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"))
			continue
		}
		typ := int(num(o["type"]))
		if typ < 1 || typ > 11 {
			errs = append(errs, ferr(sub(p, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}."))
		}
		name, _ := o["name"].(string)
		errs = append(errs, checkName(sub(p, "name"), name)...)
		if names[name] {
			errs = append(errs, ferr(sub(p, "name"), "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS", "Option name %s is already used in these options", name))
		}
		names[name] = true
		desc, _ := o["description"].(string)
		errs = append(errs, bounded(sub(p, "description"), desc, 1, 100)...)
		size += utf8.RuneCountInString(name) + utf8.RuneCountInString(desc)
		required, _ := o["required"].(bool)
		switch typ {
		case 1, 2:
			kids, _ := o["options"].([]any)
			if depth > 1 || (typ == 2 && depth > 0) {
				errs = append(errs, ferr(sub(p, "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Subcommands cannot be nested this deep"))
			}
			e, n := validateOptions(kids, sub(p, "options"), depth+1)
			errs = append(errs, e...)
			size += n
			continue
		}
		if required && optionalSeen {
			errs = append(errs, ferr(sub(p, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options"))
		}
		if !required {
			optionalSeen = true
		}
		choices, _ := o["choices"].([]any)
		if len(choices) > 0 && typ != 3 && typ != 4 && typ != 10 {
			errs = append(errs, ferr(sub(p, "choices"), "APPLICATION_COMMAND_OPTION_CHOICES_NOT_ALLOWED", "Choices are not allowed for this option type"))
		}
		if len(choices) > 25 {
			errs = append(errs, ferr(sub(p, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
		}
		if auto, _ := o["autocomplete"].(bool); auto && len(choices) > 0 {
			errs = append(errs, ferr(sub(p, "autocomplete"), "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID", "Autocomplete cannot be used with choices"))
		}
		for j, ch := range choices {
			cp := sub(p, "choices", strconv.Itoa(j))
			cm, _ := ch.(map[string]any)
			errs = append(errs, bounded(sub(cp, "name"), cm["name"], 1, 100)...)
			size += runeLen(cm["name"])
			switch v := cm["value"].(type) {
			case string:
				if typ != 3 {
					errs = append(errs, ferr(sub(cp, "value"), "NUMBER_TYPE_COERCE", "Value %q is not a number.", v))
				}
				errs = append(errs, maxLen(sub(cp, "value"), v, 100)...)
				size += utf8.RuneCountInString(v)
			case float64:
				if typ == 3 || (typ == 4 && v != math.Trunc(v)) {
					errs = append(errs, ferr(sub(cp, "value"), "BASE_TYPE_CHOICES", "Value has the wrong type for this option."))
				}
			default:
				errs = append(errs, ferr(sub(cp, "value"), "BASE_TYPE_REQUIRED", "This field is required"))
			}
		}
		for _, k := range []string{"min_length", "max_length"} {
			if v, ok := o[k].(float64); ok && (v < 0 || v > 6000 || typ != 3) {
				errs = append(errs, ferr(sub(p, k), "NUMBER_TYPE_MAX", "Must be between 0 and 6000 (string options only)."))
			}
		}
	}
	return errs, size
}
