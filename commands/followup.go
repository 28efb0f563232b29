package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/redact"
	"github.com/viggle-bot/viggle-bot/store"
)

// followUpAfter: a render that ends within this time of its acknowledgement sends no follow-up, since
// its owner is still looking at the message.
const followUpAfter = 20 * time.Second

// FollowUp tells the owner where the result of a render that took a while is. Editing a message
// notifies nobody, so after the final edit of the interaction's message the bot sends one short
// follow-up that mentions only the owner and links to that message. A result that went to the channel
// or a DM already mentioned them, and a render that ended within followUpAfter of its acknowledgement
// was watched: neither gets one. When the interaction token has died since the final edit (a restart
// long after it), the notice is posted in the channel with the bot token instead, under a nonce.
// Where the bot may not post, it gives up quietly: the result itself is shown.
func (n *Notifier) FollowUp(ctx context.Context, j store.Job) (sent bool, err error) {
	if !n.wantsFollowUp(j) {
		return false, nil
	}
	v := followUpView(j)
	if n.tokenUsable(j) {
		_, err := n.followUp(ctx, j, v)
		if err == nil || !tokenGone(err) {
			return err == nil, redact.Wrap("send the follow-up", err)
		}
		j.Logger(n.log).Info("interaction token no longer usable; posting the follow-up in the channel", "err", redact.Error(err))
	}
	_, err = n.post(ctx, j, j.ChannelID, "notify", v, nil)
	if forbidden(err) {
		j.Logger(n.log).Info("may not post the follow-up in the channel; the result stays where it is", "err", redact.Error(err))
		return false, nil
	}
	return err == nil, redact.Wrap("post the follow-up", err)
}

// wantsFollowUp reports whether the job's recorded delivery calls for a follow-up (see FollowUp).
func (n *Notifier) wantsFollowUp(j store.Job) bool {
	d := j.Delivery
	if d.Where != store.WhereMessage || d.MessageID == "" || j.OwnerID == "" || j.GuildID == "" || j.AcknowledgedAt.IsZero() {
		return false
	}
	ended := j.DeliveredAt // when the final message was shown
	if ended.IsZero() {
		ended = j.CompletedAt
	}
	return ended.Sub(j.AcknowledgedAt) >= followUpAfter
}

// followUp sends v as a follow-up message of the job's interaction (a webhook message, in the channel).
func (n *Notifier) followUp(ctx context.Context, j store.Job, v view) (string, error) {
	app := n.appID()
	if app == "" {
		return "", fmt.Errorf("not connected to Discord yet (no application id)")
	}
	body := messageCreate{
		Content:         v.Content,
		AllowedMentions: ownerOnly(j),
	}
	return send(ctx, n.rest, n.log, "POST", discordgo.EndpointFollowupMessage(app, j.InteractionToken)+"?wait=true",
		bucket(j.InteractionID), body, nil)
}

// ownerOnly lets a message mention the job's owner and nobody else.
func ownerOnly(j store.Job) *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Users: []string{j.OwnerID}}
}

// followUpView is the one-line notice that a render ended, with a jump link to the message that shows
// its result (the video stays there).
func followUpView(j store.Job) view {
	what := "is ready"
	switch j.State {
	case store.StateFailed:
		what = "failed"
	case store.StateCancelled:
		what = "was cancelled"
	case store.StateInterrupted:
		what = "was interrupted"
	}
	return view{Content: fmt.Sprintf("<@%s>, your render %s: %s", j.OwnerID, what, resultLink(&j))}
}
