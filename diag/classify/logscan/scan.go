package logscan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"ipsecbot/diag"
)

// Hit is one matched line.
type Hit struct {
	Name    string // the PATH of the reference: the file as given, or bundle.tgz!member/path
	Line    int64  // 1-based
	Pattern int    // index into Table(): the first pattern that matches the line
	Event   Event
	Text    string // the line, printable, cut at MaxHitText bytes
	Header  *Line  // the line's parsed header, when Options.Header asked for it
	Version int    // with Header: the IKE version the wording tells (VersionOf)
}

// Ref is the hit's evidence reference, PATH:LINE.
func (h Hit) Ref() string { return diag.LineRef(h.Name, h.Line).String() }

// Stats counts what one scan read.
type Stats struct {
	Bytes        int64 `json:"bytes"`
	Lines        int64 `json:"lines"`
	MatchedLines int64 `json:"matched_lines"` // the number `grep -c -E -f patterns` gives
	KeptHits     int64 `json:"kept_hits"`
	DroppedHits  int64 `json:"dropped_hits"` // matched, but over the per-pattern cap or refused by Keep
	LongLines    int64 `json:"long_lines"`   // lines longer than ChunkSize, matched on their first ChunkSize bytes
	// Formats are the dialects found at the start of the input (all patterns apply when none).
	Formats []Format `json:"formats,omitempty"`
}

func (s *Stats) add(o Stats) {
	s.Bytes += o.Bytes
	s.Lines += o.Lines
	s.MatchedLines += o.MatchedLines
	s.KeptHits += o.KeptHits
	s.DroppedHits += o.DroppedHits
	s.LongLines += o.LongLines
	for _, f := range o.Formats {
		if !slices.Contains(s.Formats, f) {
			s.Formats = append(s.Formats, f)
		}
	}
}

// Options tune a scan. The zero value is ready to use.
type Options struct {
	Workers           int             // parallel matchers; 0: GOMAXPROCS (at most 4)
	ChunkSize         int             // bytes per chunk, also the longest line matched whole; 0: 1 MiB
	MaxHitsPerPattern int             // hits kept per pattern (later ones are counted only); 0: 512
	Keep              func(*Hit) bool // optional: decides which hits are kept (e.g. the time window)
	// Stream, when set, receives every matched line in line order and ScanLog keeps none: the
	// caller keeps what it needs, so memory does not grow with the number of matches. Keep and
	// MaxHitsPerPattern do not apply; Stats.KeptHits counts the streamed hits. The Hit and its
	// Header are the scanner's again once Stream returns: keep their fields, not the pointers.
	Stream func(*Hit)
	// Header, when set, has each matched line's header parsed (ParseLine) and its IKE version
	// read (VersionOf) by the workers that match, in parallel, into Hit.Header and Hit.Version.
	Header   *TimeContext
	MaxBytes int64 // decompressed bytes allowed per file by ScanFile; 0: 8 GiB
}

// MaxHitText is the longest line text a Hit keeps.
const MaxHitText = 1024

const (
	defaultChunk   = 1 << 20
	defaultPerPat  = 512
	defaultMaxByte = 8 << 30
)

// matchers holds one matcher per set of applicable patterns met so far (a handful: one per
// combination of dialects), built on first use.
var matchers sync.Map // string(allowed as bytes) -> *matcher

// matcherFor returns the matcher of the patterns allowed says apply.
func matcherFor(allowed []bool) *matcher {
	id := make([]byte, len(allowed))
	for i, ok := range allowed {
		if ok {
			id[i] = 1
		}
	}
	if m, ok := matchers.Load(string(id)); ok {
		return m.(*matcher)
	}
	m, _ := matchers.LoadOrStore(string(id), newMatcher(allowed))
	return m.(*matcher)
}

// chunk is a run of whole lines (the last may be unterminated when the file ends there or the
// line was too long).
type chunk struct {
	data         []byte
	buf          []byte // returned to the pool after scanning
	unterminated bool
	longLine     bool
}

type chunkHit struct {
	line    int64 // 0-based within the chunk
	pattern int
	text    string
	header  Line // with Options.Header
	version int
}

// hitBufs recycles the hit lists of chunks once merged, so a dense log does not allocate a
// growing list for every chunk.
var hitBufs = sync.Pool{New: func() any { return new([]chunkHit) }}

type chunkResult struct {
	lines    int64
	bytes    int64
	longLine bool
	hits     []chunkHit
}

// ScanLog streams r once, matching every line against all patterns, and returns the hits in
// line order. name is the PATH used in references. Memory stays bounded: a few chunks in flight
// plus at most MaxHitsPerPattern hits per pattern (none with Options.Stream). If r fails part way, the hits and counts of
// what was read are returned with the error.
func ScanLog(ctx context.Context, r io.Reader, name string, opts Options) ([]Hit, Stats, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 4)
	}
	size := opts.ChunkSize
	if size <= 0 {
		size = defaultChunk
	}
	// The dialect, from the start of the file, decides which patterns apply to it.
	br := bufio.NewReaderSize(r, DetectSize)
	start, _ := br.Peek(DetectSize)
	formats := DetectFormats(start)
	r = br
	m := &merger{name: name, opts: opts, perPat: opts.MaxHitsPerPattern, kept: make([]int, len(table))}
	m.matcher = matcherFor(allowedPatterns(formats))
	m.st.Formats = formats
	if m.perPat <= 0 {
		m.perPat = defaultPerPat
	}
	var err error
	if workers == 1 {
		err = scanSerial(ctx, r, size, m)
	} else {
		err = scanParallel(ctx, r, size, workers, m)
	}
	if err == nil {
		err = ctx.Err()
	}
	return m.hits, m.st, err
}

// scanSerial reads, matches and merges in the caller's goroutine: no hand-offs, for small
// inputs and single-core use.
func scanSerial(ctx context.Context, r io.Reader, size int, m *merger) error {
	pool := [][]byte{make([]byte, size), make([]byte, size)}
	get := func() ([]byte, bool) {
		b := pool[len(pool)-1]
		pool = pool[:len(pool)-1]
		return b, true
	}
	send := func(c chunk) bool {
		for from := 0; ; {
			res, next := scanChunk(c, from, m.opts.Header, m.matcher)
			m.add(res)
			if next == len(c.data) {
				break
			}
			from = next
		}
		pool = append(pool, c.buf)
		return ctx.Err() == nil
	}
	return readChunks(ctx, r, get, send)
}

// scanParallel runs a reader, workers matching chunks, and the merger (this goroutine). The
// reader queues each chunk's own result channel in file order, and the merger drains them in
// that order, so results come back in line order. Memory is bounded whatever the input:
// buffers circulate through free ((workers+2) x size), and a worker hands a chunk's hits over
// in parts of at most maxPartHits, waiting while the merger is not at its chunk yet.
func scanParallel(ctx context.Context, r io.Reader, size, workers int, m *merger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan []byte, workers+2)
	for range workers + 2 {
		free <- make([]byte, size)
	}
	type job struct {
		c   chunk
		out chan chunkResult
	}
	work := make(chan job, workers)
	order := make(chan chan chunkResult, workers+2)
	readErr := make(chan error, 1)
	get := func() ([]byte, bool) {
		select {
		case b := <-free:
			return b, true
		case <-ctx.Done():
			return nil, false
		}
	}
	send := func(c chunk) bool {
		out := make(chan chunkResult, 1)
		select {
		case order <- out:
		case <-ctx.Done():
			return false
		}
		select {
		case work <- job{c, out}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(order)
		defer close(work)
		readErr <- readChunks(ctx, r, get, send)
	}()
	for range workers {
		go func() {
			for j := range work {
				for from := 0; ; {
					res, next := scanChunk(j.c, from, m.opts.Header, m.matcher)
					select {
					case j.out <- res:
					case <-ctx.Done():
						return
					}
					if next == len(j.c.data) {
						break
					}
					from = next
				}
				free <- j.c.buf
				close(j.out)
			}
		}()
	}
	for out := range order {
		for {
			select {
			case res, ok := <-out:
				if ok {
					m.add(res)
					continue
				}
			case <-ctx.Done():
				return <-readErr
			}
			break
		}
	}
	return <-readErr
}

// merger turns chunk results, which may arrive out of order, into hits and counts in line order.
type merger struct {
	name    string
	matcher *matcher // the patterns that apply to this file's dialects
	opts    Options
	perPat  int
	kept    []int
	st      Stats
	hits    []Hit
	cur     Hit // the hit being handed to Keep or Stream
}

// add takes the next result in line order.
func (m *merger) add(r chunkResult) {
	for i := range r.hits {
		ch := &r.hits[i]
		m.st.MatchedLines++
		h := &m.cur
		*h = Hit{Name: m.name, Line: m.st.Lines + ch.line + 1, Pattern: ch.pattern, Event: table[ch.pattern].Event, Text: ch.text, Version: ch.version}
		if m.opts.Header != nil {
			h.Header = &ch.header
		}
		if m.opts.Stream != nil {
			m.st.KeptHits++
			m.opts.Stream(h)
			continue
		}
		if m.kept[ch.pattern] >= m.perPat || (m.opts.Keep != nil && !m.opts.Keep(h)) {
			m.st.DroppedHits++
			continue
		}
		m.kept[ch.pattern]++
		m.st.KeptHits++
		kept := *h
		if h.Header != nil {
			header := *h.Header
			kept.Header = &header
		}
		m.hits = append(m.hits, kept)
	}
	clear(r.hits)
	r.hits = r.hits[:0]
	hitBufs.Put(&r.hits)
	m.st.Lines += r.lines
	m.st.Bytes += r.bytes
	if r.longLine {
		m.st.LongLines++
	}
}

// readChunks cuts r into chunks that end at a line boundary and sends them in order. get hands
// out an empty buffer; either returning false stops the read.
func readChunks(ctx context.Context, r io.Reader, get func() ([]byte, bool), send func(chunk) bool) error {
	cur, ok := get()
	if !ok {
		return ctx.Err()
	}
	filled := 0
	skipping := false // discarding the rest of an over-long line
	for {
		n, rerr := fill(r, cur[filled:])
		filled += n
		if skipping {
			i := bytes.IndexByte(cur[:filled], '\n')
			if i < 0 && rerr == nil {
				filled = 0
				continue
			}
			if i >= 0 {
				filled = copy(cur, cur[i+1:filled])
				skipping = false
			} else {
				filled = 0
			}
		}
		if rerr != nil { // the end, clean (io.EOF) or not
			if filled > 0 {
				send(chunk{data: cur[:filled], buf: cur, unterminated: cur[filled-1] != '\n'})
			}
			if rerr == io.EOF {
				return nil
			}
			return rerr
		}
		data := cur[:filled]
		nl := bytes.LastIndexByte(data, '\n')
		if nl < 0 {
			// One line fills the whole chunk: match its first ChunkSize bytes, drop the rest.
			if !send(chunk{data: data, buf: cur, unterminated: true, longLine: true}) {
				return ctx.Err()
			}
			if cur, ok = get(); !ok {
				return ctx.Err()
			}
			filled, skipping = 0, true
			continue
		}
		next, ok := get()
		if !ok {
			return ctx.Err()
		}
		filled = copy(next, data[nl+1:])
		if !send(chunk{data: data[:nl+1], buf: cur}) {
			return ctx.Err()
		}
		cur = next
	}
}

// fill reads until buf is full or r fails; unlike io.ReadFull it passes r's own errors through
// untouched, so a truncated gzip (io.ErrUnexpectedEOF) is told from a clean end (io.EOF).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// maxPartHits bounds the hits of one result: a chunk of short matching lines is handed over in
// parts, so that memory does not grow with the density of matches.
const maxPartHits = 1024

// scanChunk finds the matching lines of a chunk from offset from (a line start) on, up to
// maxPartHits of them; next is where the rest begins, len(c.data) when nothing is left.
func scanChunk(c chunk, from int, header *TimeContext, m *matcher) (res chunkResult, next int) {
	data := c.data
	res.hits = *hitBufs.Get().(*[]chunkHit)
	var lines int64
	counted := from
	pos := from
	for pos < len(data) && len(res.hits) < maxPartHits {
		start, end, keys := m.f.nextLine(data, pos)
		if start < 0 {
			pos = len(data)
			break
		}
		line := data[start:end]
		if i := m.match(line, keys); i >= 0 {
			lines += int64(bytes.Count(data[counted:start], []byte{'\n'}))
			counted = start
			res.hits = append(res.hits, chunkHit{line: lines, pattern: i, text: printable(line)})
			if header != nil {
				h := &res.hits[len(res.hits)-1]
				h.header, _ = ParseLine(h.text, *header)
				h.version = VersionOf(h.text)
			}
		}
		pos = min(end+1, len(data))
	}
	lines += int64(bytes.Count(data[counted:pos], []byte{'\n'}))
	if pos == len(data) {
		if c.unterminated {
			lines++
		}
		res.longLine = c.longLine
	}
	res.lines, res.bytes = lines, int64(pos-from)
	return res, pos
}

// printable returns line as valid UTF-8 without control characters other than tab (SonicWall's
// exports are tab-separated), cut at MaxHitText bytes.
func printable(line []byte) string {
	line = bytes.TrimRight(line, "\r")
	if len(line) > MaxHitText {
		line = line[:MaxHitText]
	}
	if plainASCII(line) {
		return string(line)
	}
	var b strings.Builder
	b.Grow(len(line))
	for len(line) > 0 {
		r, n := utf8.DecodeRune(line)
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteRune('\uFFFD')
		case r == '\t':
			b.WriteByte('\t')
		case r < 0x20 || r == 0x7f:
			b.WriteRune('\uFFFD')
		default:
			b.Write(line[:n])
		}
		line = line[n:]
	}
	return b.String()
}

// plainASCII reports whether line is printable ASCII and tabs only: printable's common case.
// It tests 8 bytes at a time; a word that may hold a byte under 0x20 or over 0x7e (a tab, say)
// is looked at byte by byte.
func plainASCII(line []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(line) >= 8 {
		w := binary.LittleEndian.Uint64(line)
		if (w|(w+ones)|((w-0x20*ones)&^w))&highs != 0 && !plainBytes(line[:8]) {
			return false
		}
		line = line[8:]
	}
	return plainBytes(line)
}

func plainBytes(line []byte) bool {
	for _, c := range line {
		if (c < 0x20 && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// ErrTooLarge is returned when a compressed source decompresses to more than Options.MaxBytes.
var ErrTooLarge = errors.New("decompressed size over the limit")
