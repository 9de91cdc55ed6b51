package logscan

import (
	"bytes"
	"encoding/binary"
)

// prefilter finds the lines that hold any pattern's key, so the regular expressions only ever
// see lines that can match. It is Wu-Manber's multi-string search: a window of m bytes
// (m = the shortest key) slides over the text; the last 3 bytes of the window index a table of
// how far the window may jump before any key could end inside it. Most windows in ordinary log
// text hold no key trigram, so the search moves m-2 bytes at a time.
type prefilter struct {
	m      int
	shift  *[1 << hashBits]uint8 // by block hash: safe jump; 0 means "some key's window may end here"
	first  *[1<<hashBits + 1]uint16
	cands  []uint16 // cands[first[h]:first[h+1]]: keys whose window ends with block hash h
	keys   [][]byte
	offset []int // where each key's m-byte window starts in the key
}

const (
	blockLen = 3
	// hashBits sizes the shift table: 8 KiB stays in the first-level cache, and the few
	// hundred key trigrams still leave most slots at the longest jump.
	hashBits  = 13
	maxWindow = 255 // shifts are stored in a byte
	maxKeys   = 128 // keySet's size
)

func hash3(a, b, c byte) uint32 { return hashBlock(uint32(a) | uint32(b)<<8 | uint32(c)<<16) }

// hashBlock hashes three bytes packed little-endian into the low 24 bits.
func hashBlock(v uint32) uint32 { return (v * 0x9E3779B1) >> (32 - hashBits) }

// newPrefilter builds the search for keys; a key given twice is searched once (index returns
// its one index).
func newPrefilter(keys [][]byte) *prefilter {
	f := &prefilter{m: maxWindow, shift: new([1 << hashBits]uint8), first: new([1<<hashBits + 1]uint16)}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		f.keys = append(f.keys, k)
		f.m = min(f.m, len(k))
	}
	if f.m < blockLen+1 { // the search loads the window's last 4 bytes
		panic("logscan: every key must be at least 4 bytes")
	}
	if len(f.keys) > maxKeys {
		panic("logscan: more than 128 distinct keys")
	}
	for i := range f.shift {
		f.shift[i] = uint8(f.m - blockLen + 1)
	}
	for _, k := range f.keys {
		f.offset = append(f.offset, rarestWindow(k, f.m))
	}
	byHash := map[uint32][]uint16{}
	for ki, k := range f.keys {
		w := k[f.offset[ki] : f.offset[ki]+f.m]
		for j := 0; j+blockLen <= f.m; j++ {
			h := hash3(w[j], w[j+1], w[j+2])
			f.shift[h] = min(f.shift[h], uint8(f.m-blockLen-j))
		}
		h := hash3(w[f.m-3], w[f.m-2], w[f.m-1])
		byHash[h] = append(byHash[h], uint16(ki))
	}
	for h := range uint32(1 << hashBits) {
		f.cands = append(f.cands, byHash[h]...)
		f.first[h+1] = uint16(len(f.cands))
	}
	return f
}

// nextLine returns the first line at or after from (a line start) that holds a key, as
// data[start:end] without its newline, and the set of keys it holds; start is -1 when no line
// does. One pass finds both: the search goes on from the first key it meets to the end of
// that key's line, collecting the others.
func (f *prefilter) nextLine(data []byte, from int) (start, end int, set keySet) {
	m := f.m
	start, end = -1, len(data) // end: the scan's bound, the end of the line once a key is met
	for pos := from + m - 1; ; pos++ {
		if pos = f.skip(data[:end], pos); pos >= end {
			return start, end, set
		}
		h := hashBlock(binary.LittleEndian.Uint32(data[pos-3:]) >> 8)
		for _, k := range f.cands[f.first[h]:f.first[h+1]] {
			at := pos - m + 1 - f.offset[k]
			if at < from || !bytes.HasPrefix(data[at:], f.keys[k]) {
				continue
			}
			if start < 0 { // the first key: its line bounds the rest of the search
				start = bytes.LastIndexByte(data[from:at], '\n') + 1 + from
				if i := bytes.IndexByte(data[at:], '\n'); i >= 0 {
					end = at + i
				}
			}
			set.add(int(k))
		}
	}
}

// skip slides the window from pos (its last byte) by the shift table and returns the first
// position where some key's window may end, or a position past the end of data. The hot loop
// of the search: one 4-byte load, a multiply and a table lookup a step.
func (f *prefilter) skip(data []byte, pos int) int {
	shift := f.shift
	for pos < len(data) {
		s := shift[hashBlock(binary.LittleEndian.Uint32(data[pos-3:pos+1])>>8)]
		if s == 0 {
			return pos
		}
		pos += int(s)
	}
	return pos
}

// keySet is a set of key indices (a prefilter has at most maxKeys keys).
type keySet [maxKeys / 64]uint64

func (s *keySet) add(k int) { s[k>>6] |= 1 << (k & 63) }

// present returns the keys that occur anywhere in line: the same answer as bytes.Contains
// for each key.
func (f *prefilter) present(line []byte) keySet {
	if bytes.IndexByte(line, '\n') >= 0 { // nextLine stops at a line's end
		var set keySet
		for k, key := range f.keys {
			if bytes.Contains(line, key) {
				set.add(k)
			}
		}
		return set
	}
	_, _, set := f.nextLine(line, 0)
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
