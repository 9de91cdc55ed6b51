// Package classify turns the evidence of a diagnosis (logs of both sites, captures, NSX
// statistics, show outputs, prerequisite checks, the configuration comparison) into one cause
// label of docs/design.md, with the evidence that proves it and what to do next.
//
// The judgement is data: logscan's patterns say what each line means (an event), and the rules
// table (rules.go) gives each event, under the conditions it was seen in (was the IKE SA up
// already? were these IKE or ESP proposals?), a weight towards a cause. The best-scored cause
// wins; the others that passed the bar are reported as also seen.
package classify

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"slices"
	"strings"
	"time"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
	"ipsecbot/diag/interop"
	"ipsecbot/diag/nsx"
)

// LogSource is a log of one site: a plain, .gz or tar.gz file (Path), or text the caller
// already holds (Text, with Path naming it in references).
type LogSource struct {
	Path string
	Text []byte         // when set, scanned instead of reading Path
	Site string         // "edge" or "peer" when known: remediation then names the sides
	Loc  *time.Location // zone of times without one; nil: UTC
	Year int            // year of year-less times; 0: from the file's modification time
}

// Fact is something another step already judged (an MTU ping, a firewall rule), with the cause
// it points to and how strongly.
type Fact struct {
	Cause    diag.Cause
	Weight   float64
	Evidence diag.Evidence
}

// Input is everything the classifier may use. Any part may be empty.
type Input struct {
	Logs     []LogSource       // Edge and peer logs
	Shows    []LogSource       // Edge show outputs, scanned as text
	Captures []CaptureSource   // packet captures
	Stats    []StatsSource     // NSX statistics reads, oldest first
	History  []HistorySource   // the watcher's history of the tunnel before the diagnosis
	Facts    []Fact            // judged facts of other steps
	Firewall []FirewallBlocked // the prerequisite firewall check's blocks
	Pings    []MTUProbe        // the prerequisite MTU checks
	Config   []interop.Mismatch
	// ConfigLines is each compared setting's line in the written comparison (interop.TableFile);
	// Config's evidence cites it, or the setting alone when it has no line.
	ConfigLines map[string]int
	// RefDir, when set, is the directory references are written relative to (a report's
	// directory: "logs/edge.log:812" rather than the absolute path).
	RefDir string
	Since  time.Time // only evidence in [Since, Until] counts; zero: open
	Until  time.Time
	Scan   ls.Options // scanner tuning (workers, chunk size, caps); its Keep is the classifier's
}

// Threshold is the score a cause needs to be named; below it the verdict is unknown.
const Threshold = 0.5

// Classify reads all of in and returns the verdict. Sources that cannot be read are listed in
// Verdict.Missing and the rest still count; the error is non-nil only when ctx ends.
func Classify(ctx context.Context, in Input) (*diag.Verdict, error) {
	v := &diag.Verdict{AlsoSeen: []diag.Finding{}, Evidence: []diag.Evidence{}, Remediation: []string{}}
	var cov coverage
	obs, err := readTexts(ctx, in, v, &cov)
	if err != nil {
		return nil, err
	}
	obs = append(obs, readCaptures(in, v, &cov.capture)...)
	obs = append(obs, readStats(in, v, &cov.stats)...)
	if line := cov.excludedAll(in); line != "" {
		v.Missing = append(v.Missing, line)
	}
	obs = append(obs, readHistories(in, v)...)
	for _, f := range in.facts() {
		if f.Cause != "" && inWindow(f.Evidence.Time, in.Since, in.Until) {
			obs = append(obs, observation{event: evJudged, ev: f.Evidence, cause: f.Cause, weight: f.Weight})
		}
	}
	obs = append(obs, configObservations(in.Config, in.ConfigLines)...)
	if in.RefDir != "" {
		for i := range obs {
			obs[i].ev.Ref = diag.RelativeRef(obs[i].ev.Ref, in.RefDir)
		}
	}
	v.Missing = append(v.Missing, absent(in)...)
	decide(v, obs, in)
	return v, nil
}

// facts are the judged facts and the prerequisite results, judged.
func (in Input) facts() []Fact {
	out := slices.Clone(in.Facts)
	for _, b := range in.Firewall {
		out = append(out, b.Fact())
	}
	for _, p := range in.Pings {
		out = append(out, p.Fact())
	}
	return out
}

// readTexts scans the logs and show outputs.
func readTexts(ctx context.Context, in Input, v *diag.Verdict, cov *coverage) ([]observation, error) {
	var obs []observation
	for _, kind := range []string{diag.SourceLog, diag.SourceShow} {
		srcs, what, sp := in.Logs, "log ", &cov.logs
		if kind == diag.SourceShow {
			srcs, what, sp = in.Shows, "show output ", &cov.shows
		}
		for _, src := range srcs {
			o, err := scanSource(ctx, src, kind, in, &v.Scanned, sp)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				v.Missing = append(v.Missing, what+err.Error())
			}
			obs = append(obs, o...)
			if kind == diag.SourceShow {
				obs = append(obs, observeShow(src)...)
			}
		}
	}
	return obs, nil
}

// readCaptures reads each capture once (the IKE summary and the packet facts within the window)
// and then compares the captures with each other (captures from both sites).
func readCaptures(in Input, v *diag.Verdict, cov *span) []observation {
	var (
		obs  []observation
		caps []*captureFacts
	)
	for _, c := range in.Captures {
		sum, cf, err := readCapture(c, in.Since, in.Until)
		if c.Read != nil {
			c.Read(sum, err)
		}
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, c.Path) {
				msg = c.Path + ": " + msg
			}
			v.Missing = append(v.Missing, "capture "+msg)
		}
		caps = append(caps, cf)
		obs = append(obs, observeESP(cf)...)
		obs = append(obs, observeMainModes(cf)...)
		obs = append(obs, observeAnswersLost(cf)...)
		if windowed(in) { // frames outside the window do not count
			v.Scanned.Packets += cf.inWindow
		} else {
			v.Scanned.Packets += cf.packets
		}
		if sum != nil {
			cov.addRange(sum.First, sum.Last, sum.Packets, cf.inWindow)
			obs = append(obs, observeSummary(c.Path, sum)...)
			v.Scanned.IKEMessages += sum.IKEMessages
		}
	}
	return append(obs, observeAcrossSites(caps)...)
}

// windowed reports whether only part of the evidence counts (--since/--until).
func windowed(in Input) bool { return !in.Since.IsZero() || !in.Until.IsZero() }

// readStats reads the NSX statistics documents in the window, and the counters' deltas between
// consecutive reads.
func readStats(in Input, v *diag.Verdict, cov *span) []observation {
	var (
		obs        []observation
		prev, last *nsx.Statistics
		lastPath   string
		reads      int
	)
	for _, s := range in.Stats {
		st, err := loadStats(s)
		if err != nil {
			v.Missing = append(v.Missing, "NSX statistics "+err.Error())
			continue
		}
		kept := inWindow(st.Time(), in.Since, in.Until)
		cov.add(st.Time(), kept)
		if !kept {
			continue
		}
		obs = append(obs, observeStats(s.Path, st)...)
		last, lastPath = st, s.Path
		reads++
		if prev != nil {
			obs = append(obs, observeCounterDeltas(s.Path, prev, st)...)
		}
		prev = st
	}
	if reads == 1 { // one read: counters that ever moved both ways, a weaker sign than deltas
		obs = append(obs, observeTunnelCounters(lastPath, last)...)
	}
	return obs
}

// scanSource scans one log or show source and returns its observations within the window.
// cov, when not nil, records every matched line's time and whether the window kept it.
func scanSource(ctx context.Context, src LogSource, kind string, in Input, scanned *diag.Scanned, cov *span) ([]observation, error) {
	tc := ls.TimeContext{Loc: src.Loc, Year: src.Year}
	if src.Text == nil {
		if fi, err := os.Stat(src.Path); err == nil {
			tc.Ref = fi.ModTime()
		}
	} else {
		tc.Ref = time.Now()
	}
	lo := newLogObserver(kind, src.Site)
	opts := in.Scan
	opts.Keep = nil
	opts.Header = &tc // parsed by the matching workers, in parallel
	opts.Stream = func(h *ls.Hit) {
		kept := inWindow(h.Header.Time, in.Since, in.Until)
		if cov != nil {
			cov.add(h.Header.Time, kept)
		}
		if kept {
			lo.add(h, *h.Header)
		}
	}
	var (
		st  ls.Stats
		err error
	)
	if src.Text != nil {
		_, st, err = ls.ScanLog(ctx, bytes.NewReader(src.Text), src.Path, opts)
	} else {
		_, st, err = ls.ScanFile(ctx, src.Path, opts)
	}
	scanned.LogLines += st.Lines
	scanned.MatchedLines += st.MatchedLines
	for _, f := range st.Formats {
		if !slices.Contains(scanned.LogFormats, string(f)) {
			scanned.LogFormats = append(scanned.LogFormats, string(f))
		}
	}
	return lo.observations(), err
}

// What Verdict.Missing says of a kind of evidence that was not given at all. They name the
// evidence, not how to give it: a diagnosis collects it itself, `bot analyze` takes flags.
const (
	MissingLogs    = "no Edge or peer logs"
	MissingCapture = "no packet capture"
	MissingStats   = "no NSX IPsec statistics"
	MissingShow    = "no Edge show service ipsec output"
)

// absent says which kinds of evidence were not given at all.
func absent(in Input) []string {
	var out []string
	if len(in.Logs) == 0 {
		out = append(out, MissingLogs)
	}
	if len(in.Captures) == 0 {
		out = append(out, MissingCapture)
	}
	if len(in.Stats) == 0 {
		out = append(out, MissingStats)
	}
	if len(in.Shows) == 0 {
		out = append(out, MissingShow)
	}
	return out
}

// configObservations weighs breaking configuration differences towards the causes they produce.
func configObservations(ms []interop.Mismatch, lines map[string]int) []observation {
	var obs []observation
	for _, m := range ms {
		if m.Severity != interop.Breaking {
			continue
		}
		for _, c := range configCauses[m.Field] {
			obs = append(obs, observation{event: evConfigMismatch, cause: c,
				ev: diag.Evidence{Source: diag.SourceConfig, Ref: interop.Ref(m.Field, lines), Text: m.Text}})
		}
	}
	return obs
}

// configCauses maps a compared setting to the causes its mismatch produces.
var configCauses = map[string][]diag.Cause{
	"ike_version":    {diag.CauseIKEProposalMismatch},
	"encryption":     {diag.CauseIKEProposalMismatch},
	"digest":         {diag.CauseIKEProposalMismatch},
	"dh_group":       {diag.CauseIKEProposalMismatch},
	"esp_encryption": {diag.CauseIPsecProposalMismatch},
	"esp_digest":     {diag.CauseIPsecProposalMismatch},
	"pfs":            {diag.CausePFSMismatch, diag.CauseIPsecProposalMismatch},
	"pfs_group":      {diag.CausePFSMismatch, diag.CauseIPsecProposalMismatch},
	"local_id":       {diag.CauseAuthFailed, diag.CauseInvalidID},
	"peer_id":        {diag.CauseAuthFailed, diag.CauseInvalidID},
	"local_subnets":  {diag.CauseTrafficSelectorMismatch},
	"peer_subnets":   {diag.CauseTrafficSelectorMismatch},
	"auth_mode":      {diag.CauseAuthFailed},
}

// configWeight is how much a breaking configuration difference alone says: the configuration
// may be stale, so it corroborates more than it decides.
const configWeight = 0.7

// weighed is an observation's support for one cause.
type weighed struct {
	obs    observation
	cause  diag.Cause
	weight float64
}

func weigh(obs []observation) []weighed {
	var out []weighed
	for _, o := range obs {
		switch o.event {
		case evJudged:
			w := o.weight
			if w <= 0 || w > 1 {
				w = 0.9
			}
			out = append(out, weighed{o, o.cause, w})
			continue
		case evConfigMismatch:
			out = append(out, weighed{o, o.cause, configWeight})
			continue
		}
		for _, r := range matching(o.event, o.cond) {
			w := r.weight
			if o.past {
				w = round2(w * pastWeight)
			}
			out = append(out, weighed{o, r.cause, w})
		}
	}
	return out
}

// sortCauses orders candidates by score, then by the order of labels in docs/design.md (healthy last
// among equals, since any fault outranks "looks fine").
func sortCauses(scores map[diag.Cause]float64) []diag.Cause {
	var cs []diag.Cause
	for c := range scores {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b diag.Cause) int {
		if d := cmp.Compare(scores[b], scores[a]); d != 0 {
			return d
		}
		return cmp.Compare(slices.Index(diag.Causes, a), slices.Index(diag.Causes, b))
	})
	return cs
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
