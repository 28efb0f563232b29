package commands

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/resttest"
)

// seen is an Observer that records what it is told.
type seen struct {
	mu    sync.Mutex
	calls []string
	acks  []time.Duration
}

func (s *seen) Interaction(route, outcome string, ack time.Duration, acked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("%s|%s|%v", route, outcome, acked))
	s.acks = append(s.acks, ack)
}

func TestObserverToldEveryInteraction(t *testing.T) {
	var got []string
	routes := []Route{
		{Name: "scene import", Def: sceneDef, Handle: recorder(&got, "imported"),
			Autocomplete: map[string]Handler{"template": recorder(&got, "")}},
		{Name: CmdRender, Handle: func(context.Context, *Event) (*Response, error) { return nil, errors.New("boom") }},
		{Kind: RouteComponent, ID: cancelID, Handle: recorder(&got, "cancel")},
		{Kind: RouteModal, ID: formID, Handle: recorder(&got, "form")},
	}
	renamed := func(name string) func(map[string]any) {
		return func(d map[string]any) { d["data"].(map[string]any)["name"] = name }
	}
	cases := []struct {
		name, file string
		edit       func(map[string]any)
		fail       bool // the acknowledgement is refused
		want       string
	}{
		{"subcommand", "scene_import", nil, false, "scene import|ok|true"},
		{"autocomplete", "autocomplete_scene_import", nil, false, "autocomplete scene import|ok|true"},
		{"autocomplete without a handler", "autocomplete_render", nil, false, "autocomplete render|ok|true"},
		{"autocomplete of a command the table lacks", "autocomplete_render", renamed("nosuch"), false, "autocomplete unknown|ok|true"},
		{"a handler's error", "render", nil, false, "render|error|true"},
		{"component", "component", nil, false, "component cancel|ok|true"},
		{"modal", "modal", nil, false, "modal sceneform|ok|true"},
		{"unknown command", "jobs", nil, false, "unknown command|ok|true"},
		{"older custom id", "modal", customID("otherform:abc"), false, "older custom id|ok|true"},
		{"acknowledgement refused", "scene_import", nil, true, "scene import|not answered|false"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := testRouter(t, nil, nil, nil, routes)
			obs := &seen{}
			r.Observe(obs)
			rest := resttest.New()
			if c.fail {
				rest.FailKind(resttest.KindRespond, 500, 0)
			}
			r.HandleInteraction(t.Context(), rest, interaction(t, c.file, c.edit), 0)
			if len(obs.calls) != 1 || obs.calls[0] != c.want {
				t.Fatalf("observer told %q, want [%s]", obs.calls, c.want)
			}
			if !c.fail && (obs.acks[0] <= 0 || obs.acks[0] > 10*time.Second) {
				t.Errorf("ack latency %v", obs.acks[0])
			} else if c.fail && obs.acks[0] != 0 {
				t.Errorf("ack latency %v for an interaction never acknowledged", obs.acks[0])
			}
		})
	}
}

func TestObserverAckLatencyIsTheDeferral(t *testing.T) {
	release := make(chan struct{})
	r, _ := testRouter(t, nil, nil, nil, []Route{{Name: "scene import", Handle: func(ctx context.Context, e *Event) (*Response, error) {
		<-release
		return ephemeralText("late"), nil
	}}})
	const after = 50 * time.Millisecond
	r.deferAfter = after
	obs := &seen{}
	r.Observe(obs)
	rest := resttest.New()
	done := make(chan struct{})
	start := time.Now()
	go func() {
		r.HandleInteraction(t.Context(), rest, interaction(t, "scene_import", nil), 0)
		close(done)
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := rest.Wait(ctx, 1); err != nil { // the automatic deferral
		t.Fatal(err)
	}
	deferred := time.Since(start)
	close(release)
	<-done
	// The acknowledgement was the deferral, not the late answer: its latency is the deferral's.
	if len(obs.acks) != 1 || obs.acks[0] < after || obs.acks[0] > deferred {
		t.Fatalf("ack latency %v, want between %v and %v (the deferral)", obs.acks, after, deferred)
	}
}
