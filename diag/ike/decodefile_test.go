package ike

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// Ensure `pcap decode` lists one element per frame that carries IKE, in frame order, so it counts
// what `pcap summary` (and tshark's isakmp filter) counts, for every test capture.
func TestDecodeCapture_OneElementPerIKEFrame(t *testing.T) {
	var folded int
	for _, f := range testCaptures(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := DecodeCapture(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		s, err := Analyze(bytes.NewReader(data), f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if int64(len(msgs)) != s.IKEMessages {
			t.Errorf("%s: decode lists %d messages, summary counts %d", f, len(msgs), s.IKEMessages)
		}
		for i, m := range msgs {
			if i > 0 && m.Frame <= msgs[i-1].Frame {
				t.Errorf("%s: element %d is frame %d after frame %d", f, i, m.Frame, msgs[i-1].Frame)
			}
			if m.Reassembled {
				folded++
				if !m.Fragment || m.Version != 1 || m.Error != "" {
					t.Errorf("%s: frame %d reassembled %+v", f, m.Frame, m)
				}
			}
		}
	}
	if folded == 0 {
		t.Fatal("no capture has a reassembled IKEv1 message: the fold went untested")
	}
}

// Ensure `pcap decode` describes the readable payloads of the fixtures in words.
func TestDecodeFile_Words(t *testing.T) {
	msgs, err := DecodeFile("testdata/fixtures/ikev1-healthy_cert/capture.pcap")
	if err != nil {
		t.Fatal(err)
	}
	first := msgs[0]
	if !first.Initiator || first.Exchange != "MAIN_MODE" || first.Src != "192.0.2.1:500" {
		t.Fatalf("first message %+v", first)
	}
	if want := []string{"XAUTH", "DPD", "FRAGMENTATION", "NAT-T (RFC 3947)", "NAT-T (draft-02\\n)"}; !reflect.DeepEqual(first.VendorIDs, want) {
		t.Fatalf("vendor IDs %v, want %v", first.VendorIDs, want)
	}
	if want := []string{"IKE:aes256/sha256/modp2048/rsasig/life15840s"}; !reflect.DeepEqual(first.Proposals, want) {
		t.Fatalf("proposals %v", first.Proposals)
	}
	// Frame 6 completes Main Mode message 5 from two IKEv1 fragments: one element shows the whole
	// message, marked as the fragment that completed it.
	if f6 := msgs[5]; f6.Frame != 6 || !f6.Fragment || !f6.Reassembled || !f6.Encrypted || !f6.Initiator ||
		f6.Exchange != "MAIN_MODE" || !reflect.DeepEqual(f6.Payloads, []string{"encrypted"}) || msgs[6].Frame != 7 {
		t.Fatalf("frame 6: %+v, next %+v", f6, msgs[6])
	}
	if f5 := msgs[4]; f5.Frame != 5 || !f5.Fragment || f5.Reassembled || !reflect.DeepEqual(f5.Payloads, []string{"FRAG"}) {
		t.Fatalf("frame 5, the first fragment: %+v", f5)
	}

	msgs, err = DecodeFile("testdata/synthetic/v1-natt.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var seen bool
	for _, m := range msgs {
		if m.Frame == 23 {
			seen = true
			if len(m.Deletes) != 1 || m.Notify[0].Name != "INVALID_ID_INFORMATION" || m.Initiator {
				t.Fatalf("frame 23 %+v", m)
			}
		}
	}
	if !seen {
		t.Fatal("frame 23 missing")
	}

	msgs, err = DecodeFile("testdata/fixtures/ikev2-dpd_peer_dead/capture.pcap")
	if err != nil {
		t.Fatal(err)
	}
	msgs2, err := DecodeFile("testdata/fixtures/ikev2-healthy_cert/capture.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if f := msgs2[3]; f.FragmentNumber != 2 || f.FragmentTotal != 2 || f.Flags != 0x08 || f.Exchange != "IKE_AUTH" {
		t.Fatalf("frame 4: %+v", f)
	}
	var quoted int
	for _, m := range msgs {
		if m.InICMP {
			quoted++
			if m.Src != "192.0.2.1:4500" && m.Src != "192.0.2.1:500" {
				t.Fatalf("quoted message from %s: the quote's own addresses are shown", m.Src)
			}
		}
	}
	if quoted != 8 {
		t.Fatalf("%d messages quoted in ICMP errors, want 8", quoted)
	}
}

func TestDescribe(t *testing.T) {
	m := roundTripCases()["v2-auth-cleartext"]
	b, _ := m.Marshal()
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var mi MessageInfo
	describePayloads(&mi, d)
	if !reflect.DeepEqual(mi.IDs, []string{"IDr ipv4 192.0.2.2"}) || mi.AuthMethod != "psk" ||
		!reflect.DeepEqual(mi.TrafficSelectors, []string{"TSi 10.1.1.0-10.1.1.255"}) || !reflect.DeepEqual(mi.Deletes, []string{"ESP 01020304"}) {
		t.Fatalf("%+v", mi)
	}
}
