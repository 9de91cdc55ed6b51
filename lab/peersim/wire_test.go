package peersim

import (
	"encoding/binary"
	"testing"
)

func FuzzParseString(f *testing.F) {
	for _, cmd := range []string{ListSAsCommand, ListConnsCommand, LogCommand, ""} {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(cmd)))
		f.Add(append(b, cmd...))
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := parseString(b)
		if ok && 4+len(s) > len(b) {
			t.Fatalf("string of %d bytes from %d", len(s), len(b))
		}
	})
}
