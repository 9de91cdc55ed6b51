package engine

import (
	"fmt"
	"io"
	"time"

	"ipsecbot/diag"
)

// ReceivedLogs is the Edges' remote syslog as the bot receives it (watch/syslog's Receiver).
type ReceivedLogs interface {
	// Covers reports whether every line the edge sent from `from` until now is kept.
	Covers(edge string, from time.Time) bool
	// CopySince writes the edge's kept lines received at or after from, oldest first.
	CopySince(edge string, from time.Time, w io.Writer) (int64, error)
}

// receivedLogFile is where step 1 keeps the received syslog of the Edge.
const receivedLogFile = "logs/edge-syslog.log"

// receivedLogs is step 1's Edge logs from the syslog the bot received, when it holds every
// line from the run's start on (so the whole capture window): the lines of the problem window
// are copied into the report. ok is false when it does not cover the run or cannot be copied;
// the tech support bundle is read then, as without a receiver.
func (r *run) receivedLogs() (a *diag.Artifact, summary string, ok bool) {
	rl := r.e.opts.ReceivedLogs
	if rl == nil || !rl.Covers(r.edge.Name, r.started) {
		return nil, "", false
	}
	art, err := r.streamArtifact(receivedLogFile, "log", func(w io.Writer) error {
		_, err := rl.CopySince(r.edge.Name, r.started.Add(-problemWindow), w)
		return err
	})
	if err != nil {
		r.addMissing("received Edge syslog: " + err.Error())
		return nil, "", false
	}
	r.collect(func(c *Collected) {
		c.Logs = append(c.Logs, LogFile{Path: art.Name, Site: "edge"}) // stamped in UTC on arrival
	})
	return &art, fmt.Sprintf("%s, the Edge's syslog as received (%d bytes)", art.Name, art.Size), true
}
