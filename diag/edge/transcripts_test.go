package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ipsecbot/config"
	"ipsecbot/diag/edge"
	"ipsecbot/lab"
)

// Transcripts are raw Edge CLI text kept in testdata/transcripts: lab/<scenario>/<command>.txt,
// recorded from the lab's Edge over SSH (-record), and real/<name>.txt, real-format samples
// quoted by public sources. Each starts with "# " header lines, one of them "# command: C";
// then, when the source shows it, the prompt and the echoed command on one line; then the
// output exactly as the terminal received it (CRLF, pager marks, escapes). Beside each, a .json
// file holds what the parsers make of it (-update rewrites them); TestGolden fails on any diff.
var (
	update = flag.Bool("update", false, "rewrite the golden parser outputs in testdata/transcripts")
	record = flag.Bool("record", false, "record the lab Edge's transcripts into testdata/transcripts/lab")
)

const (
	transcriptDir = "testdata/transcripts"
	labLabel      = "# recorded from the bot's lab, not a real Edge"
	// termRows is the recording terminal's height: short enough that long outputs page, as
	// they do in an operator's terminal.
	termRows = 24
)

// labCommand is one command the recorder types; slug names its transcript file.
type labCommand struct {
	slug, command string
}

// labCommands are the commands diag/edge parses, as the bot types them, in the order the
// recorder runs them (enable first for those that need it, a capture before the file list).
func labCommands() []labCommand {
	fill := func(name string, kv ...string) string {
		return strings.NewReplacer(kv...).Replace(edge.DefaultTemplates[name])
	}
	peer := lab.PeerIP.String()
	return []labCommand{
		{"show-service-ipsec", edge.CmdServiceIPsec},
		{"show-service-ipsec-sp", edge.CmdServiceIPsecSP},
		{"show-service-ipsec-sa", edge.CmdServiceIPsecSA},
		{"show-ip-route", edge.CmdIPRoute},
		{"show-interface", edge.CmdInterface},
		{"show-log", edge.CmdLog},
		{"show-system-storage", fill(config.TemplateStorage)},
		{"ping-small", fill(config.TemplatePing, "{{addr}}", peer, "{{size}}", "56", "{{count}}", "3", "{{df}}", "")},
		{"ping-large-df", fill(config.TemplatePing, "{{addr}}", peer, "{{size}}", "1400", "{{count}}", "3", "{{df}}", " dont-fragment")},
		{"show-configuration-ipsec", edge.CmdConfigIPsec},
		{"debug-show-files", fill(config.TemplateFiles)},
	}
}

// parseTranscript runs the parser of command on a transcript's output and returns what the
// golden file holds.
func parseTranscript(command, out string) map[string]any {
	res := map[string]any{"command": command}
	put := func(v any, err error) {
		if err != nil {
			res["error"] = err.Error()
			return
		}
		res["result"] = v
	}
	switch {
	case command == edge.CmdServiceIPsec:
		put(edge.ParseServiceIPsec(out))
	case command == edge.CmdServiceIPsecSA:
		put(edge.ParseSA(out))
	case command == edge.CmdServiceIPsecSP:
		put(edge.ParseSP(out))
	case command == edge.CmdIPRoute || command == "show ip forwarding":
		put(edge.ParseRoutes(out))
	case command == edge.CmdInterface || strings.HasPrefix(command, edge.CmdInterface+" "):
		put(edge.ParseInterfaces(out))
	case command == edge.CmdConfigIPsec:
		put(edge.ParseConfigIPsec(out))
	case command == edge.CmdLog:
		parsed, bad := edge.ParseLogText(out)
		res["result"] = map[string]any{"lines": parsed, "unparsed": bad}
	case command == edge.DefaultTemplates[config.TemplateFiles]:
		put(edge.ParseFiles(out))
	case command == edge.DefaultTemplates[config.TemplateStorage]:
		free, err := edge.ParseStorage(out)
		put(map[string]int64{"available_bytes": free}, err)
	case strings.HasPrefix(command, "ping "):
		sent, recv, err := edge.ParsePing(out)
		put(map[string]int{"sent": sent, "received": recv}, err)
	default: // commands whose output is only checked for the CLI's error reply
		res["edge_error"] = edge.EdgeError(out)
	}
	return res
}

// transcript is one file of testdata/transcripts, split into its parts.
type transcript struct {
	header  []string // the "# " lines, without "# "
	command string
	output  string // the raw output, without the prompt line
}

var barePrompt = regexp.MustCompile(`\n[A-Za-z0-9._-]+[>#][ \t]*\r?\n?$`)

func readTranscript(path string) (transcript, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return transcript{}, err
	}
	var tr transcript
	rest := string(b)
	for strings.HasPrefix(rest, "# ") {
		line, after, _ := strings.Cut(rest, "\n")
		line = strings.TrimPrefix(line, "# ")
		tr.header = append(tr.header, line)
		if c, ok := strings.CutPrefix(line, "command: "); ok {
			tr.command = c
		}
		rest = after
	}
	if tr.command == "" {
		return tr, fmt.Errorf("%s: no \"# command:\" header line", path)
	}
	// The prompt and the echoed command, when the source shows them.
	if first, after, ok := strings.Cut(rest, "\n"); ok {
		if f := strings.TrimRight(first, "\r "); strings.HasSuffix(f, "> "+tr.command) || strings.HasSuffix(f, "# "+tr.command) {
			rest = after
		}
	}
	// A real sample may end with the next prompt.
	tr.output = barePrompt.ReplaceAllString(rest, "\n")
	return tr, nil
}

// goldenJSON encodes a parse result; the lines of a log come one per line, so diffs stay short.
func goldenJSON(res map[string]any) ([]byte, error) {
	if r, ok := res["result"].(map[string]any); ok && res["command"] == edge.CmdLog {
		var b bytes.Buffer
		fmt.Fprintf(&b, "{\n  \"command\": %q,\n  \"result\": {\n    \"unparsed\": %d,\n    \"lines\": [", edge.CmdLog, r["unparsed"])
		for i, l := range r["lines"].([]edge.LogLine) {
			j, err := json.Marshal(l)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n      ")
			b.Write(j)
		}
		b.WriteString("\n    ]\n  }\n}\n")
		return b.Bytes(), nil
	}
	j, err := json.MarshalIndent(res, "", "  ")
	return append(j, '\n'), err
}

// TestGolden parses every transcript and compares the result with the .json beside it.
func TestGolden(t *testing.T) {
	var paths []string
	err := filepath.WalkDir(transcriptDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".txt") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no transcripts in " + transcriptDir)
	}
	for _, p := range paths {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(p), transcriptDir+"/"), ".txt")
		t.Run(name, func(t *testing.T) {
			tr, err := readTranscript(p)
			if err != nil {
				t.Fatal(err)
			}
			checkLabel(t, name, tr)
			got, err := goldenJSON(parseTranscript(tr.command, tr.output))
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(p, ".txt") + ".json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./diag/edge -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the parsers' output differs from %s (if intended, run go test ./diag/edge -run TestGolden -update and review the diff):\n%s",
					golden, firstDiff(string(want), string(got)))
			}
		})
	}
}

// checkLabel makes every transcript say where it comes from: the lab's carry the lab label,
// real samples a source.
func checkLabel(t *testing.T, name string, tr transcript) {
	t.Helper()
	head := "# " + strings.Join(tr.header, "\n# ")
	switch {
	case strings.HasPrefix(name, "lab/"):
		if !strings.HasPrefix(head, labLabel) {
			t.Errorf("a lab transcript must start with %q", labLabel)
		}
	case strings.HasPrefix(name, "real/"):
		if !strings.Contains(head, "# source: ") {
			t.Error(`a real-format sample must name its source ("# source: ...")`)
		}
	default:
		t.Errorf("transcripts live in lab/ or real/, not %s", name)
	}
}

// firstDiff shows the first line where want and got part.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return "(only line endings differ)"
}

// TestTranscriptsCoverLab fails when a lab scenario or a parsed command has no transcript:
// record them with go test ./diag/edge -run TestRecordTranscripts -record.
func TestTranscriptsCoverLab(t *testing.T) {
	for _, sc := range lab.AllScenarios() {
		for _, c := range labCommands() {
			p := filepath.Join(transcriptDir, "lab", sc.Name, c.slug+".txt")
			tr, err := readTranscript(p)
			if err != nil {
				t.Errorf("%v (record with go test ./diag/edge -run TestRecordTranscripts -record)", err)
				continue
			}
			if tr.command != c.command {
				t.Errorf("%s records %q, the bot now types %q (record again)", p, tr.command, c.command)
			}
		}
	}
}

// TestRecordTranscripts starts the lab in each scenario, logs in to its Edge over SSH on a PTY
// as an operator would, types each parsed command and writes what the terminal received.
func TestRecordTranscripts(t *testing.T) {
	if !*record {
		t.Skip("records only with -record")
	}
	for _, sc := range lab.AllScenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			dir := filepath.Join(transcriptDir, "lab", sc.Name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for slug, text := range recordScenario(t, sc.Name) {
				if err := os.WriteFile(filepath.Join(dir, slug+".txt"), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// listingTime is the time column of `debug show files`, the one part of a lab transcript that
// changes from one recording to the next.
var listingTime = regexp.MustCompile(`(?m)^(-[-rwx]{9} +\d+ +\d+ )[A-Z][a-z]{2} [ \d]\d \d\d:\d\d `)

// TestTranscriptsMatchLab records the lab again and compares with the committed transcripts, so
// a change to what the lab's Edge prints shows up as a transcript diff to review (record with
// -record), never silently together with a parser change.
func TestTranscriptsMatchLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the lab once per scenario")
	}
	for _, sc := range lab.AllScenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			for slug, got := range recordScenario(t, sc.Name) {
				p := filepath.Join(transcriptDir, "lab", sc.Name, slug+".txt")
				want, err := os.ReadFile(p)
				if err != nil {
					t.Fatalf("%v (record with go test ./diag/edge -run TestRecordTranscripts -record)", err)
				}
				const stamp = "${1}Jan  1 00:00 "
				if g, w := listingTime.ReplaceAllString(got, stamp), listingTime.ReplaceAllString(string(want), stamp); g != w {
					t.Errorf("the lab's Edge no longer prints %s (review, then record with go test ./diag/edge -run TestRecordTranscripts -record):\n%s",
						p, firstDiff(w, g))
				}
			}
		})
	}
}

// recordScenario returns the transcript of each labCommand in one scenario, by slug.
func recordScenario(t *testing.T, scenario string) map[string]string {
	l, err := lab.Start(t.Context(), lab.Options{Scenario: scenario, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	password, err := os.ReadFile(filepath.Join(l.Dir(), lab.FileEdgePassword))
	if err != nil {
		t.Fatal(err)
	}
	hostKeys, err := knownhosts.New(filepath.Join(l.Dir(), lab.FileKnownHosts))
	if err != nil {
		t.Fatal(err)
	}
	client, err := ssh.Dial("tcp", l.Edge().Addr(), &ssh.ClientConfig{
		User:              "admin",
		Auth:              []ssh.AuthMethod{ssh.Password(strings.TrimSpace(string(password)))},
		HostKeyCallback:   hostKeys,
		HostKeyAlgorithms: []string{l.Edge().HostKey().Type()},
		Timeout:           10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	term, err := openTerminal(client)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := term.readToPrompt(ctx, ""); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	run := func(command, answer string) string {
		t.Helper()
		raw, err := term.run(ctx, command, answer)
		if err != nil {
			t.Fatalf("%s: %v", command, err)
		}
		return raw
	}
	header := fmt.Sprintf("%s (lab/edgesim over SSH, scenario %s, terminal %dx%d)\n", labLabel, scenario, 80, termRows)
	for _, c := range labCommands() {
		switch c.slug {
		case "show-configuration-ipsec":
			run("enable", strings.TrimSpace(string(password)))
		case "debug-show-files":
			// A capture first, so the listing has the file the bot looks for.
			run(strings.NewReplacer("{{iface}}", "vNic_0", "{{expr}}", edge.CaptureExpr(lab.PeerIP)).Replace(edge.DefaultTemplates[config.TemplateStart]), "")
			run(strings.NewReplacer("{{iface}}", "vNic_0").Replace(edge.DefaultTemplates[config.TemplateStop]), "")
		}
		prompt := term.prompt
		out[c.slug] = header + "# command: " + c.command + "\n" + prompt + run(c.command, "")
	}
	return out
}

// terminal is an interactive shell on a PTY whose raw output is kept.
type terminal struct {
	stdin  io.Writer
	chunks chan []byte
	prompt string // the last prompt the shell printed
}

var (
	promptAtEnd = regexp.MustCompile(`(?:^|\n)([A-Za-z0-9._-]+[>#] )$`)
	pagerAtEnd  = regexp.MustCompile(`byte \d+\x1b\[27m$`)
	passwordEnd = regexp.MustCompile(`Password: $`)
)

func openTerminal(client *ssh.Client) (*terminal, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	if err := sess.RequestPty("vt100", termRows, 80, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return nil, err
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.Shell(); err != nil {
		return nil, err
	}
	t := &terminal{stdin: stdin, chunks: make(chan []byte, 64)}
	go func() {
		defer close(t.chunks)
		for {
			b := make([]byte, 4096)
			n, err := stdout.Read(b)
			if n > 0 {
				t.chunks <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return t, nil
}

// run types command and returns what the terminal printed up to the next prompt: the echo
// and the output. answer goes to a "Password:" question.
func (t *terminal) run(ctx context.Context, command, answer string) (string, error) {
	if _, err := io.WriteString(t.stdin, command+"\r"); err != nil {
		return "", err
	}
	return t.readToPrompt(ctx, answer)
}

func (t *terminal) readToPrompt(ctx context.Context, answer string) (string, error) {
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return string(buf), fmt.Errorf("no prompt after %q: %w", buf, ctx.Err())
		case b, ok := <-t.chunks:
			if !ok {
				return string(buf), errors.New("the shell ended")
			}
			buf = append(buf, b...)
		}
		switch {
		case pagerAtEnd.Match(buf):
			if _, err := io.WriteString(t.stdin, " "); err != nil {
				return "", err
			}
		case answer != "" && passwordEnd.Match(buf):
			if _, err := io.WriteString(t.stdin, answer+"\r"); err != nil {
				return "", err
			}
			answer = ""
		case promptAtEnd.Match(buf):
			m := promptAtEnd.FindSubmatchIndex(buf)
			t.prompt = string(buf[m[2]:m[3]])
			return string(buf[:m[2]]), nil
		}
	}
}
