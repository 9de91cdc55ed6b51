package nsx_test

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ipsecbot/diag/nsx"
)

// addTestdata seeds f with every testdata file matching pattern.
func addTestdata(f *testing.F, pattern string) {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no seed for %s: %v", pattern, err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// The decoders must never panic; what they accept must survive a re-encode unchanged, and
// what they refuse must be a typed error. ParseStatistics' own decoder must agree with
// encoding/xml on every input.
func FuzzParseStatistics(f *testing.F) {
	addTestdata(f, "statistics-*.xml")
	addTestdata(f, "error*.xml")
	f.Add([]byte(`<ipsecStatusAndStats><siteStatistics><failureMessage>x</failureMessage></siteStatistics></ipsecStatusAndStats>`))
	f.Add([]byte("<?xml version=\"1.0\"?><!-- c --><ipsecStatusAndStats><timeStamp> 7<x/>1 </timeStamp><siteStatistics><ikeStatus><localSubnets><string>a &amp; b</string></localSubnets></ikeStatus><tunnelStats/></siteStatistics><ikeStatistics><ikeStatistics><ikeVersion>2</ikeVersion></ikeStatistics></ikeStatistics></ipsecStatusAndStats>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sameAsXML(t, in)
		s, err := nsx.ParseStatistics(bytes.NewReader(in))
		if err != nil {
			checkTyped(t, err)
			return
		}
		msgs := s.Messages()
		for _, m := range msgs {
			if m.Path == "" || strings.HasPrefix(m.Path, "/") || m.Text == "" || m.Text != strings.TrimSpace(m.Text) {
				t.Fatalf("bad message %+v", m)
			}
		}
		msgs = msgs[:len(msgs)-len(s.NestedMessages())] // nested messages are not encoded
		var buf bytes.Buffer
		if err := xmlEncode(&buf, s); err != nil {
			t.Fatal(err)
		}
		back, err := nsx.ParseStatistics(&buf)
		if err != nil {
			t.Fatalf("re-encoded document does not parse: %v\n%s", err, buf.Bytes())
		}
		// Compared by content: a document whose only messages are nested leaves msgs empty
		// but not nil, and its re-encoded twin has none at all.
		if again := back.Messages(); (len(msgs) > 0 || len(again) > 0) && !reflect.DeepEqual(msgs, again) {
			t.Fatalf("messages changed in a round trip:\n%+v\n%+v", msgs, back.Messages())
		}
	})
}

func FuzzParseIPsecConfig(f *testing.F) {
	addTestdata(f, "ipsec-config.xml")
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := nsx.ParseIPsecConfig(bytes.NewReader(in))
		if err != nil {
			checkTyped(t, err)
			return
		}
		var buf bytes.Buffer
		if err := xmlEncode(&buf, c); err != nil {
			t.Fatal(err)
		}
		for _, s := range c.Sites {
			if s.PSK != "" && !s.PSK.Masked() && bytes.Contains(buf.Bytes(), []byte(s.PSK)) && !bytes.Contains(in, []byte("<psk>"+string(s.PSK)+"</psk>")) {
				t.Fatalf("PSK leaked into the encoding")
			}
		}
		if _, err := nsx.ParseIPsecConfig(&buf); err != nil {
			t.Fatalf("re-encoded config does not parse: %v", err)
		}
	})
}

func FuzzParseFirewallConfig(f *testing.F) {
	addTestdata(f, "firewall-config.xml")
	a, b := netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("198.51.100.1")
	f.Fuzz(func(t *testing.T, in []byte) {
		fw, err := nsx.ParseFirewallConfig(bytes.NewReader(in))
		if err != nil {
			checkTyped(t, err)
			return
		}
		for _, p := range []struct {
			proto string
			port  int
		}{{"udp", 500}, {"udp", 4500}, {"esp", 0}} {
			if _, rule := fw.Allows(a, b, p.proto, p.port); rule == "" {
				t.Fatal("Allows named no rule")
			}
		}
	})
}

func FuzzParseEdgeList(f *testing.F) {
	addTestdata(f, "edges-page.xml")
	addTestdata(f, "healthsummary-*.xml")
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := nsx.ParseEdgeList(bytes.NewReader(in)); err != nil {
			checkTyped(t, err)
		}
		if _, err := nsx.ParseHealthSummary(bytes.NewReader(in)); err != nil {
			checkTyped(t, err)
		}
		if _, err := nsx.ParseEdgeStatus(bytes.NewReader(in)); err != nil {
			checkTyped(t, err)
		}
		if _, err := nsx.ParseSyslogConfig(bytes.NewReader(in)); err != nil {
			checkTyped(t, err)
		}
	})
}

func FuzzParseAPIError(f *testing.F) {
	addTestdata(f, "error*.xml")
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := nsx.ParseAPIError(in)
		if err != nil {
			if !errors.Is(err, nsx.ErrMalformed) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		if e.Error() == "" {
			t.Fatal("empty message")
		}
	})
}

func FuzzParsePeerConfig(f *testing.F) {
	addTestdata(f, "peerconfig-*.txt")
	f.Add([]byte("Pre-shared key : x\nDPD interval : 30 seconds\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		pc, err := nsx.ParsePeerConfig(bytes.NewReader(in))
		if err != nil {
			return
		}
		if pc.Phase1.SALifetime < 0 || pc.Phase2.SALifetime < 0 || pc.DPD.Interval < 0 || pc.DPD.Timeout < 0 {
			t.Fatalf("negative duration: %+v", pc)
		}
	})
}

// checkTyped fails unless err is one of the documented kinds.
func checkTyped(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, nsx.ErrMalformed) {
		return
	}
	if _, ok := errors.AsType[*nsx.APIError](err); ok {
		return
	}
	t.Fatalf("untyped error %T: %v", err, err)
}
