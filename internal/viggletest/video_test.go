package viggletest_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
)

// checkMP4 checks that b starts with an ftyp box and, when padded past the
// demo video, ends with one free box of zeros whose size field matches.
func checkMP4(t testing.TB, b []byte) {
	t.Helper()
	if len(b) < 8 || string(b[4:8]) != "ftyp" {
		t.Fatalf("no ftyp box at offset 4: % x", b[:min(len(b), 16)])
	}
	demo := readAll(t, viggletest.Video(0))
	if len(b) == len(demo) {
		if !bytes.Equal(b, demo) {
			t.Fatal("unpadded video differs from demo.mp4")
		}
		return
	}
	if !bytes.Equal(b[:len(demo)], demo) {
		t.Fatal("padded video does not start with demo.mp4")
	}
	box := b[len(demo):]
	if got := binary.BigEndian.Uint32(box); int(got) != len(box) {
		t.Errorf("free box size field = %d, want %d", got, len(box))
	}
	if string(box[4:8]) != "free" {
		t.Errorf("box type = %q, want free", box[4:8])
	}
	if bytes.ContainsFunc(box[8:], func(r rune) bool { return r != 0 }) {
		t.Error("free box payload is not all zeros")
	}
}

func TestVideo(t *testing.T) {
	t.Parallel()
	demoLen := viggletest.VideoLen(0)
	if demoLen < 1000 || demoLen > 30<<10 {
		t.Fatalf("demo.mp4 is %d bytes, want 1000..30 KiB", demoLen)
	}
	tests := []struct {
		name string
		size int64
		want int64
	}{
		{"zero is demo", 0, demoLen},
		{"smaller than demo", 100, demoLen},
		{"exactly demo", demoLen, demoLen},
		{"too small for a box", demoLen + 7, demoLen},
		{"smallest box", demoLen + 8, demoLen + 8},
		{"padded", 100_000, 100_000},
		{"12 MiB", 12 << 20, 12 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := viggletest.VideoLen(tt.size); got != tt.want {
				t.Fatalf("VideoLen(%d) = %d, want %d", tt.size, got, tt.want)
			}
			b := readAll(t, viggletest.Video(tt.size))
			if int64(len(b)) != tt.want {
				t.Fatalf("len(Video(%d)) = %d, want %d", tt.size, len(b), tt.want)
			}
			checkMP4(t, b)
		})
	}
}

func TestVideoHugeIsStreamed(t *testing.T) {
	t.Parallel()
	const size = 300 << 20
	n, err := io.Copy(io.Discard, viggletest.Video(size))
	if err != nil || n != size {
		t.Fatalf("copied %d bytes, err %v; want %d", n, err, size)
	}
}

func TestVideoLargeSizeBox(t *testing.T) {
	t.Parallel()
	const size = 5 << 30 // padding over 4 GiB needs the 64-bit box form
	demoLen := viggletest.VideoLen(0)
	head := make([]byte, demoLen+16)
	if _, err := io.ReadFull(viggletest.Video(size), head); err != nil {
		t.Fatal(err)
	}
	box := head[demoLen:]
	if got := binary.BigEndian.Uint32(box); got != 1 {
		t.Errorf("size field = %d, want 1 (largesize follows)", got)
	}
	if string(box[4:8]) != "free" {
		t.Errorf("type = %q, want free", box[4:8])
	}
	if got := binary.BigEndian.Uint64(box[8:]); int64(got) != size-demoLen {
		t.Errorf("largesize = %d, want %d", got, size-demoLen)
	}
}

func TestMaskVideo(t *testing.T) {
	t.Parallel()
	b := readAll(t, viggletest.MaskVideo())
	if int64(len(b)) != viggletest.MaskVideoLen() || len(b) > 30<<10 {
		t.Fatalf("mask is %d bytes, MaskVideoLen %d", len(b), viggletest.MaskVideoLen())
	}
	if string(b[4:8]) != "ftyp" {
		t.Fatal("mask has no ftyp box")
	}
	if bytes.Equal(b, readAll(t, viggletest.Video(0))) {
		t.Fatal("mask equals the demo video")
	}
}
