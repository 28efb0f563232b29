package viggletest

import (
	"crypto/sha256"
	"encoding/base64"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// maxSceneIDLen bounds the scene ids the fake encodes as they are into a job
// id, so that job ids stay within maxJobIDLen; longer ones are encoded as a
// hash (see sceneHash).
const (
	maxSceneIDLen = 64
	maxJobIDLen   = 128
	jobIDPrefix   = "job_"
)

var jobIDEncoding = base64.RawURLEncoding.Strict()

// jobKey is everything about a job that its id carries.
type jobKey struct {
	scene   string    // the scene id, or its sceneHash when hashed
	hashed  bool      // decoded from an id that carries the scene's hash (scene ids over maxSceneIDLen)
	created time.Time // millisecond precision
	bg      string    // original, solid, transparent or inpaint
	fast    bool
}

// sceneHash stands for a scene id too long to carry in a job id: 24 URL-safe characters. A Server
// maps it back to the scene among the scenarios it knows.
const sceneHashLen = 24

func sceneHash(scene string) string {
	sum := sha256.Sum256([]byte(scene))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

var bgCodes = map[string]byte{"original": 'o', "solid": 's', "transparent": 't', "inpaint": 'i'}

func bgFromCode(c byte) (string, bool) {
	for k, v := range bgCodes {
		if v == c {
			return k, true
		}
	}
	return "", false
}

// encodeJobID builds a job id: "job_" + base64url of
// "1.<created unix ms base36>.<bg code><fast 0|1>.<nonce base36>.<scene id>".
// The scene id comes last so it may contain dots. With scene ids of at most
// 64 bytes the id stays under 128 characters; a longer scene id is replaced
// by its sceneHash and the version is 2.
func encodeJobID(k jobKey) string {
	scene, version := k.scene, "1."
	if k.hashed || len(scene) > maxSceneIDLen {
		version = "2." // the scene field is a sceneHash
		if !k.hashed {
			scene = sceneHash(scene)
		}
	}
	var b strings.Builder
	b.Grow(96)
	b.WriteString(version)
	b.WriteString(strconv.FormatInt(k.created.UnixMilli(), 36))
	b.WriteByte('.')
	b.WriteByte(bgCodes[k.bg])
	if k.fast {
		b.WriteByte('1')
	} else {
		b.WriteByte('0')
	}
	b.WriteByte('.')
	b.WriteString(strconv.FormatUint(rand.Uint64()>>14, 36)) // 50 random bits
	b.WriteByte('.')
	b.WriteString(scene)
	return jobIDPrefix + jobIDEncoding.EncodeToString([]byte(b.String()))
}

// decodeJobID parses an id made by encodeJobID (in any process).
func decodeJobID(id string) (jobKey, bool) {
	rest, ok := strings.CutPrefix(id, jobIDPrefix)
	if !ok || len(id) > maxJobIDLen || rest == "" {
		return jobKey{}, false
	}
	raw, err := jobIDEncoding.DecodeString(rest)
	if err != nil {
		return jobKey{}, false
	}
	parts := strings.SplitN(string(raw), ".", 5)
	hashed := parts[0] == "2"
	if len(parts) != 5 || (parts[0] != "1" && !hashed) || len(parts[2]) != 2 || parts[3] == "" ||
		parts[4] == "" || len(parts[4]) > maxSceneIDLen || (hashed && len(parts[4]) != sceneHashLen) {
		return jobKey{}, false
	}
	ms, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || ms < 0 {
		return jobKey{}, false
	}
	bg, ok := bgFromCode(parts[2][0])
	if !ok {
		return jobKey{}, false
	}
	var fast bool
	switch parts[2][1] {
	case '0':
	case '1':
		fast = true
	default:
		return jobKey{}, false
	}
	return jobKey{scene: parts[4], hashed: hashed, created: time.UnixMilli(ms).UTC(), bg: bg, fast: fast}, true
}
