package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/commands"
	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
)

// BenchmarkRenderAck measures how fast the real bot, wired as main wires it (run with no arguments)
// against the fake Discord and the fake Viggle over loopback with a SQLite file in the benchmark's temp
// dir, acknowledges a burst of /render interactions. Each iteration is one round: renderBurst
// interactions from as many members are dispatched at once (written back to back on the gateway
// connection), and the round ends when every one of them shows its delivered video. One more round
// runs first, before the timed ones, and is reported apart (first-burst-*): the first burst after the
// bot starts also pays for what a running bot has already done once (dialling its connections to
// Discord, growing its heap and goroutine stacks).
//
//	GOTOOLCHAIN=auto go test -run '^$' -bench RenderAck -benchtime 30x .
//
// Two sub-benchmarks run the same rounds:
//   - in-process: the bot runs in the benchmark's process (run(ctx, "viggle-bot", nil, …)).
//   - child-process: the bot is the test binary re-executed as the bot (TestMain, VB_BOT_CHILD=1), so
//     its memory is measured apart from the fakes'.
//
// Metrics, over the timed rounds:
//   - ack-p50-ms, ack-p99-ms, ack-max-ms: acknowledgement latency, from the moment the fake Discord
//     began writing the INTERACTION_CREATE to the gateway websocket (Interaction.DispatchedAt, read
//     after encoding) to the arrival of the interaction's callback request at the fake (Request.At);
//     both are read from the same clock, in the benchmark's process.
//   - first-burst-p50-ms, first-burst-max-ms: the same latency in the first round after the start.
//   - peak-MiB: the highest memInUse (heap and stacks) of the process running the bot, sampled every 5 ms
//     from just before the first dispatch to the last delivery of a round (highest over all the rounds,
//     the first one included).
//     In-process, the fakes and the benchmark share that process, so it is only an upper bound on the
//     bot's peak, and it grows from round to round: the fake Discord keeps every request body and
//     uploaded video. Child-process, it is the bot's own.
//   - peak-over-baseline-MiB: the same peak minus memInUse measured after a GC just before
//     the round's first dispatch (highest over the rounds): what a burst adds on top of the idle bot.
//     In-process it also counts what the fakes keep of the round and the GC headroom of their heap.
//
// ns/op is the wall time of a whole round, renders and deliveries included.
func BenchmarkRenderAck(b *testing.B) {
	for _, m := range []struct {
		name  string
		child bool
	}{{"in-process", false}, {"child-process", true}} {
		b.Run(m.name, func(b *testing.B) { benchRenderAck(b, m.child) })
	}
}

func benchRenderAck(b *testing.B, child bool) {
	const scene = "scene_bench"
	e := startBenchBot(b, child, map[string]viggletest.Scenario{
		scene: {Polls: 3, VideoSize: 64 << 10}, // done at the third poll; a small video keeps the fakes light
	})

	first := e.renderRound(b, 0, scene)
	slices.Sort(first.acks)
	var acks []time.Duration
	peak, peakOver := first.peak, first.peak-min(first.peak, first.baseline)
	round := 1
	for b.Loop() {
		r := e.renderRound(b, round, scene)
		acks = append(acks, r.acks...)
		peak = max(peak, r.peak)
		peakOver = max(peakOver, r.peak-min(r.peak, r.baseline))
		round++
	}
	b.StopTimer()

	slices.Sort(acks)
	const mib = 1 << 20
	b.ReportMetric(toMS(quantile(acks, 0.50)), "ack-p50-ms")
	b.ReportMetric(toMS(quantile(acks, 0.99)), "ack-p99-ms")
	b.ReportMetric(toMS(acks[len(acks)-1]), "ack-max-ms")
	b.ReportMetric(toMS(quantile(first.acks, 0.50)), "first-burst-p50-ms")
	b.ReportMetric(toMS(first.acks[len(first.acks)-1]), "first-burst-max-ms") // 60 samples: p99 would be the max
	b.ReportMetric(float64(peak)/mib, "peak-MiB")
	b.ReportMetric(float64(peakOver)/mib, "peak-over-baseline-MiB")
}

// renderBurst is the number of /render interactions dispatched at once in a round.
const renderBurst = 60

// benchBot is the running bot, its fakes, and the probe of the bot's memory.
type benchBot struct {
	discord *discordtest.Server
	logs    *testkit.SyncBuffer
	mem     memProbe
}

// memProbe measures the memory of the process running the bot over a round.
type memProbe interface {
	// begin collects garbage, returns memInUse (the baseline) and starts tracking the peak.
	begin() (uint64, error)
	// end returns the highest memInUse seen since begin (sampled every 5 ms).
	end() (uint64, error)
}

// roundResult is what one round measured.
type roundResult struct {
	acks     []time.Duration // one per interaction
	peak     uint64          // highest memInUse sampled during the round
	baseline uint64          // memInUse after a GC just before the round
}

// startBenchBot starts the fakes and the bot as main runs it (in this process, or in a child process
// when child is set) and waits until the bot is connected and its commands are registered. Everything
// stops when the benchmark ends.
func startBenchBot(b *testing.B, child bool, scenes map[string]viggletest.Scenario) *benchBot {
	b.Helper()
	e := &benchBot{logs: &testkit.SyncBuffer{}}
	var du string
	e.discord, du = startDiscord(b)
	_, vu := startViggle(b, viggletest.WithAPIKey(cliKey), viggletest.WithScenarios(scenes))
	vars := map[string]string{
		"DISCORD_TOKEN": discordToken, "DISCORD_API_URL": du, "DISCORD_GUILD_ID": guildID,
		"VIGGLE_API_URL": vu, "VIGGLE_API_KEY": cliKey, "VIGGLE_POLL_INTERVAL": "50ms",
		// The default cap of 10 requests/s would stretch a round of 60 renders (a POST, three polls and a
		// download each) to about 30 s; it does not touch the acknowledgements being measured.
		"VIGGLE_MAX_RPS": "1000",
		"DATABASE_PATH":  filepath.Join(b.TempDir(), "data", "bot.db"),
		"LOG_LEVEL":      "info", // the production default
	}
	if child {
		e.mem = startChildBot(b, vars, e.logs)
	} else {
		e.mem = &localMem{}
		startLocalBot(b, vars, e.logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.discord.WaitReady(ctx); err != nil {
		b.Fatalf("bot never connected: %v\n%s", err, e.logs.String())
	}
	if err := e.discord.WaitFor(ctx, func() bool { return len(e.discord.Commands(guildID)) == len(commands.Definitions()) }); err != nil {
		b.Fatalf("commands never registered: %v\n%s", err, e.logs.String())
	}
	return e
}

// startLocalBot runs the bot in this process until the benchmark ends.
func startLocalBot(b *testing.B, vars map[string]string, logs *testkit.SyncBuffer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, "viggle-bot", nil, env(vars), io.Discard, logs) }()
	b.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				b.Errorf("bot exited %d after shutdown; logs:\n%s", code, logs.String())
			}
		case <-time.After(20 * time.Second):
			b.Errorf("bot did not stop")
		}
	})
}

// renderRound dispatches renderBurst /render interactions at once, each from its own member, waits until
// every one shows its delivered video and returns the acknowledgement latencies and the memory peak.
func (e *benchBot) renderRound(b *testing.B, round int, scene string) roundResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var res roundResult
	var err error
	if res.baseline, err = e.mem.begin(); err != nil {
		b.Fatalf("round %d: memory baseline: %v", round, err)
	}

	// The burst is written back to back on the gateway connection by one goroutine, as Discord would
	// send it (60 goroutines taking turns at the fake's connection would spread it and cost the fake
	// CPU that the bot shares on a small machine).
	cmds := make([]discordtest.SlashCommand, renderBurst)
	for k := range cmds {
		user := fmt.Sprintf("41%04d%012d", round, k) // an 18-digit snowflake, one member per interaction
		cmds[k] = discordtest.SlashCommand{
			Name: "render", GuildID: guildID, ChannelID: channelID, UserID: user, Username: "member" + user[len(user)-3:],
			AttachmentSizeLimit: 25 << 20,
			Options:             map[string]any{"scene": scene, "map": "person_a=char_x"},
		}
	}
	is, err := e.discord.SendCommands(ctx, cmds)
	if err != nil {
		b.Fatalf("round %d: dispatch: %v", round, err)
	}

	// The round ends when every interaction's message shows the delivered video; any other final title
	// ends the benchmark.
	var bad string
	err = e.discord.WaitFor(ctx, func() bool {
		for _, i := range is {
			m, ok := e.discord.Original(i.ID)
			if !ok {
				return false
			}
			for _, t := range []string{"**Render failed**", "**Cancelled**", "**Interrupted**"} {
				if strings.HasPrefix(m.Content, t) {
					bad = m.Content
					return true
				}
			}
			if !strings.HasPrefix(m.Content, "**Done!**") {
				return false
			}
		}
		return true
	})
	peak, perr := e.mem.end()
	switch {
	case err != nil:
		b.Fatalf("round %d: not every render was delivered: %v\nlogs:\n%s", round, err, e.logs.String())
	case bad != "":
		b.Fatalf("round %d: a render ended %q\nlogs:\n%s", round, bad, e.logs.String())
	case perr != nil:
		b.Fatalf("round %d: memory peak: %v", round, perr)
	}
	res.peak = peak

	for _, i := range is {
		got, _ := e.discord.Interaction(i.ID)
		cbs := e.discord.Callbacks(i.ID)
		switch {
		case got == nil || got.DispatchedAt.IsZero():
			b.Fatalf("interaction %s: no dispatch time", i.ID)
		case len(cbs) != 1 || cbs[0].Status >= 300:
			b.Fatalf("interaction %s: %d callbacks, want one accepted", i.ID, len(cbs))
		case cbs[0].At.Before(got.DispatchedAt):
			b.Fatalf("interaction %s: callback at %v, before its dispatch at %v", i.ID, cbs[0].At, got.DispatchedAt)
		}
		res.acks = append(res.acks, cbs[0].At.Sub(got.DispatchedAt))
	}
	return res
}

// memInUse is the process's heap spans in use plus goroutine stacks (MemStats' HeapInuse+StackInuse),
// read from runtime/metrics, which does not stop the world as runtime.ReadMemStats does: sampling
// every 5 ms with ReadMemStats paused the very burst being measured (up to 2.7 ms a sample, seen in
// an execution trace).
func memInUse() uint64 {
	s := []metrics.Sample{ // objects+unused = HeapInuse, stacks = StackInuse (runtime/metrics' documentation)
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	metrics.Read(s)
	var v uint64
	for _, m := range s {
		v += m.Value.Uint64()
	}
	return v
}

// memSampler tracks the highest memInUse, sampled every memSampleInterval.
type memSampler struct {
	mu   sync.Mutex
	peak uint64
	quit chan struct{}
	done chan struct{}
}

const memSampleInterval = 5 * time.Millisecond

// startSampler samples at once, then every memSampleInterval until stop.
func startSampler() *memSampler {
	s := &memSampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(memSampleInterval)
		defer t.Stop()
		for {
			s.observe()
			select {
			case <-t.C:
			case <-s.quit:
				s.observe()
				return
			}
		}
	}()
	return s
}

func (s *memSampler) observe() {
	v := memInUse()
	s.mu.Lock()
	s.peak = max(s.peak, v)
	s.mu.Unlock()
}

// reset starts a new peak at v.
func (s *memSampler) reset(v uint64) {
	s.mu.Lock()
	s.peak = v
	s.mu.Unlock()
}

func (s *memSampler) get() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// stop ends the sampling after one last sample and returns the peak.
func (s *memSampler) stop() uint64 {
	close(s.quit)
	<-s.done
	return s.get()
}

// localMem samples this process, only during rounds.
type localMem struct{ s *memSampler }

func (l *localMem) begin() (uint64, error) {
	runtime.GC()
	base := memInUse()
	l.s = startSampler()
	return base, nil
}

func (l *localMem) end() (uint64, error) { return l.s.stop(), nil }

// Child-process mode: the test binary re-executed with VB_BOT_CHILD=1 runs the bot (see TestMain);
// with VB_BENCH_MEMSTATS=1 as well, the init below samples the child's memory all along and answers
// the benchmark on stdin/stdout, one line each: "begin" → "<baseline>" (after a GC; the peak restarts
// there), "end" → "<peak since begin>".

func init() {
	if os.Getenv("VB_BOT_CHILD") == "1" && os.Getenv("VB_BENCH_MEMSTATS") == "1" {
		go serveMemStats(os.Stdin, os.Stdout)
	}
}

func serveMemStats(in io.Reader, out io.Writer) {
	if in == io.Reader(os.Stdin) {
		// A blocking read of stdin would hold one of the bot's two Ps in a system call until the
		// runtime's monitor takes it back (up to 10 ms after idling, seen in an execution trace):
		// read it through the network poller instead. (Not via os.Stdin.Fd(), which would put the
		// descriptor back in blocking mode; nothing else in the child reads stdin.)
		if err := syscall.SetNonblock(0, true); err == nil {
			in = os.NewFile(0, "stdin")
		}
	}
	s := startSampler()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch sc.Text() {
		case "begin":
			runtime.GC()
			base := memInUse()
			s.reset(base)
			fmt.Fprintln(out, base)
		case "end":
			s.observe()
			fmt.Fprintln(out, s.get())
		}
	}
}

// childMem talks to serveMemStats in the child.
type childMem struct {
	in  io.Writer
	out *bufio.Scanner
}

func (c *childMem) ask(cmd string) (uint64, error) {
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return 0, fmt.Errorf("ask the bot process %q: %w", cmd, err)
	}
	if !c.out.Scan() {
		return 0, fmt.Errorf("ask the bot process %q: no answer (%v)", cmd, c.out.Err())
	}
	var v uint64
	if _, err := fmt.Sscan(c.out.Text(), &v); err != nil {
		return 0, fmt.Errorf("ask the bot process %q: answer %q: %w", cmd, c.out.Text(), err)
	}
	return v, nil
}

func (c *childMem) begin() (uint64, error) { return c.ask("begin") }
func (c *childMem) end() (uint64, error)   { return c.ask("end") }

// startChildBot runs the bot as a child process until the benchmark ends (it is killed then: the
// benchmark needs no orderly shutdown).
func startChildBot(b *testing.B, vars map[string]string, logs *testkit.SyncBuffer) memProbe {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VB_BOT_CHILD=1", "VB_BENCH_MEMSTATS=1")
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = logs
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &childMem{in: in, out: bufio.NewScanner(out)}
}

// quantile is the nearest-rank q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

func toMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
