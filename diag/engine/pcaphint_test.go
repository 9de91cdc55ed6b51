package engine

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag"
)

// Ensure report.md and the terminal verdict tell how to open the capture, and say nothing
// of it when there is none.
func TestPcapHint_InReportAndVerdict(t *testing.T) {
	rep := &diag.Report{Verdict: diag.Verdict{Cause: diag.CauseAuthFailed, Summary: "s"},
		Artifacts: []diag.Artifact{{Name: "capture.pcap", Kind: "pcap", Size: 10}, {Name: "logs/edge.log", Kind: "log", Size: 5}}}
	md := RenderMarkdown(rep)
	if !strings.Contains(md, "Open capture.pcap with Wireshark, or `tshark -r capture.pcap -Y isakmp`, or `bot pcap summary capture.pcap`.") {
		t.Errorf("report.md lacks the hint:\n%s", md)
	}
	var out bytes.Buffer
	dir := filepath.Join("var", "INC-1")
	WriteVerdict(&out, rep, dir)
	p := filepath.Join(dir, "capture.pcap")
	if !strings.Contains(out.String(), "Open "+p+" with Wireshark, or `tshark -r "+p+" -Y isakmp`") {
		t.Errorf("verdict lacks the hint:\n%s", out.String())
	}
	rep.Artifacts = rep.Artifacts[1:]
	if strings.Contains(RenderMarkdown(rep), "Wireshark") {
		t.Error("a report without a capture tells how to open one")
	}
}
