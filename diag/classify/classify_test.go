package classify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"ipsecbot/diag"
)

// scenario is a fixture's scenario.json, copied from the strongSwan lab runs.
type scenario struct {
	Name          string       `json:"name"`
	IKEVersion    int          `json:"ike_version"`
	ExpectedLabel diag.Cause   `json:"expected_label"`
	AlsoAccept    []diag.Cause `json:"also_accept"`
}

// fixtureSets are the two independent real data sets: the lab's default variant, and its alt
// variant (other addresses with a routed WAN hop, names, FQDN IDs, proposals, timers, log time
// format, and the peer initiating). Each holds 32 scenario folders.
var fixtureSets = []string{"testdata/fixtures", "testdata/alt"}

// loadScenarios reads the scenario.json of every folder of the given sets (default: both).
func loadScenarios(t *testing.T, sets ...string) map[string]scenario {
	t.Helper()
	if len(sets) == 0 {
		sets = fixtureSets
	}
	out := map[string]scenario{}
	for _, set := range sets {
		dirs, _ := filepath.Glob(filepath.Join(set, "ikev*"))
		if len(dirs) < 32 {
			t.Fatalf("%s: found %d fixtures, want 32", set, len(dirs))
		}
		for _, d := range dirs {
			b, err := os.ReadFile(filepath.Join(d, "scenario.json"))
			if err != nil {
				t.Fatal(err)
			}
			var s scenario
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			s.Name = filepath.Base(set) + "/" + s.Name
			out[d] = s
		}
	}
	return out
}

func (s scenario) accepts(c diag.Cause) bool {
	return c == s.ExpectedLabel || slices.Contains(s.AlsoAccept, c)
}

// Ensure every real fixture of both sets classifies to its label from the Edge's capture and
// both logs.
func TestClassify_Fixtures(t *testing.T) {
	for dir, sc := range loadScenarios(t) {
		t.Run(sc.Name, func(t *testing.T) {
			in := Input{
				Logs: []LogSource{
					{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"},
					{Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"},
				},
				Captures: []CaptureSource{{Path: filepath.Join(dir, "capture.pcap")}},
			}
			v, err := Classify(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if !sc.accepts(v.Cause) {
				b, _ := json.MarshalIndent(v, "", "  ")
				t.Fatalf("cause %s, want %s\n%s", v.Cause, sc.ExpectedLabel, b)
			}
			if v.IKEVersion != sc.IKEVersion {
				t.Errorf("ike_version %d, want %d", v.IKEVersion, sc.IKEVersion)
			}
			if len(v.Evidence) == 0 {
				t.Fatal("no evidence")
			}
			checkRefs(t, v.Evidence)
		})
	}
}
