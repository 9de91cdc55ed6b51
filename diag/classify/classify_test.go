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

func loadScenarios(t *testing.T) map[string]scenario {
	t.Helper()
	dirs, _ := filepath.Glob("testdata/fixtures/*")
	if len(dirs) < 32 {
		t.Fatalf("found %d fixtures, want 32", len(dirs))
	}
	out := map[string]scenario{}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "scenario.json"))
		if err != nil {
			t.Fatal(err)
		}
		var s scenario
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		out[d] = s
	}
	return out
}

func (s scenario) accepts(c diag.Cause) bool {
	return c == s.ExpectedLabel || slices.Contains(s.AlsoAccept, c)
}

// Ensure every real fixture classifies to its label from its capture and both logs.
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
