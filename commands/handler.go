package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/redact"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

// Engine is what the handlers need of the render engine.
type Engine interface {
	Create(ctx context.Context, nj jobs.NewJob) (*store.Job, error)
	Enqueue(ctx context.Context, id string) error
	Abandon(ctx context.Context, id, reason string) error
	Cancel(ctx context.Context, id, userID string) (jobs.CancelResult, error)
	Get(ctx context.Context, id string) (*store.Job, error)
}

// Store is what the handlers read and record directly.
type Store interface {
	Acknowledge(ctx context.Context, id string, at time.Time) error
	ListByOwner(ctx context.Context, f store.ListFilter) ([]*store.Job, error)
}

// DefaultUploadLimit applies when an interaction carries no attachment_size_limit.
const DefaultUploadLimit = 10 << 20

// insertDeadline bounds the job row's commit, so that the acknowledgement still makes Discord's 3 s.
const insertDeadline = 1500 * time.Millisecond

// Handler routes interactions to the commands. Its methods are safe for concurrent use.
type Handler struct {
	eng Engine
	st  Store
	log *slog.Logger
	now func() time.Time
}

// NewHandler returns the router.
func NewHandler(eng Engine, st Store, log *slog.Logger, now func() time.Time) *Handler {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{eng: eng, st: st, log: log, now: now}
}

// HandleInteraction routes one interaction: slash commands by name, buttons by custom-id prefix.
// uploadLimit is the interaction's attachment_size_limit (0 when Discord sent none).
func (h *Handler) HandleInteraction(ctx context.Context, rest REST, i *discordgo.Interaction, uploadLimit int64) {
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		data := i.ApplicationCommandData()
		switch data.Name {
		case CmdRender:
			h.render(ctx, rest, i, uploadLimit)
		case CmdJobs:
			h.jobs(ctx, rest, i)
		default:
			h.ephemeral(ctx, rest, i, "I don't know that command any more; Discord may still be showing an old list. Try again in a minute.")
		}
	case discordgo.InteractionMessageComponent:
		prefix, arg, _ := strings.Cut(i.MessageComponentData().CustomID, ":")
		switch prefix {
		case btnCancel:
			h.cancel(ctx, rest, i, arg)
		default:
			h.ephemeral(ctx, rest, i, "That button no longer does anything.")
		}
	case discordgo.InteractionApplicationCommandAutocomplete:
		// Nothing to suggest yet (scene and character import come later): an empty list, at once.
		err := rest.InteractionRespond(i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}},
		}, discordgo.WithContext(ctx))
		if err != nil {
			h.log.Debug("autocomplete answer failed", "err", redact.Error(err))
		}
	}
}

// ephemeral answers the interaction with a message only its user sees.
func (h *Handler) ephemeral(ctx context.Context, rest REST, i *discordgo.Interaction, text string) {
	err := rest.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: text, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions},
	}, discordgo.WithContext(ctx))
	if err != nil {
		h.log.Warn("ephemeral answer failed", "interaction", i.ID, "err", redact.Error(err))
	}
}

// followup sends an ephemeral follow-up to an interaction that was already acknowledged.
func (h *Handler) followup(ctx context.Context, rest REST, i *discordgo.Interaction, text string) {
	_, err := rest.FollowupMessageCreate(i, false, &discordgo.WebhookParams{
		Content: text, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions,
	}, discordgo.WithContext(ctx))
	if err != nil {
		h.log.Warn("follow-up failed", "interaction", i.ID, "err", redact.Error(err))
	}
}

func userID(i *discordgo.Interaction) string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
}

func stringOpt(m map[string]*discordgo.ApplicationCommandInteractionDataOption, name string) string {
	if o, ok := m[name]; ok {
		if s, ok := o.Value.(string); ok {
			return s
		}
	}
	return ""
}

// render handles /render: validate (bad input costs nothing), commit the job row, acknowledge, record
// the acknowledgement, and only then let the engine send the render.
func (h *Handler) render(ctx context.Context, rest REST, i *discordgo.Interaction, uploadLimit int64) {
	if i.GuildID == "" {
		h.ephemeral(ctx, rest, i, "Renders are made in a server's channel: use /render there.")
		return
	}
	opts := map[string]*discordgo.ApplicationCommandInteractionDataOption{}
	for _, o := range i.ApplicationCommandData().Options {
		opts[o.Name] = o
	}
	fast := false
	if o, ok := opts[OptFast]; ok {
		fast, _ = o.Value.(bool)
	}
	req, err := spec.NewRequest(stringOpt(opts, OptScene), stringOpt(opts, OptMap), stringOpt(opts, OptBackground),
		stringOpt(opts, OptBGColor), fast, stringOpt(opts, OptModel))
	if err != nil {
		var se *spec.Error
		msg := err.Error()
		if errors.As(err, &se) {
			msg = fmt.Sprintf("**%s**: %s", se.Field, se.Message)
		}
		h.ephemeral(ctx, rest, i, msg+"\nNothing was sent to Viggle and no credits were used.")
		return
	}
	if uploadLimit <= 0 {
		uploadLimit = DefaultUploadLimit
	}
	issued, err := snowflakeTime(i.ID)
	if err != nil {
		issued = h.now()
	}
	cctx, cancel := context.WithTimeout(ctx, insertDeadline)
	j, err := h.eng.Create(cctx, jobs.NewJob{
		OwnerID: userID(i), GuildID: i.GuildID, ChannelID: i.ChannelID,
		InteractionID: i.ID, InteractionToken: i.Token, TokenExpiresAt: issued.Add(15 * time.Minute),
		UploadLimit: uploadLimit, Request: req,
	})
	cancel()
	switch {
	case errors.Is(err, store.ErrDuplicate):
		h.log.Info("replayed interaction ignored", "interaction", i.ID)
		return
	case err != nil:
		h.log.Error("record the job", "interaction", i.ID, "err", err)
		h.ephemeral(ctx, rest, i, "I'm too busy to take this render right now. Nothing was sent to Viggle: please try again in a moment.")
		return
	}
	err = rest.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource},
		discordgo.WithContext(ctx))
	if err != nil {
		h.log.Warn("acknowledgement refused; the job is closed without a render", "job", j.ID, "err", redact.Error(err))
		if aerr := h.eng.Abandon(context.WithoutCancel(ctx), j.ID, "Discord did not accept the acknowledgement in time, so the render was not sent."); aerr != nil {
			h.log.Error("abandon job", "job", j.ID, "err", aerr)
		}
		return
	}
	if err := h.st.Acknowledge(context.WithoutCancel(ctx), j.ID, h.now()); err != nil {
		// The engine waits for this record; without it the job is closed unsent after its grace time.
		h.log.Error("record the acknowledgement", "job", j.ID, "err", err)
		h.followup(ctx, rest, i, "Something went wrong on my side before the render was sent; nothing was charged. Please try again.")
		return
	}
	if err := h.eng.Enqueue(context.WithoutCancel(ctx), j.ID); err != nil {
		h.log.Error("start the job", "job", j.ID, "err", err)
	}
}

// jobs handles /jobs: the caller's own ten latest jobs in this server, newest first, only to them.
func (h *Handler) jobs(ctx context.Context, rest REST, i *discordgo.Interaction) {
	list, err := h.st.ListByOwner(ctx, store.ListFilter{Origin: store.OriginDiscord, GuildID: i.GuildID, OwnerID: userID(i), Limit: 10})
	if err != nil {
		h.log.Error("list jobs", "err", err)
		h.ephemeral(ctx, rest, i, "I could not read your renders just now. Please try again.")
		return
	}
	h.ephemeral(ctx, rest, i, jobsView(list))
}

// cancel handles the Cancel button: only the job's owner may use it.
func (h *Handler) cancel(ctx context.Context, rest REST, i *discordgo.Interaction, id string) {
	j, err := h.eng.Get(ctx, id)
	if err != nil {
		h.ephemeral(ctx, rest, i, "I can't find that render any more.")
		return
	}
	if j.OwnerID != userID(i) {
		h.ephemeral(ctx, rest, i, fmt.Sprintf("Only <@%s>, who started this render, can cancel it.", j.OwnerID))
		return
	}
	if err := rest.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate},
		discordgo.WithContext(ctx)); err != nil {
		h.log.Warn("acknowledge cancel", "job", id, "err", redact.Error(err))
		return
	}
	res, err := h.eng.Cancel(ctx, id, userID(i))
	switch {
	case err != nil:
		h.log.Error("cancel", "job", id, "err", err)
		h.followup(ctx, rest, i, "Viggle did not answer the cancel request. Please try again in a moment.")
	case res == jobs.CancelTooLate:
		h.followup(ctx, rest, i, "Too late: this render has already finished.")
	case res == jobs.CancelNotCancellable:
		h.followup(ctx, rest, i, "Viggle says this render cannot be cancelled any more.")
	case res == jobs.CancelAlreadyEnded:
		h.followup(ctx, rest, i, "This render has already ended.")
	}
	// CancelRequested / CancelPending: the message says "Cancelled" once Viggle confirms.
}
