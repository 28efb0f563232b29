package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
	CountByOwner(ctx context.Context, f store.ListFilter) (int, error)
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
		case btnRetry:
			h.retry(ctx, rest, i, arg, uploadLimit)
		case btnPage:
			h.jobsPage(ctx, rest, i, arg)
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
	h.start(ctx, rest, i, req, uploadLimit, "")
}

// start commits a job for the interaction, acknowledges it with a deferred (public) response, records
// the acknowledgement, and only then lets the engine send the render.
func (h *Handler) start(ctx context.Context, rest REST, i *discordgo.Interaction, req spec.Request, uploadLimit int64, retryOf string) {
	if uploadLimit <= 0 {
		uploadLimit = DefaultUploadLimit
	}
	issued, err := discordgo.SnowflakeTimestamp(i.ID)
	if err != nil {
		issued = h.now()
	}
	cctx, cancel := context.WithTimeout(ctx, insertDeadline)
	j, err := h.eng.Create(cctx, jobs.NewJob{
		OwnerID: userID(i), GuildID: i.GuildID, ChannelID: i.ChannelID,
		InteractionID: i.ID, InteractionToken: i.Token, TokenExpiresAt: issued.Add(15 * time.Minute),
		UploadLimit: uploadLimit, Request: req, RetryOf: retryOf,
	})
	cancel()
	switch {
	case errors.Is(err, store.ErrDuplicate) && retryOf != "":
		h.ephemeral(ctx, rest, i, "This render has already been retried: see the new one in the channel, or /jobs.")
		return
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
	if code, _ := discordCode(err); code == discordgo.ErrCodeInteractionHasAlreadyBeenAcknowledged {
		err = nil // a retried request (discordgo repeats 502s) that Discord had already taken
	}
	if err != nil {
		h.log.Warn("acknowledgement refused; the job is closed without a render", "job", j.ID, "err", redact.Error(err))
		if aerr := h.eng.Abandon(context.WithoutCancel(ctx), j.ID, "Discord did not accept the acknowledgement in time, so the render was not sent."); aerr != nil {
			h.log.Error("abandon job", "job", j.ID, "err", aerr)
		}
		if code, _ := discordCode(err); code != discordgo.ErrCodeUnknownInteraction && i.AppID != "" {
			// The acknowledgement may have landed after all (a lost answer): then the user sees
			// "thinking…"; replace it with what happened. Harmless when it did not land.
			ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			msg := "Something went wrong on my side, so this render was not sent and nothing was charged. Please try again."
			_, _ = send(ectx, rest, "PATCH", discordgo.EndpointWebhookMessage(i.AppID, i.Token, "@original"), bucket(i.ID),
				messageEdit{Content: &msg, AllowedMentions: noMentions}, nil)
		}
		return
	}
	if err := h.st.Acknowledge(context.WithoutCancel(ctx), j.ID, h.now()); err != nil {
		// The engine waits for this record; without it the job is closed unsent after its grace time.
		h.log.Error("record the acknowledgement", "job", j.ID, "err", err)
		h.followup(ctx, rest, i, "Something went wrong on my side before the render was sent; nothing was charged. Please try again.")
		return
	}
	switch err := h.eng.Enqueue(context.WithoutCancel(ctx), j.ID); {
	case errors.Is(err, jobs.ErrNotStarted): // the bot has just connected: the engine's Start resumes it
		h.log.Info("job recorded before the engine started; it starts with the engine", "job", j.ID)
	case err != nil:
		h.log.Error("start the job", "job", j.ID, "err", err)
	}
}

// jobs handles /jobs: the caller's own jobs in this server, newest first, ten a page, only to them.
func (h *Handler) jobs(ctx context.Context, rest REST, i *discordgo.Interaction) {
	status := ""
	for _, o := range i.ApplicationCommandData().Options {
		if o.Name == OptStatus {
			status, _ = o.Value.(string)
		}
	}
	v, err := h.jobsList(ctx, i.GuildID, userID(i), status, 0)
	if err != nil {
		h.log.Error("list jobs", "err", err)
		h.ephemeral(ctx, rest, i, "I could not read your renders just now. Please try again.")
		return
	}
	err = rest.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: v.Content, Components: v.Components,
			Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions},
	}, discordgo.WithContext(ctx))
	if err != nil {
		h.log.Warn("answer /jobs", "err", redact.Error(err))
	}
}

// jobsList builds one page of an owner's list; the filter is applied in SQL.
func (h *Handler) jobsList(ctx context.Context, guild, owner, status string, page int) (view, error) {
	if _, ok := statusStates[status]; !ok {
		status = ""
	}
	f := store.ListFilter{Origin: store.OriginDiscord, GuildID: guild, OwnerID: owner, States: statusStates[status]}
	total, err := h.st.CountByOwner(ctx, f)
	if err != nil {
		return view{}, err
	}
	pages := max(1, (total+jobsPageSize-1)/jobsPageSize)
	page = min(max(page, 0), pages-1)
	f.Limit, f.Offset = jobsPageSize, page*jobsPageSize
	list, err := h.st.ListByOwner(ctx, f)
	if err != nil {
		return view{}, err
	}
	return jobsView(list, owner, status, page, total), nil
}

// jobsPage handles the Previous/Next buttons of a /jobs list: only the list's owner may page it.
func (h *Handler) jobsPage(ctx context.Context, rest REST, i *discordgo.Interaction, arg string) {
	parts := strings.Split(arg, ":")
	if len(parts) != 3 {
		h.ephemeral(ctx, rest, i, "That button no longer does anything.")
		return
	}
	owner, status := parts[0], parts[1]
	page, err := strconv.Atoi(parts[2])
	if err != nil {
		h.ephemeral(ctx, rest, i, "That button no longer does anything.")
		return
	}
	if owner != userID(i) {
		h.ephemeral(ctx, rest, i, "This list belongs to someone else: use /jobs to see your own renders.")
		return
	}
	v, err := h.jobsList(ctx, i.GuildID, owner, status, page)
	if err != nil {
		h.log.Error("list jobs", "err", err)
		h.ephemeral(ctx, rest, i, "I could not read your renders just now. Please try again.")
		return
	}
	err = rest.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: v.Content, Components: v.Components, AllowedMentions: noMentions},
	}, discordgo.WithContext(ctx))
	if err != nil {
		h.log.Warn("page /jobs", "err", redact.Error(err))
	}
}

// retry handles the Retry button of a failed or interrupted job: its owner gets a new job with the
// same parameters (which costs credits again, as the button says), in a new message.
func (h *Handler) retry(ctx context.Context, rest REST, i *discordgo.Interaction, id string, uploadLimit int64) {
	j, ok := h.ownJob(ctx, rest, i, id, "retry it. You can start your own with /render.")
	if !ok {
		return
	}
	if j.State != store.StateFailed && j.State != store.StateInterrupted {
		h.ephemeral(ctx, rest, i, "Only failed or interrupted renders can be retried.")
		return
	}
	h.start(ctx, rest, i, j.Request, uploadLimit, j.ID)
}

// ownJob reads the job a button names and checks that the clicking member started it; otherwise it
// answers them privately (what names what only the owner may do) and returns false.
func (h *Handler) ownJob(ctx context.Context, rest REST, i *discordgo.Interaction, id, what string) (*store.Job, bool) {
	j, err := h.eng.Get(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.ephemeral(ctx, rest, i, "I can't find that render any more.")
		return nil, false
	case err != nil:
		h.log.Error("read the job of a button", "job", id, "err", err)
		h.ephemeral(ctx, rest, i, "I could not read that render just now. Please try again in a moment.")
		return nil, false
	case j.OwnerID != userID(i):
		h.ephemeral(ctx, rest, i, fmt.Sprintf("Only <@%s>, who started this render, can %s", j.OwnerID, what))
		return nil, false
	}
	return j, true
}

// cancel handles the Cancel button: only the job's owner may use it.
func (h *Handler) cancel(ctx context.Context, rest REST, i *discordgo.Interaction, id string) {
	if _, ok := h.ownJob(ctx, rest, i, id, "cancel it."); !ok {
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
