package edgesim

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/sshserver"
)

// shell is one CLI session on a PTY.
type shell struct {
	e        *Edge
	nc       net.Conn
	ch       ssh.Channel
	in       chan byte     // the terminal's keystrokes; closed when the channel ends
	done     chan struct{} // closed when the CLI has ended: nobody reads in any more
	rows     atomic.Int32
	enabled  bool
	commands int
	lastCR   bool
	ordinal  int // the shell's place in the order the Edge's shells opened (1 first)
}

const ctrlC = 0x03

// interrupted is the error of a line read that Ctrl-C ended.
type interrupted struct{}

func (interrupted) Error() string { return "interrupted" }

// serveSession answers one session's requests: a PTY, its size changes and one shell, the
// CLI. exec and subsystems (sftp) are refused: the Edge CLI is an interactive shell.
func (e *Edge) serveSession(s sshserver.Session) {
	ch := s.Channel
	sh := &shell{e: e, nc: s.Conn, ch: ch, in: make(chan byte, 4096), done: make(chan struct{})}
	sh.rows.Store(24)
	started := false
	for req := range s.Requests {
		switch req.Type {
		case "pty-req":
			var p struct {
				Term             string
				Cols, Rows, W, H uint32
				Modes            string
			}
			if ssh.Unmarshal(req.Payload, &p) == nil && p.Rows > 0 {
				sh.rows.Store(int32(min(p.Rows, 100000)))
			}
			_ = req.Reply(true, nil)
		case "window-change":
			var w struct{ Cols, Rows, W, H uint32 }
			if ssh.Unmarshal(req.Payload, &w) == nil && w.Rows > 0 {
				sh.rows.Store(int32(min(w.Rows, 100000)))
			}
			_ = req.Reply(false, nil)
		case "env":
			_ = req.Reply(true, nil)
		case "shell":
			if started {
				_ = req.Reply(false, nil)
				continue
			}
			started = true
			sh.ordinal = e.newSession()
			_ = req.Reply(true, nil)
			e.srv.Go(sh.pumpInput)
			e.srv.Go(func() {
				sh.repl()
				close(sh.done)
				sshserver.SendExitStatus(ch, 0)
				ch.Close()
			})
		default:
			_ = req.Reply(false, nil)
		}
	}
	if !started {
		ch.Close()
	}
}

// pumpInput feeds the channel's bytes to in until the channel ends or the CLI has ended
// (then what the client typed after `exit` is dropped rather than waited on).
func (sh *shell) pumpInput() {
	defer close(sh.in)
	buf := make([]byte, 1024)
	for {
		n, err := sh.ch.Read(buf)
		for _, b := range buf[:n] {
			select {
			case sh.in <- b:
			case <-sh.done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// write sends text to the terminal with "\n" as "\r\n". It may block as long as the client
// does not read, so it is never called under e.mu.
func (sh *shell) write(s string) {
	if s == "" {
		return
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	sh.writeRaw([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
}

func (sh *shell) writeRaw(b []byte) {
	if !sh.e.currentFaults().OneByteWrites {
		_, _ = sh.ch.Write(b)
		return
	}
	for i := range b {
		if _, err := sh.ch.Write(b[i : i+1]); err != nil {
			return
		}
	}
}

func (sh *shell) prompt() string {
	name := fmt.Sprintf("%s-%d", sh.e.cfg.Hostname, sh.e.cfg.HAIndex)
	if sh.enabled {
		return name + "# "
	}
	return name + "> "
}

// readKey returns the next keystroke; ok is false when the session ended.
func (sh *shell) readKey() (byte, bool) {
	b, ok := <-sh.in
	return b, ok
}

// readLine reads a line, echoing it unless secret. Enter is "\r" or "\n" ("\r\n" counts once).
func (sh *shell) readLine(echo bool) (string, error) {
	var line []byte
	for {
		b, ok := sh.readKey()
		if !ok {
			return "", net.ErrClosed
		}
		switch {
		case b == '\n' && sh.lastCR:
			sh.lastCR = false
			continue
		case b == '\r' || b == '\n':
			sh.lastCR = b == '\r'
			sh.write("\n")
			return string(line), nil
		case b == ctrlC:
			sh.lastCR = false
			sh.write("^C\n")
			return "", interrupted{}
		case b == 0x7f || b == 0x08:
			sh.lastCR = false
			if len(line) > 0 {
				line = line[:len(line)-1]
				if echo {
					sh.write("\b \b")
				}
			}
		default:
			sh.lastCR = false
			if b < 0x20 {
				continue
			}
			line = append(line, b)
			if echo {
				sh.writeRaw([]byte{b})
			}
		}
	}
}

// hang stalls the session, reading and ignoring input, until the connection ends.
func (sh *shell) hang() {
	for range sh.in {
	}
}

func (sh *shell) repl() {
	sh.write(fmt.Sprintf("\nNSX Edge %s (simulated)\n\n", sh.e.cfg.Hostname))
	for {
		sh.write(sh.prompt())
		line, err := sh.readLine(true)
		if _, ok := err.(interrupted); ok {
			continue
		}
		if err != nil {
			return
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		sh.e.recordCommand(line)
		f := sh.e.currentFaults()
		if f.DropAfterCommands > 0 && sh.commands >= f.DropAfterCommands {
			sh.nc.Close() // cut the TCP connection, as a firewall or a crashing Edge would
			return
		}
		if f.Latency > 0 && !sh.e.sleep(f.Latency) {
			return
		}
		if !sh.dispatch(line, f) {
			return
		}
		sh.commands++
	}
}

// dispatch runs one command line; false ends the session.
func (sh *shell) dispatch(line string, f Faults) bool {
	args := strings.Fields(line)
	switch {
	case line == "exit" || line == "quit":
		return false
	case line == "enable":
		sh.enable()
		return true
	case line == "disable":
		sh.enabled = false
		return true
	case strings.HasPrefix(line, "debug ") || strings.HasPrefix(line, "no debug "):
		if !sh.enabled {
			sh.write("% Permission denied: enable mode is required for this command\n")
			return true
		}
		return sh.debug(args, line, f)
	case line == "show log":
		return sh.output(line, sh.e.cfg.Log, f)
	case line == "show system storage":
		return sh.output(line, renderStorage(sh.e.cfg.FreeDiskBytes), f)
	case args[0] == "ping":
		sh.ping(args)
		return true
	}
	if line == edge.CmdServiceIPsecSA && sh.e.cfg.SA != nil {
		return sh.output(line, RenderSA(sh.e.saNow()), f)
	}
	if out, ok := sh.e.cfg.Outputs[line]; ok {
		return sh.output(line, out, f)
	}
	sh.write("% Unrecognized command\n")
	return true
}

func (sh *shell) enable() {
	sh.write("Password: ")
	pw, err := sh.readLine(false)
	if err != nil {
		return
	}
	if pw == sh.e.cfg.Password && pw != "" {
		sh.enabled = true
		return
	}
	sh.write("% Access denied\n")
}

// output prints a command's output through the pager, or hangs if a fault says so.
func (sh *shell) output(command, text string, f Faults) bool {
	if f.HangSessionsAfter > 0 && sh.ordinal > f.HangSessionsAfter {
		sh.hang()
		return false
	}
	if f.HangAfterBytes > 0 && (f.HangCommand == "" || f.HangCommand == command) {
		s := strings.ReplaceAll(text, "\n", "\r\n")
		_, _ = sh.ch.Write([]byte(s[:min(f.HangAfterBytes, len(s))]))
		sh.hang()
		return false
	}
	sh.page(text)
	return true
}

// page prints text a screen at a time, as the Edge's less-like pager does: after rows-1 lines
// it shows "byte N" and waits; space shows the next screen, Enter one more line, q stops.
func (sh *shell) page(text string) {
	text = strings.TrimSuffix(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if text == "" {
		return
	}
	lns := strings.Split(text, "\n")
	step := int(sh.rows.Load()) - 1
	sent := 0
	for i := 0; i < len(lns); {
		end := min(i+max(step, 1), len(lns))
		for _, l := range lns[i:end] {
			sh.write(l + "\n")
			sent += len(l) + 1
		}
		i = end
		if i >= len(lns) {
			return
		}
		sh.write(fmt.Sprintf("\x1b[7mbyte %d\x1b[27m", sent))
		k, ok := sh.readKey()
		sh.write("\r\x1b[K")
		switch {
		case !ok || k == 'q' || k == ctrlC:
			return
		case k == '\r' || k == '\n':
			step = 1
		default:
			step = int(sh.rows.Load()) - 1
		}
	}
}

func (sh *shell) ping(args []string) {
	// ping [ip] ADDR [size N] [count N] [dont-fragment]
	a := args[1:]
	if len(a) > 0 && a[0] == "ip" {
		a = a[1:]
	}
	if len(a) == 0 {
		sh.write("% Command incomplete\n")
		return
	}
	dst, size, count, df := a[0], 56, 3, false
	for i := 1; i < len(a); i++ {
		switch a[i] {
		case "size", "count":
			if i+1 >= len(a) {
				sh.write("% Command incomplete\n")
				return
			}
			n, err := strconv.Atoi(a[i+1])
			if err != nil || n <= 0 || n > 65507 {
				sh.write("% Invalid value\n")
				return
			}
			if a[i] == "size" {
				size = n
			} else {
				count = n
			}
			i++
		case "dont-fragment":
			df = true
		default:
			sh.write("% Unrecognized command\n")
			return
		}
	}
	if net.ParseIP(dst) == nil {
		sh.write(fmt.Sprintf("ping: unknown host %s\n", dst))
		return
	}
	sent, recv := count, count
	if sh.e.cfg.Ping != nil {
		sent, recv = sh.e.cfg.Ping(dst, size, df)
	}
	sh.write(renderPing(dst, size, sent, recv))
}
