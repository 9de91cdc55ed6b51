package ike

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"
)

// fixtureMessages returns the IKE messages (UDP payloads after any marker) of the test captures.
func fixtureMessages(t testing.TB) [][]byte {
	var out [][]byte
	for _, f := range testCaptures(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_ = walkCapture(bytes.NewReader(data), func(p *packetInfo, _ time.Time) {
			for _, r := range p.ike {
				if !r.inICMP && !r.reassembled {
					out = append(out, append([]byte{}, r.msg.Contents...))
				}
			}
		})
	}
	return out
}

// FuzzDecode: any bytes decode to a message or an ErrMalformed error, never a panic; a decoded
// message re-encodes to bytes that decode to the same message.
func FuzzDecode(f *testing.F) {
	for _, m := range fixtureMessages(f) {
		f.Add(m)
	}
	for _, m := range roundTripCases() {
		b, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var lenient Message
		_ = lenient.decode(data, true)
		m, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, p := range m.Payloads { // the readers of every payload family accept what decode accepted
			switch p.Type {
			case PayloadSA, PayloadSAv1:
				if sa, err := ParseSA(m.Version(), p.Body); err == nil {
					sa.Words(m.Version())
				}
			}
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		again.BaseLayer, m.BaseLayer = Message{}.BaseLayer, Message{}.BaseLayer
		if !reflect.DeepEqual(normalise(again), normalise(m)) {
			t.Fatalf("round trip differs:\n%+v\n%+v", again, m)
		}
	})
}

// normalise clears what encoding does not keep: nil versus empty slices, reserved bits.
func normalise(m *Message) *Message {
	c := *m
	if len(c.Payloads) == 0 {
		c.Payloads = nil
	}
	if len(c.Encrypted) == 0 {
		c.Encrypted = nil
	}
	return &c
}

// FuzzAnalyze: any file is summarised or refused with one of our errors, never a panic, and
// decoded into one element per frame the summary counts as IKE.
func FuzzAnalyze(f *testing.F) {
	for _, name := range []string{"testdata/fixtures/ikev2-healthy/capture.pcap", "testdata/fixtures/ikev1-healthy_cert/capture.pcap",
		"testdata/fixtures/ikev2-dpd_peer_dead/capture.pcap", "testdata/synthetic/edge-cases.pcap", "testdata/synthetic/v1-natt.pcap",
		"testdata/synthetic/v2-plain-esp.pcap", "testdata/hostile/huge-record.pcap", "testdata/hostile/huge-block.pcapng"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Analyze(bytes.NewReader(data), "fuzz")
		if err != nil && !errors.Is(err, ErrNotCapture) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if s != nil && (s.IKEMessages > s.Packets || s.ESPPackets > s.Packets) {
			t.Fatalf("counts exceed packets: %+v", s)
		}
		msgs, _ := DecodeCapture(bytes.NewReader(data))
		if s != nil && int64(len(msgs)) != s.IKEMessages {
			t.Fatalf("decode lists %d messages, summary counts %d", len(msgs), s.IKEMessages)
		}
		for i := 1; i < len(msgs); i++ {
			if msgs[i].Frame <= msgs[i-1].Frame {
				t.Fatalf("element %d is frame %d after frame %d", i, msgs[i].Frame, msgs[i-1].Frame)
			}
		}
	})
}
