package commands

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
)

// Every message the bot shows is built here, from plain job values.

// view is a message's content and buttons.
type view struct {
	Content    string
	Components []discordgo.MessageComponent
}

// noMentions keeps echoed user text (ids, scene names) from pinging anyone.
var noMentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}

// code shows user-supplied text in a code span, which Discord does not interpret.
func code(s string) string {
	s = strings.ReplaceAll(s, "`", "ˋ")
	return "`" + s + "`"
}

func ts(t time.Time) string { return fmt.Sprintf("<t:%d:R>", t.Unix()) }

// Budgets, in characters, of the parts of a view that come from outside and can be long. The Viggle
// error code and the job ids (ours and Viggle's) are never clipped: the other parts are budgeted so that
// a view with ids of realistic length (≤ 200 characters in all) fits Discord's 2,000.
const (
	sceneBudget     = 100 // a scene id in a view's title line
	listSceneBudget = 32  // a scene id in a /jobs line
	mapBudget       = 700 // the "Map:" line
	statusBudget    = 40  // Viggle's status and stage words
)

// header is the first lines common to a job's views: title, scene, job id, map (within mapMax
// characters, clipped at a pair with "…"), options.
func header(j store.Job, title string, mapMax int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** · scene %s · job %s\n", title, code(clip(j.Request.SceneID, sceneBudget)), code(j.ID))
	fmt.Fprintf(&b, "Map: %s\n", mapText(j, mapMax-runes("Map: \n")))
	if opts := options(j); opts != "" {
		fmt.Fprintf(&b, "Options: %s\n", opts)
	}
	return b.String()
}

// mapText is the job's map in at most n characters: whole pairs, then ", …" when some are left out.
func mapText(j store.Job, n int) string {
	var b strings.Builder
	used := 0
	for k, p := range j.Request.Mapping {
		pair := code(p.Person) + " → " + code(p.Character)
		sep := ""
		if k > 0 {
			sep = ", "
		}
		more := k+1 < len(j.Request.Mapping)
		need := runes(sep) + runes(pair)
		if more {
			need += runes(", " + ellipsis) // room to say that more follow
		}
		if used+need > n {
			if k == 0 {
				return clip(ellipsis, n)
			}
			b.WriteString(", " + ellipsis)
			return b.String()
		}
		b.WriteString(sep)
		b.WriteString(pair)
		used += runes(sep) + runes(pair)
	}
	return b.String()
}

func options(j store.Job) string {
	var o []string
	if j.Request.Background != "" {
		bg := j.Request.Background
		if j.Request.BGColor != "" {
			bg += " " + j.Request.BGColor
		}
		o = append(o, "background "+bg)
	}
	if j.Request.Fast {
		o = append(o, "fast")
	}
	if j.Request.Model != "" {
		o = append(o, j.Request.Model)
	}
	return strings.Join(o, ", ")
}

func cancelButton(j store.Job) []discordgo.MessageComponent {
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Cancel render", Style: discordgo.DangerButton, CustomID: cancelID.build(j.ID)},
	}}}
}

// progressView shows a job that is on its way. position is its place among this bot's jobs still
// queued at Viggle (0: not queued).
func progressView(j store.Job, position int) view {
	return progressWith(j, position, "I'll edit this message when it's done.")
}

// progressWith is progressView with its last sentence, what happens next, given.
func progressWith(j store.Job, position int, next string) view {
	var b strings.Builder
	b.WriteString(header(j, "Rendering", mapBudget))
	if j.EstimatedCredits > 0 {
		fmt.Fprintf(&b, "Cost: about %s\n", creditsText(j.EstimatedCredits))
	}
	switch j.State {
	case store.StateQueued, store.StateSubmitting:
		b.WriteString("Status: sending to Viggle…\n")
	case store.StateRunning:
		status := clip(j.ViggleStatus, statusBudget)
		if status == "" {
			status = "queued"
		}
		fmt.Fprintf(&b, "Status: %s · %d%%", status, j.Progress)
		if j.Stage != "" {
			fmt.Fprintf(&b, " · %s", clip(strings.ReplaceAll(j.Stage, "_", " "), statusBudget))
		}
		if position > 0 {
			fmt.Fprintf(&b, " · #%d in Viggle's queue", position)
		}
		b.WriteString("\n")
	case store.StateComplete, store.StateDelivering:
		b.WriteString("Status: finished, uploading the video…\n")
	}
	started := j.SubmittedAt
	if started.IsZero() {
		started = j.CreatedAt
	}
	fmt.Fprintf(&b, "Started %s. %s", ts(started), next)
	return view{Content: b.String(), Components: cancelButton(j)}
}

// lastEditView is the job's last progress edit, sent the minute before its interaction token dies:
// after it the message cannot change, so the result will be posted in the channel.
func lastEditView(j store.Job, position int) view {
	return progressWith(j, position, fmt.Sprintf(
		"Still rendering — this message can't change any more, so I'll post the result here and mention <@%s>.", j.OwnerID))
}

// doneView shows a finished video, attached (the file goes with the message) or as a link. The link is
// never clipped: the map gives way to it.
func doneView(j store.Job, v jobs.Video, attached bool) view {
	var b strings.Builder
	fmt.Fprintf(&b, "<@%s>, your video is ready", j.OwnerID)
	if attached {
		b.WriteString(".")
		return view{Content: header(j, "Done!", mapBudget) + b.String()}
	}
	switch {
	case v.DownloadErr != nil:
		b.WriteString(" (I could not fetch it to attach it here)")
	case v.Size > 0:
		fmt.Fprintf(&b, " (%s, over this server's upload limit of %s)", mib(v.Size), mib(j.UploadLimit))
	default:
		fmt.Fprintf(&b, " (over this server's upload limit of %s)", mib(j.UploadLimit))
	}
	fmt.Fprintf(&b, ": %s\nThe link expires after a while: download it soon.", v.URL)
	var comps []discordgo.MessageComponent
	if len(v.URL) <= 512 {
		comps = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Open video", Style: discordgo.LinkButton, URL: v.URL},
		}}}
	}
	rest := b.String()
	return view{Content: header(j, "Done!", budgetFor(j, "Done!", rest)) + rest, Components: comps}
}

// budgetFor is the map's budget in a view whose header (title) is followed by rest: mapBudget, less
// whatever rest needs beyond the rest of the message.
func budgetFor(j store.Job, title, rest string) int {
	fixed := runes(header(j, title, 0)) - runes(mapText(j, 0)) + runes(rest)
	return max(0, min(mapBudget, maxContent-fixed))
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// endedView shows a job that failed, was cancelled or interrupted: what happened (explain.Outcome),
// what to do next, the error code and the ids. Viggle's message gives way to the rest; the code and the
// ids are never clipped.
func endedView(j store.Job) view {
	title, next, retry := "Render failed", explain.Advice(j.ErrorCode), "Retry (uses credits again)"
	switch j.State {
	case store.StateCancelled:
		title, next, retry = "Cancelled", "", ""
	case store.StateInterrupted:
		title, retry = "Interrupted", "Retry (may use credits twice)"
		next = "It may have reached Viggle and may have used credits: check the Viggle dashboard before you start it again."
	}
	var ids []string
	if c := explain.Code(j.ErrorCode); c != "" {
		ids = append(ids, "error "+code(c))
	}
	if j.ViggleJobID != "" {
		ids = append(ids, "Viggle job "+code(j.ViggleJobID))
	}
	var tail strings.Builder
	if next != "" {
		tail.WriteString("\n" + next)
	}
	if len(ids) > 0 {
		fmt.Fprintf(&tail, "\n-# %s", strings.Join(ids, " · "))
	}
	what := explain.Outcome(j)
	head := header(j, title, mapBudget)
	if room := maxContent - runes(head) - runes(tail.String()); runes(what) > room {
		// Viggle's message gives way first, down to a readable part; then the map.
		keep := max(room, 300)
		head = header(j, title, mapBudget-(keep-room))
		what = clip(what, maxContent-runes(head)-runes(tail.String()))
	}
	v := view{Content: head + what + tail.String()}
	if retry != "" {
		v.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: retry, Style: discordgo.SecondaryButton, CustomID: retryID.build(j.ID)},
		}}}
	}
	return v
}

// stateLabel is a job's state in the words of the /jobs list.
func stateLabel(j *store.Job) string {
	switch j.State {
	case store.StateQueued, store.StateSubmitting:
		return "sending"
	case store.StateRunning:
		return fmt.Sprintf("rendering %d%%", j.Progress)
	case store.StateComplete, store.StateDelivering:
		return "uploading"
	case store.StateDelivered:
		return "done"
	case store.StateUndeliverable:
		return "done (not delivered)"
	case store.StateFailed:
		if j.ErrorCode != "" {
			return "failed (" + j.ErrorCode + ")"
		}
		return "failed"
	}
	return string(j.State)
}

// jobsPageSize is how many jobs one /jobs page lists.
const jobsPageSize = 10

// jobsView lists one page of the caller's jobs, newest first, with Previous/Next buttons that carry the
// owner, the filter and the page. A result link that does not fit in the text (a long video URL) becomes
// a link button instead.
func jobsView(list []*store.Job, owner, status string, page, total int) view {
	if total == 0 {
		msg := "You have no renders in this server yet. Start one with `/render`."
		if status != "" {
			msg = fmt.Sprintf("You have no %s renders in this server.", status)
		}
		return view{Content: msg}
	}
	title := "Your renders in this server"
	if status != "" {
		title = fmt.Sprintf("Your %s renders in this server", status)
	}
	pages := (total + jobsPageSize - 1) / jobsPageSize
	lines := make([]string, len(list))
	links := make([]string, len(list))
	used := runes(fmt.Sprintf("**%s** (page %d of %d)", title, page+1, pages))
	for k, j := range list {
		lines[k] = fmt.Sprintf("%s · %s · %s · %s", code(j.ID), code(clip(j.Request.SceneID, listSceneBudget)), stateLabel(j), ts(j.CreatedAt))
		links[k] = resultLink(j)
		used += 1 + runes(lines[k])
	}
	const note = " · result: the button below"
	left := 0 // links still to place
	for _, link := range links {
		if link != "" {
			left++
		}
	}
	var buttons []discordgo.MessageComponent
	for k, link := range links {
		if link == "" {
			continue
		}
		left--
		// In the text while the links after it can still have at least their note.
		if md := " · [result](" + link + ")"; used+runes(md)+left*runes(note) <= maxContent {
			lines[k] += md
			used += runes(md)
			continue
		}
		if len(link) <= 512 && len(buttons) < (maxRows-1)*maxRowComponents {
			lines[k] += note
			used += runes(note)
			buttons = append(buttons, discordgo.Button{Label: "Result " + clip(list[k].ID, maxLabel-len("Result ")),
				Style: discordgo.LinkButton, URL: link})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** (page %d of %d)", title, page+1, pages)
	for _, l := range lines {
		b.WriteString("\n" + l)
	}
	v := view{Content: b.String()}
	for len(buttons) > 0 {
		n := min(len(buttons), maxRowComponents)
		v.Components = append(v.Components, discordgo.ActionsRow{Components: buttons[:n]})
		buttons = buttons[n:]
	}
	if pages > 1 {
		id := func(p int) string { return pageID.build(owner, status, strconv.Itoa(p)) }
		v.Components = append(v.Components, discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Previous", Style: discordgo.SecondaryButton, CustomID: id(page - 1), Disabled: page == 0},
			discordgo.Button{Label: "Next", Style: discordgo.SecondaryButton, CustomID: id(page + 1), Disabled: page+1 >= pages},
		}})
	}
	return v
}

// resultLink points at a job's result: the message it was delivered in, else the video URL.
func resultLink(j *store.Job) string {
	if d := j.Delivery; d.Shown() {
		switch {
		case d.Where == store.WhereDM && d.ChannelID != "":
			return fmt.Sprintf("https://discord.com/channels/@me/%s/%s", d.ChannelID, d.MessageID)
		case d.Where != store.WhereDM && j.GuildID != "":
			ch := d.ChannelID
			if ch == "" {
				ch = j.ChannelID
			}
			return fmt.Sprintf("https://discord.com/channels/%s/%s/%s", j.GuildID, ch, d.MessageID)
		}
	}
	if j.State == store.StateDelivered || j.State == store.StateUndeliverable {
		return j.VideoURL
	}
	return ""
}

// creditsText is "1 credit" or "N credits".
func creditsText(n int) string {
	if n == 1 {
		return "1 credit"
	}
	return fmt.Sprintf("%d credits", n)
}
