package logscan

import "bytes"

// prefilter finds the next place where any pattern's key occurs, so the regular expressions
// only ever see lines that can match. It is Wu-Manber's multi-string search: a window of m bytes
// (m = the shortest key) slides over the text; the last 3 bytes of the window index a table of
// how far the window may jump before any key could end inside it. Most windows in ordinary log
// text hold no key trigram, so the search moves m-2 bytes at a time.
type prefilter struct {
	m     int
	shift []uint8    // by block hash: safe jump; 0 means "some key may end here"
	cands [][]uint16 // by block hash: keys whose first m bytes end with this block
	keys  [][]byte
}

const (
	blockLen  = 3
	hashBits  = 16
	maxWindow = 255 // shifts are stored in a byte
)

func hash3(a, b, c byte) uint32 {
	return ((uint32(a) | uint32(b)<<8 | uint32(c)<<16) * 0x9E3779B1) >> (32 - hashBits)
}

func newPrefilter(keys [][]byte) *prefilter {
	f := &prefilter{m: maxWindow, shift: make([]uint8, 1<<hashBits), cands: make([][]uint16, 1<<hashBits)}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		f.keys = append(f.keys, k)
		f.m = min(f.m, len(k))
	}
	if f.m < blockLen {
		panic("logscan: every key must be at least 3 bytes")
	}
	for i := range f.shift {
		f.shift[i] = uint8(f.m - blockLen + 1)
	}
	for ki, k := range f.keys {
		w := k[:f.m]
		for j := 0; j+blockLen <= f.m; j++ {
			h := hash3(w[j], w[j+1], w[j+2])
			f.shift[h] = min(f.shift[h], uint8(f.m-blockLen-j))
		}
		h := hash3(w[f.m-3], w[f.m-2], w[f.m-1])
		f.cands[h] = append(f.cands[h], uint16(ki))
	}
	return f
}

// next returns the offset of the first key occurrence that starts at or after from, or -1.
func (f *prefilter) next(data []byte, from int) int {
	m := f.m
	n := len(data)
	shift := f.shift
	for pos := from + m - 1; pos < n; {
		h := hash3(data[pos-2], data[pos-1], data[pos])
		if s := shift[h]; s != 0 {
			pos += int(s)
			continue
		}
		start := pos - m + 1
		for _, k := range f.cands[h] {
			if bytes.HasPrefix(data[start:], f.keys[k]) {
				return start
			}
		}
		pos++
	}
	return -1
}
