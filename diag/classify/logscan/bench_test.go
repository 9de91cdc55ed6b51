package logscan

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchLog builds about size bytes of syslog noise with real fixture lines sprinkled in
// (one in 500), the mix bench/logs.sh uses.
func benchLog(tb testing.TB, size int) []byte {
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
		if r.IntN(500) == 0 {
			b.Write(fixture[r.IntN(len(fixture))])
		} else {
			fmt.Fprintf(&b, "Nov %2d %02d:%02d:%02d host%d ", 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(9))
			fmt.Fprintf(&b, noise[r.IntN(len(noise))], r.IntN(250), r.IntN(250), r.IntN(65000))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func BenchmarkScan(b *testing.B) {
	data := benchLog(b, 32<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ScanLog(b.Context(), bytes.NewReader(data), "bench.log", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanOneWorker(b *testing.B) {
	data := benchLog(b, 32<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := ScanLog(b.Context(), bytes.NewReader(data), "bench.log", Options{Workers: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrefilter(b *testing.B) {
	data := benchLog(b, 8<<20)
	b.SetBytes(int64(len(data)))
	f := everyPattern.f
	for b.Loop() {
		for pos := 0; pos < len(data); {
			start, end, _ := f.nextLine(data, pos)
			if start < 0 {
				break
			}
			pos = end + 1
		}
	}
}
