package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/redact"
	"github.com/viggle-bot/viggle-bot/store"
)

// Timing rules of the Discord notifier.
const (
	// EditInterval: at most one progress edit per job in this time.
	EditInterval = 5 * time.Second
	// tokenMargin: an interaction token is used until this long before it dies (15 minutes after the
	// interaction); after that results go to the channel with the bot token.
	tokenMargin = time.Minute
	editTimeout = 15 * time.Second
)

// QueueStore is what the notifier reads for its views.
type QueueStore interface {
	QueuePosition(ctx context.Context, origin store.Origin, id string) (int, error)
}

// Notifier delivers the engine's results to Discord. It implements jobs.Notifier. Progress edits of
// every job go through one coalescing editor (see editor), each in the job's own rate-limit bucket, so
// one slow or rate-limited edit holds up no other job.
type Notifier struct {
	rest  REST
	appID func() string
	st    QueueStore
	log   *slog.Logger
	now   func() time.Time
	ed    *editor
	// uploads caps concurrent uploads: discordgo holds each file in memory while it sends it.
	uploads chan struct{}
}

var _ jobs.Notifier = (*Notifier)(nil)

// NewNotifier returns a notifier sending through rest; appID returns the application id (known once
// the bot is connected). Run must be running for progress edits to be sent.
func NewNotifier(rest REST, appID func() string, st QueueStore, log *slog.Logger, now func() time.Time) *Notifier {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{rest: rest, appID: appID, st: st, log: log, now: now, uploads: make(chan struct{}, 2)}
	n.ed = newEditor(n)
	return n
}

// Run sends coalesced progress edits until ctx ends.
func (n *Notifier) Run(ctx context.Context) { n.ed.run(ctx) }

// tokenUsable reports whether the job's interaction token may still be used for a normal edit or the
// final result (see tokenPhase).
func (n *Notifier) tokenUsable(j store.Job) bool { return n.tokenPhase(j) == phaseNormal }

func (n *Notifier) original(j store.Job) (string, error) {
	app := n.appID()
	if app == "" {
		return "", errors.New("not connected to Discord yet (no application id)")
	}
	return discordgo.EndpointWebhookMessage(app, j.InteractionToken, "@original"), nil
}

// bucket keeps each interaction's edits in their own rate-limit bucket (discordgo would otherwise put
// every webhook edit of every job in a single one and hold its lock for each whole request).
func bucket(interactionID string) string { return "interaction:" + interactionID }

// editOriginal replaces the interaction's response with v (and files, if any).
func (n *Notifier) editOriginal(ctx context.Context, j store.Job, v view, files []*discordgo.File) (string, error) {
	url, err := n.original(j)
	if err != nil {
		return "", err
	}
	comps := v.Components
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	body := messageEdit{Content: &v.Content, Components: &comps, AllowedMentions: noMentions}
	refs := make([]attachmentRef, len(files))
	for i, f := range files {
		refs[i] = attachmentRef{ID: fmt.Sprint(i), Filename: f.Name}
	}
	body.Attachments = &refs
	return send(ctx, n.rest, n.log, "PATCH", url, bucket(j.InteractionID), body, files)
}

// post sends v to the job's channel with the bot token, mentioning (only) the owner. The nonce makes a
// repeat after a crash return the first message instead of posting a second one.
func (n *Notifier) post(ctx context.Context, j store.Job, channelID, kind string, v view, files []*discordgo.File) (string, error) {
	body := messageCreate{
		Content:         v.Content,
		Components:      v.Components,
		AllowedMentions: ownerOnly(j),
		Nonce:           nonce(j, kind),
		EnforceNonce:    true,
	}
	for i, f := range files {
		body.Attachments = append(body.Attachments, attachmentRef{ID: fmt.Sprint(i), Filename: f.Name})
	}
	return send(ctx, n.rest, n.log, "POST", discordgo.EndpointChannelMessages(channelID), "channel:"+channelID, body, files)
}

// nonce is unique per job and outcome and at most 25 characters, as Discord requires.
func nonce(j store.Job, kind string) string {
	s := "vb" + kind[:1] + j.ID
	if len(s) > 25 {
		s = s[:25]
	}
	return s
}

// deliver shows v where the owner will see it: the interaction's message while its token lives; after
// that a channel message with the bot token that mentions the owner; where the bot may not post there,
// a DM. When the DM is refused too, the job is undeliverable (jobs.ErrUndeliverable). It returns the
// delivery record.
func (n *Notifier) deliver(ctx context.Context, j store.Job, kind string, v view, files []*discordgo.File) (store.Delivery, error) {
	tokenRefused := false
	if n.tokenUsable(j) {
		id, err := n.editOriginal(ctx, j, v, files)
		if err == nil {
			return store.Delivery{Where: store.WhereMessage, MessageID: id}, nil
		}
		if !tokenGone(err) {
			return store.Delivery{}, err
		}
		tokenRefused = true
		j.Logger(n.log).Info("interaction token no longer usable; posting in the channel", "err", redact.Error(err))
	}
	if id, ok := n.alreadyShown(ctx, j, v, tokenRefused); ok {
		j.Logger(n.log).Info("the interaction's message already shows this result; not posting it again")
		return store.Delivery{Where: store.WhereMessage, MessageID: id}, nil
	}
	if v.Content != "" && j.OwnerID != "" {
		v.Content = fmt.Sprintf("<@%s>\n%s", j.OwnerID, v.Content)
	}
	id, err := n.post(ctx, j, j.ChannelID, kind, v, files)
	if err == nil {
		return store.Delivery{Where: store.WhereChannel, MessageID: id}, nil
	}
	if !forbidden(err) {
		return store.Delivery{}, err
	}
	j.Logger(n.log).Info("may not post in the channel; sending a DM", "err", redact.Error(err))
	dm, err := n.dmChannel(ctx, j.OwnerID)
	if err == nil {
		id, err = n.post(ctx, j, dm, kind, v, files)
		if err == nil {
			return store.Delivery{Where: store.WhereDM, MessageID: id, ChannelID: dm}, nil
		}
	}
	if forbidden(err) {
		return store.Delivery{}, fmt.Errorf("neither the channel nor a DM accepted the message (%s): %w", redact.Error(err), jobs.ErrUndeliverable)
	}
	return store.Delivery{}, err
}

// alreadyShown reports whether the interaction's own message already shows v (the same title line), and
// its id: an earlier attempt's final edit landed, and the process stopped before recording it. It is
// asked before posting in the channel, so that a restart after the 14th minute does not post the
// result a second time. While the interaction token lives (and Discord has not just refused it) it
// reads the message with it; after that, with the bot token, among the channel's first messages after
// the interaction (the acknowledgement created it within seconds), which needs Read Message History:
// without it Discord lists no messages. The check is best effort: when it cannot tell, the result is
// posted (the post's nonce still covers a repeat within minutes).
func (n *Notifier) alreadyShown(ctx context.Context, j store.Job, v view, tokenRefused bool) (string, bool) {
	if v.Content == "" {
		return "", false
	}
	title, _, _ := strings.Cut(v.Content, "\n")
	shows := func(content string) bool {
		first, _, _ := strings.Cut(content, "\n")
		return first == title
	}
	if !tokenRefused && n.tokenPhase(j) != phaseGone {
		if url, err := n.original(j); err == nil {
			resp, err := n.rest.RequestWithBucketID("GET", url, nil, bucket(j.InteractionID), discordgo.WithContext(ctx))
			var m struct {
				ID      string `json:"id"`
				Content string `json:"content"`
			}
			switch {
			case err == nil && json.Unmarshal(resp, &m) == nil:
				return m.ID, shows(m.Content)
			case err == nil:
				j.Logger(n.log).Warn("could not read the interaction's message; posting the result")
				return "", false
			case !tokenGone(err):
				j.Logger(n.log).Warn("could not read the interaction's message; posting the result", "err", redact.Error(err))
				return "", false
			}
		}
	}
	if j.InteractionID == "" || j.ChannelID == "" {
		return "", false
	}
	url := discordgo.EndpointChannelMessages(j.ChannelID) + "?after=" + j.InteractionID + "&limit=50"
	resp, err := n.rest.RequestWithBucketID("GET", url, nil, discordgo.EndpointChannelMessages(j.ChannelID), discordgo.WithContext(ctx))
	var msgs []struct {
		ID                  string `json:"id"`
		Content             string `json:"content"`
		InteractionMetadata *struct {
			ID string `json:"id"`
		} `json:"interaction_metadata"`
	}
	if err == nil {
		err = json.Unmarshal(resp, &msgs)
	}
	if err != nil {
		j.Logger(n.log).Warn("could not look for the interaction's message in the channel; posting the result", "err", redact.Error(err))
		return "", false
	}
	for _, m := range msgs {
		if m.InteractionMetadata != nil && m.InteractionMetadata.ID == j.InteractionID {
			return m.ID, shows(m.Content)
		}
	}
	j.Logger(n.log).Debug("the interaction's message is not among the channel's messages (no Read Message History?)")
	return "", false
}

// forbidden reports whether Discord refused a post for good: no access or permission to the channel,
// an unknown channel, or a user who does not accept DMs (50007).
func forbidden(err error) bool {
	code, status := discordCode(err)
	switch code {
	case discordgo.ErrCodeMissingAccess, discordgo.ErrCodeMissingPermissions, discordgo.ErrCodeUnknownChannel,
		discordgo.ErrCodeCannotSendMessagesToThisUser:
		return true
	}
	return status == http.StatusForbidden
}

// dmChannel opens (or finds) the DM channel with a user.
func (n *Notifier) dmChannel(ctx context.Context, userID string) (string, error) {
	resp, err := n.rest.RequestWithBucketID("POST", discordgo.EndpointUserChannels("@me"),
		struct {
			RecipientID string `json:"recipient_id"`
		}{userID}, "dm:"+userID, discordgo.WithContext(ctx))
	if err != nil {
		return "", err
	}
	var ch struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp, &ch); err != nil || ch.ID == "" {
		return "", fmt.Errorf("decode DM channel: %v", err)
	}
	return ch.ID, nil
}

// Progress queues a progress edit of the job's message (coalesced; see editor).
func (n *Notifier) Progress(_ context.Context, j store.Job) error {
	n.ed.update(j)
	return nil
}

// Done delivers the video: attached when it fits the server's upload limit, else as a link (also
// when Discord refuses the upload with 413 / 40005).
func (n *Notifier) Done(ctx context.Context, j store.Job, v jobs.Video) (store.Delivery, error) {
	n.ed.finish(ctx, j.ID)
	if v.File != "" {
		files, closeAll, err := openFiles(j, v)
		if err != nil {
			return store.Delivery{}, err
		}
		select {
		case n.uploads <- struct{}{}:
		case <-ctx.Done():
			closeAll()
			return store.Delivery{}, ctx.Err()
		}
		rec, err := n.deliver(ctx, j, "done", doneView(j, v, true), files)
		<-n.uploads
		closeAll()
		if err == nil {
			return rec, nil
		}
		if !tooLarge(err) {
			return store.Delivery{}, redact.Wrap("deliver video", err)
		}
		j.Logger(n.log).Info("upload refused as too large; sending the link")
	}
	rec, err := n.deliver(ctx, j, "done", doneView(j, v, false), nil)
	if err != nil {
		return store.Delivery{}, redact.Wrap("deliver video link", err)
	}
	rec.Link = true
	return rec, nil
}

// openFiles opens the downloaded video (and mask) for upload as <job id>.mp4 and <job id>-mask.mp4.
func openFiles(j store.Job, v jobs.Video) ([]*discordgo.File, func(), error) {
	var opened []*os.File
	closeAll := func() {
		for _, f := range opened {
			f.Close()
		}
	}
	var files []*discordgo.File
	add := func(path, name string) error {
		f, err := os.Open(filepath.Clean(path))
		if err != nil {
			return fmt.Errorf("open video: %w", err)
		}
		opened = append(opened, f)
		files = append(files, &discordgo.File{Name: name, ContentType: "video/mp4", Reader: f})
		return nil
	}
	if err := add(v.File, j.ID+".mp4"); err != nil {
		closeAll()
		return nil, nil, err
	}
	if v.MaskFile != "" {
		if err := add(v.MaskFile, j.ID+"-mask.mp4"); err != nil {
			closeAll()
			return nil, nil, err
		}
	}
	return files, closeAll, nil
}

func (n *Notifier) ended(ctx context.Context, j store.Job, kind string) (store.Delivery, error) {
	n.ed.finish(ctx, j.ID)
	d, err := n.deliver(ctx, j, kind, endedView(j), nil)
	if err != nil {
		return store.Delivery{}, redact.Wrap("tell the owner ("+kind+")", err)
	}
	return d, nil
}

// Failed shows what went wrong and what to do next.
func (n *Notifier) Failed(ctx context.Context, j store.Job) (store.Delivery, error) {
	return n.ended(ctx, j, "failed")
}

// Cancelled shows that the render was cancelled.
func (n *Notifier) Cancelled(ctx context.Context, j store.Job) (store.Delivery, error) {
	return n.ended(ctx, j, "cancelled")
}

// Interrupted says that the render may have reached Viggle and was not sent again.
func (n *Notifier) Interrupted(ctx context.Context, j store.Job) (store.Delivery, error) {
	return n.ended(ctx, j, "interrupted")
}

// Forget drops the editor's state for the job.
func (n *Notifier) Forget(jobID string) { n.ed.forget(jobID) }

// editor coalesces progress edits: per job, only the latest view is kept, and it is sent at most once
// per EditInterval and only when state, percent or stage changed. Edits run concurrently (a few at a
// time), each with its own deadline and in its own rate-limit bucket.
type editor struct {
	n    *Notifier
	mu   sync.Mutex
	jobs map[string]*editState
	wake chan struct{}
	sem  chan struct{}
}

type editState struct {
	latest   store.Job
	pending  bool
	lastSent bool // the one "still rendering" edit before the token dies
	gone     bool // Discord said the token is dead: no more edits (401s count toward a ban)
	lastKey  string
	lastAt   time.Time
	inflight chan struct{} // non-nil while an edit is being sent; closed when it ends
	final    bool
}

func newEditor(n *Notifier) *editor {
	return &editor{n: n, jobs: map[string]*editState{}, wake: make(chan struct{}, 1), sem: make(chan struct{}, 4)}
}

func progressKey(j store.Job) string {
	return fmt.Sprintf("%s|%s|%d|%s", j.State, j.ViggleStatus, j.Progress, j.Stage)
}

// tokenPhase says what the job's interaction token is still good for: normal edits; one last edit (the
// minute before it dies); nothing.
func (n *Notifier) tokenPhase(j store.Job) int {
	left := j.TokenExpiresAt.Sub(n.now())
	switch {
	case j.InteractionToken == "" || left <= 10*time.Second:
		return phaseGone
	case left <= tokenMargin:
		return phaseLast
	}
	return phaseNormal
}

const (
	phaseNormal = iota
	phaseLast
	phaseGone
)

func (e *editor) update(j store.Job) {
	if e.n.tokenPhase(j) == phaseGone {
		return // the result goes to the channel
	}
	e.mu.Lock()
	st := e.jobs[j.ID]
	if st == nil {
		st = &editState{}
		e.jobs[j.ID] = st
	}
	if st.final || (progressKey(j) == st.lastKey && !st.pending) {
		e.mu.Unlock()
		return
	}
	st.latest, st.pending = j, true
	e.mu.Unlock()
	e.poke()
}

func (e *editor) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// finish stops progress edits of a job and waits for one in flight, so that it cannot overwrite the
// final message.
func (e *editor) finish(ctx context.Context, id string) {
	e.mu.Lock()
	st := e.jobs[id]
	if st == nil {
		e.mu.Unlock()
		return
	}
	st.final, st.pending = true, false
	inflight := st.inflight
	e.mu.Unlock()
	if inflight != nil {
		select {
		case <-inflight:
		case <-ctx.Done():
		}
	}
	e.mu.Lock()
	delete(e.jobs, id)
	e.mu.Unlock()
}

// forget drops the job's state without waiting for an edit in flight (which ends on its own).
func (e *editor) forget(id string) {
	e.mu.Lock()
	delete(e.jobs, id)
	e.mu.Unlock()
}

func (e *editor) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		now := e.n.now()
		next := time.Hour
		var due []*editState
		e.mu.Lock()
		for _, st := range e.jobs {
			if st.inflight != nil || st.final || st.gone {
				continue
			}
			switch e.n.tokenPhase(st.latest) {
			case phaseGone:
				continue
			case phaseLast:
				if st.lastSent {
					continue
				}
			default:
				if !st.lastSent {
					next = min(next, st.latest.TokenExpiresAt.Add(-tokenMargin).Sub(now))
				}
				if !st.pending {
					continue
				}
				if wait := st.lastAt.Add(EditInterval).Sub(now); wait > 0 {
					next = min(next, wait)
					continue
				}
			}
			st.pending = false
			st.inflight = make(chan struct{})
			due = append(due, st)
		}
		e.mu.Unlock()
		next = max(next, 10*time.Millisecond)
		for _, st := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.send(ctx, st)
			}()
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		}
	}
}

func (e *editor) send(ctx context.Context, st *editState) {
	acquired := false
	select {
	case e.sem <- struct{}{}:
		acquired = true
	case <-ctx.Done():
	}
	e.mu.Lock()
	j := st.latest
	last := e.n.tokenPhase(j) == phaseLast
	if last {
		st.lastSent = true
	}
	e.mu.Unlock()
	if acquired {
		ectx, cancel := context.WithTimeout(ctx, editTimeout)
		pos := 0
		if j.State == store.StateRunning {
			if p, err := e.n.st.QueuePosition(ectx, j.Origin, j.ID); err == nil {
				pos = p
			}
		}
		v := progressView(j, pos)
		if last {
			v = lastEditView(j, pos)
		}
		_, err := e.n.editOriginal(ectx, j, v, nil)
		cancel()
		if err != nil {
			j.Logger(e.n.log).Warn("progress edit failed", "err", redact.Error(err))
		}
		<-e.sem
		if tokenGone(err) {
			e.mu.Lock()
			st.gone = true
			e.mu.Unlock()
		}
	}
	e.mu.Lock()
	st.lastKey, st.lastAt = progressKey(j), e.n.now()
	close(st.inflight)
	st.inflight = nil
	e.mu.Unlock()
	e.poke() // a newer update may have arrived meanwhile
}
