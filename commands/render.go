package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/redact"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

// insertDeadline bounds the job row's commit, so that the acknowledgement still makes Discord's 3 s.
const insertDeadline = 1500 * time.Millisecond

// renderRoute is /render. It acknowledges by itself (its budget is under 2 s), so that the
// acknowledgement is the first thing sent for it.
func (r *Router) renderRoute() Route {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	return Route{
		Name: CmdRender,
		Def: &discordgo.ApplicationCommand{
			Name:        CmdRender,
			Description: "Render a Viggle scene with your characters on its persons",
			Contexts:    &guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: OptScene, Required: true, MaxLength: 128,
					Description: "The Viggle scene id (a multi-person template)"},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptMap, Required: true, MaxLength: 6000,
					Description: "person=character pairs, e.g. person_a=char_alice, person_b=char_bob"},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptBackground,
					Description: "Background of the video (default: original)", Choices: choices("original", "solid", "transparent")},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptBGColor, MaxLength: 20,
					Description: "Solid background colour: R,G,B or #RRGGBB (implies solid)"},
				{Type: discordgo.ApplicationCommandOptionBoolean, Name: OptFast,
					Description: "About twice as fast, for twice the credits"},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptModel,
					Description: "Viggle model (the scene's own is used by default)", Choices: choices("V4_Preview", "V3_Preview")},
			},
		},
		Handle:      r.render,
		Defer:       DeferMessage,
		NoAutoDefer: true,
	}
}

// render handles /render: validate (bad input costs nothing), then start the job.
func (r *Router) render(ctx context.Context, e *Event) (*Response, error) {
	if e.GuildID == "" {
		return ephemeralText("Renders are made in a server's channel: use /render there."), nil
	}
	o := e.Options
	req, err := spec.NewRequest(o.String(OptScene), o.String(OptMap), o.String(OptBackground), o.String(OptBGColor),
		o.Bool(OptFast), o.String(OptModel))
	if err != nil {
		var se *spec.Error
		msg := err.Error()
		if errors.As(err, &se) {
			msg = fmt.Sprintf("**%s**: %s", se.Field, se.Message)
		}
		e.SetOutcome("bad input")
		return ephemeralText(msg + "\nNothing was sent to Viggle and no credits were used."), nil
	}
	return r.start(ctx, e, req, "")
}

// start commits a job for the interaction under insertDeadline, acknowledges it with a deferred public
// message (Event.Defer, under a route with DeferMessage), and only when Discord took that lets the
// engine send the render (eng.Acknowledged). retryOf is the job a Retry button retries.
func (r *Router) start(ctx context.Context, e *Event, req spec.Request, retryOf string) (*Response, error) {
	uploadLimit := e.UploadLimit
	if uploadLimit <= 0 {
		uploadLimit = DefaultUploadLimit
	}
	issued, err := discordgo.SnowflakeTimestamp(e.ID)
	if err != nil {
		issued = r.now()
	}
	cctx, cancel := context.WithTimeout(ctx, insertDeadline)
	j, err := r.eng.Create(cctx, jobs.NewJob{
		OwnerID: e.User(), GuildID: e.GuildID, ChannelID: e.ChannelID,
		InteractionID: e.ID, InteractionToken: e.Token, TokenExpiresAt: issued.Add(15 * time.Minute),
		UploadLimit: uploadLimit, Request: req, RetryOf: retryOf,
	})
	cancel()
	switch {
	case errors.Is(err, store.ErrDuplicate) && retryOf != "":
		e.SetOutcome("already retried")
		return ephemeralText("This render has already been retried: see the new one in the channel, or /jobs."), nil
	case errors.Is(err, store.ErrDuplicate):
		e.SetOutcome("replay ignored") // a redelivered interaction: its job exists and was answered
		return nil, nil
	case err != nil:
		return nil, tell("I'm too busy to take this render right now. Nothing was sent to Viggle: please try again in a moment.",
			fmt.Errorf("record the job: %w", err))
	}
	if err := e.Defer(ctx); err != nil {
		r.refused(ctx, e, j.ID, err)
		return nil, nil
	}
	if err := r.eng.Acknowledged(context.WithoutCancel(ctx), j.ID); err != nil {
		// Without the record the engine closes the job unsent after its grace time.
		return nil, tell("Something went wrong on my side before the render was sent; nothing was charged. Please try again.",
			fmt.Errorf("record the acknowledgement of job %s: %w", j.ID, err))
	}
	return nil, nil
}

// refused closes a job whose acknowledgement Discord refused: nothing is sent to Viggle.
func (r *Router) refused(ctx context.Context, e *Event, jobID string, err error) {
	e.SetOutcome("acknowledgement refused")
	r.log.Warn("acknowledgement refused; the job is closed without a render", "job", jobID, "err", redact.Text(redact.Error(err), e.Token))
	code, status := discordCode(err)
	// The record is a fact (what Discord answered); explain words it.
	if aerr := r.eng.Abandon(context.WithoutCancel(ctx), jobID, fmt.Sprintf("Discord answered HTTP %d, code %d", status, code)); aerr != nil {
		r.log.Error("abandon job", "job", jobID, "err", aerr)
	}
	if code != discordgo.ErrCodeUnknownInteraction && e.AppID != "" {
		// The acknowledgement may have landed after all (a lost answer): then the user sees
		// "thinking…"; replace it with what happened. Harmless when it did not land.
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		msg := "Something went wrong on my side, so this render was not sent and nothing was charged. Please try again."
		_, _ = send(ectx, e.rest, e.r.log, "PATCH", e.original(), bucket(e.ID), messageEdit{Content: &msg, AllowedMentions: noMentions}, nil)
	}
}
