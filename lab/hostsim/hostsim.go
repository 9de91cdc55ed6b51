// Package hostsim is the lab's hosts for the data-path step: an ESXi host (VM 1's) and the
// far side's Linux machine, each an SSH server answering the few commands the step runs with a
// data-path scene's content. Their captures are the scene's points 1 and 4, so they agree with
// the Edge's points 2 and 3 of the same scene. Files a capture writes live in memory until rm.
//
// Only exec requests are served; an unknown command gets "command not found" and status 127.
package hostsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ipsecbot/diag/datapath/scene"
	"ipsecbot/diag/ike"
	"ipsecbot/diag/peer"
	"ipsecbot/lab/sshserver"
)

// Kind is which host it is.
type Kind int

const (
	ESXi  Kind = iota // VM 1's ESXi host: net-stats, esxcli, pktcap-uw
	Linux             // the far side: ping, tcpdump
)

// Config is what the host serves and whom it lets in.
type Config struct {
	Kind     Kind
	User     string
	Password string
	HostKey  ssh.Signer
	Scene    scene.Scene
}

// Host is a running simulated host.
type Host struct {
	cfg Config
	srv *sshserver.Server

	mu       sync.Mutex
	files    map[string][]byte
	commands []string
	procs    map[int]string // background captures still running: pid -> command
	nextPID  int
	hang     chan struct{} // non-nil: ping waits until it is closed (HangPing)
}

// HangPing makes every ping from now on wait without an answer until HangPing(false) or
// Close: a step caught with its captures running.
func (h *Host) HangPing(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case on && h.hang == nil:
		h.hang = make(chan struct{})
	case !on && h.hang != nil:
		close(h.hang)
		h.hang = nil
	}
}

// pingGate is what a ping waits on (nil: nothing).
func (h *Host) pingGate() chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hang
}

// Start listens on addr (host:port, port 0 for any) and serves until ctx is done or Close.
func Start(ctx context.Context, addr string, cfg Config) (*Host, error) {
	if cfg.HostKey == nil || cfg.User == "" {
		return nil, errors.New("hostsim: a host key and a user are needed")
	}
	h := &Host{cfg: cfg, files: map[string][]byte{}, procs: map[int]string{}, nextPID: 40211}
	h.srv = sshserver.New(sshserver.Config{
		User: cfg.User, Password: cfg.Password,
		HostKeys: func() []ssh.Signer { return []ssh.Signer{cfg.HostKey} },
	}, h.serveSession)
	if err := h.srv.Start(ctx, addr); err != nil {
		return nil, fmt.Errorf("hostsim: %w", err)
	}
	return h, nil
}

// Addr is the host:port the host listens on.
func (h *Host) Addr() string { return h.srv.Addr() }

// HostKey is the public half of the host key (for known_hosts).
func (h *Host) HostKey() ssh.PublicKey { return h.cfg.HostKey.PublicKey() }

// KnownHostsLine is the host's line for a known_hosts file.
func (h *Host) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(h.Addr())}, h.HostKey())
}

// Target is how the step's driver reaches the host over SSH, its key checked against the
// known_hosts file named.
func (h *Host) Target(name, knownHosts string) peer.SSHTarget {
	return peer.SSHTarget{Name: name, Address: h.Addr(), User: h.cfg.User, Password: h.cfg.Password, KnownHosts: knownHosts}
}

// Close stops the server.
func (h *Host) Close() error {
	h.HangPing(false)
	return h.srv.Close()
}

// Files lists the files present, sorted (a capture not removed shows here).
func (h *Host) Files() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.files))
}

// Running lists the background processes not stopped yet, by pid.
func (h *Host) Running() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.procs))
}

// Commands lists the commands run so far, in order.
func (h *Host) Commands() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.commands)
}

// serveSession runs the first exec request of a session; env and pty requests are accepted and
// ignored, anything else refused.
func (h *Host) serveSession(s sshserver.Session) {
	ch := s.Channel
	defer ch.Close()
	for req := range s.Requests {
		switch req.Type {
		case "exec":
			var exec struct{ Command string }
			if ssh.Unmarshal(req.Payload, &exec) != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			sshserver.SendExitStatus(ch, h.run(ch, ch.Stderr(), exec.Command))
			ch.CloseWrite()
			return
		case "env", "pty-req", "window-change":
			if req.WantReply {
				req.Reply(true, nil)
			}
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// run answers one command and returns its exit status.
func (h *Host) run(out, errOut io.Writer, cmd string) uint32 {
	h.mu.Lock()
	h.commands = append(h.commands, cmd)
	h.mu.Unlock()
	if inner, ok := strings.CutSuffix(strings.TrimSpace(cmd), "& echo $!"); ok {
		return h.background(out, errOut, inner)
	}
	args := strings.Fields(cmd)
	if len(args) == 0 {
		return 0
	}
	var status uint32
	var err error
	switch {
	case args[0] == "cat" && len(args) == 2:
		err = h.cat(out, args[1])
	case args[0] == "kill" && len(args) == 2:
		err = h.kill(args[1])
	case args[0] == "rm" && (len(args) == 2 || len(args) == 3 && args[1] == "-f"):
		err = h.rm(args[len(args)-1], len(args) == 3)
	case h.cfg.Kind == ESXi:
		status, err = h.esxi(out, args)
	default:
		status, err = h.linux(out, args)
	}
	if err != nil {
		fmt.Fprintln(errOut, err)
		if status == 0 {
			status = 1
		}
	}
	return status
}

// background answers `CMD [>/dev/null] [2>&1] & echo $!`: the command runs (a capture writes
// its file at once), keeps "running" until killed, and its pid is printed.
func (h *Host) background(out, errOut io.Writer, cmd string) uint32 {
	var args []string
	for _, a := range strings.Fields(cmd) {
		if a != ">/dev/null" && a != "2>&1" {
			args = append(args, a)
		}
	}
	if len(args) == 0 {
		return 2
	}
	if st := h.run(io.Discard, errOut, strings.Join(args, " ")); st == 127 {
		return 0 // a shell starts the job and reports it missing on stderr only
	}
	h.mu.Lock()
	h.nextPID++
	pid := h.nextPID
	h.procs[pid] = cmd
	h.mu.Unlock()
	fmt.Fprintln(out, pid)
	return 0
}

func (h *Host) kill(arg string) error {
	pid, err := strconv.Atoi(arg)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.procs[pid]; err != nil || !ok {
		return fmt.Errorf("sh: can't kill pid %s: No such process", arg)
	}
	delete(h.procs, pid)
	return nil
}

func (h *Host) cat(w io.Writer, name string) error {
	h.mu.Lock()
	b, ok := h.files[name]
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("cat: can't open '%s': No such file or directory", name)
	}
	_, err := w.Write(b)
	return err
}

func (h *Host) rm(name string, force bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.files[name]; !ok && !force {
		return fmt.Errorf("rm: can't remove '%s': No such file or directory", name)
	}
	delete(h.files, name)
	return nil
}

// capture writes the scene's capture of point p (0: an empty capture) as file name and returns its frame count.
func (h *Host) capture(name string, p int) (int, error) {
	var b bytes.Buffer
	var err error
	if p == 0 {
		_, err = ike.NewCaptureWriter(&b) // the file header alone
	} else {
		err = h.cfg.Scene.WritePoint(p, &b)
	}
	if err != nil {
		return 0, err
	}
	data := b.Bytes()
	n := 0
	if err := ike.EachPacket(bytes.NewReader(data), func(ike.Packet) { n++ }); err != nil {
		return 0, err
	}
	h.mu.Lock()
	h.files[name] = data
	h.mu.Unlock()
	return n, nil
}

// notFound is a shell's answer to an unknown command.
func notFound(name string) (uint32, error) {
	return 127, fmt.Errorf("sh: %s: not found", name)
}
