package watch

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/store"
)

// simulateDay runs a day of one-minute sweeps over an edge whose tunnels rekey hourly (NSX's
// phase 2 lifetime) and one of which drops every 10 minutes, into a store file, and returns the
// history bytes (keys and values) per steady tunnel and the file size.
func simulateDay(t testing.TB, tunnels int) (steadyPerDay, flapperPerDay, fileSize int64) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tl := nsxsim.Timeline{Start: start}
	for i := range tunnels {
		tt := nsxsim.TimelineTunnel{SiteID: "ipsecsite-" + itoa(i), LocalSubnet: "10.0." + itoa(i) + ".0/24", PeerSubnet: "10.1." + itoa(i) + ".0/24", RekeyEvery: time.Hour}
		if i == 0 {
			tt.RekeyEvery, tt.FlapEvery, tt.Failure = 0, 10*time.Minute, nsx.MsgIKEv2AuthFailed
		}
		tl.Tunnels = append(tl.Tunnels, tt)
	}
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := Policy{}.withDefaults()
	states := map[Key]*store.WatchTunnel{}
	bytesOf := map[Key]int64{}
	for hour := range 24 {
		events := map[[3]string][]store.WatchEvent{}
		for m := range 60 {
			now := start.Add(time.Duration(hour)*time.Hour + time.Duration(m)*time.Minute)
			for _, rd := range Readings("edge-01", tl.At(now)) {
				st := states[rd.Key]
				if st == nil {
					st = &store.WatchTunnel{Edge: rd.Edge, Site: rd.Site, Tunnel: rd.Tunnel}
					states[rd.Key] = st
				}
				evs, _ := p.observe(st, rd.Sample, now)
				events[rd.Key.triple()] = append(events[rd.Key.triple()], evs...)
				for _, ev := range evs {
					ev.Time = now
					v, _ := jsonSize(ev)
					bytesOf[rd.Key] += int64(len(rd.Edge)+len(rd.Site)+len(rd.Tunnel)+3+8) + v
				}
			}
		}
		var all []store.WatchTunnel
		for _, st := range states {
			all = append(all, *st)
		}
		if err := db.SaveWatch(all, events); err != nil {
			t.Fatal(err)
		}
	}
	var steady int64
	for k, n := range bytesOf {
		if k.Site == "ipsecsite-0" {
			flapperPerDay = n
		} else {
			steady += n
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return steady / int64(tunnels-1), flapperPerDay, fi.Size()
}

func jsonSize(ev store.WatchEvent) (int64, error) {
	b, err := marshalEvent(ev)
	return int64(len(b)), err
}

// Ensure a day of one-minute sweeps keeps the history compact: a steady tunnel (hourly
// rekeys, samples every 15 minutes) stays under 32 KiB a day, and the file under 4 MiB for 20
// tunnels (bbolt grows its file by doubling, so the file size is coarse). The numbers are
// logged for the record.
func TestStorage_BytesPerTunnelPerDay(t *testing.T) {
	steady, flapper, file := simulateDay(t, 20)
	t.Logf("history per tunnel per day: steady %d bytes, flapping every 10m %d bytes; store file for 20 tunnels %d bytes (%d per tunnel)",
		steady, flapper, file, file/20)
	if steady > 32<<10 {
		t.Errorf("steady tunnel: %d bytes a day", steady)
	}
	if file > 4<<20 {
		t.Errorf("store file: %d bytes for 20 tunnel-days", file)
	}
}

// BenchmarkWatchDay reports the bytes a tunnel's history costs per day.
func BenchmarkWatchDay(b *testing.B) {
	var steady, flapper, file int64
	for b.Loop() {
		steady, flapper, file = simulateDay(b, 20)
	}
	b.ReportMetric(float64(steady), "bytes/steady-tunnel/day")
	b.ReportMetric(float64(flapper), "bytes/flapping-tunnel/day")
	b.ReportMetric(float64(file)/20, "file-bytes/tunnel/day")
}
