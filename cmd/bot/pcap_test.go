package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag/ike"
)

const pcapFixtures = "../../diag/ike/testdata/fixtures"

// Ensure `pcap summary --json` prints exactly one JSON document with the docs/design.md keys.
func TestPcap_SummaryJSON(t *testing.T) {
	code, out, errOut := runBot(t, "pcap", "summary", filepath.Join(pcapFixtures, "ikev2-ike_proposal_mismatch", "capture.pcap"), "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &top); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	for _, k := range []string{"packets", "ike_messages", "esp_packets", "exchanges", "esp_flows", "notifies", "ike_sas", "nat_t", "fragments"} {
		if _, ok := top[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	var s ike.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Packets != 2 || s.IKEMessages != 2 || len(s.Notifies) == 0 || s.Notifies[len(s.Notifies)-1].Name != "NO_PROPOSAL_CHOSEN" {
		t.Fatalf("summary %+v", s)
	}
}

// Ensure `pcap decode --json` is a JSON array of messages in the docs/design.md shape.
func TestPcap_DecodeJSON(t *testing.T) {
	code, out, errOut := runBot(t, "pcap", "decode", "--json", filepath.Join(pcapFixtures, "ikev2-healthy", "capture.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var msgs []map[string]any
	if err := json.Unmarshal([]byte(out), &msgs); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 6 || msgs[2]["exchange"] != "IKE_AUTH" || msgs[2]["non_esp_marker"] != true || msgs[2]["frame"] != 3.0 {
		t.Fatalf("messages %v", msgs)
	}
	for _, k := range []string{"frame", "time", "src", "dst", "version", "exchange", "exchange_type", "message_id", "ispi", "rspi", "initiator", "response", "payloads", "notify", "non_esp_marker"} {
		if _, ok := msgs[0][k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
}

// Ensure `pcap decode --json` lists one element per frame `pcap summary` counts as IKE: the IKEv1
// message rebuilt from the fragments of frames 5 and 6 is folded into frame 6's element.
func TestPcap_DecodeOneElementPerFrame(t *testing.T) {
	capture := filepath.Join(pcapFixtures, "ikev1-healthy_cert", "capture.pcap")
	code, out, errOut := runBot(t, "pcap", "decode", "--json", capture)
	if code != 0 {
		t.Fatalf("decode exit %d: %s", code, errOut)
	}
	var msgs []ike.MessageInfo
	if err := json.Unmarshal([]byte(out), &msgs); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runBot(t, "pcap", "summary", "--json", capture)
	if code != 0 {
		t.Fatalf("summary exit %d: %s", code, errOut)
	}
	var s ike.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if int64(len(msgs)) != s.IKEMessages || s.IKEMessages != 12 {
		t.Fatalf("decode lists %d messages, summary counts %d, tshark 12", len(msgs), s.IKEMessages)
	}
	var frames []int
	for i, m := range msgs {
		frames = append(frames, m.Frame)
		if i > 0 && m.Frame <= msgs[i-1].Frame {
			t.Fatalf("frames %v are not strictly increasing", frames)
		}
	}
	if f6 := msgs[5]; f6.Frame != 6 || !f6.Reassembled || !f6.Fragment || f6.Exchange != "MAIN_MODE" || !f6.Encrypted {
		t.Fatalf("frame 6 %+v: want the reassembled Main Mode message, marked as its last fragment", f6)
	}
}

// Ensure the readable table names the exchanges and the unanswered request.
func TestPcap_SummaryTable(t *testing.T) {
	code, out, _ := runBot(t, "pcap", "summary", filepath.Join(pcapFixtures, "ikev2-peer_unreachable", "capture.pcap"))
	if code != 0 || !strings.Contains(out, "IKE_SA_INIT") || !strings.Contains(out, "NONE") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// Ensure a file that is not a capture exits 1 with one line, and a cut one still prints its summary.
func TestPcap_BadFiles(t *testing.T) {
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notCapture, []byte("this is not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(pcapFixtures, "ikev2-healthy", "capture.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, data[:3000], 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runBot(t, "pcap", "summary", notCapture, "--json")
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "not a pcap") {
		t.Fatalf("not a capture: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = runBot(t, "pcap", "decode", notCapture, "--json")
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("decode not a capture: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = runBot(t, "pcap", "summary", cut, "--json")
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "cut short") {
		t.Fatalf("cut: exit %d, stderr %q", code, errOut)
	}
	var s ike.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Packets != 10 || !s.Truncated {
		t.Fatalf("partial summary %+v (%v)", s, err)
	}

	code, out, errOut = runBot(t, "pcap", "decode", cut, "--json")
	var msgs []ike.MessageInfo
	if code != 1 || json.Unmarshal([]byte(out), &msgs) != nil || len(msgs) != 4 || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("cut decode: exit %d, %d messages, stderr %q", code, len(msgs), errOut)
	}

	if code, _, _ := runBot(t, "pcap", "summary", filepath.Join(dir, "missing.pcap")); code != 1 {
		t.Fatalf("missing file: exit %d", code)
	}
}

// Ensure usage mistakes exit 2.
func TestPcap_Usage(t *testing.T) {
	for _, args := range [][]string{{"pcap"}, {"pcap", "decode"}, {"pcap", "frobnicate", "x.pcap"}, {"pcap", "summary", "a", "b"}, {"pcap", "summary", "--nope", "a"}} {
		if code, _, _ := runBot(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
