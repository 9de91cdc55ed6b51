package store_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ipsecbot/store"
)

// The fleet of the query benchmark: 500 edges × 4 tunnels, a sample every 5 minutes for 7 days.
const (
	fleetEdges   = 500
	fleetTunnels = 4
	fleetStep    = 5 * time.Minute
	fleetSpan    = 7 * 24 * time.Hour
)

var fleetEnd = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	code := m.Run()
	if fleetDir != "" {
		os.RemoveAll(fleetDir)
	}
	os.Exit(code)
}

// The fleet file is built once per test binary run and shared by the benchmark's b.N rounds.
var (
	fleetOnce sync.Once
	fleetDir  string
	fleetPath string
	fleetErr  error
	fleetTook time.Duration
)

func fleetSite(e int) string   { return fmt.Sprintf("site-%03d", e) }
func fleetEdge(e int) string   { return fmt.Sprintf("edge-%03d", e) }
func fleetTunnel(t int) string { return fmt.Sprintf("10.%d.0.0/24-10.200.%d.0/24", t, t) }

// buildFleet writes the 4M-sample file, 50 edges (403,200 samples) per transaction.
func buildFleet() {
	start := time.Now()
	fleetDir, fleetErr = os.MkdirTemp("", "store-bench-")
	if fleetErr != nil {
		return
	}
	fleetPath = filepath.Join(fleetDir, "fleet.db")
	db, err := store.Open(fleetPath, store.Options{})
	if err != nil {
		fleetErr = err
		return
	}
	defer db.Close()
	steps := int(fleetSpan / fleetStep)
	const edgesPerTx = 50
	batch := make([]store.HealthSample, 0, edgesPerTx*fleetTunnels*steps)
	for e := range fleetEdges {
		for tn := range fleetTunnels {
			for i := range steps {
				state := "up"
				if (e+tn+i)%97 == 0 {
					state = "down"
				}
				batch = append(batch, store.HealthSample{
					Edge: fleetEdge(e), Site: fleetSite(e), Tunnel: fleetTunnel(tn), State: state,
					Time: fleetEnd.Add(-fleetSpan + time.Duration(i)*fleetStep),
				})
			}
		}
		if (e+1)%edgesPerTx == 0 || e == fleetEdges-1 {
			if fleetErr = db.AppendHealth(batch...); fleetErr != nil {
				return
			}
			batch = batch[:0]
		}
	}
	fleetTook = time.Since(start)
}

// BenchmarkHealthQuery24h reads the last 24 hours (288 samples) of one random tunnel out of
// a file holding 500 edges × 4 tunnels × 7 days of 5-minute samples (4,032,000 samples).
func BenchmarkHealthQuery24h(b *testing.B) {
	fleetOnce.Do(buildFleet)
	if fleetErr != nil {
		b.Fatal(fleetErr)
	}
	fi, err := os.Stat(fleetPath)
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(fleetPath, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	from := fleetEnd.Add(-24 * time.Hour)
	want := int(24 * time.Hour / fleetStep)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e, tn := rng.IntN(fleetEdges), rng.IntN(fleetTunnels)
		got, err := db.Health(fleetEdge(e), fleetSite(e), fleetTunnel(tn), from, fleetEnd)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != want {
			b.Fatalf("%s/%s: %d samples, want %d", fleetEdge(e), fleetTunnel(tn), len(got), want)
		}
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
	b.ReportMetric(fleetTook.Seconds(), "build-s")
}

// BenchmarkAppendHealth measures writes: one sample per transaction, and one whole sweep
// (500 edges × 4 tunnels = 2000 samples) per transaction, into a file that keeps growing.
func BenchmarkAppendHealth(b *testing.B) {
	for _, size := range []int{1, fleetEdges * fleetTunnels} {
		b.Run(fmt.Sprintf("samples=%d", size), func(b *testing.B) {
			db := mustOpen(b)
			sweep := make([]store.HealthSample, size)
			for i := range sweep {
				e, tn := i/fleetTunnels, i%fleetTunnels
				sweep[i] = store.HealthSample{Edge: fleetEdge(e), Site: fleetSite(e), Tunnel: fleetTunnel(tn), State: "up"}
			}
			at := fleetEnd
			b.ReportAllocs()
			for b.Loop() {
				at = at.Add(fleetStep)
				for i := range sweep {
					sweep[i].Time = at
				}
				if err := db.AppendHealth(sweep...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/sample")
		})
	}
}
