package resttest

import (
	"errors"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestRecordsAndFails(t *testing.T) {
	r := New()
	i := &discordgo.Interaction{ID: "1", AppID: "app", Token: "tok"}
	r.FailKind(KindRespond, 404, discordgo.ErrCodeUnknownInteraction)
	err := r.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Message.Code != discordgo.ErrCodeUnknownInteraction || re.Response.StatusCode != 404 {
		t.Fatalf("planned failure: got %v", err)
	}
	if err := r.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}); err != nil {
		t.Fatalf("a failure is planned once: got %v", err)
	}
	m, err := r.FollowupMessageCreate(i, false, &discordgo.WebhookParams{Content: "hi"})
	if err != nil || m.ID == "" {
		t.Fatalf("follow-up: %v %v", m, err)
	}
	calls, err := r.Wait(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Kinds(calls), "respond POST, respond POST, followup POST"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if resp, err := calls[0].Response(); err != nil || resp.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || calls[0].Err == nil {
		t.Fatalf("first call %+v %v", resp, err)
	}
	if calls[2].URL != discordgo.EndpointFollowupMessage("app", "tok") {
		t.Fatalf("follow-up URL %s", calls[2].URL)
	}
}
