// Package resttest is a recording double of the Discord REST calls the bot makes through discordgo
// (the commands package's REST interface): every call is recorded with its body, and a call can be told
// to fail with a *discordgo.RESTError of a given status and JSON error code, as Discord answers.
package resttest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/bwmarrin/discordgo"
)

// Kinds of calls.
const (
	KindRespond  = "respond"  // InteractionRespond: POST /interactions/{id}/{token}/callback
	KindFollowup = "followup" // FollowupMessageCreate: POST /webhooks/{app}/{token}
	KindRequest  = "request"  // RequestWithBucketID: a JSON request
	KindRaw      = "raw"      // RequestRaw: a multipart (or other raw) request
)

// Call is one recorded REST call.
type Call struct {
	Kind   string
	Method string
	URL    string
	Bucket string
	// Body is the JSON that was sent (for KindRaw, the raw bytes; for a request without a body, empty).
	Body          json.RawMessage
	InteractionID string // KindRespond and KindFollowup
	Err           error  // the error the double answered with (nil: success)
}

// Decode unmarshals the call's JSON body into v.
func (c Call) Decode(v any) error {
	if err := json.Unmarshal(c.Body, v); err != nil {
		return fmt.Errorf("decode %s %s body: %w", c.Method, c.URL, err)
	}
	return nil
}

// Response decodes the body of a KindRespond call.
func (c Call) Response() (discordgo.InteractionResponse, error) {
	var r discordgo.InteractionResponse
	err := c.Decode(&r)
	return r, err
}

// String describes the call for test failures.
func (c Call) String() string { return c.Kind + " " + c.Method + " " + c.URL }

type failure struct {
	match func(Call) bool
	err   error
}

// REST records calls. The zero value is not usable: use New. It is safe for concurrent use.
type REST struct {
	mu      sync.Mutex
	calls   []Call
	fails   []failure
	changed chan struct{} // closed (and replaced) at each call
	ids     int
}

// New returns an empty recorder.
func New() *REST { return &REST{changed: make(chan struct{})} }

// Error returns the error discordgo returns for a Discord answer with this HTTP status and JSON code.
func Error(status, code int, message string) *discordgo.RESTError {
	body, _ := json.Marshal(map[string]any{"code": code, "message": message})
	return &discordgo.RESTError{
		Response:     &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status))},
		ResponseBody: body,
		Message:      &discordgo.APIErrorMessage{Code: code, Message: message},
	}
}

// Fail makes the next call that match accepts fail with err (once).
func (r *REST) Fail(match func(Call) bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fails = append(r.fails, failure{match, err})
}

// FailKind makes the next call of kind (KindRespond, …) fail with a Discord error of status and code.
func (r *REST) FailKind(kind string, status, code int) {
	r.Fail(func(c Call) bool { return c.Kind == kind }, Error(status, code, http.StatusText(status)))
}

// Calls returns the calls so far, in order.
func (r *REST) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Wait blocks until at least n calls are recorded (or ctx ends) and returns them.
func (r *REST) Wait(ctx context.Context, n int) ([]Call, error) {
	for {
		r.mu.Lock()
		calls, ch := append([]Call(nil), r.calls...), r.changed
		r.mu.Unlock()
		if len(calls) >= n {
			return calls, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return calls, fmt.Errorf("resttest: %d calls, waiting for %d: %w", len(calls), n, ctx.Err())
		}
	}
}

// record stores c, answering with a planned failure if one matches, and returns c's error.
func (r *REST) record(c Call) (Call, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, f := range r.fails {
		if f.match(c) {
			c.Err = f.err
			r.fails = append(r.fails[:k], r.fails[k+1:]...)
			break
		}
	}
	r.calls = append(r.calls, c)
	close(r.changed)
	r.changed = make(chan struct{})
	return c, c.Err
}

func (r *REST) nextID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids++
	return fmt.Sprintf("%d", 900000000000000000+r.ids)
}

func marshal(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(fmt.Sprintf("%q", "resttest: cannot marshal: "+err.Error()))
	}
	return b
}

// InteractionRespond records an interaction callback.
func (r *REST) InteractionRespond(i *discordgo.Interaction, resp *discordgo.InteractionResponse, _ ...discordgo.RequestOption) error {
	_, err := r.record(Call{Kind: KindRespond, Method: http.MethodPost, URL: discordgo.EndpointInteractionResponse(i.ID, i.Token),
		Body: marshal(resp), InteractionID: i.ID})
	return err
}

// FollowupMessageCreate records a follow-up message and answers with a message with a new id.
func (r *REST) FollowupMessageCreate(i *discordgo.Interaction, wait bool, data *discordgo.WebhookParams, _ ...discordgo.RequestOption) (*discordgo.Message, error) {
	url := discordgo.EndpointFollowupMessage(i.AppID, i.Token)
	if wait {
		url += "?wait=true"
	}
	if _, err := r.record(Call{Kind: KindFollowup, Method: http.MethodPost, URL: url, Body: marshal(data), InteractionID: i.ID}); err != nil {
		return nil, err
	}
	return &discordgo.Message{ID: r.nextID(), Content: data.Content}, nil
}

// RequestWithBucketID records a JSON request and answers with a message with a new id.
func (r *REST) RequestWithBucketID(method, url string, data any, bucket string, _ ...discordgo.RequestOption) ([]byte, error) {
	if _, err := r.record(Call{Kind: KindRequest, Method: method, URL: url, Bucket: bucket, Body: marshal(data)}); err != nil {
		return nil, err
	}
	if method == http.MethodDelete {
		return nil, nil
	}
	return fmt.Appendf(nil, `{"id":%q}`, r.nextID()), nil
}

// RequestRaw records a raw request (an upload) and answers with a message with a new id.
func (r *REST) RequestRaw(method, url, _ string, b []byte, bucket string, _ int, _ ...discordgo.RequestOption) ([]byte, error) {
	if _, err := r.record(Call{Kind: KindRaw, Method: method, URL: url, Bucket: bucket, Body: append(json.RawMessage(nil), b...)}); err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, `{"id":%q}`, r.nextID()), nil
}

// Kinds returns the calls' kinds and methods, e.g. "respond POST", for compact assertions.
func Kinds(calls []Call) string {
	out := make([]string, len(calls))
	for k, c := range calls {
		out[k] = c.Kind + " " + c.Method
	}
	return strings.Join(out, ", ")
}
