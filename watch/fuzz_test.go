package watch

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/store"
)

// FuzzReadings feeds statistics documents through Readings and the state machine: nothing
// panics, a reading compared with itself is never a drop, and every reading's state is one
// of the four.
func FuzzReadings(f *testing.F) {
	for _, name := range []string{"statistics-healthy-two-sites.xml", "statistics-ikev2-auth-failed.xml", "statistics-messages-everywhere.xml"} {
		b, err := os.ReadFile(filepath.Join("..", "diag", "nsx", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	tl := nsxsim.Timeline{Start: t0, Tunnels: []nsxsim.TimelineTunnel{{SiteID: "s", LocalSubnet: "a", PeerSubnet: "b", FlapEvery: time.Minute}}}
	for _, at := range []time.Duration{0, 50 * time.Second} {
		b, err := xml.Marshal(tl.At(t0.Add(at)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	p := Policy{}.withDefaults()
	f.Fuzz(func(t *testing.T, doc []byte) {
		st, err := nsx.ParseStatistics(bytes.NewReader(doc))
		if err != nil {
			return
		}
		for _, rd := range Readings("edge-01", st) {
			s := rd.Sample
			if c := Compare(&s, t0, &s, t0.Add(time.Minute), time.Hour); c.Kind == store.WatchDrop || c.Kind == store.WatchRekey {
				t.Fatalf("a reading compared with itself: %+v", c)
			}
			tun := &store.WatchTunnel{Edge: rd.Edge, Site: rd.Site, Tunnel: rd.Tunnel}
			p.observe(tun, s, t0)
			p.observe(tun, s, t0.Add(time.Minute))
			switch got, _ := tun.Shown(); got {
			case StateUp, StateDown, StateUnstable, StateUnknown:
			default:
				t.Fatalf("state %q", got)
			}
			if len(tun.Drops) != 0 {
				t.Fatalf("drops %v from the same reading twice", tun.Drops)
			}
		}
	})
}

// FuzzParseEstablished: any text parses or is refused without a panic; what parses
// formats back to a date that parses to the same time.
func FuzzParseEstablished(f *testing.F) {
	for _, s := range []string{"Jul 31 14:56:22 2017", "Jan  1 00:00:00 2026", "Jan 1 00:00:00 2026", "", "31 Jul 2017"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, ok := parseEstablished(s)
		if !ok {
			return
		}
		back, ok := parseEstablished(ts.Format(establishedLayouts[0]))
		if !ok || !back.Equal(ts) {
			t.Fatalf("%q -> %v -> %v %v", s, ts, back, ok)
		}
	})
}
