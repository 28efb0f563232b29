package store

import "time"

// GuildKey is a guild's own Viggle key, sealed by package keyring (the store never sees it in clear).
type GuildKey struct {
	ID, GuildID string
	Sealed      []byte // nonce || ciphertext
	Last4       string // the key's last four characters, shown as "…abcd"
	CreatedBy   string
	CreatedAt   time.Time
	RetiredAt   time.Time // zero: the guild's current key
}
