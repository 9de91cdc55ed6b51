package classify

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	ls "ipsecbot/diag/classify/logscan"
	"ipsecbot/diag/classify/logscan/upstream"
)

var updateVocabulary = flag.Bool("update-vocabulary", false, "rewrite docs/vocabulary.md from the pattern and rule tables")

const vocabularyPath = "../../docs/vocabulary.md"

// condWords names the conditions of a rule for a reader.
var condWords = []struct {
	c    cond
	word string
}{
	{ikeUp, "IKE SA up"}, {childUp, "CHILD_SA up (a rekey)"}, {wasUp, "after a drop"}, {ikeProp, "IKE proposals beside it"},
	{espProp, "ESP proposals beside it"}, {keGroup, "the DH group failed"}, {pskAuth, "PSK"}, {tooSoon, "too soon"},
}

func condText(when, unless cond) string {
	var parts []string
	for _, w := range condWords {
		if when&w.c != 0 {
			parts = append(parts, w.word)
		}
		if unless&w.c != 0 {
			parts = append(parts, "not "+w.word)
		}
	}
	return strings.Join(parts, ", ")
}

var roleWords = map[ls.Role]string{ls.RoleState: "state", ls.RoleDecided: "decided", ls.RoleHeard: "heard", ls.RoleNotify: "notify (by direction)"}

// leftOut are failure-point messages read in the sources that the scanner deliberately does not
// match, and why.
const leftOut = `
## Read in the sources and left out (no cause)

| message | where | why no cause |
|---|---|---|
| ` + "`peer didn't accept DH group %N, it requested %N`" + ` / ` + "`peer didn't accept key exchange method ...`" + ` | strongSwan ike_init.c process_i, child_create.c process_i | the initiator retries with the group asked for; the responder's "unacceptable, requesting" line is matched instead, and only once the IKE SA is up |
| ` + "`ignoring KE payload, agreed on a non-PFS proposal`" + ` | strongSwan child_create.c | PFS on one side only still negotiates; nothing fails |
| ` + "`failed to establish CHILD_SA, keeping IKE_SA`" + ` | strongSwan child_create.c | a consequence: the line before it (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, ...) names the cause |
| ` + "`unable to install %s%s%sIPsec SA (SAD) in kernel`" + `, ` + "`unable to install IPsec policies (SPD) in kernel`" + ` | strongSwan child_create.c install | a local kernel failure; no cause label fits it |
| ` + "`%N mode requested by responder is unacceptable`" + ` | strongSwan child_create.c select_and_install | tunnel/transport mode mismatch; no cause label fits it (reported as unknown with the line) |
| ` + "`received lifetime %us does not match configured lifetime %us`" + ` | strongSwan main_mode.c, aggressive_mode.c | informational: charon continues with its own lifetime (the lifetime_mismatch fixtures are healthy) |
| ` + "`retransmitting in response to duplicate packet; already STATE_...`" + ` | libreswan ikev1.c | the other side resent; says nothing of a cause |
| ` + "`starting keying attempt %ld of an unlimited number`" + ` | libreswan | a retry after any failure; the failure line before it names the cause |
| ` + "`total.ikev2.sent.notifies.error.<NAME>=N`" + ` | libreswan whack --globalstatus | counters, not events: they contain notify names (a known false match of the bare notify patterns when such output is given as a log) |
`

// closedVendors are the vendors without source to walk, named as their patterns' origins name
// them ("vendor verified: <name> ...", "vendor inferred: <name> ...").
var closedVendors = []string{"Cisco ASA", "FortiGate", "Palo Alto", "Juniper SRX", "SonicWall", "WatchGuard", "AWS"}

// coverageSection counts, per open-source vendor, the upstream failure log sites of the
// inventories (logscan/testdata/upstream) by disposition, and per closed vendor its patterns by
// how their wording was established.
func coverageSection(t *testing.T) (section, readmeLine string) {
	t.Helper()
	invs, err := upstream.LoadDir("logscan/testdata/upstream")
	if err != nil {
		t.Fatal(err)
	}
	var b, line strings.Builder
	line.WriteString("How much of the implementations' failure wording the scanner reads (failure log sites found upstream: mapped to a pattern / no cause / unmapped): ")
	b.WriteString(`## Coverage per vendor

Open source: every log call on a failure path of the daemon that reaches a default log, listed by
` + "`scripts/upstream-sites.sh`" + ` into diag/classify/logscan/testdata/upstream/ and disposed by hand to the
pattern that reads it, to *no cause* (a success, a detail before the refusal line that is read, a
malformed message, a local fault, a feature the procedure does not involve) or to *unmapped* (a
failure no pattern reads yet). The logscan tests render each site's format and check that the
scanner reports the claimed pattern, and that no pattern reads a site claimed to have none.

| source | failure log sites | mapped to a pattern | no cause | unmapped |
|---|---:|---:|---:|---:|
`)
	for i, inv := range invs {
		c := inv.Count()
		if i > 0 {
			line.WriteString("; ")
		}
		fmt.Fprintf(&line, "%s %d sites: %d / %d / %d", strings.Fields(inv.Source)[0]+" "+strings.Fields(inv.Source)[1], c.Sites, c.Mapped, c.NoCause, c.Unmapped)
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", strings.TrimSuffix(inv.Source, ": failure log sites that reach a default log."), c.Sites, c.Mapped, c.NoCause, c.Unmapped)
	}
	b.WriteString("\nUnmapped: failures upstream logs that no pattern reads yet (what each would mean).\n\n| source | site | format | why it may deserve a pattern |\n|---|---|---|---|\n")
	for _, inv := range invs {
		for _, s := range inv.Sites {
			if s.Kind == upstream.Unmapped {
				fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", inv.Vendor, s.Where(), strings.ReplaceAll(s.Format, "|", "\\|"), s.Detail)
			}
		}
	}
	b.WriteString(`
No source to walk: the vendor's patterns, *verified* against a published log line or *inferred*
from the vendor's message reference (counted from the origins below).

| vendor | patterns | verified | inferred |
|---|---:|---:|---:|
`)
	counts := map[string][2]int{}
	for _, p := range ls.Table() {
		for k, prefix := range []string{"vendor verified: ", "vendor inferred: "} {
			rest, ok := strings.CutPrefix(p.Origin, prefix)
			if !ok {
				continue
			}
			named := ""
			for _, v := range closedVendors {
				if strings.HasPrefix(rest, v) {
					named = v
				}
			}
			if named == "" {
				t.Errorf("pattern %q: origin %q names no vendor of closedVendors", p.ERE, p.Origin)
				continue
			}
			c := counts[named]
			c[k]++
			counts[named] = c
		}
	}
	for _, v := range closedVendors {
		c := counts[v]
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", v, c[0]+c[1], c[0], c[1])
	}
	b.WriteString("\n")
	line.WriteString(". Vendors without source, patterns verified / inferred:")
	for i, v := range closedVendors {
		c := counts[v]
		if i > 0 {
			line.WriteString(",")
		}
		fmt.Fprintf(&line, " %s %d / %d", v, c[0], c[1])
	}
	line.WriteString(". Per vendor, with the unmapped sites: [docs/vocabulary.md](docs/vocabulary.md#coverage-per-vendor).\n")
	return b.String(), line.String()
}

// docs/vocabulary.md is the pattern table and what the rules make of each event, generated:
// every wording with its origin, role and causes, or "no cause" (regenerate with
// -update-vocabulary).
func TestVocabulary_Doc(t *testing.T) {
	var b strings.Builder
	b.WriteString(`# Log vocabulary

What the log scanner looks for (diag/classify/logscan/patterns.go) and what the classifier's rules
(diag/classify/rules.go) make of it. Generated by ` + "`go test ./diag/classify -run Vocabulary_Doc -update-vocabulary`" + `;
the test fails when this file and the tables differ.

- **origin**: where the wording comes from — the upstream source file and function (strongSwan
  src/..., libreswan programs/pluto/... at the tag named), an RFC notify name, the NSX-v procedure's
  table, or a vendor document, marked *verified* (a published sample was checked) or *inferred*
  (wording from the vendor's message reference, no sample). "[source only ...]" marks a wording read
  in the source for which no published log line was found.
- **role**: *decided* — the logging side refused (or accepted) on its own judgement; *heard* — it was
  told by the other side; *state* — neither. A cause resting only on heard lines is ranked below the
  best decided one.
- **causes**: cause (weight; conditions under which the rule applies). "no cause" means the line is
  read for state (SA up, IKE version, proposals beside a refusal) or deliberately ignored.

`)
	coverage, readmeLine := coverageSection(t)
	b.WriteString(coverage)
	b.WriteString(`## Patterns

| # | wording (POSIX ERE) | event | role | causes | origin |
|---:|---|---|---|---|---|
`)
	for i, p := range ls.Table() {
		var causes []string
		for _, r := range rules {
			if r.event != p.Event {
				continue
			}
			c := fmt.Sprintf("%s (%.2f", r.cause, r.weight)
			if ct := condText(r.when, r.unless); ct != "" {
				c += "; " + ct
			}
			causes = append(causes, c+")")
		}
		if len(causes) == 0 {
			causes = []string{"no cause"}
		}
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s | %s |\n", i+1, strings.ReplaceAll(p.ERE, "|", "\\|"), p.Event, roleWords[p.Role],
			strings.Join(causes, "<br>"), strings.ReplaceAll(p.Origin, "|", "\\|"))
	}
	b.WriteString(leftOut)
	const begin, end = "<!-- upstream-coverage:begin (go test ./diag/classify -run Vocabulary_Doc -update-vocabulary) -->\n", "<!-- upstream-coverage:end -->"
	syncReadme(t, begin, end, begin+readmeLine+end, *updateVocabulary,
		"the README's coverage line is stale; run go test ./diag/classify -run Vocabulary_Doc -update-vocabulary")
	got, err := os.ReadFile(vocabularyPath)
	if err == nil && string(got) == b.String() {
		return
	}
	if *updateVocabulary {
		if err := os.WriteFile(vocabularyPath, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/vocabulary.md is stale or missing; run go test ./diag/classify -run Vocabulary_Doc -update-vocabulary")
}
