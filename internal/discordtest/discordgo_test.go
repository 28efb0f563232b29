package discordtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// TestDiscordgoSession drives the fake with a real discordgo session, the
// way the bot does.
func TestDiscordgoSession(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t)
	b := connect(t, fake, base, false)
	s := b.s

	t.Run("ready and guild create", func(t *testing.T) {
		if got := fake.Sessions(); got != 1 {
			t.Errorf("Sessions = %d, want 1", got)
		}
		if s.State.User == nil || s.State.User.ID != DefaultAppID || !s.State.User.Bot {
			t.Errorf("state user = %+v, want the bot %s", s.State.User, DefaultAppID)
		}
		g, err := s.State.Guild(DefaultGuildID)
		if err != nil {
			t.Fatalf("state guild: %v", err)
		}
		if g.Name == "" || len(g.Channels) != 1 || g.Channels[0].ID != DefaultChannelID {
			t.Errorf("guild from GUILD_CREATE = %q with channels %v", g.Name, g.Channels)
		}
		var id struct {
			Compress bool  `json:"compress"`
			Intents  int64 `json:"intents"`
		}
		if err := json.Unmarshal(fake.Identifies()[0], &id); err != nil || !id.Compress || id.Intents != int64(discordgo.IntentsGuilds) {
			t.Errorf("identify = %+v (%v), want compress and the guilds intent", id, err)
		}
	})

	t.Run("users and guilds", func(t *testing.T) {
		u, err := s.User("@me")
		if err != nil || u.ID != DefaultAppID || !u.Bot {
			t.Fatalf("User(@me) = %+v, %v", u, err)
		}
		g, err := s.Guild(DefaultGuildID)
		if err != nil || g.ID != DefaultGuildID {
			t.Fatalf("Guild = %+v, %v", g, err)
		}
		_, err = s.Guild("999")
		wantRESTError(t, err, http.StatusNotFound, CodeUnknownGuild)
		gb, err := s.GatewayBot()
		if err != nil || gb.Shards != 1 || !strings.HasPrefix(gb.URL, "ws://127.0.0.1:") {
			t.Fatalf("GatewayBot = %+v, %v", gb, err)
		}
	})

	var cmdID string
	t.Run("bulk overwrite", func(t *testing.T) {
		cmds := registerRender(t, s)
		if len(cmds) != 2 || cmds[0].ID == "" || cmds[0].ApplicationID != DefaultAppID || cmds[0].Version == "" ||
			cmds[0].GuildID != DefaultGuildID {
			t.Fatalf("overwrite returned %+v", cmds[0])
		}
		cmdID = cmds[0].ID
		again := registerRender(t, s)
		if again[0].ID != cmdID || again[0].Version != cmds[0].Version {
			t.Errorf("second overwrite: id %s version %s, want the same %s %s", again[0].ID, again[0].Version, cmdID, cmds[0].Version)
		}
		if got := fake.Commands(DefaultGuildID); len(got) != 2 || !bytes.Contains(got[0], []byte(`"name":"render"`)) {
			t.Errorf("Commands = %s", got)
		}
		if got := fake.Commands(""); len(got) != 0 {
			t.Errorf("global commands = %s, want none", got)
		}
		list, err := s.ApplicationCommands(DefaultAppID, DefaultGuildID)
		if err != nil || len(list) != 2 {
			t.Errorf("ApplicationCommands = %d, %v", len(list), err)
		}
		reqs := fake.Find(http.MethodPut, "/applications/{app}/guilds/{guild}/commands")
		if len(reqs) != 2 || reqs[0].APIVersion != 9 || !strings.HasPrefix(reqs[0].Path, "/api/v9/") {
			t.Errorf("recorded overwrites = %d (version %d)", len(reqs), reqs[0].APIVersion)
		}
	})

	t.Run("command, defer, edit with file", func(t *testing.T) {
		in, ic := b.send(t, fake, SlashCommand{
			Name:                "render",
			Options:             map[string]any{"scene": "s1", "map": "a=b", "fast": true, "background": "solid"},
			AttachmentSizeLimit: 1 << 20,
		})
		data := ic.ApplicationCommandData()
		if data.Name != "render" || data.ID != cmdID {
			t.Errorf("data = %s %s, want render %s", data.Name, data.ID, cmdID)
		}
		opts := map[string]any{}
		var order []string
		for _, o := range data.Options {
			opts[o.Name] = o.Value
			order = append(order, o.Name)
		}
		if opts["scene"] != "s1" || opts["map"] != "a=b" || opts["fast"] != true || opts["background"] != "solid" {
			t.Errorf("options = %v", opts)
		}
		if strings.Join(order, ",") != "scene,map,background,fast" {
			t.Errorf("option order = %v, want the registered order", order)
		}
		if ic.Member == nil || ic.Member.User.ID != DefaultUserID || ic.GuildID != DefaultGuildID || ic.ChannelID != DefaultChannelID {
			t.Errorf("member/guild/channel = %+v %s %s", ic.Member, ic.GuildID, ic.ChannelID)
		}
		if ic.AppPermissions&discordgo.PermissionAttachFiles == 0 {
			t.Errorf("app_permissions = %d, want attach files", ic.AppPermissions)
		}
		if in.AttachmentSizeLimit != 1<<20 || !bytes.Contains(in.Payload, []byte(`"attachment_size_limit":1048576`)) {
			t.Errorf("interaction limit = %d", in.AttachmentSizeLimit)
		}

		err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
		if err != nil {
			t.Fatalf("InteractionRespond: %v", err)
		}
		orig, ok := fake.Original(in.ID)
		if !ok || !orig.Loading() || orig.Ephemeral() || orig.Content != "" {
			t.Fatalf("after defer: %+v %v, want a loading message", orig, ok)
		}
		video := bytes.Repeat([]byte("mp4"), 1000)
		content := "done"
		m, err := s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{
			Content: &content,
			Files:   []*discordgo.File{{Name: "job.mp4", ContentType: "video/mp4", Reader: bytes.NewReader(video)}},
		})
		if err != nil {
			t.Fatalf("InteractionResponseEdit: %v", err)
		}
		if len(m.Attachments) != 1 || m.Attachments[0].Filename != "job.mp4" || m.Attachments[0].Size != len(video) {
			t.Errorf("returned attachments = %+v", m.Attachments)
		}
		orig, _ = fake.Original(in.ID)
		a, ok := orig.Attachment("job.mp4")
		if !ok || !bytes.Equal(a.Data, video) || orig.Loading() || orig.Content != "done" || orig.Edits != 1 {
			t.Errorf("original = %+v, want the file and content", orig)
		}
		resp, err := http.Get(m.Attachments[0].URL)
		if err != nil {
			t.Fatalf("download attachment: %v", err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, video) {
			t.Errorf("downloaded %d bytes, want %d", len(got), len(video))
		}
		if cb := fake.Callbacks(in.ID); len(cb) != 1 || cb[0].Status != http.StatusNoContent {
			t.Errorf("callbacks = %+v", cb)
		}
		edits := fake.Find(http.MethodPatch, "/webhooks/*/*/messages/@original")
		last := edits[len(edits)-1]
		if len(last.Files) != 1 || last.Files[0].Field != "files[0]" || !bytes.Contains(last.JSON, []byte(`"content":"done"`)) {
			t.Errorf("recorded edit: files %+v json %s", last.Files, last.JSON)
		}

		t.Run("oversize file", func(t *testing.T) {
			big := bytes.Repeat([]byte{1}, 1<<20+1)
			_, err := s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{
				Files: []*discordgo.File{{Name: "big.mp4", Reader: bytes.NewReader(big)}},
			})
			wantRESTError(t, err, http.StatusRequestEntityTooLarge, discordgo.ErrCodeRequestEntityTooLarge)
			if orig, _ := fake.Original(in.ID); len(orig.Attachments) != 1 {
				t.Errorf("attachments after a refused upload = %d, want 1", len(orig.Attachments))
			}
		})
		t.Run("second callback", func(t *testing.T) {
			err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
			wantRESTError(t, err, http.StatusBadRequest, discordgo.ErrCodeInteractionHasAlreadyBeenAcknowledged)
		})
		t.Run("follow-up", func(t *testing.T) {
			f, err := s.FollowupMessageCreate(ic.Interaction, true, &discordgo.WebhookParams{Content: "more", Flags: discordgo.MessageFlagsEphemeral})
			if err != nil || f.Content != "more" || f.Flags&discordgo.MessageFlagsEphemeral == 0 {
				t.Fatalf("FollowupMessageCreate = %+v, %v", f, err)
			}
			if got := fake.Followups(in.ID); len(got) != 1 || got[0].ID != f.ID {
				t.Errorf("Followups = %+v", got)
			}
		})
		t.Run("rate limited edit is retried", func(t *testing.T) {
			fake.FailNext(http.MethodPatch, "/webhooks/*/*/messages/@original", Failure{RetryAfter: 0.05})
			text := "after 429"
			start := time.Now()
			if _, err := s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{Content: &text}); err != nil {
				t.Fatalf("edit after 429: %v", err)
			}
			if d := time.Since(start); d < 50*time.Millisecond {
				t.Errorf("edit returned after %v, want discordgo to wait retry_after", d)
			}
			edits := fake.Find(http.MethodPatch, "/webhooks/*/*/messages/@original")
			n := len(edits)
			if edits[n-2].Status != http.StatusTooManyRequests || edits[n-1].Status != http.StatusOK {
				t.Errorf("last statuses = %d, %d; want 429 then 200", edits[n-2].Status, edits[n-1].Status)
			}
			var body map[string]any
			_ = json.Unmarshal(edits[n-2].Response, &body)
			if body["retry_after"] != 0.05 || body["global"] != false {
				t.Errorf("429 body = %s", edits[n-2].Response)
			}
			if orig, _ := fake.Original(in.ID); orig.Content != "after 429" {
				t.Errorf("content = %q", orig.Content)
			}
		})
		t.Run("expired token", func(t *testing.T) {
			fake.ExpireToken(in.Token)
			text := "late"
			_, err := s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{Content: &text})
			wantRESTError(t, err, http.StatusUnauthorized, discordgo.ErrCodeInvalidWebhookTokenProvided)
		})
	})

	t.Run("late ack", func(t *testing.T) {
		in, ic := b.send(t, fake, SlashCommand{Name: "jobs", LateAck: true})
		err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
		wantRESTError(t, err, http.StatusNotFound, discordgo.ErrCodeUnknownInteraction)
		if _, ok := fake.Original(in.ID); ok {
			t.Error("a refused acknowledgement created a message")
		}
		text := "x"
		_, err = s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{Content: &text})
		wantRESTError(t, err, http.StatusNotFound, CodeUnknownWebhook)
	})

	t.Run("ephemeral reply and component update", func(t *testing.T) {
		in, ic := b.send(t, fake, SlashCommand{Name: "jobs", UserID: "400000000000000002", Username: "other"})
		if ic.Member.User.Username != "other" {
			t.Errorf("username = %q", ic.Member.User.Username)
		}
		err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{
				Content: "your jobs",
				Flags:   discordgo.MessageFlagsEphemeral,
				Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
					discordgo.Button{Label: "Cancel job", Style: discordgo.DangerButton, CustomID: "cancel:1"},
					discordgo.Button{Label: "Video", Style: discordgo.LinkButton, URL: "https://example.com/v.mp4"},
				}}},
			},
		})
		if err != nil {
			t.Fatalf("respond: %v", err)
		}
		orig, _ := fake.Original(in.ID)
		btns := orig.Buttons()
		if !orig.Ephemeral() || len(btns) != 2 || btns[0].CustomID != "cancel:1" || btns[1].URL == "" {
			t.Fatalf("original = %+v buttons %+v", orig, btns)
		}
		if msgs := fake.ChannelMessages(DefaultChannelID); containsID(msgs, orig.ID) {
			t.Error("an ephemeral message is listed in the channel")
		}

		cin, err := fake.SendComponent(t.Context(), Component{CustomID: "cancel:1", MessageID: orig.ID, UserID: "400000000000000002"})
		if err != nil {
			t.Fatalf("SendComponent: %v", err)
		}
		cic := b.next(t)
		b.rawNext(t)
		if cic.Type != discordgo.InteractionMessageComponent || cic.MessageComponentData().CustomID != "cancel:1" ||
			cic.Message == nil || cic.Message.ID != orig.ID {
			t.Fatalf("component interaction = %+v", cic.Interaction)
		}
		err = s.InteractionRespond(cic.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{Content: "cancelled", Components: []discordgo.MessageComponent{}},
		})
		if err != nil {
			t.Fatalf("update message: %v", err)
		}
		upd, _ := fake.Original(cin.ID)
		if upd.ID != orig.ID || upd.Content != "cancelled" || len(upd.Buttons()) != 0 || upd.Edits != 1 {
			t.Errorf("updated message = %+v", upd)
		}
		if _, err := fake.SendComponent(t.Context(), Component{CustomID: "cancel:1", MessageID: orig.ID}); err == nil {
			t.Error("SendComponent on a removed button succeeded")
		}
	})

	t.Run("channel message with enforce_nonce", func(t *testing.T) {
		ep := discordgo.EndpointChannelMessages(DefaultChannelID)
		body := map[string]any{"content": "<@400000000000000001> your video", "nonce": "job-42", "enforce_nonce": true,
			"allowed_mentions": map[string]any{"users": []string{DefaultUserID}}}
		var ids []string
		for range 2 {
			resp, err := s.RequestWithBucketID(http.MethodPost, ep, body, ep)
			if err != nil {
				t.Fatalf("post: %v", err)
			}
			var m discordgo.Message
			if err := json.Unmarshal(resp, &m); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		if ids[0] != ids[1] {
			t.Errorf("two messages %v for one nonce", ids)
		}
		var mine []Message
		for _, m := range fake.ChannelMessages(DefaultChannelID) {
			if m.Nonce == "job-42" {
				mine = append(mine, m)
			}
		}
		if len(mine) != 1 || !bytes.Contains(mine[0].AllowedMentions, []byte(DefaultUserID)) {
			t.Errorf("messages with the nonce = %+v", mine)
		}
		msgs, err := s.ChannelMessages(DefaultChannelID, 10, "", "", "")
		if err != nil || len(msgs) == 0 || msgs[0].ID != ids[0] {
			t.Errorf("ChannelMessages newest = %v, %v; want %s", msgs, err, ids[0])
		}
		content := "edited"
		m, err := s.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: ids[0], Channel: DefaultChannelID, Content: &content})
		if err != nil || m.Content != "edited" {
			t.Errorf("edit = %+v, %v", m, err)
		}
	})

	t.Run("DM channel", func(t *testing.T) {
		ch, err := s.UserChannelCreate(DefaultUserID)
		if err != nil || ch.Type != discordgo.ChannelTypeDM || len(ch.Recipients) != 1 || ch.Recipients[0].ID != DefaultUserID {
			t.Fatalf("UserChannelCreate = %+v, %v", ch, err)
		}
		again, _ := s.UserChannelCreate(DefaultUserID)
		if again.ID != ch.ID || fake.DMChannel(DefaultUserID) != ch.ID {
			t.Errorf("second DM channel %s, want %s", again.ID, ch.ID)
		}
		if _, err := s.ChannelMessageSend(ch.ID, "hello"); err != nil {
			t.Fatalf("DM: %v", err)
		}
		if msgs := fake.ChannelMessages(ch.ID); len(msgs) != 1 || msgs[0].Content != "hello" {
			t.Errorf("DM messages = %+v", msgs)
		}
		fake.BlockDMs(DefaultUserID)
		_, err = s.ChannelMessageSend(ch.ID, "again")
		wantRESTError(t, err, http.StatusForbidden, CodeCannotDMUser)
	})

	t.Run("disconnect", func(t *testing.T) {
		if n := fake.Disconnect(CloseUnknownError); n != 1 {
			t.Errorf("Disconnect closed %d connections, want 1", n)
		}
		waitFor(t, fake, "disconnect", func() bool { return fake.readyConn() == nil })
		_, err := fake.SendCommand(t.Context(), SlashCommand{Name: "jobs"})
		if !errors.Is(err, ErrNoGateway) {
			t.Errorf("SendCommand without gateway = %v, want ErrNoGateway", err)
		}
	})
}

func containsID(msgs []Message, id string) bool {
	for _, m := range msgs {
		if m.ID == id {
			return true
		}
	}
	return false
}

// TestDiscordgoReconnect: a dropped connection makes discordgo RESUME,
// which the fake refuses with INVALID_SESSION; discordgo identifies again
// and interactions reach the new connection.
func TestDiscordgoReconnect(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithLenientCommands())
	b := connect(t, fake, base, true)
	b.send(t, fake, SlashCommand{Name: "ping"})

	fake.Disconnect(CloseUnknownError)
	ctx := t.Context()
	if err := fake.WaitSessions(ctx, 2); err != nil {
		t.Fatalf("WaitSessions: %v", err)
	}
	in, ic := b.send(t, fake, SlashCommand{Name: "ping", Options: map[string]any{"n": 3}})
	if ic.ApplicationCommandData().Options[0].IntValue() != 3 {
		t.Errorf("option = %+v", ic.ApplicationCommandData().Options[0])
	}
	if in.ID == "" {
		t.Error("no id")
	}
}

// TestWrongTokenREST: REST calls with another token answer 401 without
// echoing the token.
func TestWrongTokenREST(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t)
	s := newSession(t, base, "wrong-token")
	_, err := s.User("@me")
	wantRESTError(t, err, http.StatusUnauthorized, 0)
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message.Message != "401: Unauthorized" {
		t.Errorf("message = %q", re.Message.Message)
	}
	err = s.Open()
	if err == nil {
		t.Fatal("Open with a wrong token succeeded")
	}
	for _, r := range fake.Requests() {
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s %s answered %d, want 401", r.Method, r.Path, r.Status)
		}
		if bytes.Contains(r.Response, []byte("wrong-token")) {
			t.Errorf("answer echoes the token: %s", r.Response)
		}
	}
}
