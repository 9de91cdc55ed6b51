package classify

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
	"ipsecbot/diag/nsx"
)

// StatsSource is an NSX IPsec statistics document (GET .../ipsec/statistics). Give either a
// parsed document or a path to read; Path is the PATH of the API references in both cases.
// Two or more reads of the same edge let the classifier use the IKE counters' deltas.
type StatsSource struct {
	Path  string
	Stats *nsx.Statistics
}

func loadStats(s StatsSource) (*nsx.Statistics, error) {
	if s.Stats != nil {
		return s.Stats, nil
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := nsx.ParseStatistics(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	return st, nil
}

// observeStats reads failure and informational messages (matched against the same patterns as
// log lines), the channel and tunnel status, and the IKE version.
func observeStats(path string, st *nsx.Statistics) []observation {
	var obs []observation
	for _, m := range st.Messages() {
		if o, ok := nsxMessage(path, m.Text, diag.ElementRef(path, m.Path), st.Time()); ok {
			obs = append(obs, o)
		}
	}
	for si, site := range st.Sites {
		version := 0
		if site.IKEStatus != nil {
			version = ls.VersionOf(site.IKEStatus.ChannelIKEVersion)
		}
		if site.Up() && len(site.Tunnels) > 0 {
			ref := diag.ElementRef(path, fmt.Sprintf("siteStatistics[%d]/tunnelStats[1]/tunnelStatus", si+1)).String()
			obs = append(obs, observation{event: evTunnelUp, name: path, version: version,
				ev: diag.Evidence{Source: diag.SourceAPI, Ref: ref, Text: "channel and tunnels up: " + strings.TrimSpace(site.Tunnels[0].TunnelState), Time: st.Time(), Site: "edge"}})
		} else if version != 0 { // no cause, but the IKE version counts
			obs = append(obs, observation{name: path, version: version})
		}
	}
	return obs
}

// nsxMessage reads one NSX failure or informational message, wherever it was read (a
// statistics document now, or the watcher's history of them), against the same patterns as log
// lines; ok is false for a message that says nothing the rules know.
func nsxMessage(path, text string, ref diag.Ref, at time.Time) (observation, bool) {
	i := ls.MatchString(text)
	if i < 0 {
		return observation{}, false
	}
	return observation{event: ls.PatternEvent(i), name: path, version: ls.VersionOf(text),
		ev: diag.Evidence{Source: diag.SourceAPI, Ref: ref.String(), Text: text, Time: at, Site: "edge"}}, true
}

// observeTunnelCounters reports each up site whose tunnels counted packets both in and out in a
// single read: traffic has passed since the SAs came up, though not necessarily now.
func observeTunnelCounters(path string, st *nsx.Statistics) []observation {
	var obs []observation
	for si, site := range st.Sites {
		if !site.Up() {
			continue
		}
		for ti, t := range site.Tunnels {
			if t.PacketsIn == 0 || t.PacketsOut == 0 {
				continue
			}
			ref := diag.ElementRef(path, fmt.Sprintf("siteStatistics[%d]/tunnelStats[%d]/packetsIn", si+1, ti+1)).String()
			obs = append(obs, observation{event: evCountersOneRead, name: path,
				ev: diag.Evidence{Source: diag.SourceAPI, Ref: ref, Time: st.Time(), Site: "edge",
					Text: fmt.Sprintf("tunnel %s === %s up: packetsIn %d, packetsOut %d in one read", t.LocalSubnet, t.PeerSubnet, t.PacketsIn, t.PacketsOut)}})
		}
	}
	return obs
}

// observeCounterDeltas compares two reads of the counters: IKE_SA_INIT requests sent with no
// responses counted between the reads say the peer is silent; repeated CREATE_CHILD_SA requests
// with no completed CHILD_SA rekey say rekeys fail (answered or not); a site whose tunnels'
// packetsIn and packetsOut both grew passes traffic both ways.
func observeCounterDeltas(path string, before, after *nsx.Statistics) []observation {
	obs := observeTunnelTraffic(path, before, after)
	for i, a := range after.IKEStatistics {
		var b nsx.IKECounters
		for _, c := range before.IKEStatistics {
			if strings.EqualFold(c.IKEVersion, a.IKEVersion) {
				b = c
			}
		}
		version := ls.VersionOf(strings.ToUpper(strings.Replace(a.IKEVersion, "ikev", "IKEv", 1)))
		element := fmt.Sprintf("ikeStatistics/ikeStatistics[%d]", i+1)
		d := func(x, y nsx.Counter) int64 { return int64(x) - int64(y) }
		if init, rsp := d(a.IKEOutInitReq, b.IKEOutInitReq), d(a.IKEInInitRsp, b.IKEInInitRsp); init > 0 && rsp == 0 {
			obs = append(obs, observation{event: evIKEInitUnanswered, name: path, version: version,
				ev: diag.Evidence{Source: diag.SourceAPI, Ref: diag.ElementRef(path, element+"/ikeOutInitReq").String(), Text: fmt.Sprintf("ikeOutInitReq +%d, ikeInInitRsp +0 between the two reads", init)}})
		}
		if req, rsp := d(a.IKEOutCrChildReq, b.IKEOutCrChildReq), d(a.IKEInCrChildRsp, b.IKEInCrChildRsp); req >= 2 && d(a.IKEChildSaRekey, b.IKEChildSaRekey) == 0 {
			obs = append(obs, observation{event: ls.EvRekeyFailed, name: path, version: version,
				ev: diag.Evidence{Source: diag.SourceAPI, Ref: diag.ElementRef(path, element+"/ikeOutCrChildReq").String(), Text: fmt.Sprintf("ikeOutCrChildReq +%d, ikeInCrChildRsp +%d, ikeChildSaRekey +0 between the two reads", req, rsp)}})
		}
	}
	return obs
}

// observeTunnelTraffic reports each site whose tunnels counted packets both in and out between
// two reads. A site is matched across the reads by its ID, else by its place.
func observeTunnelTraffic(path string, before, after *nsx.Statistics) []observation {
	var obs []observation
	for si, a := range after.Sites {
		var b *nsx.SiteStatistics
		for i := range before.Sites {
			if before.Sites[i].SiteID == a.SiteID && (a.SiteID != "" || i == si) {
				b = &before.Sites[i]
				break
			}
		}
		if b == nil || len(b.Tunnels) != len(a.Tunnels) {
			continue
		}
		for ti, t := range a.Tunnels {
			in := int64(t.PacketsIn) - int64(b.Tunnels[ti].PacketsIn)
			out := int64(t.PacketsOut) - int64(b.Tunnels[ti].PacketsOut)
			if in <= 0 || out <= 0 {
				continue
			}
			ref := diag.ElementRef(path, fmt.Sprintf("siteStatistics[%d]/tunnelStats[%d]/packetsIn", si+1, ti+1)).String()
			obs = append(obs, observation{event: evCountersBothWays, name: path,
				ev: diag.Evidence{Source: diag.SourceAPI, Ref: ref, Time: after.Time(), Site: "edge",
					Text: fmt.Sprintf("tunnel %s === %s: packetsIn +%d, packetsOut +%d between the two reads", t.LocalSubnet, t.PeerSubnet, in, out)}})
		}
	}
	return obs
}
