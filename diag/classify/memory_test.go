package classify

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"ipsecbot/diag"
)

// The observations kept of a log do not grow with its length: a log repeated 400 times keeps
// no more observations than its own kinds allow, and names the same cause.
func TestClassify_LogObservationsBounded(t *testing.T) {
	dir := filepath.Join("testdata", "fixtures", "ikev2-pfs_mismatch")
	one, err := os.ReadFile(filepath.Join(dir, "edgeA-charon.log"))
	if err != nil {
		t.Fatal(err)
	}
	many := bytes.Repeat(one, 400)
	var scanned diag.Scanned
	obsOne, err := scanSource(t.Context(), LogSource{Path: "one.log", Text: one}, diag.SourceLog, Input{}, &scanned, nil)
	if err != nil {
		t.Fatal(err)
	}
	obsMany, err := scanSource(t.Context(), LogSource{Path: "many.log", Text: many}, diag.SourceLog, Input{}, &scanned, nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[kindKey]bool{}
	for _, o := range obsMany {
		kinds[kindKey{o.event, o.cond, o.role, o.version, o.name}] = true
	}
	if limit := len(kinds)*keepPerKind + maxCycles; len(obsMany) > limit {
		t.Errorf("%d observations kept of %d matched lines; at most %d expected", len(obsMany), scanned.MatchedLines, limit)
	}
	if len(obsMany) >= 50*len(obsOne) {
		t.Errorf("kept %d observations of the repeated log, %d of one copy", len(obsMany), len(obsOne))
	}
	vOne, _ := Classify(t.Context(), Input{Logs: []LogSource{{Path: "one.log", Text: one}}})
	vMany, _ := Classify(t.Context(), Input{Logs: []LogSource{{Path: "many.log", Text: many}}})
	if vOne.Cause != vMany.Cause {
		t.Errorf("one copy: %s, 400 copies: %s", vOne.Cause, vMany.Cause)
	}
}
