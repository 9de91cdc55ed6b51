// Command watchbench measures the tunnel watcher and the syslog receiver (bench/watch.sh runs
// it and prints the README's figures):
//
//	watchbench sweep   one sweep of many lab edges behind an NSX Manager with injected latency,
//	                   against the ideal edges × latency ÷ concurrency, and the watcher's peak RSS
//	                   (the simulated Manager runs in a child process, so it is not counted)
//	watchbench day     the store's size after a simulated day of one sweep per minute
//	watchbench syslog  the highest datagram rate received over loopback without loss, and the
//	                   receiver's peak RSS
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/store"
	"ipsecbot/watch"
	"ipsecbot/watch/syslog"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: watchbench sweep|day|syslog|manager [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "sweep":
		err = sweep(os.Args[2:])
	case "day":
		err = day(os.Args[2:])
	case "syslog":
		err = syslogRate(os.Args[2:])
	case "manager":
		err = manager(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "watchbench:", err)
		os.Exit(1)
	}
}

// timelines are n edges of `tunnels` tunnels each, every one rekeying hourly and, on each
// tenth edge, the first tunnel dropping every 10 minutes.
func timelines(n, tunnels int, start time.Time) []nsxsim.Timeline {
	out := make([]nsxsim.Timeline, n)
	for i := range n {
		tl := nsxsim.Timeline{Start: start}
		for j := range tunnels {
			k := i*tunnels + j
			t := nsxsim.TimelineTunnel{SiteID: fmt.Sprintf("ipsecsite-%d", j+1), LocalIP: "192.0.2.1",
				PeerIP:      netip.AddrFrom4([4]byte{198, 51, byte(k >> 8), byte(k)}).String(),
				LocalSubnet: fmt.Sprintf("10.%d.%d.0/24", k>>8, k&0xff), PeerSubnet: fmt.Sprintf("172.%d.%d.0/24", 16+k>>8&0xf, k&0xff),
				RekeyEvery: time.Hour}
			if i%10 == 0 && j == 0 {
				t.RekeyEvery, t.FlapEvery, t.Failure = 0, 10*time.Minute, nsx.MsgIKEv2AuthFailed
			}
			tl.Tunnels = append(tl.Tunnels, t)
		}
		out[i] = tl
	}
	return out
}

// manager serves the edges on loopback and prints "URL CAFILE" on stdout, until stdin closes.
func manager(args []string) error {
	fs := flag.NewFlagSet("manager", flag.ExitOnError)
	edges := fs.Int("edges", 500, "edges")
	tunnels := fs.Int("tunnels", 4, "tunnels per edge")
	latency := fs.Duration("latency", 50*time.Millisecond, "injected latency per answer")
	fs.Parse(args)
	var content []nsxsim.EdgeContent
	for i, tl := range timelines(*edges, *tunnels, time.Now()) {
		content = append(content, nsxsim.EdgeContent{ID: fmt.Sprintf("edge-%d", i+1), Name: fmt.Sprintf("edge-%03d", i+1), StatisticsAt: tl.At})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m, err := nsxsim.Start(ctx, "127.0.0.1:0", nsxsim.Config{User: "admin", Password: "bench", Edges: content, Faults: nsxsim.Faults{Latency: *latency}})
	if err != nil {
		return err
	}
	defer m.Close()
	ca := filepath.Join(os.TempDir(), fmt.Sprintf("watchbench-ca-%d.pem", os.Getpid()))
	if err := os.WriteFile(ca, m.CAPEM(), 0o600); err != nil {
		return err
	}
	defer os.Remove(ca)
	fmt.Println(m.URL(), ca)
	bufio.NewReader(os.Stdin).ReadString('\n') // the parent closes stdin when done
	return nil
}

func sweep(args []string) error {
	fs := flag.NewFlagSet("sweep", flag.ExitOnError)
	edges := fs.Int("edges", 500, "edges")
	tunnels := fs.Int("tunnels", 4, "tunnels per edge")
	latency := fs.Duration("latency", 50*time.Millisecond, "injected latency per answer")
	conc := fs.Int("concurrency", 32, "edges read at once")
	sweeps := fs.Int("sweeps", 5, "sweeps to run (the first opens the connections)")
	profile := fs.String("cpuprofile", "", "write the watcher's CPU profile to FILE")
	fs.Parse(args)
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "manager", "-edges", strconv.Itoa(*edges), "-tunnels", strconv.Itoa(*tunnels), "-latency", latency.String())
	child.Stderr = os.Stderr
	in, err := child.StdinPipe()
	if err != nil {
		return err
	}
	out, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer func() { in.Close(); child.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	url, ca, _ := strings.Cut(strings.TrimSpace(line), " ")
	client, err := nsx.New(nsx.Manager{Name: "bench", URL: url, User: "admin", Password: "bench", CAFile: ca, Timeout: 30 * time.Second, IdleConns: *conc})
	if err != nil {
		return err
	}
	defer client.Close()
	var targets []watch.Target
	for i := range *edges {
		targets = append(targets, watch.Target{Edge: fmt.Sprintf("edge-%03d", i+1), EdgeID: fmt.Sprintf("edge-%d", i+1), Source: client})
	}
	dir, err := os.MkdirTemp("", "watchbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "bot.db"), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	var read readTimes
	w, err := watch.New(watch.Config{Targets: targets, Store: db, Sweep: watch.SweepOptions{Concurrency: *conc, Timeout: 30 * time.Second}, Observer: &read})
	if err != nil {
		return err
	}
	ideal := time.Duration(*edges) * *latency / time.Duration(*conc)
	var took []time.Duration
	cpu0 := cpuTime()
	for i := range *sweeps {
		start := time.Now()
		if _, err := w.SweepOnce(context.Background()); err != nil {
			return err
		}
		d := time.Since(start)
		took = append(took, d)
		fmt.Fprintf(os.Stderr, "sweep %d: %v (reading the edges %v)\n", i+1, d.Round(time.Millisecond), read.last.Round(time.Millisecond))
	}
	cpuPer := (cpuTime() - cpu0) / time.Duration(*sweeps)
	unread := 0
	for _, t := range w.Tunnels() {
		if s, _ := t.Shown(); s == watch.StateUnknown {
			unread++
		}
	}
	steady := slices.Clone(took[1:])
	slices.Sort(steady)
	med := steady[len(steady)/2]
	fmt.Printf("| sweep of %d edges × %d tunnels, %v latency, concurrency %d | first %v, median %v of %d | ideal %v | ratio %.2f | unread tunnels %d |\n",
		*edges, *tunnels, *latency, *conc, took[0].Round(time.Millisecond), med.Round(time.Millisecond), len(steady), ideal, float64(med)/float64(ideal), unread)
	fmt.Printf("| watcher CPU per sweep | %v | load average | %s |\n", cpuPer.Round(time.Millisecond), loadAvg())
	fmt.Printf("| watcher peak RSS (VmHWM) | %s | manager process (not counted) | %s |\n", peakRSS(os.Getpid()), peakRSS(child.Process.Pid))
	return nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg is the machine's 1-minute load and its CPU count: the sweep shares them.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return fmt.Sprintf("%s on %d CPUs", f[0], runtime.NumCPU())
}

// readTimes keeps how long the last sweep took to read the edges (before storing).
type readTimes struct{ last time.Duration }

func (r *readTimes) Swept(s watch.Swept) { r.last = s.Took }

// peakRSS reads a process's VmHWM.
func peakRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
		}
	}
	return "?"
}

// clockSource answers an edge's statistics at the simulated clock, without HTTP.
type clockSource struct {
	tl  []nsxsim.Timeline
	now *atomic.Pointer[time.Time]
}

func (s clockSource) IPsecStatistics(_ context.Context, id string) (*nsx.Statistics, []byte, error) {
	i, _ := strconv.Atoi(strings.TrimPrefix(id, "edge-"))
	return s.tl[i-1].At(*s.now.Load()), nil, nil
}

func day(args []string) error {
	fs := flag.NewFlagSet("day", flag.ExitOnError)
	edges := fs.Int("edges", 500, "edges")
	tunnels := fs.Int("tunnels", 4, "tunnels per edge")
	hours := fs.Int("hours", 24, "hours to simulate, one sweep a minute")
	fs.Parse(args)
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var now atomic.Pointer[time.Time]
	now.Store(&start)
	src := clockSource{tl: timelines(*edges, *tunnels, start), now: &now}
	var targets []watch.Target
	for i := range *edges {
		targets = append(targets, watch.Target{Edge: fmt.Sprintf("edge-%03d", i+1), EdgeID: fmt.Sprintf("edge-%d", i+1), Source: src})
	}
	dir, err := os.MkdirTemp("", "watchbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bot.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return err
	}
	w, err := watch.New(watch.Config{Targets: targets, Store: db, Sweep: watch.SweepOptions{Concurrency: 32},
		Now: func() time.Time { return *now.Load() }})
	if err != nil {
		return err
	}
	began := time.Now()
	for m := range *hours * 60 {
		t := start.Add(time.Duration(m) * time.Minute)
		now.Store(&t)
		if _, err := w.SweepOnce(context.Background()); err != nil {
			return err
		}
		if m%60 == 59 {
			fmt.Fprintf(os.Stderr, "hour %d done (%v)\n", m/60+1, time.Since(began).Round(time.Second))
		}
	}
	rows := 0
	for _, t := range w.Tunnels() {
		evs, err := db.WatchEvents(t.Edge, t.Site, t.Tunnel, start, start.Add(time.Duration(*hours+1)*time.Hour))
		if err != nil {
			return err
		}
		rows += len(evs)
	}
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("| store after %d h of one sweep a minute, %d edges × %d tunnels | %.1f MiB | %d history rows | took %v |\n",
		*hours, *edges, *tunnels, float64(fi.Size())/(1<<20), rows, time.Since(began).Round(time.Second))
	return nil
}

func syslogRate(args []string) error {
	fs := flag.NewFlagSet("syslog", flag.ExitOnError)
	step := fs.Duration("step", 3*time.Second, "time at each rate")
	rates := fs.String("rates", "5000,10000,20000,40000,80000,160000", "datagrams per second to try, in order")
	fs.Parse(args)
	dir, err := os.MkdirTemp("", "watchbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rx, err := syslog.New(syslog.Options{Dir: dir, Senders: map[netip.Addr]string{netip.MustParseAddr("127.0.0.1"): "edge-001"}, MaxFileBytes: 64 << 20})
	if err != nil {
		return err
	}
	pc, ln, err := syslog.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rx.Serve(ctx, pc, ln) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		return err
	}
	defer conn.Close()
	msg := []byte("<30>Dec  1 20:12:04 edge-001 charon: 09[IKE] sending DPD request to 198.51.100.20[500], message ID 1234, CHILD_SA vpn-1{3} established with SPIs c1a2b3c4_i d5e6f7a8_o")
	best := 0
	for _, f := range strings.Split(*rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		before := rx.Stats().Received
		sent := 0
		begin := time.Now()
		// Send in batches every millisecond to hold the rate.
		for time.Since(begin) < *step {
			due := int(time.Since(begin).Seconds() * float64(rate))
			for ; sent < due; sent++ {
				conn.Write(msg)
			}
			time.Sleep(time.Millisecond)
		}
		deadline := time.Now().Add(2 * time.Second)
		for rx.Stats().Received-before < uint64(sent) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		got := int(rx.Stats().Received - before)
		actual := float64(sent) / time.Since(begin).Seconds()
		fmt.Fprintf(os.Stderr, "rate %d/s: sent %d, received %d (%.0f/s sent)\n", rate, sent, got, actual)
		if got < sent {
			break
		}
		best = rate
	}
	runtime.GC()
	fmt.Printf("| syslog over UDP loopback, one edge, %d-byte messages | %d datagrams/s without loss (highest tried rate) | receiver peak RSS %s |\n", len(msg), best, peakRSS(os.Getpid()))
	return nil
}
