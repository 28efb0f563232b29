package viggletest

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"io"
	"math"
)

// The test videos were made once with ffmpeg 5.1 (libx264) and are committed
// under testdata/. They are real, playable H.264 MP4 files: 160x120, 12 fps,
// 2 s (24 frames), yuv420p, moov atom first (+faststart), no audio.
//
// demo.mp4 (12117 bytes), a colourful moving test pattern:
//
//	ffmpeg -f lavfi -i testsrc2=size=160x120:rate=12:duration=2 \
//	  -c:v libx264 -preset veryslow -crf 30 -pix_fmt yuv420p \
//	  -movflags +faststart -an demo.mp4
//
// mask.mp4 (2267 bytes), a white square moving on black (white = character):
//
//	ffmpeg -f lavfi \
//	  -i "color=c=black:size=160x120:rate=12:duration=2,drawbox=x='40+20*sin(t*3)':y=30:w=60:h=60:color=white:t=fill" \
//	  -c:v libx264 -preset veryslow -crf 30 -pix_fmt yuv420p \
//	  -movflags +faststart -an mask.mp4
//
// Checked with: ffprobe -show_entries stream=codec_name,width,height:format=duration
// (h264, 160x120, 2.000000 s), and a padded copy (demo.mp4 followed by a
// top-level free box) still probes and decodes with ffmpeg -f null.

//go:embed testdata/demo.mp4
var demoMP4 []byte

//go:embed testdata/mask.mp4
var maskMP4 []byte

// Video returns the bytes of the video the fake serves for a scenario with
// VideoSize size: demo.mp4 as is when size < len(demo.mp4)+8, otherwise
// demo.mp4 followed by one top-level MP4 "free" box of zeros that brings the
// total to exactly size bytes (the file stays valid and playable). Padding is
// streamed from a zero reader, so huge sizes cost no memory. Beyond 4 GiB of
// padding the box uses the 64-bit "largesize" form.
func Video(size int64) io.Reader {
	pad := size - int64(len(demoMP4))
	if pad < 8 {
		return bytes.NewReader(demoMP4)
	}
	hdr := freeBoxHeader(pad)
	return io.MultiReader(
		bytes.NewReader(demoMP4),
		bytes.NewReader(hdr),
		io.LimitReader(zeroReader{}, pad-int64(len(hdr))),
	)
}

// VideoLen returns the number of bytes Video(size) yields: size when it is at
// least len(demo.mp4)+8, else len(demo.mp4).
func VideoLen(size int64) int64 {
	if size-int64(len(demoMP4)) < 8 {
		return int64(len(demoMP4))
	}
	return size
}

// MaskVideo returns the mask video served as mask_cdn_url for transparent
// renders (testdata/mask.mp4, never padded).
func MaskVideo() io.Reader { return bytes.NewReader(maskMP4) }

// MaskVideoLen returns the length of MaskVideo in bytes.
func MaskVideoLen() int64 { return int64(len(maskMP4)) }

// freeBoxHeader returns the header of a free box whose total size (header
// included) is n bytes, n >= 8.
func freeBoxHeader(n int64) []byte {
	if n <= math.MaxUint32 {
		h := make([]byte, 8)
		binary.BigEndian.PutUint32(h, uint32(n))
		copy(h[4:], "free")
		return h
	}
	h := make([]byte, 16)
	binary.BigEndian.PutUint32(h, 1) // size 1: a 64-bit largesize follows the type
	copy(h[4:], "free")
	binary.BigEndian.PutUint64(h[8:], uint64(n))
	return h
}

// zeroReader is an endless source of zero bytes.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
