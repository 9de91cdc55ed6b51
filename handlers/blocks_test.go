package handlers

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"

	"ipsecbot/diag"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestTruncate_KeepsCharactersWhole(t *testing.T) {
	cases := map[string]struct {
		in   string
		n    int
		want string
	}{
		"short":      {"edge-01", 20, "edge-01"},
		"ascii":      {"abcdefghij", 5, "abcd…"},
		"multibyte":  {"héllo wörld", 6, "héllo…"},
		"emoji":      {"✓✓✓✓✓✓", 3, "✓✓…"},
		"exact_size": {"ööö", 3, "ööö"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := truncate(tc.in, tc.n)
			if got != tc.want || !utf8.ValidString(got) || utf8.RuneCountInString(got) > tc.n {
				t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

// authFailedReport is the verdict of the auth_failed scenario as the engine reports it.
func authFailedReport() *diag.Report {
	start := time.Date(2026, 11, 27, 4, 18, 30, 0, time.UTC)
	return &diag.Report{
		Verdict: diag.Verdict{
			Cause: diag.CauseAuthFailed, IKEVersion: 2, Confidence: 0.95,
			Summary: "IKEv2 authentication failed: pre-shared key or ID mismatch",
			Evidence: []diag.Evidence{
				{Source: "log", Ref: "logs/edge.log:171", Text: "<s2s|1> received AUTHENTICATION_FAILED notify error"},
				{Source: "pcap", Ref: "capture.pcap#4", Text: "IKE_AUTH response 1 carries N(AUTHENTICATION_FAILED)"},
			},
			AlsoSeen:    []diag.Finding{{Cause: diag.CauseInvalidID, Confidence: 0.2}},
			Remediation: []string{"Compare the PSK on both gateways", "Check local/peer ID types and values"},
		},
		Edge: "edge-01", Incident: "INC-7", Started: start, Finished: start.Add(42 * time.Second),
	}
}

// Ensure the verdict message for auth_failed stays as reviewed (the "storybook" golden file;
// go test -update rewrites it).
func TestVerdictBlocks_Golden(t *testing.T) {
	got, err := json.MarshalIndent(slack.Blocks{BlockSet: verdictBlocks(authFailedReport(), "U123", 0, 300, "")}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/verdict-auth_failed.golden.json"
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("verdict blocks differ from %s (go test -update to accept):\n%s", golden, got)
	}
}

// Ensure an interrupted run's verdict says when and why from the typed interruption, and
// the fallback text says it is interrupted.
func TestVerdictBlocks_Interrupted(t *testing.T) {
	rep := authFailedReport()
	rep.Interrupt(&diag.Interruption{After: 12*time.Second + 400*time.Millisecond, Reason: "shutting down"})
	js, _ := json.Marshal(slack.Blocks{BlockSet: verdictBlocks(rep, "U123", 0, 300, "")})
	if want := "*interrupted:* after 12s (shutting down), verdict from what was collected until then"; !strings.Contains(string(js), want) {
		t.Errorf("blocks lack %q:\n%s", want, js)
	}
	if !strings.HasPrefix(verdictText(rep), "Interrupted, ") {
		t.Errorf("fallback text %q", verdictText(rep))
	}
	rep.Interrupt(nil)
	if js, _ := json.Marshal(slack.Blocks{BlockSet: verdictBlocks(rep, "U123", 0, 300, "")}); strings.Contains(string(js), "interrupted") {
		t.Errorf("a finished run's blocks say interrupted:\n%s", js)
	}
}

// Ensure a report far beyond Slack's limits (an interruption reason included) renders within them: header 150, section 3000,
// 50 blocks, button values 2000, and a short fallback text; mentions in device text are
// escaped.
func TestVerdictBlocks_WithinSlackLimits(t *testing.T) {
	rep := authFailedReport()
	rep.Summary = strings.Repeat("très long résumé <!channel> ", 2000)
	rep.Edge = strings.Repeat("edge-", 100)
	for range 500 {
		rep.Evidence = append(rep.Evidence, diag.Evidence{Ref: strings.Repeat("r", 400), Text: strings.Repeat("ä", 5000)})
		rep.Remediation = append(rep.Remediation, strings.Repeat("do ", 3000))
	}
	rep.Missing = []string{strings.Repeat("m", 10000)}
	rep.DataPath = &diag.DataPath{Verdict: "lost_on_wan", Direction: strings.Repeat("<!channel>", 100), Leg: "request", Stop: 3,
		Table: strings.Repeat("ping <!channel> 4/4\n", 1000), Captures: []string{strings.Repeat("point-1.pcap", 500)}, Ladder: "datapath-ladder.png"}
	rep.Interrupt(&diag.Interruption{After: 9 * time.Second, Reason: strings.Repeat("shutting down <!channel> ", 500)})
	blocks := verdictBlocks(rep, "U123", 60, 300, strings.Repeat("n", 5000))
	if len(blocks) > 50 {
		t.Errorf("%d blocks", len(blocks))
	}
	js, _ := json.Marshal(slack.Blocks{BlockSet: blocks})
	if strings.Contains(string(js), "<!channel>") {
		t.Error("a mention in device text reached the message unescaped")
	}
	for _, b := range blocks {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			if n := utf8.RuneCountInString(b.Text.Text); n > maxHeaderText {
				t.Errorf("header %d chars", n)
			}
		case *slack.SectionBlock:
			if n := utf8.RuneCountInString(b.Text.Text); n > maxSectionText || !utf8.ValidString(b.Text.Text) {
				t.Errorf("section %d chars (valid UTF-8: %v)", n, utf8.ValidString(b.Text.Text))
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if txt, ok := e.(*slack.TextBlockObject); ok && utf8.RuneCountInString(txt.Text) > maxContextText {
					t.Errorf("context %d chars", utf8.RuneCountInString(txt.Text))
				}
			}
		case *slack.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && len(btn.Value) > 2000 {
					t.Errorf("button value %d bytes", len(btn.Value))
				}
			}
		}
	}
	if n := utf8.RuneCountInString(verdictText(rep)); n > maxMessageText {
		t.Errorf("fallback text %d chars", n)
	}
}

// Ensure the app manifest declares the endpoints and scopes the bot uses.
func TestManifest_MatchesEndpointsAndScopes(t *testing.T) {
	data, err := os.ReadFile("../configs/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct{ Command, URL string } `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct{ Bot []string } `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				Enabled bool   `yaml:"is_enabled"`
				URL     string `yaml:"request_url"`
			} `yaml:"interactivity"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/ipsec" || !strings.HasSuffix(m.Features.SlashCommands[0].URL, "/slack/commands") {
		t.Errorf("slash commands = %+v", m.Features.SlashCommands)
	}
	if !m.Settings.Interactivity.Enabled || !strings.HasSuffix(m.Settings.Interactivity.URL, "/slack/interactive") {
		t.Errorf("interactivity = %+v", m.Settings.Interactivity)
	}
	for _, method := range slackMethodsCalled(t) {
		scope, ok := scopeOf[method]
		if !ok {
			t.Errorf("the bot calls %s, which scopeOf does not list: add the scope Slack's page for it names", method)
			continue
		}
		if scope != "" && !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("the bot calls %s, which needs scope %s; the manifest asks for %v", method, scope, m.OAuth.Scopes.Bot)
		}
	}
	if !slices.Contains(m.OAuth.Scopes.Bot, "commands") {
		t.Errorf("the manifest lacks the commands scope of /ipsec: %v", m.OAuth.Scopes.Bot)
	}
}

// scopeOf is the bot-token scope each Web API method the bot calls needs, from the method's
// page under https://api.slack.com/methods ("" for none). Reads and writes in private
// channels and direct messages need their groups:/im: twins only where the bot goes there.
var scopeOf = map[string]string{
	"auth.test":                    "",
	"bookmarks.add":                "bookmarks:write",
	"bookmarks.list":               "bookmarks:read",
	"chat.getPermalink":            "",
	"chat.postEphemeral":           "chat:write",
	"chat.postMessage":             "chat:write",
	"chat.update":                  "chat:write",
	"conversations.archive":        "channels:manage",
	"conversations.create":         "channels:manage",
	"conversations.history":        "channels:history",
	"conversations.invite":         "channels:manage",
	"conversations.list":           "channels:read",
	"conversations.open":           "im:write",
	"conversations.replies":        "channels:history",
	"conversations.setTopic":       "channels:manage",
	"files.completeUploadExternal": "files:write",
	"files.getUploadURLExternal":   "files:write",
	"files.upload":                 "files:write",
	"pins.add":                     "pins:write",
	"pins.remove":                  "pins:write",
	"usergroups.users.list":        "usergroups:read",
	"users.info":                   "users:read",
	"apps.connections.open":        "", // the app-level token's connections:write (Socket Mode)
}

// slackMethodsCalled is every Web API method name quoted in the package's code.
func slackMethodsCalled(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"((?:apps|auth|bookmarks|chat|conversations|files|pins|reactions|usergroups|users)\.[a-zA-Z.]+)"`)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) < 10 {
		t.Fatalf("found only %v: the pattern no longer finds the methods the bot calls", out)
	}
	return out
}

// Ensure a report with step 8 shows the stop point, the four-point table and the captures.
func TestVerdictBlocks_DataPath(t *testing.T) {
	rep := authFailedReport()
	rep.DataPath = &diag.DataPath{Verdict: "lost_on_wan", Direction: "forward", Leg: "request", Stop: 3,
		Table:    "ping  leg  1 VM port  2 Edge internal\nVM 1 -> host 2  request  4/4  4/4\n\nverdict: lost_on_wan\nlong summary\n",
		Captures: []string{"point-1.pcap", "point-2.pcap"}, Ladder: "datapath-ladder.png"}
	js, _ := json.Marshal(slack.Blocks{BlockSet: verdictBlocks(rep, "U123", 0, 300, "")})
	for _, want := range []string{"the forward ping's request stopped at point 3", "2 Edge internal", "point-2.pcap", "datapath-ladder.png"} {
		if !strings.Contains(string(js), want) {
			t.Errorf("blocks lack %q", want)
		}
	}
	if strings.Contains(string(js), "long summary") {
		t.Error("the table's summary repeated in the block")
	}
}
