package commands

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Custom ids of components and modals: a prefix and typed arguments, "<prefix>:<arg>:<arg>…". They are
// built and parsed here only; a custom id that does not parse (an unknown prefix, or arguments of another
// shape: a button of an older version of the bot) gets olderVersionText.

const idSep = ":"

// ArgKind is the type of a custom id's argument.
type ArgKind uint8

// Argument kinds.
const (
	ArgText      ArgKind = iota // any text without ':' (possibly empty)
	ArgInt                      // a decimal integer
	ArgSnowflake                // a Discord id
	ArgJob                      // a job id
	ArgStatus                   // a /jobs status filter, or "" for all
	ArgID                       // the bot's id of a character or scene (store.NewID)
	ArgDecision                 // a review's decision: "approve" or "reject"
)

// IDArg is one argument of a custom id.
type IDArg struct {
	Name string
	Kind ArgKind
}

// CustomID is the shape of a family of custom ids.
type CustomID struct {
	Prefix string
	Args   []IDArg
}

// Args are a parsed custom id's arguments.
type Args struct {
	id   *CustomID
	vals []string
}

// String is the named argument's text ("" when the id has no such argument).
func (a Args) String(name string) string {
	if a.id != nil {
		for k, arg := range a.id.Args {
			if arg.Name == name {
				return a.vals[k]
			}
		}
	}
	return ""
}

// Int is the named ArgInt argument (0 when absent).
func (a Args) Int(name string) int {
	n, _ := strconv.Atoi(a.String(name))
	return n
}

// build returns the custom id for vals, given in the order of c.Args (the tests check that what the
// views build parses).
func (c *CustomID) build(vals ...string) string {
	if len(vals) != len(c.Args) {
		panic(fmt.Sprintf("commands: custom id %q takes %d arguments, not %d", c.Prefix, len(c.Args), len(vals)))
	}
	var b strings.Builder
	b.WriteString(c.Prefix)
	for _, v := range vals {
		b.WriteString(idSep)
		b.WriteString(v)
	}
	return b.String()
}

// parse reads the arguments after the prefix (and its separator).
func (c *CustomID) parse(rest string) (Args, error) {
	if len(c.Args) == 0 {
		if rest != "" {
			return Args{}, errors.New("unexpected arguments")
		}
		return Args{id: c}, nil
	}
	vals := strings.Split(rest, idSep)
	if len(vals) != len(c.Args) {
		return Args{}, fmt.Errorf("%d arguments, want %d", len(vals), len(c.Args))
	}
	for k, v := range vals {
		if err := c.Args[k].Kind.check(v); err != nil {
			return Args{}, fmt.Errorf("argument %s: %w", c.Args[k].Name, err)
		}
	}
	return Args{id: c, vals: vals}, nil
}

func (k ArgKind) check(v string) error {
	switch k {
	case ArgText:
		if strings.Contains(v, idSep) {
			return errors.New("contains the separator")
		}
	case ArgInt:
		if _, err := strconv.Atoi(v); err != nil {
			return errors.New("not an integer")
		}
	case ArgSnowflake:
		if v == "" || len(v) > 20 || strings.Trim(v, "0123456789") != "" {
			return errors.New("not a Discord id")
		}
	case ArgJob:
		if v == "" || len(v) > 64 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return errors.New("not a job id")
		}
	case ArgStatus:
		if _, ok := statusStates[v]; !ok && v != "" {
			return errors.New("not a status")
		}
	case ArgID:
		if v == "" || len(v) > 64 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return errors.New("not an id")
		}
	case ArgDecision:
		if v != decisionApprove && v != decisionReject {
			return errors.New("not a decision")
		}
	}
	return nil
}

// The bot's custom ids. Their shapes are an outside contract: buttons already posted carry them.
var (
	cancelID = CustomID{Prefix: "cancel", Args: []IDArg{{"job", ArgJob}}}                                                // cancel:<job id>
	retryID  = CustomID{Prefix: "retry", Args: []IDArg{{"job", ArgJob}}}                                                 // retry:<job id>
	pageID   = CustomID{Prefix: "jobs", Args: []IDArg{{"owner", ArgSnowflake}, {"status", ArgStatus}, {"page", ArgInt}}} // jobs:<owner>:<status>:<page>
	reviewID = CustomID{Prefix: "review", Args: []IDArg{{"character", ArgID}, {"decision", ArgDecision}}}                // review:<character id>:<approve|reject>
)
