package diag_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
)

// Ensure an interruption is kept both ways in report.json: the sentence report.json always had
// ("interrupted") and the typed value beside it, which reads back as it was written.
func TestReport_InterruptionJSON(t *testing.T) {
	var rep diag.Report
	rep.Interrupt(&diag.Interruption{After: 12*time.Second + 300*time.Millisecond, Reason: "shutting down"})
	want := "interrupted after 12s (shutting down): the verdict is from what was collected until then"
	if rep.Interrupted != want {
		t.Errorf("Interrupted = %q, want %q", rep.Interrupted, want)
	}
	js, err := json.Marshal(&rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"interruption":{"after_s":12.3,"reason":"shutting down"}`) ||
		!strings.Contains(string(js), `"interrupted":"`+want+`"`) {
		t.Errorf("report.json: %s", js)
	}
	var back diag.Report
	if err := json.Unmarshal(js, &back); err != nil || back.Interruption == nil || *back.Interruption != *rep.Interruption || back.Interrupted != want {
		t.Errorf("read back %+v %q, %v", back.Interruption, back.Interrupted, err)
	}

	rep.Interrupt(nil)
	js, _ = json.Marshal(&rep)
	if rep.Interrupted != "" || strings.Contains(string(js), "interrupt") {
		t.Errorf("a finished run: %q %s", rep.Interrupted, js)
	}
}
