package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/classify"
	"ipsecbot/diag/interop"
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
	for _, e := range c.Prereqs {
		if f := prereqFact(e); f.Cause != "" {
			in.Facts = append(in.Facts, f)
		}
	}
	in.Config = c.Config
	in.Since, in.Until = c.Since, c.Until
	v, err := classify.Classify(ctx, in)
	if v != nil {
		relativeRefs(v, c.Dir)
		interopRefs(v, c.ConfigLines)
	}
	return v, err
}

// prereqFact says which cause a prerequisite's result points to. Only failures count.
func prereqFact(e diag.Evidence) classify.Fact {
	f := classify.Fact{Evidence: e}
	t := strings.ToLower(e.Text)
	switch {
	case strings.Contains(t, "not allowed by the edge firewall"):
		f.Cause, f.Weight = diag.CausePeerUnreachable, 0.6
		if strings.HasPrefix(t, "esp") {
			f.Cause = diag.CauseESPBlocked
		}
	case strings.Contains(t, "ping") && smallOK(t) && largeLost(t):
		f.Cause, f.Weight = diag.CauseMTUFragmentation, 0.8
	case strings.Contains(t, "ping") && strings.Contains(t, fmt.Sprintf("%d-byte payload 0/", smallPing)):
		f.Cause, f.Weight = diag.CausePeerUnreachable, 0.3
	}
	return f
}

func smallOK(t string) bool {
	return !strings.Contains(t, fmt.Sprintf("%d-byte payload 0/", smallPing))
}

func largeLost(t string) bool {
	return strings.Contains(t, fmt.Sprintf("%d-byte payload with don't-fragment 0/", largePing))
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

// relativeRefs turns "DIR/logs/edge.log:812" into "logs/edge.log:812" in every reference.
func relativeRefs(v *diag.Verdict, dir string) {
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	fix := func(ev []diag.Evidence) {
		for i := range ev {
			ev[i].Ref = filepath.ToSlash(strings.ReplaceAll(ev[i].Ref, prefix, ""))
		}
	}
	fix(v.Evidence)
	for i := range v.AlsoSeen {
		fix(v.AlsoSeen[i].Evidence)
	}
	for _, list := range [][]string{v.Missing, v.Remediation} {
		for i, m := range list {
			list[i] = filepath.ToSlash(strings.ReplaceAll(m, prefix, ""))
		}
	}
}

// interopRefs turns the classifier's "interop:FIELD" references into the field's line of
// interop.txt, the comparison step 2 wrote.
func interopRefs(v *diag.Verdict, lines map[string]int) {
	fix := func(ev []diag.Evidence) {
		for i, e := range ev {
			if field, ok := strings.CutPrefix(e.Ref, "interop:"); ok {
				ev[i].Ref = interop.Ref(field, lines)
			}
		}
	}
	fix(v.Evidence)
	for i := range v.AlsoSeen {
		fix(v.AlsoSeen[i].Evidence)
	}
}
