package store

import (
	"testing"
	"time"
)

func TestParseDeliveryLegacy(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Delivery
	}{
		{"", Delivery{}},
		{"message:111", Delivery{Where: WhereMessage, MessageID: "111"}},
		{"message:111,attachment", Delivery{Where: WhereMessage, MessageID: "111"}},
		{"message:111,link", Delivery{Where: WhereMessage, MessageID: "111", Link: true}},
		{"message:222,channel", Delivery{Where: WhereChannel, MessageID: "222"}},
		{"message:222,channel,link", Delivery{Where: WhereChannel, MessageID: "222", Link: true}},
		{"message:222,channel,attachment", Delivery{Where: WhereChannel, MessageID: "222"}},
		{"dm:333,link", Delivery{Where: WhereDM, MessageID: "333", Link: true}},
		{"told", Delivery{Note: "told"}},
		{"owner not told", Delivery{Note: NoteOwnerNotTold}},
		{"not told (never acknowledged)", Delivery{Note: NoteNeverAcknowledged}},
		{"file:/tmp/out.mp4,/tmp/out-mask.mp4", Delivery{Where: WhereFile}},
		{"something else", Delivery{Note: "something else"}},
	} {
		if got := ParseDelivery(c.in); got != c.want {
			t.Errorf("ParseDelivery(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestDeliveryJSONRoundTrip(t *testing.T) {
	for _, d := range []Delivery{
		{},
		{Where: WhereMessage, MessageID: "1"},
		{Where: WhereChannel, MessageID: "2", Link: true},
		{Where: WhereDM, MessageID: "3", ChannelID: "dm-9"},
		{Where: WhereFile},
		{Note: NoteOwnerNotTold},
	} {
		enc := d.encode()
		if d.IsZero() != (enc == "") {
			t.Errorf("encode(%+v) = %q", d, enc)
		}
		if got := ParseDelivery(enc); got != d {
			t.Errorf("ParseDelivery(encode(%+v)) = %+v (column %q)", d, got, enc)
		}
	}
}

func TestDeliveryShown(t *testing.T) {
	for _, c := range []struct {
		d    Delivery
		want bool
	}{
		{Delivery{}, false},
		{Delivery{Where: WhereMessage, MessageID: "1"}, true},
		{Delivery{Where: WhereChannel, MessageID: "1"}, true},
		{Delivery{Where: WhereDM, MessageID: "1", ChannelID: "d"}, true},
		{Delivery{Where: WhereMessage}, false},
		{Delivery{Where: WhereFile}, false},
		{Delivery{Note: NoteOwnerNotTold}, false},
	} {
		if got := c.d.Shown(); got != c.want {
			t.Errorf("%+v.Shown() = %v, want %v", c.d, got, c.want)
		}
	}
}

func TestDeliveryString(t *testing.T) {
	for _, c := range []struct {
		d    Delivery
		want string
	}{
		{Delivery{Where: WhereMessage, MessageID: "1", Link: true}, "message:1,link"},
		{Delivery{Where: WhereChannel, MessageID: "2", Link: true}, "message:2,channel,link"},
		{Delivery{Where: WhereDM, MessageID: "3"}, "dm:3"},
		{Delivery{Note: NoteOwnerNotTold}, "(owner not told)"},
	} {
		if got := c.d.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestDeliveryColumn: rows written by the old code (legacy strings) read back as the type; Update
// writes the new JSON form and followed_up_at, and reads them back.
func TestDeliveryColumn(t *testing.T) {
	db := openTest(t)
	j := testJob("jold", OriginDiscord, "u1", "g1", time.UnixMilli(1000))
	j.State = StateDelivering
	j.LeaseOwner = "me"
	insert(t, db, j)
	if _, err := db.sql.ExecContext(t.Context(), `UPDATE jobs SET delivery = 'message:444,channel,link' WHERE id = 'jold'`); err != nil {
		t.Fatal(err)
	}
	got := get(t, db, "jold")
	if want := (Delivery{Where: WhereChannel, MessageID: "444", Link: true}); got.Delivery != want {
		t.Fatalf("legacy row read as %+v, want %+v", got.Delivery, want)
	}
	if !got.FollowedUpAt.IsZero() {
		t.Fatalf("FollowedUpAt = %v, want zero (NULL)", got.FollowedUpAt)
	}

	got.State = StateDelivered
	got.Delivery = Delivery{Where: WhereDM, MessageID: "555", ChannelID: "dm-1"}
	got.FollowedUpAt = time.UnixMilli(2000).UTC()
	if err := db.Update(t.Context(), got, StateDelivering); err != nil {
		t.Fatalf("Update: %v", err)
	}
	again := get(t, db, "jold")
	if again.Delivery != got.Delivery || !again.FollowedUpAt.Equal(got.FollowedUpAt) {
		t.Fatalf("read back delivery %+v followed up %v, want %+v %v", again.Delivery, again.FollowedUpAt, got.Delivery, got.FollowedUpAt)
	}
	var raw string
	if err := db.sql.QueryRowContext(t.Context(), `SELECT delivery FROM jobs WHERE id = 'jold'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw != `{"where":"dm","message_id":"555","channel_id":"dm-1"}` {
		t.Errorf("delivery column = %s, want JSON", raw)
	}
}
