package handlers

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"ipsecbot/incident"
)

// Invocation is a slash command as either transport delivers it.
type Invocation struct {
	Command     string // "/ipsec"
	Text        string // what the user typed after it
	User        string // Slack user ID
	Channel     string // Slack channel ID
	ResponseURL string
	TriggerID   string
}

// Command is a parsed `/ipsec` invocation.
type Command struct {
	Name           string // help, diagnose, status, incident, incidents, escalate, commander, update, resolve
	Edge           string
	CaptureSeconds int // 0: the default window
	Incident       string
	Severity       string // escalate: sev1, sev2, sev3 ("" : the default)
	User           string // commander: the new commander's user ID
	Text           string // update: the update; resolve: the note
	DataPath       bool   // diagnose ... datapath: the traffic fails, run step 8 too
}

// usage is one line of help: the syntax, what it does, and the permission it needs.
type usage struct {
	name, syntax, does string
	needs              Permission // "" : any permission at all
}

var usages = []usage{
	{"help", "/ipsec help", "this text", ""},
	{"diagnose", "/ipsec diagnose EDGE [datapath] [capture SECONDS]", "run the unstable-tunnel procedure on EDGE (datapath: traffic fails, follow a ping through four capture points; capture: custom capture window)", PermDiagnose},
	{"status", "/ipsec status [EDGE]", "tunnel states from the NSX API", ""},
	{"incident", "/ipsec incident ID", "one incident's state and timeline", ""},
	{"incidents", "/ipsec incidents", "the open incidents", ""},
	{"escalate", "/ipsec escalate ID [sev1|sev2|sev3]", "hand an incident off to its own channel with the on-call group", PermEscalate},
	{"commander", "/ipsec commander ID @user", "hand the incident commander role over (alias: handoff)", PermEscalate},
	{"update", "/ipsec update ID conditions: … actions: … needs: …", "post and pin a status update in the incident channel", ""},
	{"resolve", "/ipsec resolve ID NOTE", "close an incident, saying what fixed it", PermResolve},
}

// usageErr is a malformed command; its text is shown to the user with the usage.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

var incidentID = regexp.MustCompile(`^(?i)inc-[0-9]{1,12}$`)

// parseCommand reads the text after /ipsec. It checks form only; edges are checked against
// the inventory by the caller.
func parseCommand(text string) (Command, error) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return Command{Name: "help"}, nil
	}
	name := strings.ToLower(f[0])
	args := f[1:]
	switch name {
	case "help":
		return Command{Name: name}, nil
	case "diagnose":
		dataPath := len(args) > 1 && strings.EqualFold(args[1], "datapath")
		if dataPath {
			args = append(args[:1:1], args[2:]...)
		}
		if len(args) != 1 && len(args) != 3 {
			return Command{}, usageErr{"diagnose takes an edge name and optionally `datapath` and `capture SECONDS`"}
		}
		c := Command{Name: name, Edge: args[0], DataPath: dataPath}
		if len(args) == 3 {
			if strings.ToLower(args[1]) != "capture" {
				return Command{}, usageErr{fmt.Sprintf("unexpected %q after the edge name (expected `capture SECONDS`)", args[1])}
			}
			n, err := strconv.Atoi(strings.TrimSuffix(args[2], "s"))
			if err != nil || n <= 0 {
				return Command{}, usageErr{fmt.Sprintf("capture SECONDS must be a positive number, not %q", args[2])}
			}
			c.CaptureSeconds = n
		}
		return c, nil
	case "status":
		if len(args) > 1 {
			return Command{}, usageErr{"status takes at most one edge name"}
		}
		c := Command{Name: name}
		if len(args) == 1 {
			c.Edge = args[0]
		}
		return c, nil
	case "incident":
		if len(args) != 1 || !incidentID.MatchString(args[0]) {
			return Command{}, usageErr{name + " takes one incident ID such as INC-7"}
		}
		return Command{Name: name, Incident: strings.ToUpper(args[0])}, nil
	case "escalate":
		if len(args) < 1 || len(args) > 2 || !incidentID.MatchString(args[0]) {
			return Command{}, usageErr{"escalate takes an incident ID such as INC-7 and optionally a severity (sev1, sev2, sev3)"}
		}
		c := Command{Name: name, Incident: strings.ToUpper(args[0])}
		if len(args) == 2 {
			sev, err := incident.ParseSeverity(args[1])
			if err != nil {
				return Command{}, usageErr{err.Error()}
			}
			c.Severity = sev
		}
		return c, nil
	case "commander", "handoff":
		if len(args) != 2 || !incidentID.MatchString(args[0]) {
			return Command{}, usageErr{name + " takes an incident ID and the new commander: `commander INC-7 @user`"}
		}
		user, ok := mentionedUser(args[1])
		if !ok {
			return Command{}, usageErr{fmt.Sprintf("%q is not a user mention: pick the user from Slack's list so the command carries their ID", args[1])}
		}
		return Command{Name: "commander", Incident: strings.ToUpper(args[0]), User: user}, nil
	case "update", "resolve":
		if len(args) < 1 || !incidentID.MatchString(args[0]) {
			return Command{}, usageErr{name + " takes an incident ID such as INC-7, then the text"}
		}
		c := Command{Name: name, Incident: strings.ToUpper(args[0]), Text: afterFields(text, 2)}
		if name == "update" && c.Text == "" {
			return Command{}, usageErr{"update needs the text: `update INC-7 conditions: … actions: … needs: …`"}
		}
		return c, nil
	case "incidents":
		if len(args) != 0 {
			return Command{}, usageErr{"incidents takes no arguments"}
		}
		return Command{Name: name}, nil
	}
	return Command{}, usageErr{fmt.Sprintf("unknown command %q", f[0])}
}

// mentionedUser reads a user as Slack escapes it in a command ("<@U123|ann>", "<@U123>") or
// a bare user ID.
func mentionedUser(s string) (string, bool) {
	if m := userMention.FindStringSubmatch(s); m != nil {
		return m[1] + m[2], true
	}
	return "", false
}

var userMention = regexp.MustCompile(`^(?:<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>|([UW][A-Z0-9]{2,}))$`)

// afterFields is text after its first n fields, spacing inside kept.
func afterFields(text string, n int) string {
	rest := strings.TrimSpace(text)
	for range n {
		i := strings.IndexFunc(rest, unicode.IsSpace)
		if i < 0 {
			return ""
		}
		rest = strings.TrimSpace(rest[i:])
	}
	return rest
}

// closestNames returns up to three inventory names nearest to name: the ones containing it or
// contained in it first, then those within a small edit distance.
func closestNames(name string, names []string) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	lname := strings.ToLower(name)
	for _, n := range names {
		ln := strings.ToLower(n)
		d := editDistance(lname, ln)
		if strings.Contains(ln, lname) || strings.Contains(lname, ln) {
			d = 0
		}
		if d <= max(2, len(ln)/3) {
			cs = append(cs, cand{n, d})
		}
	}
	// Insertion sort: the inventory is small.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].d < cs[j-1].d; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// editDistance is the Levenshtein distance over runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
