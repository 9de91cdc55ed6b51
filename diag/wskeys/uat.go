package wskeys

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The UAT files' names: Wireshark reads them from its personal configuration directory.
const (
	ESPFile   = "esp_sa"
	IKEv2File = "ikev2_decryption_table"
)

// WriteESP writes the esp_sa table: one record a line,
// "IPv4","SRC","DST","0xSPI","ENCRYPTION","0xKEY","AUTHENTICATION","0xKEY".
func WriteESP(w io.Writer, sas []ESP) error {
	for _, e := range sas {
		proto := "IPv4"
		if e.IPv6 {
			proto = "IPv6"
		}
		if _, err := fmt.Fprintf(w, "%s,%s,%s,%s,%s,%s,%s,%s\n", quote(proto), quote(e.Src), quote(e.Dst),
			quote(fmt.Sprintf("0x%08x", e.SPI)), quote(e.Encryption), quote(hexKey(e.EncKey)),
			quote(e.Authentication), quote(hexKey(e.AuthKey))); err != nil {
			return err
		}
	}
	return nil
}

// WriteIKEv2 writes the ikev2_decryption_table: one record a line,
// SPI_I,SPI_R,SK_EI,SK_ER,"ENCRYPTION",SK_AI,SK_AR,"INTEGRITY" (hex without 0x).
func WriteIKEv2(w io.Writer, sas []IKE) error {
	for _, e := range sas {
		if _, err := fmt.Fprintf(w, "%s,%s,%s,%s,%s,%s,%s,%s\n", e.SPII, e.SPIR, e.SKei, e.SKer, quote(e.Encryption),
			e.SKai, e.SKar, quote(e.Integrity)); err != nil {
			return err
		}
	}
	return nil
}

// WriteFiles writes the tables k has entries for into dir and returns the files' names.
func WriteFiles(dir string, k *Keys) ([]string, error) {
	var names []string
	write := func(name string, fill func(io.Writer) error) error {
		var b strings.Builder
		b.WriteString("# Written by ipsecbot from the operator's keys; copy into Wireshark's configuration directory.\n")
		if err := fill(&b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o600); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	}
	if len(k.ESP) > 0 {
		if err := write(ESPFile, func(w io.Writer) error { return WriteESP(w, k.ESP) }); err != nil {
			return names, err
		}
	}
	if len(k.IKE) > 0 {
		if err := write(IKEv2File, func(w io.Writer) error { return WriteIKEv2(w, k.IKE) }); err != nil {
			return names, err
		}
	}
	return names, nil
}

// quote is a UAT string field: in double quotes, a quote or backslash escaped as \xNN.
func quote(s string) string {
	r := strings.NewReplacer(`"`, `\x22`, `\`, `\x5c`)
	return `"` + r.Replace(s) + `"`
}

// hexKey is a key as the esp_sa table takes it: 0x and the hex digits ("" for none).
func hexKey(h string) string {
	if h == "" {
		return ""
	}
	return "0x" + h
}
