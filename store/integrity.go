package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// Errors of a file that cannot be a usable store. Open refuses such a file instead of
// replacing it with an empty one or letting bbolt panic on it.
var (
	// ErrEmpty is an existing file of 0 bytes: a store that was truncated, never one to reuse.
	ErrEmpty = errors.New("store file is empty (0 bytes)")
	// ErrDamaged is a file whose bbolt structure is broken.
	ErrDamaged = errors.New("store file is damaged")
)

// bbolt's on-disk layout, as far as the pre-open check needs it (bbolt v1.x file format 2).
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderLen    = 16 // id (8) flags (2) count (2) overflow (4)
	metaLen          = 64 // magic version pageSize flags root(8+8) freelist pgid txid checksum
	metaSummed       = 56 // the checksum covers everything before itself
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	metaPageFlag     = 0x04
	freelistPageFlag = 0x10
	noFreelist       = ^uint64(0)
	minPageSize      = 512
	maxPageSize      = 1 << 20
)

// boltMeta is a decoded meta page.
type boltMeta struct {
	pageSize uint32
	root     uint64 // root bucket's page
	freelist uint64
	pgid     uint64 // high water mark: pages in use
	txid     uint64
}

// readMeta decodes the meta page at off; an error says why it is not valid.
func readMeta(f io.ReaderAt, off int64) (boltMeta, error) {
	buf := make([]byte, pageHeaderLen+metaLen)
	if _, err := f.ReadAt(buf, off); err != nil {
		return boltMeta{}, fmt.Errorf("meta page at byte %d unreadable: %w", off, err)
	}
	le := binary.LittleEndian
	if flags := le.Uint16(buf[8:]); flags != metaPageFlag {
		return boltMeta{}, fmt.Errorf("meta page at byte %d has page type %#x", off, flags)
	}
	m := buf[pageHeaderLen:]
	if le.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, fmt.Errorf("meta page at byte %d has no bbolt magic", off)
	}
	if v := le.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("meta page at byte %d has format version %d", off, v)
	}
	h := fnv.New64a()
	h.Write(m[:metaSummed])
	if h.Sum64() != le.Uint64(m[metaSummed:]) {
		return boltMeta{}, fmt.Errorf("meta page at byte %d fails its checksum", off)
	}
	meta := boltMeta{pageSize: le.Uint32(m[8:]), root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]),
		pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}
	if meta.pageSize < minPageSize || meta.pageSize > maxPageSize || meta.pageSize&(meta.pageSize-1) != 0 {
		return boltMeta{}, fmt.Errorf("meta page at byte %d has page size %d", off, meta.pageSize)
	}
	return meta, nil
}

// preflight checks what bbolt reads when it opens a file and would panic on: the meta
// pages, the freelist page and the root page. It returns nil for a missing file (Open
// creates it), ErrEmpty for a 0-byte one, and an error wrapping ErrDamaged naming the first
// problem otherwise. Page contents beyond these are tx.Check's job (Check, `bot store check`).
func preflight(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() == 0 {
		return ErrEmpty
	}
	if _, why := chooseMeta(f, st.Size()); why != "" {
		return fmt.Errorf("%w: %s", ErrDamaged, why)
	}
	return nil
}

// chooseMeta picks the meta page bbolt would use (the valid one with the newer
// transaction) and checks the pages it points to; the reason is "" when they look right.
func chooseMeta(f io.ReaderAt, size int64) (boltMeta, string) {
	m, why := pickMeta(f, size)
	if why != "" {
		return m, why
	}
	if m.freelist != noFreelist {
		if why := pageProblem(f, m, m.freelist, "freelist", freelistPageFlag); why != "" {
			return m, why
		}
	}
	return m, pageProblem(f, m, m.root, "root", branchPageFlag, leafPageFlag)
}

// pickMeta returns the meta page bbolt would use.
func pickMeta(f io.ReaderAt, size int64) (boltMeta, string) {
	m0, err0 := readMeta(f, 0)
	if err0 != nil && size < 2*minPageSize {
		return boltMeta{}, fmt.Sprintf("%d bytes is too short for a bbolt file (%v)", size, err0)
	}
	// The second meta page sits one page in: the first's page size, else try the usual ones.
	var m1 boltMeta
	err1 := errors.New("second meta page not found")
	if err0 == nil {
		m1, err1 = readMeta(f, int64(m0.pageSize))
	} else {
		for ps := int64(minPageSize); ps <= maxPageSize && ps < size; ps *= 2 {
			if m1, err1 = readMeta(f, ps); err1 == nil {
				break
			}
		}
	}
	var m boltMeta
	switch {
	case err0 == nil && (err1 != nil || m0.txid >= m1.txid):
		m = m0
	case err1 == nil:
		m = m1
	default:
		return m, fmt.Sprintf("no valid meta page (%v; %v)", err0, err1)
	}
	ps := int64(m.pageSize)
	if m.pgid < 2 || int64(m.pgid) > size/ps {
		return m, fmt.Sprintf("meta page says %d pages in use, the file holds %d", m.pgid, size/ps)
	}
	return m, ""
}

// pageProblem checks that page id is within the file in use and has one of the flags.
func pageProblem(f io.ReaderAt, m boltMeta, id uint64, what string, flags ...uint16) string {
	if id < 2 || id >= m.pgid {
		return fmt.Sprintf("%s page %d is outside the %d pages in use", what, id, m.pgid)
	}
	hdr := make([]byte, pageHeaderLen)
	if _, err := f.ReadAt(hdr, int64(id)*int64(m.pageSize)); err != nil {
		return fmt.Sprintf("%s page %d unreadable: %v", what, id, err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(hdr); got != id {
		return fmt.Sprintf("%s page %d carries page id %d", what, id, got)
	}
	got := le.Uint16(hdr[8:])
	for _, fl := range flags {
		if got == fl {
			if ovf := le.Uint32(hdr[12:]); id+uint64(ovf) >= m.pgid {
				return fmt.Sprintf("%s page %d overflows past the %d pages in use", what, id, m.pgid)
			}
			return ""
		}
	}
	return fmt.Sprintf("%s page %d has page type %#x", what, id, got)
}

// treeProblem walks every page reachable from the root through the file (not bbolt's memory
// map), checking that each is in use, referenced once, of a tree page type, and that its
// elements lie within it. bbolt trusts all of that: a page referenced by two parents makes
// its cursor loop forever, an element past its page makes it fault.
func treeProblem(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	m, why := chooseMeta(f, st.Size())
	if why != "" {
		return why
	}
	w := treeWalker{f: f, m: m, seen: map[uint64]bool{}}
	return w.page(m.root)
}

type treeWalker struct {
	f    io.ReaderAt
	m    boltMeta
	seen map[uint64]bool
}

// page reads page id (with its overflow) and checks it and what it references.
func (w *treeWalker) page(id uint64) string {
	if id < 2 || id >= w.m.pgid {
		return fmt.Sprintf("page %d is outside the %d pages in use", id, w.m.pgid)
	}
	if w.seen[id] {
		return fmt.Sprintf("page %d is referenced twice", id)
	}
	w.seen[id] = true
	ps := int64(w.m.pageSize)
	hdr := make([]byte, pageHeaderLen)
	if _, err := w.f.ReadAt(hdr, int64(id)*ps); err != nil {
		return fmt.Sprintf("page %d unreadable: %v", id, err)
	}
	ovf := uint64(binary.LittleEndian.Uint32(hdr[12:]))
	if id+ovf >= w.m.pgid {
		return fmt.Sprintf("page %d overflows past the %d pages in use", id, w.m.pgid)
	}
	buf := make([]byte, int64(1+ovf)*ps)
	if _, err := w.f.ReadAt(buf, int64(id)*ps); err != nil {
		return fmt.Sprintf("page %d unreadable: %v", id, err)
	}
	if got := binary.LittleEndian.Uint64(buf); got != id {
		return fmt.Sprintf("page %d carries page id %d", id, got)
	}
	return w.node(buf, fmt.Sprintf("page %d", id))
}

// node checks a branch or leaf page held in buf (a page, or a bucket inlined in a value).
func (w *treeWalker) node(buf []byte, where string) string {
	le := binary.LittleEndian
	if len(buf) < pageHeaderLen {
		return where + " is shorter than a page header"
	}
	flags, count := le.Uint16(buf[8:]), int(le.Uint16(buf[10:]))
	if pageHeaderLen+count*16 > len(buf) {
		return fmt.Sprintf("%s: %d elements do not fit", where, count)
	}
	for i := range count {
		off := pageHeaderLen + i*16
		e := buf[off : off+16]
		switch flags {
		case branchPageFlag:
			start, end := off+int(le.Uint32(e[0:])), off+int(le.Uint32(e[0:]))+int(le.Uint32(e[4:]))
			if start < off || end > len(buf) {
				return fmt.Sprintf("%s: element %d lies outside the page", where, i)
			}
			if why := w.page(le.Uint64(e[8:])); why != "" {
				return why
			}
		case leafPageFlag:
			start := off + int(le.Uint32(e[4:]))
			kEnd := start + int(le.Uint32(e[8:]))
			end := kEnd + int(le.Uint32(e[12:]))
			if start < off || kEnd < start || end < kEnd || end > len(buf) {
				return fmt.Sprintf("%s: element %d lies outside the page", where, i)
			}
			if le.Uint32(e[0:])&1 == 0 { // not a bucket
				continue
			}
			v := buf[kEnd:end]
			if len(v) < 16 {
				return fmt.Sprintf("%s: bucket %d has a %d-byte header", where, i, len(v))
			}
			var why string
			if root := le.Uint64(v); root != 0 {
				why = w.page(root)
			} else {
				why = w.node(v[16:], fmt.Sprintf("%s bucket %d (inline)", where, i))
			}
			if why != "" {
				return why
			}
		default:
			return fmt.Sprintf("%s has page type %#x", where, flags)
		}
	}
	return ""
}
