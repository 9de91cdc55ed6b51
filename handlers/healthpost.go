package handlers

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"ipsecbot/chart"
	"ipsecbot/watch"
)

// Limits of the health post: lines per list and charts per post (the rest is counted).
const (
	maxHealthLines  = 10
	maxWorstTunnels = 5
	maxHealthCharts = 10
)

// PostHealth posts the scheduled health summary of rep to channel: the edges, the tunnels up
// of all, the drops in the report's window, the tunnels that need attention (unstable first,
// then down and unknown), the tunnels with the most drops and one line per edge; then one
// chart of the last 24 h per unstable tunnel in the post's thread. A chart that cannot be
// drawn or uploaded is said in the thread; the summary stands either way.
func (s *Server) PostHealth(ctx context.Context, channel string, rep watch.HealthReport, edges []string, now time.Time) error {
	text, blocks := healthBlocks(rep, edges, now)
	ts, err := s.api.post(ctx, channel, "", text, blocks)
	if err != nil {
		return fmt.Errorf("health post: %w", err)
	}
	var unstable []watch.TunnelHealth
	for _, t := range rep.Tunnels {
		if t.State == watch.StateUnstable {
			unstable = append(unstable, t)
		}
	}
	slices.SortStableFunc(unstable, func(a, b watch.TunnelHealth) int { return cmp.Compare(b.Drops, a.Drops) })
	var failed []string
	for i, t := range unstable {
		if i == maxHealthCharts {
			failed = append(failed, fmt.Sprintf("%d more unstable tunnels (no chart: at most %d per post)", len(unstable)-i, maxHealthCharts))
			break
		}
		if err := s.uploadChart(ctx, channel, ts, t, now); err != nil {
			s.log.Error("health chart not posted", "tunnel", tunnelName(t), "err", err)
			failed = append(failed, tunnelName(t))
		}
	}
	if len(failed) > 0 {
		msg := ":warning: No chart for " + strings.Join(failed, "; ") + ". `bot health --png FILE --edge E` draws them on the bot's host."
		if _, err := s.api.post(ctx, channel, ts, msg, nil); err != nil {
			s.log.Error("health chart failure note not posted", "err", err)
		}
	}
	return nil
}

// uploadChart draws one tunnel's last 24 h and uploads it into the thread. A panic while
// drawing is this chart's failure, not the post's.
func (s *Server) uploadChart(ctx context.Context, channel, threadTS string, t watch.TunnelHealth, now time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing the chart panicked: %v", r)
		}
	}()
	k := watch.Key{Edge: t.Edge, Site: t.Site, Tunnel: t.Tunnel}
	rows, err := chart.Tunnels(s.db, []watch.Key{k}, watch.DefaultHealthWindow, now)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "ipsecbot-chart-*.png")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	title := fmt.Sprintf("%s %s %s: last 24 h", t.Edge, t.Site, t.Tunnel)
	err = chart.WritePNG(f, title, rows, now.Add(-watch.DefaultHealthWindow), now)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	name := fileSafe(t.Edge+"-"+t.Site+"-"+t.Tunnel) + ".png"
	return s.api.upload(ctx, channel, threadTS, f.Name(), name, title, "")
}

// fileSafe keeps letters, digits, dots and dashes of a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

func tunnelName(t watch.TunnelHealth) string { return t.Edge + " " + t.Site + " " + t.Tunnel }

// attentionOrder puts unstable tunnels first, then down, then unknown.
var attentionOrder = map[string]int{watch.StateUnstable: 0, watch.StateDown: 1, watch.StateUnknown: 2}

// healthBlocks renders the summary.
func healthBlocks(rep watch.HealthReport, edges []string, now time.Time) (string, []slack.Block) {
	type edgeCount struct{ up, total, unstable, down, unknown int }
	edges = slices.Clone(edges) // sorted and added to below
	per := map[string]*edgeCount{}
	for _, e := range edges {
		per[e] = &edgeCount{}
	}
	up, drops := 0, 0
	var attention, worst []watch.TunnelHealth
	for _, t := range rep.Tunnels {
		c := per[t.Edge]
		if c == nil {
			c = &edgeCount{}
			per[t.Edge] = c
			edges = append(edges, t.Edge)
		}
		drops += t.Drops
		if t.Site == "" && t.Tunnel == "" { // an edge never read: no tunnel to count
			c.unknown++
			attention = append(attention, t)
			continue
		}
		c.total++
		switch t.State {
		case watch.StateUp:
			up++
			c.up++
		case watch.StateUnstable:
			c.unstable++
		case watch.StateDown:
			c.down++
		default:
			c.unknown++
		}
		if _, ok := attentionOrder[t.State]; ok {
			attention = append(attention, t)
		}
		if t.Drops > 0 {
			worst = append(worst, t)
		}
	}
	total := 0
	for _, c := range per {
		total += c.total
	}
	slices.SortStableFunc(attention, func(a, b watch.TunnelHealth) int {
		return cmp.Or(cmp.Compare(attentionOrder[a.State], attentionOrder[b.State]), cmp.Compare(b.Drops, a.Drops))
	})
	slices.SortStableFunc(worst, func(a, b watch.TunnelHealth) int { return cmp.Compare(b.Drops, a.Drops) })

	summary := fmt.Sprintf("*%s* · *%d of %d tunnels up* · *%s in 24 h*", plural(len(edges), "edge"), up, total, plural(drops, "drop"))
	text := fmt.Sprintf("IPsec tunnel health: %s, %d of %d tunnels up, %s in 24 h", plural(len(edges), "edge"), up, total, plural(drops, "drop"))
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain("IPsec tunnel health", maxHeaderText)),
		section(summary),
	}
	if len(attention) > 0 {
		var lines []string
		for i, t := range attention {
			if i == maxHealthLines {
				break
			}
			lines = append(lines, attentionLine(t))
		}
		blocks = append(blocks, listSection("*Needs attention*", lines, len(attention), "more (`bot health`)"))
	}
	if len(worst) > 0 {
		lines := []string{"*Most drops in 24 h*"}
		for i, t := range worst {
			if i == maxWorstTunnels {
				break
			}
			lines = append(lines, fmt.Sprintf("%d · %s *%s* %s `%s`", t.Drops, iconOf(t.State), escape(t.Edge), escape(t.Site), escape(t.Tunnel)))
		}
		blocks = append(blocks, section(strings.Join(lines, "\n")))
	}
	// Edges with a tunnel not up first: with hundreds of edges the all-up ones are the rest.
	rank := func(c *edgeCount) int {
		switch {
		case c.down > 0:
			return 0
		case c.unstable > 0:
			return 1
		case c.unknown > 0 || c.total == 0:
			return 2
		}
		return 3
	}
	slices.SortStableFunc(edges, func(a, b string) int { return cmp.Compare(rank(per[a]), rank(per[b])) })
	var lines []string
	for _, e := range edges {
		c := per[e]
		icon := [...]string{stateIcon[watch.StateDown], stateIcon[watch.StateUnstable], stateIcon[watch.StateUnknown], stateIcon[watch.StateUp]}[rank(c)]
		line := fmt.Sprintf("%s %s: %d of %d tunnels up", icon, escape(e), c.up, c.total)
		for _, x := range []struct {
			n    int
			what string
		}{{c.unstable, "unstable"}, {c.down, "down"}, {c.unknown, "unknown"}} {
			if x.n > 0 {
				line += fmt.Sprintf(" · %d %s", x.n, x.what)
			}
		}
		lines = append(lines, line)
	}
	blocks = append(blocks, listSection("*By edge*", lines, len(lines), "more edges"))
	blocks = append(blocks, contextLine("As of "+slackTime(now)+". Charts of the unstable tunnels follow in the thread."))
	return text, blocks
}

// listSection is a titled list in one section: as many lines as fit, then how many of all
// were left out.
func listSection(title string, lines []string, all int, more string) slack.Block {
	const room = maxSectionText - 100 // for the title and the "and N more" line
	text := title
	shown := 0
	for _, l := range lines {
		if len(text)+1+len(l) > room {
			break
		}
		text += "\n" + l
		shown++
	}
	if shown < all {
		text += fmt.Sprintf("\n… and %d %s", all-shown, more)
	}
	return section(text)
}

func attentionLine(t watch.TunnelHealth) string {
	if t.Site == "" && t.Tunnel == "" {
		return fmt.Sprintf("%s *%s*: never read: %s", iconOf(t.State), escape(t.Edge), escape(truncate(oneLine(t.LastFailure), maxEvidenceLine)))
	}
	line := fmt.Sprintf("%s *%s* %s `%s` %s since %s, %s in 24 h", iconOf(t.State), escape(t.Edge), escape(t.Site), escape(t.Tunnel),
		t.State, slackTime(t.Since), plural(t.Drops, "drop"))
	if t.LastFailure != "" {
		line += ": " + escape(truncate(oneLine(t.LastFailure), maxEvidenceLine))
	}
	return line
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
