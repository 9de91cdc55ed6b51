package classify

import (
	"fmt"
	"strings"
	"time"

	"ipsecbot/diag"
)

// span is when one kind of evidence begins and ends, and how much of it the window kept.
type span struct {
	first, last time.Time
	kept, total int64
}

// add counts one dated item; kept says whether the window kept it.
func (s *span) add(t time.Time, kept bool) {
	var k int64
	if kept {
		k = 1
	}
	s.addRange(t, t, 1, k)
}

// addRange counts total items from first to last, of which the window kept kept.
func (s *span) addRange(first, last time.Time, total, kept int64) {
	s.total += total
	s.kept += kept
	if !first.IsZero() && (s.first.IsZero() || first.Before(s.first)) {
		s.first = first
	}
	if last.After(s.last) {
		s.last = last
	}
}

// coverage is the span of each kind of evidence read, to say what a window left out.
type coverage struct {
	logs, shows, capture, stats span
}

// excludedAll is the Missing line for a --since/--until window that kept nothing of what was
// read, with the time each kind of evidence covers; "" when the window kept something, when
// there is no window, or when nothing dated was read.
func (c *coverage) excludedAll(in Input) string {
	if !windowed(in) {
		return ""
	}
	kinds := []struct {
		name string
		s    span
	}{{"the logs cover", c.logs}, {"the show outputs cover", c.shows}, {"the capture covers", c.capture}, {"the statistics cover", c.stats}}
	var covers []string
	for _, k := range kinds {
		if k.s.kept > 0 {
			return ""
		}
		if k.s.total > 0 && !k.s.first.IsZero() {
			covers = append(covers, fmt.Sprintf("%s %s – %s", k.name, diag.FormatTime(k.s.first), diag.FormatTime(k.s.last)))
		}
	}
	if len(covers) == 0 {
		return ""
	}
	return fmt.Sprintf("the window %s excludes all the evidence: %s", windowText(in.Since, in.Until), strings.Join(covers, ", "))
}

// windowText is the --since/--until window for people, an open end said as such.
func windowText(since, until time.Time) string {
	switch {
	case since.IsZero():
		return "until " + diag.FormatTime(until)
	case until.IsZero():
		return "from " + diag.FormatTime(since)
	}
	return diag.FormatTime(since) + " – " + diag.FormatTime(until)
}
