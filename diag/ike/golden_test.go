package ike

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCaptures lists every capture under testdata: the strongSwan fixtures and our synthetic ones.
func testCaptures(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"testdata/fixtures/*/*.pcap", "testdata/synthetic/*.pcap"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 60 {
		t.Fatalf("found %d test captures, want the 64 fixtures and the synthetic ones", len(files))
	}
	return files
}

// tsharkRow renders a frame the way scripts/tshark-golden.sh asks tshark to: frame number,
// isakmp version, ispi, rspi, exchange type, message ID, flags, notify types, SKF fragment
// number, ESP SPI and sequence; every occurrence of a field in the frame, comma-joined.
func tsharkRow(p *packetInfo) string {
	var ver, ispi, rspi, exch, mid, flags, notes, frags []string
	for _, r := range p.ike {
		m := r.msg
		ver = append(ver, fmt.Sprintf("0x%02x", m.MajorVersion<<4|m.MinorVersion))
		ispi = append(ispi, fmt.Sprintf("%016x", m.InitiatorSPI))
		rspi = append(rspi, fmt.Sprintf("%016x", m.ResponderSPI))
		exch = append(exch, fmt.Sprint(m.ExchangeType))
		mid = append(mid, fmt.Sprintf("0x%08x", m.MessageID))
		flags = append(flags, fmt.Sprintf("0x%02x", m.Flags))
		for _, pl := range m.Payloads {
			if typ, ok := notifyType(m.Version(), pl.Body); ok && (pl.Type == PayloadNotify && m.MajorVersion == 2 || pl.Type == PayloadNotifyV1 && m.MajorVersion == 1) {
				notes = append(notes, fmt.Sprint(typ))
			}
			if pl.Type == PayloadSKF && m.MajorVersion == 2 {
				if f, err := ParseFragment(2, pl.Body); err == nil {
					frags = append(frags, fmt.Sprint(f.Number))
				}
			}
		}
	}
	var spi, seq string
	if p.esp {
		spi = fmt.Sprintf("0x%08x", p.espSPI)
		if !p.espNoSeq {
			seq = fmt.Sprint(p.espSeq)
		}
	}
	j := func(s []string) string { return strings.Join(s, ",") }
	return strings.Join([]string{fmt.Sprint(p.frame), j(ver), j(ispi), j(rspi), j(exch), j(mid), j(flags), j(notes), j(frags), spi, seq}, "\t")
}

// TestTsharkGolden checks our decoding of every test capture against tshark's, field by field
// (the golden files come from scripts/tshark-golden.sh).
func TestTsharkGolden(t *testing.T) {
	for _, f := range testCaptures(t) {
		name := strings.TrimPrefix(strings.TrimSuffix(f, ".pcap"), "testdata/")
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			want, err := os.ReadFile(f + ".tshark.tsv")
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			err = walkCapture(bytes.NewReader(data), func(p *packetInfo, _ time.Time) {
				if len(p.ike) > 0 || p.esp {
					got = append(got, tsharkRow(p))
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			wantRows := strings.Split(strings.TrimRight(string(want), "\n"), "\n")
			if len(want) == 0 {
				wantRows = nil
			}
			for i := 0; i < max(len(got), len(wantRows)); i++ {
				var g, w string
				if i < len(got) {
					g = got[i]
				}
				if i < len(wantRows) {
					w = wantRows[i]
				}
				if g != w {
					t.Errorf("row %d:\n got  %q\n want %q", i+1, g, w)
				}
			}
			if t.Failed() {
				return
			}
			// The summary's counts are tshark's filter counts.
			s, err := Analyze(bytes.NewReader(data), f)
			if err != nil {
				t.Fatal(err)
			}
			var ikeRows, espRows int64
			for _, r := range wantRows {
				cols := strings.Split(r, "\t")
				if cols[1] != "" {
					ikeRows++
				}
				if cols[9] != "" {
					espRows++
				}
			}
			if s.IKEMessages != ikeRows || s.ESPPackets != espRows {
				t.Errorf("ike_messages %d esp_packets %d, tshark: %d and %d", s.IKEMessages, s.ESPPackets, ikeRows, espRows)
			}
		})
	}
}
