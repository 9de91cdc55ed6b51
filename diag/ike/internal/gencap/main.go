// Command gencap writes captures made with the diag/ike encoder: the large ESP-heavy capture that
// bench/pcap.sh times, and the small synthetic captures the tests check against tshark
// (plain ESP, NAT-keepalives, IP fragments, pings, ICMP errors, IKEv1 fragments, malformed IKE).
//
//	go run ./diag/ike/internal/gencap -o big.pcap -packets 1000000
//	go run ./diag/ike/internal/gencap -o big.pcap -bytes 1073741824
//	go run ./diag/ike/internal/gencap -synthetic diag/ike/testdata/synthetic
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"ipsecbot/diag/ike/internal/scenes"
)

func main() {
	out := flag.String("o", "", "write the benchmark capture to this file")
	packets := flag.Int64("packets", 1_000_000, "at least this many packets")
	size := flag.Int64("bytes", 0, "or: at least this many bytes (overrides -packets)")
	synthetic := flag.String("synthetic", "", "write the synthetic test captures into this directory")
	flag.Parse()
	if err := run(*out, *packets, *size, *synthetic); err != nil {
		fmt.Fprintln(os.Stderr, "gencap:", err)
		os.Exit(1)
	}
}

func run(out string, packets, size int64, synthetic string) error {
	if synthetic != "" {
		for name, build := range scenes.Synthetic {
			if err := writeFile(filepath.Join(synthetic, name+".pcap"), func(w *bufio.Writer) error { return build(w) }); err != nil {
				return err
			}
		}
	}
	if out != "" {
		return writeFile(out, func(w *bufio.Writer) error { return scenes.Bench(w, packets, size) })
	}
	return nil
}

func writeFile(path string, fn func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fn(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
