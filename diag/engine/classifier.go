package engine

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/classify"
)

// defaultClassifier feeds what a run collected to diag/classify (which reads each capture once,
// through diag/ike's analyzer) and makes the references relative to the report's directory.
type defaultClassifier struct{}

func (defaultClassifier) Classify(ctx context.Context, c *Collected) (*diag.Verdict, error) {
	abs := func(p string) string { return filepath.Join(c.Dir, filepath.FromSlash(p)) }
	var in classify.Input
	for _, l := range c.Logs {
		in.Logs = append(in.Logs, classify.LogSource{Path: abs(l.Path), Site: l.Site, Loc: location(l.Timezone)})
	}
	for _, s := range c.Shows {
		in.Shows = append(in.Shows, classify.LogSource{Path: abs(s.Path), Site: "edge"})
	}
	for _, p := range c.Captures {
		in.Captures = append(in.Captures, classify.CaptureSource{Path: abs(p)})
	}
	for _, s := range c.Stats {
		in.Stats = append(in.Stats, classify.StatsSource{Path: abs(s)})
	}
	if c.History != "" {
		in.History = []classify.HistorySource{{Path: abs(c.History), Now: c.HistoryAt}}
	}
	in.Firewall, in.Pings = c.Firewall, c.Pings
	in.Config, in.ConfigLines = c.Config, c.ConfigLines
	in.Since, in.Until = c.Since, c.Until
	in.RefDir = c.Dir
	v, err := classify.Classify(ctx, in)
	if v != nil {
		relativeMessages(v.Missing, c.Dir)
	}
	return v, err
}

func location(tz string) *time.Location {
	if tz == "" {
		return nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil
	}
	return loc
}

// relativeMessages drops the report's directory from what could not be read: the messages
// are errors, which name the files they failed on by their absolute path.
func relativeMessages(msgs []string, dir string) {
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	for i, m := range msgs {
		msgs[i] = strings.ReplaceAll(m, prefix, "")
	}
}
