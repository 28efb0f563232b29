package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

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

// header is the first lines common to a job's views: scene, job id, map.
func header(j store.Job, title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** · scene %s · job %s\n", title, code(j.Request.SceneID), code(j.ID))
	pairs := make([]string, 0, len(j.Request.Mapping))
	for _, p := range j.Request.Mapping {
		pairs = append(pairs, code(p.Person)+" → "+code(p.Character))
	}
	const maxMap = 1200
	m := strings.Join(pairs, ", ")
	if len(m) > maxMap {
		m = m[:strings.LastIndex(m[:maxMap], ", ")] + ", …"
	}
	fmt.Fprintf(&b, "Map: %s\n", m)
	if opts := options(j); opts != "" {
		fmt.Fprintf(&b, "Options: %s\n", opts)
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
		discordgo.Button{Label: "Cancel render", Style: discordgo.DangerButton, CustomID: btnCancel + ":" + j.ID},
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
	b.WriteString(header(j, "Rendering"))
	switch j.State {
	case store.StateQueued, store.StateSubmitting:
		b.WriteString("Status: sending to Viggle…\n")
	case store.StateRunning:
		status := j.ViggleStatus
		if status == "" {
			status = "queued"
		}
		fmt.Fprintf(&b, "Status: %s · %d%%", status, j.Progress)
		if j.Stage != "" {
			fmt.Fprintf(&b, " · %s", strings.ReplaceAll(j.Stage, "_", " "))
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

// doneView shows a finished video, attached (the file goes with the message) or as a link.
func doneView(j store.Job, v jobs.Video, attached bool) view {
	var b strings.Builder
	b.WriteString(header(j, "Done!"))
	fmt.Fprintf(&b, "<@%s>, your video is ready", j.OwnerID)
	if attached {
		b.WriteString(".")
		return view{Content: b.String()}
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
	return view{Content: b.String(), Components: comps}
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// clip keeps text from outside (Viggle's messages) short enough for a Discord message.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// endedView shows a job that failed, was cancelled or interrupted: what happened and what to do next.
func endedView(j store.Job) view {
	j.ErrorMessage = clip(j.ErrorMessage, 500)
	j.ErrorCode = clip(j.ErrorCode, 60)
	j.ViggleJobID = clip(j.ViggleJobID, 130)
	var b strings.Builder
	switch j.State {
	case store.StateCancelled:
		b.WriteString(header(j, "Cancelled"))
		b.WriteString(j.ErrorMessage)
	case store.StateInterrupted:
		b.WriteString(header(j, "Interrupted"))
		fmt.Fprintf(&b, "%s\nCheck the Viggle dashboard before you start it again.", j.ErrorMessage)
	default:
		b.WriteString(header(j, "Render failed"))
		fmt.Fprintf(&b, "%s\n%s", j.ErrorMessage, jobs.Advice(j.ErrorCode))
	}
	var ids []string
	if j.ErrorCode != "" {
		ids = append(ids, "error "+code(j.ErrorCode))
	}
	if j.ViggleJobID != "" {
		ids = append(ids, "Viggle job "+code(j.ViggleJobID))
	}
	if len(ids) > 0 {
		fmt.Fprintf(&b, "\n-# %s", strings.Join(ids, " · "))
	}
	v := view{Content: b.String()}
	if j.State == store.StateFailed || j.State == store.StateInterrupted {
		v.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Retry (uses credits again)", Style: discordgo.SecondaryButton, CustomID: btnRetry + ":" + j.ID},
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
// owner, the filter and the page.
func jobsView(list []*store.Job, owner, status string, page, total int) view {
	if total == 0 {
		msg := "You have no renders in this server yet. Start one with `/render`."
		if status != "" {
			msg = fmt.Sprintf("You have no %s renders in this server.", status)
		}
		return view{Content: msg}
	}
	var b strings.Builder
	title := "Your renders in this server"
	if status != "" {
		title = fmt.Sprintf("Your %s renders in this server", status)
	}
	pages := (total + jobsPageSize - 1) / jobsPageSize
	fmt.Fprintf(&b, "**%s** (page %d of %d)\n", title, page+1, pages)
	for _, j := range list {
		fmt.Fprintf(&b, "%s · %s · %s · %s", code(j.ID), code(j.Request.SceneID), stateLabel(j), ts(j.CreatedAt))
		if link := resultLink(j); link != "" {
			fmt.Fprintf(&b, " · [result](%s)", link)
		}
		b.WriteString("\n")
	}
	v := view{Content: strings.TrimSuffix(b.String(), "\n")}
	if pages > 1 {
		id := func(p int) string { return fmt.Sprintf("%s:%s:%s:%d", btnPage, owner, status, p) }
		v.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Previous", Style: discordgo.SecondaryButton, CustomID: id(page - 1), Disabled: page == 0},
			discordgo.Button{Label: "Next", Style: discordgo.SecondaryButton, CustomID: id(page + 1), Disabled: page+1 >= pages},
		}}}
	}
	return v
}

// resultLink points at a job's result: the message it was delivered in, else the video URL.
func resultLink(j *store.Job) string {
	if d := j.Delivery; d.Shown() && d.Where != store.WhereDM && j.GuildID != "" {
		ch := d.ChannelID
		if ch == "" {
			ch = j.ChannelID
		}
		return fmt.Sprintf("https://discord.com/channels/%s/%s/%s", j.GuildID, ch, d.MessageID)
	}
	if j.State == store.StateDelivered || j.State == store.StateUndeliverable {
		return j.VideoURL
	}
	return ""
}
