package logscan

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchLog builds about size bytes of syslog noise with real fixture lines sprinkled in, one
// line in every (500: the sparse mix bench/logs.sh uses by default; 1: fixture lines only, the
// dense mix of EVERY=1 bench/logs.sh, where one line in about 26 matches).
func benchLog(tb testing.TB, size, every int) []byte {
	tb.Helper()
	var fixture [][]byte
	logs, _ := filepath.Glob("../testdata/fixtures/*/*.log")
	for _, p := range logs {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		fixture = append(fixture, bytes.Split(bytes.TrimSpace(b), []byte("\n"))...)
	}
	noise := []string{
		"sshd[1234]: Accepted publickey for deploy from 10.0.%d.%d port %d ssh2: ED25519 SHA256:abcdefghijklmnopqrstuvwxyz",
		"CRON[4412]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0) %d%d%d",
		"kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:aa:bb:cc SRC=198.51.100.%d DST=203.0.113.%d LEN=60 PROTO=TCP SPT=%d DPT=443",
		"systemd[1]: Started Session %d of user admin (%d, %d).",
		"nginx[88]: GET /api/v1/status?id=%d HTTP/1.1 200 512 \"-\" \"curl/8.5.0\" %d %d",
		"dhclient[77]: DHCPREQUEST for 10.1.%d.%d on eth1 to 10.1.0.1 port %d",
	}
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for b.Len() < size {
		if r.IntN(every) == 0 {
			b.Write(fixture[r.IntN(len(fixture))])
		} else {
			fmt.Fprintf(&b, "Nov %2d %02d:%02d:%02d host%d ", 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(9))
			fmt.Fprintf(&b, noise[r.IntN(len(noise))], r.IntN(250), r.IntN(250), r.IntN(65000))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// sparse and dense are the two mixes of bench/logs.sh.
const (
	sparse = 500
	dense  = 1
)

func BenchmarkScan(b *testing.B) {
	for _, c := range []struct {
		name    string
		every   int
		workers int
		header  bool
	}{
		{"Sparse", sparse, 0, false},
		{"SparseOneWorker", sparse, 1, false},
		{"Dense", dense, 0, false},
		{"DenseOneWorker", dense, 1, false},
		// What bot analyze --log asks for: each matched line's header parsed, hits streamed.
		{"DenseHeader", dense, 0, true},
		{"DenseHeaderOneWorker", dense, 1, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			data := benchLog(b, 32<<20, c.every)
			opts := Options{Workers: c.workers}
			if c.header {
				opts.Header = &TimeContext{Loc: time.UTC}
				opts.Stream = func(*Hit) {}
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ScanLog(b.Context(), bytes.NewReader(data), "bench.log", opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrefilter is the literal search alone, over every line of a log.
func BenchmarkPrefilter(b *testing.B) {
	for _, c := range []struct {
		name  string
		every int
	}{{"Sparse", sparse}, {"Dense", dense}} {
		b.Run(c.name, func(b *testing.B) {
			data := benchLog(b, 8<<20, c.every)
			f := matcherFor(allowedPatterns(DetectFormats(data[:DetectSize]))).f
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for pos := 0; pos < len(data); {
					start, end, _ := f.nextLine(data, pos)
					if start < 0 {
						break
					}
					pos = end + 1
				}
			}
		})
	}
}

// BenchmarkHeader is what a worker does with each matched line of a dense log beyond matching
// it: the printable text, its header and its IKE version.
func BenchmarkHeader(b *testing.B) {
	data := benchLog(b, 4<<20, dense)
	var lines [][]byte
	for l := range bytes.Lines(data) {
		if Match(l) >= 0 {
			lines = append(lines, bytes.TrimSuffix(l, []byte("\n")))
		}
	}
	tc := TimeContext{Loc: time.UTC}
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			text := printable(l)
			ParseLine(text, tc)
			VersionOf(text)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}
