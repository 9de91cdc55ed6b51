package classify

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestDebugDump(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	for dir, sc := range loadScenarios(t) {
		in := Input{
			Logs: []LogSource{
				{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"},
				{Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"},
			},
			Captures: []CaptureSource{{Path: filepath.Join(dir, "capture.pcap")}},
		}
		v, _ := Classify(t.Context(), in)
		also := ""
		for _, a := range v.AlsoSeen {
			also += fmt.Sprintf(" %s=%.2f", a.Cause, a.Confidence)
		}
		fmt.Printf("%-34s %-26s %.2f v%d |%s\n", sc.Name, v.Cause, v.Confidence, v.IKEVersion, also)
		if os.Getenv("DUMP") == sc.Name {
			b, _ := json.MarshalIndent(v, "", "  ")
			fmt.Println(string(b))
		}
	}
}
