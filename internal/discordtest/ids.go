package discordtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strconv"
)

// discordEpoch is the first millisecond of 2015, the epoch of Discord snowflakes.
const discordEpoch = 1420070400000

// snowflakeLocked returns a new unique snowflake whose timestamp is the
// fake's clock (worker 1, process 0). Ids only grow, even if the clock
// steps back. s.mu must be held, or s must not be shared yet.
func (s *Server) snowflakeLocked() string {
	ms := s.clock().UnixMilli() - discordEpoch
	if ms < 0 {
		ms = 0
	}
	id := ms<<22 | 1<<17
	if id <= s.lastSnowflake {
		id = s.lastSnowflake + 1
	}
	s.lastSnowflake = id
	return strconv.FormatInt(id, 10)
}

// newToken returns an interaction token shaped like Discord's:
// base64("interaction:") followed by base64url of id and random bytes.
func newToken(id string) string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return "aW50ZXJhY3Rpb246" + base64.RawURLEncoding.EncodeToString([]byte(id+":"+hex.EncodeToString(b)))
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
