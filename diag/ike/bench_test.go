package ike_test

import (
	"bytes"
	"testing"

	"github.com/google/gopacket"

	"ipsecbot/diag/ike"
	"ipsecbot/diag/ike/internal/scenes"
)

// BenchmarkAnalyze runs the analyzer over a generated capture held in memory (mostly ESP, plain
// and in UDP 4500, with IKE exchanges among it), so it measures decoding, not the disk.
func BenchmarkAnalyze(b *testing.B) {
	var buf bytes.Buffer
	if err := scenes.Bench(&buf, 200_000, 0); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	s, err := ike.Analyze(bytes.NewReader(data), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ike.Analyze(bytes.NewReader(data), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(s.Packets)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkDecode decodes one real IKE_SA_INIT request.
func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	if err := scenes.Synthetic["v2-plain-esp"](&buf); err != nil {
		b.Fatal(err)
	}
	msgs, err := ike.DecodeCapture(bytes.NewReader(buf.Bytes()))
	if err != nil || len(msgs) == 0 {
		b.Fatal(err)
	}
	m := &ike.Message{}
	raw, _ := (&ike.Message{InitiatorSPI: 1, MajorVersion: 2, ExchangeType: 34, Payloads: []ike.Payload{
		ike.IKEv2Proposal(12, 256, 5, 12, 14).Payload(2), ike.KEPayload(14, make([]byte, 256)),
		ike.Notify{Type: 16388, Data: make([]byte, 20)}.Payload(2)}}).Marshal()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.DecodeFromBytes(raw, gopacket.NilDecodeFeedback); err != nil {
			b.Fatal(err)
		}
	}
}
