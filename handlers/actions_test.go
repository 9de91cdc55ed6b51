package handlers

import (
	"strings"
	"testing"

	"ipsecbot/store"
)

// Ensure a second Resolve of a resolved incident says so and changes nothing (resolved is
// final), and that Resolve of an incident that does not exist says that.
func TestResolve_AlreadyResolvedAndMissing(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	b.command("UOPS", "C1", "diagnose edge-01")
	inc := waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()

	answered := func(text string) func() bool {
		return func() bool {
			for _, m := range b.slack.ResponseMessages() {
				if strings.Contains(m.Text, text) {
					return true
				}
			}
			return false
		}
	}
	b.press("UOPS", "C1", actionResolve, "INC-1", inc.ThreadTS)
	waitFor(t, "resolved", answered("INC-1 is resolved."))
	b.press("UOPS", "C1", actionResolve, "INC-1", inc.ThreadTS)
	waitFor(t, "already resolved", answered("INC-1 is already resolved."))
	b.press("UOPS", "C1", actionResolve, "INC-9", inc.ThreadTS)
	waitFor(t, "missing incident", answered("There is no incident INC-9."))

	tl, err := b.db.Timeline("INC-1")
	if err != nil {
		t.Fatal(err)
	}
	resolved := 0
	for _, e := range tl {
		if e.Kind == store.EventStatus && e.Text == "resolved in Slack" {
			resolved++
		}
	}
	if got, _ := b.db.Incident("INC-1"); got.Status != store.StatusResolved || resolved != 1 {
		t.Errorf("after two resolves: %s with %d resolve entries", got.Status, resolved)
	}
}
