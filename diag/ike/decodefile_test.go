package ike

import (
	"reflect"
	"testing"
)

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
	// Frame 6 completes Main Mode message 5 from two IKEv1 fragments: the fragment, then the whole.
	if msgs[5].Frame != 6 || !msgs[5].Fragment || msgs[6].Frame != 6 || !msgs[6].Reassembled || !msgs[6].Encrypted || !msgs[6].Initiator {
		t.Fatalf("frame 6: %+v / %+v", msgs[5], msgs[6])
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
