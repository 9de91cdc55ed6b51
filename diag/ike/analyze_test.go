package ike

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

func analyzeTest(t *testing.T, path string) *Summary {
	t.Helper()
	s, err := AnalyzeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exchangesNamed(s *Summary, name string) []Exchange {
	var out []Exchange
	for _, e := range s.Exchanges {
		if e.Exchange == name {
			out = append(out, e)
		}
	}
	return out
}

// Each fixture scenario shows on the wire what its fault is; these are the facts the classifier reads.

func TestAnalyze_PeerUnreachable(t *testing.T) {
	for _, sc := range []string{"ikev1-peer_unreachable", "ikev2-peer_unreachable"} {
		t.Run(sc, func(t *testing.T) {
			s := analyzeTest(t, "testdata/fixtures/"+sc+"/capture.pcap")
			if len(s.Exchanges) != 1 {
				t.Fatalf("exchanges %+v", s.Exchanges)
			}
			e := s.Exchanges[0]
			if e.Answered || e.Retransmissions != 3 || e.RequestFrame != 1 || e.Initiator != "192.0.2.1:500" {
				t.Fatalf("exchange %+v, want the first request unanswered with 3 retransmissions", e)
			}
			if s.IKESAs[0].Established {
				t.Fatal("established")
			}
		})
	}
}

func TestAnalyze_IKEProposalMismatch(t *testing.T) {
	for _, sc := range []struct{ name, exch string }{{"ikev1-ike_proposal_mismatch", "INFORMATIONAL_V1"}, {"ikev2-ike_proposal_mismatch", "IKE_SA_INIT"}} {
		t.Run(sc.name, func(t *testing.T) {
			s := analyzeTest(t, "testdata/fixtures/"+sc.name+"/capture.pcap")
			want := NotifySeen{Frame: 2, Type: 14, Name: "NO_PROPOSAL_CHOSEN", Error: true, Exchange: sc.exch, Src: "192.0.2.2:500", Response: sc.exch == "IKE_SA_INIT"}
			if !slices.Contains(s.Notifies, want) {
				t.Fatalf("notifies %+v, want %+v", s.Notifies, want)
			}
		})
	}
}

func TestAnalyze_DPDPeerDead(t *testing.T) {
	for _, sc := range []string{"ikev1-dpd_peer_dead", "ikev2-dpd_peer_dead"} {
		t.Run(sc, func(t *testing.T) {
			s := analyzeTest(t, "testdata/fixtures/"+sc+"/capture.pcap")
			sa := s.IKESAs[0]
			if !sa.Established || sa.DPDUnanswered == 0 {
				t.Fatalf("first IKE SA %+v, want established with unanswered liveness checks", sa)
			}
			var unreach int
			for _, x := range s.ICMPErrors {
				if x.Name == "port unreachable" && x.From == "192.0.2.2" {
					unreach += x.Count
				}
			}
			if unreach == 0 {
				t.Fatalf("ICMP errors %+v, want port unreachable from the peer", s.ICMPErrors)
			}
		})
	}
}

func TestAnalyze_ESPBlocked(t *testing.T) {
	for _, sc := range []string{"ikev1-esp_blocked", "ikev2-esp_blocked"} {
		t.Run(sc, func(t *testing.T) {
			s := analyzeTest(t, "testdata/fixtures/"+sc+"/capture.pcap")
			if len(s.ESPFlows) != 1 || !s.ESPFlows[0].OneWay || s.ESPFlows[0].Src != "192.0.2.1" {
				t.Fatalf("ESP flows %+v, want one one-way flow from 192.0.2.1", s.ESPFlows)
			}
			if !s.IKESAs[0].Established {
				t.Fatal("IKE SA not established")
			}
		})
	}
}

func TestAnalyze_NATTBlocked(t *testing.T) {
	s := analyzeTest(t, "testdata/fixtures/ikev2-nat_t_blocked/capture.pcap")
	if !s.NATT.FloatedTo4500 || s.NATT.FloatFrame != 3 {
		t.Fatalf("NAT-T %+v", s.NATT)
	}
	auth := exchangesNamed(s, "IKE_AUTH")
	if len(auth) != 1 || auth[0].Answered || auth[0].Retransmissions != 3 || auth[0].Initiator != "192.0.2.1:4500" {
		t.Fatalf("IKE_AUTH %+v, want unanswered on 4500 with 3 retransmissions", auth)
	}
	if init := exchangesNamed(s, "IKE_SA_INIT"); len(init) != 1 || !init[0].Answered {
		t.Fatalf("IKE_SA_INIT %+v, want answered on 500", init)
	}
}

func TestAnalyze_PFSMismatchRekeys(t *testing.T) {
	s := analyzeTest(t, "testdata/fixtures/ikev2-pfs_mismatch/capture.pcap")
	sa := s.IKESAs[0]
	if sa.Rekeys == 0 || sa.ShortRekeyResponses != sa.Rekeys {
		t.Fatalf("IKE SA %+v: every CREATE_CHILD_SA should be answered short", sa)
	}
	ok := analyzeTest(t, "testdata/fixtures/ikev2-lifetime_mismatch/capture.pcap").IKESAs[0]
	if ok.Rekeys == 0 || ok.ShortRekeyResponses != 0 {
		t.Fatalf("lifetime_mismatch IKE SA %+v: the rekey is answered in full", ok)
	}
}

func TestAnalyze_PSKMismatchV1(t *testing.T) {
	s := analyzeTest(t, "testdata/fixtures/ikev1-psk_mismatch/capture.pcap")
	mm := exchangesNamed(s, "MAIN_MODE")
	if len(mm) != 3 || !mm[0].Answered || !mm[1].Answered || mm[2].Answered || mm[2].Retransmissions != 3 {
		t.Fatalf("Main Mode %+v: want 1-2 and 3-4 answered, 5 unanswered and retransmitted 3 times", mm)
	}
	if s.IKESAs[0].Established {
		t.Fatal("established")
	}
}

func TestAnalyze_Healthy(t *testing.T) {
	for _, sc := range []string{"ikev1-healthy", "ikev2-healthy", "ikev1-healthy_cert", "ikev2-healthy_cert"} {
		t.Run(sc, func(t *testing.T) {
			s := analyzeTest(t, "testdata/fixtures/"+sc+"/capture.pcap")
			if len(s.IKESAs) != 1 || !s.IKESAs[0].Established || s.IKESAs[0].DPDUnanswered != 0 {
				t.Fatalf("IKE SAs %+v", s.IKESAs)
			}
			for _, e := range s.Exchanges {
				if !e.Answered && !e.OneWay {
					t.Errorf("unanswered %+v", e)
				}
			}
			if len(s.ESPFlows) != 2 || s.ESPFlows[0].OneWay || s.ESPFlows[0].Lost != 0 {
				t.Fatalf("ESP %+v", s.ESPFlows)
			}
		})
	}
	if s := analyzeTest(t, "testdata/fixtures/ikev2-healthy_cert/capture.pcap"); s.Fragments.IKEFragments != 4 || !s.Fragments.IKEFragSupported {
		t.Fatalf("IKEv2 fragments %+v", s.Fragments)
	}
}

func TestAnalyze_SyntheticPlainESP(t *testing.T) {
	s := analyzeTest(t, "testdata/synthetic/v2-plain-esp.pcap")
	out := s.ESPFlows[0]
	if out.SPI != "c0ffee01" || out.UDPEncap || out.Packets != 7 || out.Lost != 1 || out.LastSeq != 8 || out.Bytes != 7*140 {
		t.Fatalf("outbound ESP %+v: want plain ESP, 7 packets, 1 lost", out)
	}
	if s.Fragments.ICMPFragNeeded != 1 || s.Fragments.ICMPFragNeededFrame != 23 {
		t.Fatalf("fragments %+v", s.Fragments)
	}
	p := s.Pings[0]
	if p.Requests != 2 || p.Replies != 1 || p.MaxSize != 1400 || p.MaxAnswered != 84 || p.DFUnanswered != 1 || p.FirstUnansweredFrame != 22 {
		t.Fatalf("pings %+v", p)
	}
	sa := s.IKESAs[0]
	if !sa.Established || sa.Rekeys != 1 || sa.ShortRekeyResponses != 1 || sa.DPDRequests != 1 || sa.DPDUnanswered != 1 {
		t.Fatalf("IKE SA %+v", sa)
	}
}

func TestAnalyze_SyntheticV1NATT(t *testing.T) {
	s := analyzeTest(t, "testdata/synthetic/v1-natt.pcap")
	if s.NATT.Keepalives != 2 || !s.NATT.FloatedTo4500 || !s.NATT.NATDetectionPayloads {
		t.Fatalf("NAT-T %+v", s.NATT)
	}
	mm := exchangesNamed(s, "MAIN_MODE")
	if len(mm) != 4 || mm[2].RequestFrame != 6 || mm[2].ResponseFrame != 7 {
		t.Fatalf("Main Mode %+v: message 5 is the one reassembled at frame 6", mm)
	}
	sa := s.IKESAs[0]
	if !sa.Established || !sa.Deleted || sa.DPDRequests != 1 || sa.DPDUnanswered != 0 {
		t.Fatalf("IKE SA %+v", sa)
	}
	if s.Fragments.IKEFragments != 2 {
		t.Fatalf("fragments %+v", s.Fragments)
	}
}

func TestAnalyze_SyntheticEdgeCases(t *testing.T) {
	s := analyzeTest(t, "testdata/synthetic/edge-cases.pcap")
	if s.Fragments.IPFragments != 2 || s.MalformedIKE != 2 || s.NATT.Keepalives != 1 {
		t.Fatalf("fragments %+v malformed %d keepalives %d", s.Fragments, s.MalformedIKE, s.NATT.Keepalives)
	}
	if s.Exchanges[0].RequestFrame != 2 || !slices.Contains(s.Exchanges[0].Notify, "COOKIE") {
		t.Fatalf("the IP-fragmented IKE_SA_INIT: %+v", s.Exchanges[0])
	}
	if len(s.ESPFlows) != 2 || s.ESPFlows[0].Src != "2001:db8::1" {
		t.Fatalf("IPv6 ESP %+v", s.ESPFlows)
	}
}

// TestAnalyze_Truncated: a capture cut mid-record still yields the summary of what came before.
func TestAnalyze_Truncated(t *testing.T) {
	data, err := os.ReadFile("testdata/fixtures/ikev2-healthy/capture.pcap")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Analyze(bytes.NewReader(data[:3000]), "cut.pcap")
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("error %v, want ErrTruncated", err)
	}
	if s == nil || s.Packets != 10 || s.IKEMessages != 4 || !s.Truncated || s.Error == "" {
		t.Fatalf("partial summary %+v", s)
	}
	msgs, err := DecodeCapture(bytes.NewReader(data[:3000]))
	if !errors.Is(err, ErrTruncated) || len(msgs) != 4 {
		t.Fatalf("decode: %d messages, %v", len(msgs), err)
	}
}

func TestAnalyze_NotACapture(t *testing.T) {
	for name, data := range map[string][]byte{"empty": nil, "text": []byte("hello, this is not a capture\n"), "three-bytes": {0xd4, 0xc3, 0xb2}} {
		t.Run(name, func(t *testing.T) {
			s, err := Analyze(bytes.NewReader(data), name)
			if !errors.Is(err, ErrNotCapture) || s != nil {
				t.Fatalf("got %v, %v; want ErrNotCapture and no summary", s, err)
			}
		})
	}
}

// TestAnalyze_Pcapng: the same packets as pcapng give the same summary.
func TestAnalyze_Pcapng(t *testing.T) {
	path := "testdata/fixtures/ikev2-dpd_peer_dead/capture.pcap"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ng bytes.Buffer
	w, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		ci.InterfaceIndex = 0
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ci.Timestamp, CaptureLength: len(data), Length: ci.Length}, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := Analyze(&ng, path)
	if err != nil {
		t.Fatal(err)
	}
	want := analyzeTest(t, path)
	if got.Packets != want.Packets || got.IKEMessages != want.IKEMessages || got.ESPPackets != want.ESPPackets ||
		len(got.Exchanges) != len(want.Exchanges) || !got.First.Equal(want.First) {
		t.Fatalf("pcapng summary differs: %+v", got)
	}
}

// TestAnalyze_HostileLengths: lengths that would make a reader allocate gigabytes are refused.
func TestAnalyze_HostileLengths(t *testing.T) {
	pcapHdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0}
	record := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3}
	ngSHB := []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0}
	ngIDB := []byte{1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 20, 0, 0, 0}
	ngHugeEPB := []byte{6, 0, 0, 0, 0xfc, 0xff, 0xff, 0x7f}
	ngLyingEPB := []byte{6, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 32, 0, 0, 0}
	cases := map[string][]byte{
		"pcap-huge-record":   append(append([]byte{}, pcapHdr...), record...),
		"pcapng-huge-block":  append(append(append([]byte{}, ngSHB...), ngIDB...), ngHugeEPB...),
		"pcapng-lying-block": append(append(append([]byte{}, ngSHB...), ngIDB...), ngLyingEPB...),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s, err := Analyze(bytes.NewReader(data), name)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTruncated) || s == nil || s.Packets != 0 {
				t.Fatalf("got %+v, %v; want an empty summary and ErrTruncated", s, err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
				t.Fatalf("allocated %d bytes for a %d-byte file", n, len(data))
			}
		})
	}
}
