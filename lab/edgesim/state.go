package edgesim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/edge"
)

// The Edge's shared state (commands, captures, files, known hosts) changes only in the
// methods below and in edgesim.go. Each holds e.mu for its own work and nothing else: none
// writes to a session, calls a Config callback or waits on the network under the lock, so one
// session stuck on its client can never stop the others, new logins (hostKeys reads the fault
// switches) or Close. A method that decides what the terminal shows returns the text; the
// shell writes it after the lock is released.

// recordCommand appends a command line to what Commands reports.
func (e *Edge) recordCommand(line string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.commands = append(e.commands, line)
}

// startCapture is `debug packet capture interface IFACE EXPR`; it returns the Edge's answer.
func (e *Edge) startCapture(iface, expr string) string {
	if !ifaceName.MatchString(iface) {
		return "% Invalid interface " + iface + "\n"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.captures {
		if c.Interface != iface {
			continue
		}
		if c.Running {
			return "% A packet capture is already running on " + iface + "\n"
		}
		n++
	}
	e.captures = append(e.captures, &Capture{Interface: iface, Expr: expr,
		File: fmt.Sprintf("tcpdump_%s.%d", iface, n), Running: true, started: time.Now()})
	return "tcpdump: listening on " + iface + ", link-type EN10MB (Ethernet), capture size 65535 bytes\n"
}

// stopCapture is `no debug packet capture interface IFACE`: the running capture's file lands
// on the Edge's disk. It returns the Edge's answer ("" when it stopped one).
func (e *Edge) stopCapture(iface string) string {
	expr := e.runningExpr(iface)
	var data []byte
	if e.cfg.CaptureFor != nil {
		data = e.cfg.CaptureFor(iface, expr) // the lab's callbacks: outside the lock
	}
	if data == nil && e.cfg.CaptureFile != nil {
		data = e.cfg.CaptureFile()
	}
	if data == nil {
		data = emptyPcap()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.captures {
		if c.Interface == iface && c.Running {
			c.Running, c.Stopped, c.ended = false, true, time.Now()
			e.files[c.File] = data
			return ""
		}
	}
	return "% No packet capture is running on " + iface + "\n"
}

// runningExpr is the expression of the capture running on iface ("" when none runs).
func (e *Edge) runningExpr(iface string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.captures {
		if c.Interface == iface && c.Running {
			return c.Expr
		}
	}
	return ""
}

// fileListing renders `debug show files` (docs/nsx-formats.md §1.7).
func (e *Edge) fileListing() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.files))
	var total int
	for n, d := range e.files {
		names = append(names, n)
		total += len(d)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "total %.1fK\n", float64(total)/1024)
	stamp := time.Now().UTC().Format("Jan _2 15:04")
	for _, n := range names {
		fmt.Fprintf(&b, "-rw------- 1 %d %s %s\n", len(e.files[n]), stamp, n)
	}
	return b.String()
}

// removeFile is `debug remove FILE`; it returns the Edge's answer ("" when it removed one).
func (e *Edge) removeFile(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.files[name]; !ok {
		return "% File not found: " + name + "\n"
	}
	delete(e.files, name)
	for _, c := range e.captures {
		if c.File == name {
			c.Removed = true
		}
	}
	return ""
}

// file is a capture file's content; false when the Edge's disk has no such file.
func (e *Edge) file(name string) ([]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	data, ok := e.files[name]
	return data, ok
}

// markCopied counts one `debug copy` of a capture file.
func (e *Edge) markCopied(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.captures {
		if c.File == name {
			c.Copied++
		}
	}
}

// knownHost is the key `debug copy scp` accepted for host before; false if none.
func (e *Edge) knownHost(host string) (ssh.PublicKey, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, ok := e.knownHosts[host]
	return k, ok
}

// trustHost records the key accepted for host.
func (e *Edge) trustHost(host string, key ssh.PublicKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.knownHosts[host] = key
}

// newSession counts a CLI shell opening and returns its place in the order (1 first).
func (e *Edge) newSession() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sessions++
	return e.sessions
}

// captureTime is how long captures have run on the Edge, all together, as of now.
func (e *Edge) captureTime(now time.Time) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var d time.Duration
	for _, c := range e.captures {
		end := c.ended
		if c.Running {
			end = now
		}
		d += end.Sub(c.started)
	}
	return d
}

// saNow is Config.SA with the traffic the captures so far watched (Config.ESPPerSecond)
// added to its installed child SAs' counters.
func (e *Edge) saNow() *edge.SAStatus {
	st := *e.cfg.SA
	n := int64(e.captureTime(time.Now()).Seconds() * float64(e.cfg.ESPPerSecond))
	st.IKESAs = make([]edge.IKESA, len(e.cfg.SA.IKESAs))
	for i, ike := range e.cfg.SA.IKESAs {
		ike.Children = append([]edge.ChildSA(nil), ike.Children...)
		for j := range ike.Children {
			c := &ike.Children[j]
			if c.State != "INSTALLED" {
				continue
			}
			c.PacketsIn, c.BytesIn = moreTraffic(c.PacketsIn, c.BytesIn, n)
			c.PacketsOut, c.BytesOut = moreTraffic(c.PacketsOut, c.BytesOut, n)
		}
		st.IKESAs[i] = ike
	}
	return &st
}

// moreTraffic adds n packets of the average size so far to one direction's counters; a
// direction that carried nothing carries nothing more.
func moreTraffic(packets, bytes, n int64) (int64, int64) {
	if packets <= 0 || n <= 0 {
		return packets, bytes
	}
	return packets + n, bytes + n*(bytes/packets)
}
