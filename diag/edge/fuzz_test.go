package edge_test

import (
	"strings"
	"testing"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/edgesim"
)

// Each parser is fuzzed from the documented samples and the lab's renderings. Properties: no
// panic, an error always wraps ErrFormat, and a success is internally consistent.

func seed(f *testing.F, samples ...string) {
	for _, s := range samples {
		f.Add(s)
		f.Add(strings.ReplaceAll(s, "\n", "\r\n"))
		f.Add(s[:len(s)/2])
	}
}

func FuzzParseServiceIPsec(f *testing.F) {
	seed(f, azureSample, edgesim.RenderServiceIPsec(sampleStatus()), "% Unrecognized command\n")
	f.Fuzz(func(t *testing.T, in string) {
		st, err := edge.ParseServiceIPsec(in)
		if err != nil {
			return
		}
		for _, s := range st.Sites {
			if s.Channel.Status != "" && s.Channel.Status != edge.StatusUp && s.Channel.Status != edge.StatusDown {
				t.Fatalf("channel status %q accepted", s.Channel.Status)
			}
			for _, tu := range s.Tunnels {
				if !tu.PeerSubnet.IsValid() || !tu.LocalSubnet.IsValid() {
					t.Fatalf("invalid subnet accepted: %+v", tu)
				}
			}
		}
	})
}

func FuzzParseSA(f *testing.F) {
	seed(f, statusallSample, edgesim.RenderSA(sampleSA()), "Security Associations (0 up, 0 connecting):\n  none\n")
	f.Fuzz(func(t *testing.T, in string) {
		st, err := edge.ParseSA(in)
		if err == nil && st == nil {
			t.Fatal("nil status without error")
		}
	})
}

func FuzzParseSP(f *testing.F) {
	seed(f, xfrmSample, edgesim.RenderSP(samplePolicies()))
	f.Fuzz(func(t *testing.T, in string) {
		pols, err := edge.ParseSP(in)
		if err != nil {
			return
		}
		for _, p := range pols {
			if !p.Src.IsValid() && !p.Dst.IsValid() && len(p.Templates) == 0 && p.Dir == "" && p.Proto == "" {
				continue // a bare "src" line
			}
		}
	})
}

func FuzzParseRoutes(f *testing.F) {
	seed(f, qeRoutes, edgesim.RenderRoutes(sampleRoutes()))
	f.Fuzz(func(t *testing.T, in string) {
		rt, err := edge.ParseRoutes(in)
		if err != nil {
			return
		}
		for _, r := range rt.Routes {
			if !r.Prefix.IsValid() {
				t.Fatalf("invalid prefix accepted: %+v", r)
			}
		}
	})
}

func FuzzParseInterfaces(f *testing.F) {
	seed(f, sneakuInterfaces, edgesim.RenderInterfaces(sampleInterfaces()))
	f.Fuzz(func(t *testing.T, in string) {
		ifs, err := edge.ParseInterfaces(in)
		if err == nil && len(ifs) == 0 {
			t.Fatal("no interfaces without error")
		}
	})
}

func FuzzParseConfigIPsec(f *testing.F) {
	seed(f, edgesim.RenderConfigIPsec(sampleConfig()))
	f.Fuzz(func(t *testing.T, in string) {
		c, err := edge.ParseConfigIPsec(in)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}

func FuzzParseLog(f *testing.F) {
	for _, l := range strings.Split(sampleLog, "\n") {
		f.Add(l)
	}
	f.Add("Jun  8 00:59:20 r1-roll charon: 07[IKE] <peer|1> initiating")
	f.Add("2026-11-27T04:18:32.747 00[DMN] Starting IKE charon daemon")
	f.Fuzz(func(t *testing.T, in string) {
		ll, err := edge.ParseLog(in)
		if err == nil && ll.Time.IsZero() && ll.HasYear {
			t.Fatal("zero time with a year")
		}
	})
}

func FuzzParseFiles(f *testing.F) {
	f.Add("total 1.0K\n-rw------- 1 708 Mar 16 05:45 tcpdump_vNic_0.0\n")
	f.Add("total 0\n")
	f.Fuzz(func(t *testing.T, in string) {
		fs, err := edge.ParseFiles(in)
		if err != nil {
			return
		}
		for _, x := range fs {
			if x.Name == "" || x.Size < 0 {
				t.Fatalf("bad entry %+v", x)
			}
		}
	})
}

func FuzzParseStorage(f *testing.F) {
	f.Add("Filesystem     1K-blocks    Used Available Use% Mounted on\n/dev/sda2        4062912  982624   2880520  26% /\n")
	f.Add("Filesystem      Size  Used Avail Use% Mounted on\n/dev/sda2       3.9G  960M  2.8G  26% /\n")
	f.Fuzz(func(t *testing.T, in string) {
		free, err := edge.ParseStorage(in)
		if err == nil && free < 0 {
			t.Fatalf("negative free space %d", free)
		}
	})
}

func FuzzParsePing(f *testing.F) {
	f.Add("--- 10.2.2.10 ping statistics ---\n5 packets transmitted, 4 received, 20% packet loss, time 4005ms\n")
	f.Fuzz(func(t *testing.T, in string) {
		sent, recv, err := edge.ParsePing(in)
		if err == nil && (sent < 0 || recv < 0) {
			t.Fatalf("negative counts %d %d", sent, recv)
		}
	})
}
