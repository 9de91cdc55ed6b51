package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"ipsecbot/chart"
	"ipsecbot/diag/nsx"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/store"
	"ipsecbot/watch"
)

const healthChannel = "CHEALTH"

// Ensure the health post summarises the watch states (edges, tunnels up of all, drops,
// unstable tunnels first, most drops, one line per edge) and puts one chart per unstable
// tunnel in its thread; a chart Slack refuses is said in the thread and the others still go.
func TestPostHealth_SummaryAndCharts(t *testing.T) {
	fake := slacktestx.New(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, fake)
	now := time.Now().UTC()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tunnels := []store.WatchTunnel{
		{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: "10.0.1.0/24-10.0.2.0/24", State: watch.StateUnstable, Since: ago(time.Hour), LastFailure: nsx.MsgIKEv2AuthFailed},
		{Edge: "edge-01", Site: "ipsecsite-2", Tunnel: "10.0.3.0/24-10.0.4.0/24", State: watch.StateUp, Since: ago(48 * time.Hour)},
		{Edge: "edge-02", Site: "ipsecsite-1", Tunnel: "10.2.1.0/24-10.2.2.0/24", State: watch.StateDown, Since: ago(3 * time.Hour)},
		{Edge: "edge-02", Site: "ipsecsite-3", Tunnel: "10.2.3.0/24-10.2.4.0/24", State: watch.StateUnstable, Since: ago(2 * time.Hour)},
	}
	key := func(t store.WatchTunnel) [3]string { return [3]string{t.Edge, t.Site, t.Tunnel} }
	up := &store.WatchSample{TunnelStatus: "up"}
	events := map[[3]string][]store.WatchEvent{
		key(tunnels[0]): {
			{Time: ago(20 * time.Hour), Kind: store.WatchChanged, Note: "first reading", Sample: up},
			{Time: ago(3 * time.Hour), Kind: store.WatchDrop}, {Time: ago(2 * time.Hour), Kind: store.WatchDrop},
			{Time: ago(time.Hour), Kind: store.WatchDrop, Sample: &store.WatchSample{TunnelStatus: "down", Failure: nsx.MsgIKEv2AuthFailed}},
			{Time: ago(time.Hour), Kind: store.WatchState, State: watch.StateUnstable},
		},
		key(tunnels[3]): {
			{Time: ago(20 * time.Hour), Kind: store.WatchChanged, Note: "first reading", Sample: up},
			{Time: ago(2 * time.Hour), Kind: store.WatchDrop},
			{Time: ago(2 * time.Hour), Kind: store.WatchState, State: watch.StateUnstable},
		},
	}
	if err := b.db.SaveWatch(tunnels, events); err != nil {
		t.Fatal(err)
	}
	rep, err := watch.Health(b.db, "", watch.DefaultHealthWindow, now)
	if err != nil {
		t.Fatal(err)
	}
	// The first chart's upload fails on every attempt.
	fake.Fail("files.getUploadURLExternal", slacktestx.Fault{Status: 500}, slacktestx.Fault{Status: 500}, slacktestx.Fault{Status: 500})
	if err := b.srv.PostHealth(t.Context(), healthChannel, rep, b.cfg.EdgeNames(), now); err != nil {
		t.Fatal(err)
	}

	var root slacktestx.Message
	var replies []slacktestx.Message
	for _, m := range fake.Messages() {
		switch {
		case m.Channel != healthChannel:
		case m.ThreadTS == "":
			root = m
		default:
			replies = append(replies, m)
		}
	}
	text := blockText(t, root.Blocks)
	mustContain(t, "the health post", text, "IPsec tunnel health", "*3 edges* · *1 of 4 tunnels up* · *4 drops in 24 h*",
		"*Most drops in 24 h*\n3 · :large_orange_circle: *edge-01* ipsecsite-1", "Authentication Failed",
		":large_orange_circle: edge-01: 1 of 2 tunnels up · 1 unstable", ":red_circle: edge-02: 0 of 2 tunnels up · 1 unstable · 1 down",
		":white_circle: branch-edge: 0 of 0 tunnels up")
	att := text[strings.Index(text, "*Needs attention*"):]
	first, second, third := strings.Index(att, "`10.0.1.0/24-10.0.2.0/24` unstable"), strings.Index(att, "`10.2.3.0/24-10.2.4.0/24` unstable"), strings.Index(att, "`10.2.1.0/24-10.2.2.0/24` down")
	if first < 0 || second < first || third < second {
		t.Errorf("needs attention not unstable first (most drops first), then down:\n%s", att)
	}
	if strings.Contains(att, "10.0.3.0/24") {
		t.Errorf("an up tunnel needs attention:\n%s", att)
	}

	uploads := fake.Uploads()
	var done []slacktestx.Upload
	for _, u := range uploads {
		if u.Completed {
			done = append(done, u)
		}
	}
	if len(done) != 1 {
		t.Fatalf("%d charts uploaded, want the second unstable tunnel's: %+v", len(done), uploads)
	}
	u := done[0]
	if u.Channel != healthChannel || u.ThreadTS != root.TS || u.Filename != "edge-02-ipsecsite-3-10.2.3.0_24-10.2.4.0_24.png" {
		t.Errorf("upload %s in %s thread %s, want the post's thread %s", u.Filename, u.Channel, u.ThreadTS, root.TS)
	}
	img, err := png.Decode(bytes.NewReader(u.Data))
	if err != nil {
		t.Fatalf("the chart is no PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != chart.Width || b.Dy() != chart.Height(1) {
		t.Errorf("chart %dx%d, want %dx%d", b.Dx(), b.Dy(), chart.Width, chart.Height(1))
	}
	if len(replies) != 1 || replies[0].ThreadTS != root.TS {
		t.Fatalf("replies %+v, want the note on the chart that failed", replies)
	}
	mustContain(t, "the failure note", replies[0].Text, "No chart for edge-01 ipsecsite-1 10.0.1.0/24-10.0.2.0/24")
}

// Ensure a health post over hundreds of edges stays within Slack's section limit: the edges
// with a tunnel not up come first and the rest are counted.
func TestHealthBlocks_ManyEdgesFit(t *testing.T) {
	var rep watch.HealthReport
	var edges []string
	for i := range 400 {
		e := fmt.Sprintf("edge-%03d", i)
		edges = append(edges, e)
		state := watch.StateUp
		if i == 399 {
			state = watch.StateDown
		}
		rep.Tunnels = append(rep.Tunnels, watch.TunnelHealth{Edge: e, Site: "ipsecsite-1", Tunnel: "10.0.0.0/24-10.1.0.0/24", State: state})
	}
	_, blocks := healthBlocks(rep, edges, time.Now())
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	text := blockText(t, string(raw))
	byEdge := text[strings.Index(text, "*By edge*"):]
	mustContain(t, "the edges", byEdge, "*By edge*\n:red_circle: edge-399: 0 of 1 tunnels up · 1 down\n:large_green_circle: edge-000", "more edges")
	for _, b := range blocks {
		if sec, ok := b.(*slack.SectionBlock); ok && sec.Text != nil && utf8.RuneCountInString(sec.Text.Text) > maxSectionText {
			t.Errorf("a section of %d characters", utf8.RuneCountInString(sec.Text.Text))
		}
	}
	if edges[0] != "edge-000" {
		t.Errorf("the caller's edges were reordered: %s first", edges[0])
	}
}
