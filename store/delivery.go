package store

import (
	"encoding/json"
	"strings"
)

// Where says where a job's result (or the news of its outcome) was shown.
type Where string

// Delivery places.
const (
	WhereNone    Where = ""        // nothing was shown (see Delivery.Note)
	WhereMessage Where = "message" // the interaction's own message
	WhereChannel Where = "channel" // a message posted in a channel with the bot token
	WhereDM      Where = "dm"      // a direct message to the owner
	WhereFile    Where = "file"    // the terminal's output file
)

// Delivery records how a job's result reached its owner: the delivery column. It is stored as JSON;
// rows written before the type existed hold the legacy strings ("message:<id>", "message:<id>,channel",
// "dm:<id>", each perhaps followed by ",attachment" or ",link"; "told", "owner not told",
// "not told (never acknowledged)", "file:<paths>"), which ParseDelivery reads.
type Delivery struct {
	Where     Where  `json:"where,omitempty"`
	MessageID string `json:"message_id,omitempty"` // the message that shows the result ("" when none)
	ChannelID string `json:"channel_id,omitempty"` // its channel: "" = the job's channel; a DM's channel for WhereDM
	Link      bool   `json:"link,omitempty"`       // the video was given as a link, not attached
	Note      string `json:"note,omitempty"`       // when nothing could be shown: why ("owner not told", "never acknowledged")
}

// Notes the engine records when nothing was shown.
const (
	NoteOwnerNotTold      = "owner not told"
	NoteNeverAcknowledged = "never acknowledged"
)

// Shown reports whether a message shows the result.
func (d Delivery) Shown() bool {
	switch d.Where {
	case WhereMessage, WhereChannel, WhereDM:
		return d.MessageID != ""
	}
	return false
}

// IsZero reports whether nothing is recorded.
func (d Delivery) IsZero() bool { return d == Delivery{} }

// String is a short description for logs, in the shape of the legacy column ("message:<id>,link").
func (d Delivery) String() string {
	var b strings.Builder
	switch d.Where {
	case WhereMessage:
		b.WriteString("message:" + d.MessageID)
	case WhereChannel:
		b.WriteString("message:" + d.MessageID + ",channel")
	case WhereDM:
		b.WriteString("dm:" + d.MessageID)
	case WhereNone:
	default:
		b.WriteString(string(d.Where))
	}
	if d.Link {
		b.WriteString(",link")
	}
	if d.Note != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("(" + d.Note + ")")
	}
	return b.String()
}

// encode is the column's value: "" for nothing recorded, else JSON.
func (d Delivery) encode() string {
	if d.IsZero() {
		return ""
	}
	b, err := json.Marshal(d)
	if err != nil { // cannot happen: strings and a bool
		return ""
	}
	return string(b)
}

// ParseDelivery reads the delivery column: JSON, or a legacy string. What it cannot read is kept as
// the Note.
func ParseDelivery(s string) Delivery {
	s = strings.TrimSpace(s)
	if s == "" {
		return Delivery{}
	}
	if strings.HasPrefix(s, "{") {
		var d Delivery
		if err := json.Unmarshal([]byte(s), &d); err == nil {
			return d
		}
		return Delivery{Note: s}
	}
	switch s {
	case "told":
		return Delivery{Note: "told"} // legacy: shown somewhere, not recorded where
	case NoteOwnerNotTold:
		return Delivery{Note: NoteOwnerNotTold}
	case "not told (never acknowledged)":
		return Delivery{Note: NoteNeverAcknowledged}
	}
	if strings.HasPrefix(s, "file:") {
		return Delivery{Where: WhereFile}
	}
	var d Delivery
	head, rest, _ := strings.Cut(s, ",")
	switch {
	case strings.HasPrefix(head, "message:"):
		d = Delivery{Where: WhereMessage, MessageID: strings.TrimPrefix(head, "message:")}
	case strings.HasPrefix(head, "dm:"):
		d = Delivery{Where: WhereDM, MessageID: strings.TrimPrefix(head, "dm:")}
	default:
		return Delivery{Note: s}
	}
	for _, f := range strings.Split(rest, ",") {
		switch f {
		case "channel":
			if d.Where == WhereMessage {
				d.Where = WhereChannel
			}
		case "link":
			d.Link = true
		}
	}
	return d
}
