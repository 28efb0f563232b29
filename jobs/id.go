package jobs

import (
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// idAlphabet has no look-alike characters (no 0/o, 1/l/i), so an id read off a screen types back right.
const idAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// NewID returns a short random job id, such as "k3f9x2qa7m": 10 characters of a 31-letter alphabet
// (about 49 bits), short enough to read and type, unique enough for one bot's lifetime of jobs (the
// primary key rejects the astronomically rare collision).
func NewID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("jobs: crypto/rand failed: %v", err)) // never happens on supported platforms
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}

// newLeaseOwner identifies this process in job leases: "<machine>/<pid>/<nonce>", where machine names
// the host, its boot and its pid namespace, so that a pid is only ever compared within the namespace
// it belongs to (two containers with the same hostname have different pid namespaces).
func newLeaseOwner() string {
	return machineID() + "/" + strconv.Itoa(os.Getpid()) + "/" + NewID()
}

func machineID() string {
	host, _ := os.Hostname()
	id := host
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		id += "|" + strings.TrimSpace(string(b))
	}
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		id += "|" + ns
	}
	return strings.ReplaceAll(id, "/", "_")
}

// leaseHolderDead reports whether the process named by holder is certainly gone, so its lease may be
// taken over at once instead of waiting for it to expire: it ran on this machine, in this pid
// namespace, and its pid is either ours (we are a later process with the same pid, as in a restarted
// container) or no longer exists.
func leaseHolderDead(holder, self string) bool {
	hp := strings.Split(holder, "/")
	sp := strings.Split(self, "/")
	if len(hp) != 3 || len(sp) != 3 || hp[0] != sp[0] {
		return false
	}
	if hp[1] == sp[1] {
		return hp[2] != sp[2]
	}
	pid, err := strconv.Atoi(hp[1])
	if err != nil || pid <= 0 {
		return false
	}
	return !processAlive(pid)
}

// processAlive asks the kernel whether pid exists (signal 0 checks without sending anything).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
