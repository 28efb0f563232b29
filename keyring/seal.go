package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// SecretSize is the length of BOT_ENCRYPTION_KEY once decoded: an AES-256 key.
const SecretSize = 32

// aadLabel starts the additional data of every sealed key; the guild id follows it. Changing it makes
// every stored key undecryptable.
const aadLabel = "viggle-bot guild key v1\x00"

// nonceSize is GCM's standard nonce length, stored in front of the ciphertext.
const nonceSize = 12

// errBadSecret is what ParseSecret says of a value it cannot use; it never repeats the value.
var errBadSecret = errors.New("keyring: BOT_ENCRYPTION_KEY must be 32 bytes, written as 64 hex characters or in base64 (e.g. the output of `openssl rand -hex 32`)")

// ParseSecret decodes BOT_ENCRYPTION_KEY: 32 bytes given as 64 hex characters or in base64 (standard or
// URL alphabet, padded or not). Surrounding spaces are ignored. An empty value is ErrNoEncryption.
// Errors never contain s.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ErrNoEncryption
	}
	if len(s) == 2*SecretSize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == SecretSize {
			return b, nil
		}
	}
	return nil, errBadSecret
}

// Sealer encrypts guild keys with AES-256-GCM: a random 12-byte nonce per seal, and the guild id bound
// as additional data, so that a sealed key copied to another guild's row does not open. It is safe for
// concurrent use and prints nothing of its secret.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte secret (see ParseSecret).
func NewSealer(secret []byte) (*Sealer, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("keyring: new sealer: the secret is %d bytes, want %d", len(secret), SecretSize)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("keyring: new sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: new sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

func additionalData(guildID string) []byte { return []byte(aadLabel + guildID) }

// Seal encrypts apiKey for guildID and returns nonce || ciphertext (with GCM's tag).
func (s *Sealer) Seal(guildID, apiKey string) ([]byte, error) {
	if guildID == "" {
		return nil, errors.New("keyring: seal: no guild id")
	}
	nonce := make([]byte, nonceSize, nonceSize+len(apiKey)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keyring: seal: random nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, []byte(apiKey), additionalData(guildID)), nil
}

// Open decrypts what Seal made for guildID. Anything else (another guild's row, another
// BOT_ENCRYPTION_KEY, altered bytes) is ErrUndecryptable.
func (s *Sealer) Open(guildID string, sealed []byte) (string, error) {
	if len(sealed) < nonceSize+s.aead.Overhead() {
		return "", fmt.Errorf("keyring: open the key of guild %s: too short: %w", guildID, ErrUndecryptable)
	}
	clear, err := s.aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], additionalData(guildID))
	if err != nil {
		return "", fmt.Errorf("keyring: open the key of guild %s: %w", guildID, ErrUndecryptable)
	}
	return string(clear), nil
}

// String, Format (every verb, %#v included) and LogValue print no key material.
func (Sealer) String() string { return "keyring.Sealer{[REDACTED]}" }

func (s Sealer) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

func (s Sealer) LogValue() slog.Value { return slog.StringValue(s.String()) }
