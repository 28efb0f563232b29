package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// REST is the part of *discordgo.Session that commands uses.
type REST interface {
	InteractionRespond(i *discordgo.Interaction, r *discordgo.InteractionResponse, options ...discordgo.RequestOption) error
	FollowupMessageCreate(i *discordgo.Interaction, wait bool, data *discordgo.WebhookParams, options ...discordgo.RequestOption) (*discordgo.Message, error)
	RequestWithBucketID(method, urlStr string, data interface{}, bucketID string, options ...discordgo.RequestOption) ([]byte, error)
	RequestRaw(method, urlStr, contentType string, b []byte, bucketID string, sequence int, options ...discordgo.RequestOption) ([]byte, error)
}

var _ REST = (*discordgo.Session)(nil)

// discordCode returns Discord's JSON error code and the HTTP status of err (0, 0 when err is not a
// Discord answer).
func discordCode(err error) (code, status int) {
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		return 0, 0
	}
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	if re.Message != nil {
		code = re.Message.Code
	}
	return code, status
}

// tokenGone reports whether err says the interaction token can no longer be used: expired (401/50027),
// or the message or webhook is gone (10015, 10008).
func tokenGone(err error) bool {
	code, status := discordCode(err)
	return code == discordgo.ErrCodeInvalidWebhookTokenProvided || code == discordgo.ErrCodeUnknownWebhook ||
		code == discordgo.ErrCodeUnknownMessage || status == http.StatusUnauthorized
}

// tooLarge reports whether Discord refused an upload as too large (413 / 40005).
func tooLarge(err error) bool {
	code, status := discordCode(err)
	return code == discordgo.ErrCodeRequestEntityTooLarge || status == http.StatusRequestEntityTooLarge
}

// messageEdit is the body of PATCH …/messages/@original. discordgo's WebhookEdit cannot say "no
// attachments any more", so the bot writes its own.
type messageEdit struct {
	Content         *string                           `json:"content,omitempty"`
	Components      *[]discordgo.MessageComponent     `json:"components,omitempty"`
	Embeds          *[]*discordgo.MessageEmbed        `json:"embeds,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions,omitempty"`
	Attachments     *[]attachmentRef                  `json:"attachments,omitempty"`
}

type attachmentRef struct {
	ID       string `json:"id"`
	Filename string `json:"filename,omitempty"`
}

// messageCreate is the body of POST /channels/{id}/messages, with the nonce fields discordgo's
// MessageSend lacks: a repeat with the same nonce returns the first message instead of posting twice.
type messageCreate struct {
	Content         string                            `json:"content"`
	Components      []discordgo.MessageComponent      `json:"components,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
	Attachments     []attachmentRef                   `json:"attachments,omitempty"`
}

// send issues a JSON or multipart request in bucket and returns the message id of the answer. A
// message body (messageEdit, messageCreate) is checked against Discord's limits first, and clipped
// with a warning where it does not fit (the views are built to fit: this is the last resort).
func send(ctx context.Context, rest REST, log *slog.Logger, method, url, bucket string, body any, files []*discordgo.File) (string, error) {
	var resp []byte
	var err error
	body, clipped := fitBody(body)
	if len(clipped) > 0 {
		log.Warn("a message over Discord's limits was clipped", "bucket", bucket, "clipped", strings.Join(clipped, "; "))
	}
	if len(files) > 0 {
		// The same files may be sent again (an edit refused, then a channel post): start each from 0.
		for _, f := range files {
			if sk, ok := f.Reader.(io.Seeker); ok {
				if _, err := sk.Seek(0, io.SeekStart); err != nil {
					return "", fmt.Errorf("rewind upload: %w", err)
				}
			}
		}
		ctype, b, merr := discordgo.MultipartBodyWithJSON(body, files)
		if merr != nil {
			return "", fmt.Errorf("build upload: %w", merr)
		}
		resp, err = rest.RequestRaw(method, url, ctype, b, bucket, 0, discordgo.WithContext(ctx))
	} else {
		resp, err = rest.RequestWithBucketID(method, url, body, bucket, discordgo.WithContext(ctx))
	}
	if err != nil {
		return "", err
	}
	var m struct {
		ID string `json:"id"`
	}
	if len(resp) > 0 {
		if err := json.Unmarshal(resp, &m); err != nil {
			return "", fmt.Errorf("decode message: %w", err)
		}
	}
	return m.ID, nil
}
