package commands

import (
	"fmt"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// Discord's limits on what a message (or an interaction answer) may carry, counted in characters. The
// views are built to fit them; fitResponse and fitMessage check every message before it is sent and
// clip what does not fit, as a last resort (the caller logs a warning).
const (
	maxContent          = 2000
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxEmbedTotal       = 6000
	maxEmbedFields      = 25
	maxFieldName        = 256
	maxFieldValue       = 1024
	maxFooter           = 2048
	maxAuthor           = 256
	maxLabel            = 80
	maxCustomID         = 100
	maxRows             = 5
	maxRowComponents    = 5
	maxChoices          = 25
	maxChoiceText       = 100
)

const ellipsis = "…"

func runes(s string) int { return utf8.RuneCountInString(s) }

// clip returns s, or its first n-1 characters and "…" when it is longer than n characters.
func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n || runes(s) <= n {
		return s
	}
	k := 0
	for i := range s {
		if k == n-1 {
			return s[:i] + ellipsis
		}
		k++
	}
	return s
}

// fitter clips fields to their limits and remembers what it clipped.
type fitter struct{ clipped []string }

func (f *fitter) text(what string, s *string, n int) {
	if c := clip(*s, n); c != *s {
		f.clipped = append(f.clipped, fmt.Sprintf("%s (%d characters, limit %d)", what, runes(*s), n))
		*s = c
	}
}

// components returns comps within the limits: at most maxRows rows of at most maxRowComponents,
// labels and custom ids clipped. Rows are copied, never changed in place.
func (f *fitter) components(comps []discordgo.MessageComponent) []discordgo.MessageComponent {
	if len(comps) > maxRows {
		f.clipped = append(f.clipped, fmt.Sprintf("%d action rows (limit %d)", len(comps), maxRows))
		comps = comps[:maxRows]
	}
	out := make([]discordgo.MessageComponent, len(comps))
	for k, c := range comps {
		out[k] = c
		row, ok := c.(discordgo.ActionsRow)
		if p, isPtr := c.(*discordgo.ActionsRow); isPtr && p != nil {
			row, ok = *p, true
		}
		if !ok {
			continue
		}
		kids := row.Components
		if len(kids) > maxRowComponents {
			f.clipped = append(f.clipped, fmt.Sprintf("%d components in a row (limit %d)", len(kids), maxRowComponents))
			kids = kids[:maxRowComponents]
		}
		row.Components = make([]discordgo.MessageComponent, len(kids))
		for n, kid := range kids {
			switch b := kid.(type) {
			case discordgo.Button:
				f.button(&b)
				kid = b
			case *discordgo.Button:
				if b != nil {
					cp := *b
					f.button(&cp)
					kid = &cp
				}
			case discordgo.SelectMenu:
				f.text("select menu custom id", &b.CustomID, maxCustomID)
				f.text("select menu placeholder", &b.Placeholder, 150)
				kid = b
			}
			row.Components[n] = kid
		}
		out[k] = row
	}
	return out
}

func (f *fitter) button(b *discordgo.Button) {
	f.text("button label", &b.Label, maxLabel)
	if b.Style != discordgo.LinkButton {
		f.text("button custom id", &b.CustomID, maxCustomID)
	}
}

func (f *fitter) embeds(embeds []*discordgo.MessageEmbed) []*discordgo.MessageEmbed {
	if len(embeds) == 0 {
		return embeds
	}
	out := make([]*discordgo.MessageEmbed, len(embeds))
	total := 0
	for k, e := range embeds {
		if e == nil {
			continue
		}
		cp := *e
		f.text("embed title", &cp.Title, maxEmbedTitle)
		f.text("embed description", &cp.Description, maxEmbedDescription)
		if len(cp.Fields) > maxEmbedFields {
			f.clipped = append(f.clipped, fmt.Sprintf("%d embed fields (limit %d)", len(cp.Fields), maxEmbedFields))
			cp.Fields = cp.Fields[:maxEmbedFields]
		}
		n := runes(cp.Title) + runes(cp.Description)
		fields := make([]*discordgo.MessageEmbedField, len(cp.Fields))
		for i, fl := range cp.Fields {
			if fl == nil {
				continue
			}
			c := *fl
			f.text("embed field name", &c.Name, maxFieldName)
			f.text("embed field value", &c.Value, maxFieldValue)
			n += runes(c.Name) + runes(c.Value)
			fields[i] = &c
		}
		cp.Fields = fields
		if cp.Footer != nil {
			ft := *cp.Footer
			f.text("embed footer", &ft.Text, maxFooter)
			n += runes(ft.Text)
			cp.Footer = &ft
		}
		if cp.Author != nil {
			a := *cp.Author
			f.text("embed author", &a.Name, maxAuthor)
			n += runes(a.Name)
			cp.Author = &a
		}
		// Over the total: the description gives way first, then the last fields.
		if over := total + n - maxEmbedTotal; over > 0 {
			d := runes(cp.Description)
			f.text("embeds in all", &cp.Description, max(0, d-over))
			n -= d - runes(cp.Description)
			for total+n > maxEmbedTotal && len(cp.Fields) > 0 {
				last := cp.Fields[len(cp.Fields)-1]
				if last != nil {
					n -= runes(last.Name) + runes(last.Value)
				}
				cp.Fields = cp.Fields[:len(cp.Fields)-1]
				f.clipped = append(f.clipped, "an embed field (embeds in all over the limit)")
			}
		}
		total += n
		out[k] = &cp
	}
	return out
}

// fitResponse clips r to Discord's limits in place and says what it clipped.
func fitResponse(r *Response) []string {
	var f fitter
	f.text("content", &r.Content, maxContent)
	if r.Components != nil {
		r.Components = f.components(r.Components)
	}
	r.Embeds = f.embeds(r.Embeds)
	if len(r.Choices) > maxChoices {
		f.clipped = append(f.clipped, fmt.Sprintf("%d choices (limit %d)", len(r.Choices), maxChoices))
		r.Choices = r.Choices[:maxChoices]
	}
	for k, c := range r.Choices {
		if c == nil {
			continue
		}
		cp := *c
		f.text("choice name", &cp.Name, maxChoiceText)
		if s, ok := cp.Value.(string); ok {
			f.text("choice value", &s, maxChoiceText)
			cp.Value = s
		}
		r.Choices[k] = &cp
	}
	f.text("modal title", &r.Title, 45)
	f.text("modal custom id", &r.CustomID, maxCustomID)
	return f.clipped
}

// fitBody clips the body of a message sent with send (an edit or a channel post) and says what it
// clipped; other bodies are returned as they are.
func fitBody(body any) (any, []string) {
	var f fitter
	switch b := body.(type) {
	case messageEdit:
		if b.Content != nil {
			c := *b.Content
			f.text("content", &c, maxContent)
			b.Content = &c
		}
		if b.Components != nil {
			c := f.components(*b.Components)
			b.Components = &c
		}
		if b.Embeds != nil {
			e := f.embeds(*b.Embeds)
			b.Embeds = &e
		}
		return b, f.clipped
	case messageCreate:
		f.text("content", &b.Content, maxContent)
		if b.Components != nil {
			b.Components = f.components(b.Components)
		}
		return b, f.clipped
	}
	return body, nil
}
