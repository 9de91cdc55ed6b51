package classify

import (
	"fmt"
	"io"
	"os"
	"strings"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
	"ipsecbot/diag/edge"
)

// maxShow bounds how much of a show output is parsed (they are a few KB; a bigger file is a log).
const maxShow = 16 << 20

// observeShow reads the state the Edge's show commands print: all channels and tunnels up
// (`show service ipsec`), and SAs that sent bytes but never received any (`show service ipsec
// sa`), and SAs whose byte counters show traffic both ways. Failure messages in the text
// ("Reason: ...") are already found by the log scanner.
func observeShow(src LogSource) []observation {
	text := src.Text
	if text == nil {
		f, err := os.Open(src.Path)
		if err != nil {
			return nil
		}
		text, _ = io.ReadAll(io.LimitReader(f, maxShow))
		f.Close()
	}
	lines := strings.Split(string(text), "\n")
	ref := func(substrs ...string) string { // PATH:LINE of the first line holding all substrs
		for i, l := range lines {
			all := true
			for _, s := range substrs {
				all = all && strings.Contains(l, s)
			}
			if all {
				return diag.LineRef(src.Path, int64(i+1)).String()
			}
		}
		return ""
	}
	var obs []observation
	add := func(event ls.Event, r, text string, version int) {
		if r != "" {
			obs = append(obs, observation{event: event, name: src.Path, version: version,
				ev: diag.Evidence{Source: diag.SourceShow, Ref: r, Text: text, Site: "edge"}})
		}
	}
	if st, err := edge.ParseServiceIPsec(string(text)); err == nil && st.TotalSites > 0 && len(st.Sites) > 0 {
		up := st.Running
		version := 0
		for _, s := range st.Sites {
			up = up && s.Channel.Up() && len(s.Tunnels) > 0
			for _, t := range s.Tunnels {
				up = up && t.Up()
			}
			version = max(version, versionNumber(s.Channel.Version))
		}
		if up {
			add(evTunnelUp, ref("Tunnel:", "UP"), fmt.Sprintf("%d site(s), %d tunnel(s), all UP", st.TotalSites, st.TotalTunnels), version)
		} else if version != 0 {
			obs = append(obs, observation{name: src.Path, version: version})
		}
	}
	if sa, err := edge.ParseSA(string(text)); err == nil {
		for _, ike := range sa.IKESAs {
			for _, c := range ike.Children {
				switch {
				case c.BytesOut > 0 && c.BytesIn == 0:
					add(ls.EvChildOneWay, ref(fmt.Sprintf("%s{%d}", c.Name, c.ID), "bytes_i"),
						fmt.Sprintf("CHILD_SA %s{%d}: %d bytes out, 0 bytes in", c.Name, c.ID, c.BytesOut), ike.Version)
				case c.BytesOut > 0 && c.BytesIn > 0:
					add(evCountersBothWays, ref(fmt.Sprintf("%s{%d}", c.Name, c.ID), "bytes_i"),
						fmt.Sprintf("CHILD_SA %s{%d}: %d bytes in, %d bytes out", c.Name, c.ID, c.BytesIn, c.BytesOut), ike.Version)
				}
			}
		}
	}
	return obs
}

func versionNumber(v string) int {
	switch strings.ToUpper(v) {
	case "IKEV1":
		return 1
	case "IKEV2":
		return 2
	}
	return 0
}
