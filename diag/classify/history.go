package classify

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"ipsecbot/diag"
)

// HistorySource is a tunnel's watch history as the watcher writes it (a TSV with a header
// row; a diagnosis keeps it as api/watch-history.tsv): the failure and informational messages
// its sweeps read from the NSX API before the diagnosis, each with the time it was seen. It
// proves the cause of a drop that is over by the time of the diagnosis.
type HistorySource struct {
	Path string
	Now  time.Time // when the diagnosis ran (zero: Input.Until, else the last row)
}

// pastWeight scales the weight of what the history saw: a message from hours ago says less
// about the tunnel than one read now.
const pastWeight = 0.9

// The history's columns the classifier reads, by their header names.
const (
	historyTime    = "time"
	historySite    = "site"
	historyTunnel  = "tunnel"
	historyFailure = "failure_message"
	historyInfo    = "informational_message"
	historyKind    = "kind"
	historyNote    = "note"
	// historyHint is the kind of a row the Edge's syslog wrote (its note is the line).
	historyHint = "hint"
)

// maxHistoryLine caps one row; maxHistoryBytes one history.
const (
	maxHistoryLine  = 64 << 10
	maxHistoryBytes = 64 << 20
)

// historyMessage is one distinct message of one tunnel in a history: where and when it was
// first seen, how many rows carry it and the last time.
type historyMessage struct {
	line         int64
	first, last  time.Time
	site, tunnel string
	text         string
	rows         int
	syslog       bool // a line of the Edge's syslog, not an NSX message
}

// parseHistory reads a history's distinct messages, in the order first seen. Rows it cannot
// read are skipped; the error says why the rest could not be read.
func parseHistory(r io.Reader) ([]historyMessage, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxHistoryBytes))
	sc.Buffer(make([]byte, 0, 4096), maxHistoryLine)
	var (
		cols  map[string]int
		out   []historyMessage
		index = map[[3]string]int{}
		line  int64
	)
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, f := range fields {
				cols[f] = i
			}
			if _, ok := cols[historyTime]; !ok {
				return nil, errors.New("not a watch history: no time column")
			}
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, field(fields, cols, historyTime))
		if err != nil {
			continue
		}
		for _, name := range []string{historyFailure, historyInfo, historyNote} {
			syslog := name == historyNote
			if syslog && field(fields, cols, historyKind) != historyHint {
				continue
			}
			msg := strings.TrimSpace(field(fields, cols, name))
			if msg == "" {
				continue
			}
			site, tunnel := field(fields, cols, historySite), field(fields, cols, historyTunnel)
			k := [3]string{site, tunnel, msg}
			if i, ok := index[k]; ok {
				out[i].rows++
				out[i].last = at
				continue
			}
			index[k] = len(out)
			out = append(out, historyMessage{line: line, first: at, last: at, site: site, tunnel: tunnel, text: msg, rows: 1, syslog: syslog})
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("line %d: %w", line+1, err)
	}
	if cols == nil {
		return nil, errors.New("not a watch history: no header")
	}
	return out, nil
}

func field(fields []string, cols map[string]int, name string) string {
	if i, ok := cols[name]; ok && i < len(fields) {
		return fields[i]
	}
	return ""
}

// readHistories turns each history's messages (and the Edge's syslog lines the receiver added
// as hints) into observations through the same patterns and rules as the statistics'
// messages, weighed as past, whatever the window.
func readHistories(in Input, v *diag.Verdict) []observation {
	var obs []observation
	for _, h := range in.History {
		f, err := os.Open(h.Path)
		if err != nil {
			v.Missing = append(v.Missing, "watch history "+err.Error())
			continue
		}
		msgs, err := parseHistory(f)
		f.Close()
		if err != nil {
			v.Missing = append(v.Missing, "watch history "+h.Path+": "+err.Error())
		}
		now := cmp.Or(h.Now, in.Until)
		if now.IsZero() && len(msgs) > 0 {
			now = msgs[len(msgs)-1].last
		}
		for _, m := range msgs {
			o, ok := nsxMessage(h.Path, m.text, diag.LineRef(h.Path, m.line), m.first)
			if !ok {
				continue
			}
			if m.syslog {
				o.ev.Source = diag.SourceLog
			}
			o.past = true
			o.ev.Text = m.seen(now)
			obs = append(obs, o)
		}
	}
	return obs
}

// seen says when the watcher saw the message, e.g. "at 03:12:05 UTC, 6h0m before the
// diagnosis (in 4 sweeps until 03:40:05), NSX said on site-1 a-b: ...".
func (m historyMessage) seen(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "at %s UTC", m.first.UTC().Format("2006-01-02 15:04:05"))
	if d := now.Sub(m.first); d > 0 {
		unit := time.Second
		if d >= time.Hour {
			unit = time.Minute
		}
		fmt.Fprintf(&b, ", %s before the diagnosis", d.Round(unit))
	}
	if m.rows > 1 {
		fmt.Fprintf(&b, " (in %d sweeps until %s)", m.rows, m.last.UTC().Format("15:04:05"))
	}
	if m.syslog {
		b.WriteString(", the Edge's syslog said")
	} else {
		b.WriteString(", NSX said")
	}
	if m.site != "" {
		fmt.Fprintf(&b, " on %s %s", m.site, m.tunnel)
	}
	b.WriteString(": " + m.text)
	return b.String()
}
