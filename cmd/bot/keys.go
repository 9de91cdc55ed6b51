package main

import (
	"fmt"
	"os"
	"strings"

	"ipsecbot/diag/wskeys"
)

// readKeys reads --keys FILE (nil without one); a file that does not parse is refused before
// anything runs, with its line.
func readKeys(path string) (*wskeys.Keys, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
	}
	defer f.Close()
	k, err := wskeys.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("--keys %s: %w", path, err)
	}
	return k, nil
}

// writeKeyTables writes Wireshark's decryption tables into dir (beside the capture) and says
// on stderr where they are; a failure is a warning, the verdict stands.
func writeKeyTables(e *env, dir string, keys *wskeys.Keys) {
	names, err := wskeys.WriteFiles(dir, keys)
	if err != nil {
		fmt.Fprintf(e.stderr, "warning: Wireshark key tables not written: %v\n", err)
		return
	}
	fmt.Fprintf(e.stderr, "wrote %s in %s: copy them into Wireshark's configuration directory to decrypt the capture\n",
		strings.Join(names, " and "), dir)
}
