package logscan

import "bytes"

// prefilter finds the next place where any pattern's key occurs, so the regular expressions
// only ever see lines that can match. It is Wu-Manber's multi-string search: a window of m bytes
// (m = the shortest key) slides over the text; the last 3 bytes of the window index a table of
// how far the window may jump before any key could end inside it. Most windows in ordinary log
// text hold no key trigram, so the search moves m-2 bytes at a time.
type prefilter struct {
	m      int
	shift  []uint8    // by block hash: safe jump; 0 means "some key's window may end here"
	cands  [][]uint16 // by block hash: keys whose window ends with this block
	keys   [][]byte
	offset []int // where each key's m-byte window starts in the key
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
	if len(f.keys) > 128 {
		panic("logscan: more than 128 distinct keys")
	}
	for i := range f.shift {
		f.shift[i] = uint8(f.m - blockLen + 1)
	}
	for _, k := range f.keys {
		f.offset = append(f.offset, rarestWindow(k, f.m))
	}
	for ki, k := range f.keys {
		w := k[f.offset[ki] : f.offset[ki]+f.m]
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
		for _, k := range f.cands[h] {
			if start := pos - m + 1 - f.offset[k]; start >= from && bytes.HasPrefix(data[start:], f.keys[k]) {
				return start
			}
		}
		pos++
	}
	return -1
}

// keySet is a set of key indices (the table has fewer than 128 distinct keys).
type keySet [2]uint64

func (s *keySet) add(k int)     { s[k>>6] |= 1 << (k & 63) }
func (s keySet) has(k int) bool { return s[k>>6]&(1<<(k&63)) != 0 }

// present returns the keys that occur anywhere in line: the same answer as bytes.Contains
// for each key, in one pass.
func (f *prefilter) present(line []byte) keySet {
	var set keySet
	m := f.m
	shift := f.shift
	for pos := m - 1; pos < len(line); {
		h := hash3(line[pos-2], line[pos-1], line[pos])
		if s := shift[h]; s != 0 {
			pos += int(s)
			continue
		}
		for _, k := range f.cands[h] {
			if start := pos - m + 1 - f.offset[k]; start >= 0 && bytes.HasPrefix(line[start:], f.keys[k]) {
				set.add(int(k))
			}
		}
		pos++
	}
	return set
}

// index returns the index of key among the prefilter's keys, or -1.
func (f *prefilter) index(key []byte) int {
	for i, k := range f.keys {
		if bytes.Equal(k, key) {
			return i
		}
	}
	return -1
}

// rarestWindow picks the m-byte window of key least like ordinary prose, so that the
// trigrams the search stops on are rare in noise lines: it counts trigrams made only of
// lowercase letters and spaces (common in any log) and takes the window with the fewest.
func rarestWindow(key []byte, m int) int {
	common := func(c byte) bool { return c == ' ' || (c >= 'a' && c <= 'z') }
	best, bestScore := 0, m+1
	for o := 0; o+m <= len(key); o++ {
		score := 0
		for j := o; j+blockLen <= o+m; j++ {
			if common(key[j]) && common(key[j+1]) && common(key[j+2]) {
				score++
			}
		}
		if score < bestScore {
			best, bestScore = o, score
		}
	}
	return best
}
