package edgesim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/sshdial"
)

// copySCP is `debug copy scp user@host:path file`: a real SCP client (legacy protocol,
// `scp -t`) that asks on the terminal, as OpenSSH does, whether to trust the host's key and
// for the password (three tries).
func (sh *shell) copySCP(target, file string) {
	user, rest, ok := strings.Cut(target, "@")
	host, dst, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || user == "" || host == "" {
		sh.write("% Invalid destination " + target + "\n")
		return
	}
	e := sh.e
	data, exists := e.file(file)
	if !exists {
		sh.write(file + ": No such file or directory\n")
		return
	}
	addr := net.JoinHostPort(host, "22")
	if e.cfg.SCPDialOverride != "" {
		addr = e.cfg.SCPDialOverride
	}
	tries := 0
	cfg := &ssh.ClientConfig{
		User:            user,
		HostKeyCallback: sh.askHostKey(host),
		Auth: []ssh.AuthMethod{ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
			if tries > 0 {
				sh.write("Permission denied, please try again.\n")
			}
			tries++
			sh.write("Password: ")
			return sh.readLine(false)
		}), 3)},
		Timeout: 10 * time.Second,
	}
	client, err := e.dialSSH(addr, cfg)
	if err != nil {
		switch {
		case errors.As(err, new(interrupted)):
		case sshdial.AuthRefused(err):
			sh.write(user + "@" + host + ": Permission denied (password).\nlost connection\n")
		case strings.Contains(err.Error(), "host key"):
			sh.write("Host key verification failed.\nlost connection\n")
		default:
			sh.write(fmt.Sprintf("ssh: connect to host %s port 22: %v\nlost connection\n", host, err))
		}
		return
	}
	defer client.Close()
	if err := scpSend(client, dst, path.Base(file), data); err != nil {
		sh.write("scp: " + err.Error() + "\n")
		return
	}
	e.markCopied(file)
	sh.write(fmt.Sprintf("%-45s 100%% %5d %8.1fKB/s   00:00\n", file, len(data), float64(len(data))/1024))
}

// dialSSH connects to an SCP receiver. The connection is closed when the Edge stops, so a
// receiver that stalls (in the handshake or the transfer) cannot hold Close up; Dial's
// Timeout bounds only the TCP connect. The returned client closes it too.
func (e *Edge) dialSSH(addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	conn, err := (&net.Dialer{Timeout: cfg.Timeout}).DialContext(e.ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(e.ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		stop()
		conn.Close()
		return nil, err
	}
	client := ssh.NewClient(c, chans, reqs)
	e.srv.Go(func() {
		_ = client.Wait()
		stop()
	})
	return client, nil
}

// askHostKey trusts a key the Edge has accepted before for host, else asks (yes/no).
func (sh *shell) askHostKey(host string) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		known, seen := sh.e.knownHost(host)
		if seen {
			if string(known.Marshal()) == string(key.Marshal()) {
				return nil
			}
			sh.write("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n" +
				"@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n" +
				"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n")
			return errors.New("host key changed")
		}
		sh.write(fmt.Sprintf("The authenticity of host '%s (%s)' can't be established.\n%s key fingerprint is %s.\nAre you sure you want to continue connecting (yes/no)? ",
			host, host, strings.ToUpper(strings.TrimPrefix(key.Type(), "ssh-")), ssh.FingerprintSHA256(key)))
		ans, err := sh.readLine(true)
		if err != nil {
			return err
		}
		if strings.TrimSpace(ans) != "yes" {
			return errors.New("host key not accepted")
		}
		sh.e.trustHost(host, key)
		sh.write(fmt.Sprintf("Warning: Permanently added '%s' (%s) to the list of known hosts.\n", host, strings.ToUpper(strings.TrimPrefix(key.Type(), "ssh-"))))
		return nil
	}
}

// scpSend pushes one file with the legacy SCP protocol: `scp -t DST`, a C line, the bytes, acks.
func scpSend(client *ssh.Client, dst, name string, data []byte) error {
	s, err := client.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	w, err := s.StdinPipe()
	if err != nil {
		return err
	}
	out, err := s.StdoutPipe()
	if err != nil {
		return err
	}
	r := bufio.NewReader(out)
	if err := s.Start("scp -t " + dst); err != nil {
		return err
	}
	if err := readAck(r); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "C0600 %d %s\n", len(data), name); err != nil {
		return err
	}
	if err := readAck(r); err != nil {
		return err
	}
	if _, err := w.Write(append(append([]byte(nil), data...), 0)); err != nil {
		return err
	}
	if err := readAck(r); err != nil {
		return err
	}
	w.Close()
	return s.Wait()
}

// readAck reads the sink's answer: 0 ok, 1 or 2 and a message line otherwise.
func readAck(r *bufio.Reader) error {
	b, err := r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return errors.New("lost connection")
		}
		return err
	}
	if b == 0 {
		return nil
	}
	msg, _ := r.ReadString('\n')
	return errors.New(strings.TrimSpace(msg))
}
