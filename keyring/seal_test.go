package keyring_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/keyring"
)

// secret returns a 32-byte secret filled with b.
func secret(b byte) []byte { return bytes.Repeat([]byte{b}, keyring.SecretSize) }

func newSealer(t testing.TB, b byte) *keyring.Sealer {
	t.Helper()
	s, err := keyring.NewSealer(secret(b))
	if err != nil {
		t.Fatalf("new sealer: %v", err)
	}
	return s
}

func TestParseSecret(t *testing.T) {
	raw := make([]byte, keyring.SecretSize)
	for i := range raw {
		raw[i] = byte(i*7 + 250) // every alphabet's special characters show up
	}
	for name, in := range map[string]string{
		"hex":         hex.EncodeToString(raw),
		"HEX":         strings.ToUpper(hex.EncodeToString(raw)),
		"base64":      base64.StdEncoding.EncodeToString(raw),
		"raw base64":  base64.RawStdEncoding.EncodeToString(raw),
		"url base64":  base64.URLEncoding.EncodeToString(raw),
		"raw url":     base64.RawURLEncoding.EncodeToString(raw),
		"with spaces": "  " + hex.EncodeToString(raw) + "\n",
	} {
		got, err := keyring.ParseSecret(in)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s: ParseSecret(%q) = %x, %v; want %x", name, in, got, err, raw)
		}
	}
	if _, err := keyring.ParseSecret("  "); !errors.Is(err, keyring.ErrNoEncryption) {
		t.Errorf("ParseSecret(blank) = %v, want ErrNoEncryption", err)
	}
	for name, in := range map[string]string{
		"short hex":         hex.EncodeToString(raw[:31]),
		"long hex":          hex.EncodeToString(append(raw, 1)),
		"63 hex characters": hex.EncodeToString(raw)[1:],
		"base64 of 31":      base64.StdEncoding.EncodeToString(raw[:31]),
		"base64 of 33":      base64.StdEncoding.EncodeToString(append(raw, 1)),
		"a passphrase":      "correct horse battery staple, secret-sentinel-777",
		"hex with a typo":   "zz" + hex.EncodeToString(raw)[2:],
	} {
		_, err := keyring.ParseSecret(in)
		if err == nil {
			t.Errorf("%s: ParseSecret(%q) accepted it", name, in)
			continue
		}
		if strings.Contains(err.Error(), strings.TrimSpace(in)) || strings.Contains(err.Error(), "sentinel") {
			t.Errorf("%s: the error repeats the value: %v", name, err)
		}
		if !strings.Contains(err.Error(), "BOT_ENCRYPTION_KEY") {
			t.Errorf("%s: the error does not name the variable: %v", name, err)
		}
	}
}

func TestNewSealerSize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := keyring.NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes) accepted", n)
		}
	}
}

func TestSealOpen(t *testing.T) {
	const apiKey = "vg-live-SEALME-0123456789abcdef"
	s := newSealer(t, 1)
	a, err := s.Seal("guild-a", apiKey)
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	b, err := s.Seal("guild-a", apiKey)
	if err != nil {
		t.Fatalf("seal again: %v", err)
	}
	if bytes.Equal(a, b) || bytes.Equal(a[:12], b[:12]) {
		t.Error("two seals of one key are equal (or share a nonce): the nonce is not random")
	}
	if bytes.Contains(a, []byte(apiKey)) || bytes.Contains(a, []byte("SEALME")) {
		t.Error("the sealed bytes contain the key")
	}
	if got, err := s.Open("guild-a", a); err != nil || got != apiKey {
		t.Fatalf("open = %q, %v; want the key", got, err)
	}
	// Another sealer with the same secret (a restarted process) opens it too.
	if got, err := newSealer(t, 1).Open("guild-a", b); err != nil || got != apiKey {
		t.Fatalf("open with the same secret in a new sealer = %q, %v", got, err)
	}

	tampered := bytes.Clone(a)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() (string, error){
		"another guild":  func() (string, error) { return s.Open("guild-b", a) },
		"another secret": func() (string, error) { return newSealer(t, 2).Open("guild-a", a) },
		"tampered":       func() (string, error) { return s.Open("guild-a", tampered) },
		"truncated":      func() (string, error) { return s.Open("guild-a", a[:20]) },
		"empty":          func() (string, error) { return s.Open("guild-a", nil) },
	} {
		got, err := open()
		if !errors.Is(err, keyring.ErrUndecryptable) || got != "" {
			t.Errorf("%s: open = %q, %v; want ErrUndecryptable", name, got, err)
		}
	}
	if _, err := s.Seal("", apiKey); err == nil {
		t.Error("seal without a guild id accepted")
	}
}

// TestSealerPrintsNoSecret: a Sealer printed or logged by mistake shows nothing of its key.
func TestSealerPrintsNoSecret(t *testing.T) {
	sec := secret(0xAB)
	s, err := keyring.NewSealer(sec)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "sealer", s, "value", *s)
	out := fmt.Sprintf("%v %+v %#v %s %v %#v", s, s, s, s, *s, *s) + logged.String()
	for _, leak := range []string{hex.EncodeToString(sec[:8]), "abababab", "ABABABAB", string(sec[:8])} {
		if strings.Contains(out, leak) {
			t.Fatalf("the printed sealer shows its secret: %s", out)
		}
	}
	if !strings.Contains(out, "REDACTED") {
		t.Errorf("printed sealer = %s, want a redacted form", out)
	}
}
