package datapath

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// pointTitles head the table's point columns.
var pointTitles = [4]string{"1 VM port", "2 Edge internal", "3 Edge uplink", "4 far side"}

// Table renders the result as the terminal and report.md show it: per ping and leg, how many
// echoes each point saw, where they stopped and the verdict; then the summary and the frames.
func Table(r *Result) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ping\tleg\t%s\t%s\t%s\t%s\tstopped at\tverdict\n", pointTitles[0], pointTitles[1], pointTitles[2], pointTitles[3])
	for _, p := range r.Pings {
		for _, leg := range []Leg{Request, Reply} {
			counts := p.Requests
			if leg == Reply {
				counts = p.Replies
			}
			name, verdict, stop := "", "", ""
			if leg == Request {
				name = fmt.Sprintf("%s (id %d)", p.Name, p.ID)
				verdict = string(p.Verdict)
			}
			if p.Stop != 0 && p.Leg == leg {
				stop = fmt.Sprintf("point %d", p.Stop)
			}
			fmt.Fprintf(tw, "%s\t%s", name, leg)
			for _, n := range counts {
				cell := "-"
				if n >= 0 {
					cell = fmt.Sprintf("%d/%d", n, p.Echoes)
				}
				fmt.Fprintf(tw, "\t%s", cell)
			}
			fmt.Fprintf(tw, "\t%s\t%s\n", stop, verdict)
		}
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nverdict: %s\n%s\n", r.Verdict, r.Summary)
	for _, p := range r.Pings {
		if p.Verdict == r.Verdict && p.Stop == r.Stop && p.Direction == r.Direction {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", p.Name, p.Why)
	}
	if len(r.Evidence) > 0 {
		b.WriteString("\nevidence:\n")
		for _, e := range r.Evidence {
			fmt.Fprintf(&b, "  %s  %s\n", e.Ref, e.Text)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
