package syslog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// rolling is one edge's log: the current file and up to keep rotated ones (NAME.log.1 the
// newest), each at most maxBytes, so an edge never holds more than (keep+1)*maxBytes on disk.
type rolling struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	keep     int
	f        *os.File
	size     int64
	// first is when this receiver wrote the edge's first line; lostUntil the last line of
	// the newest file rotation deleted (lines up to then are gone).
	first, lostUntil, last time.Time
	closed                 []time.Time // the last line time of each rotated file, .1 first
}

func openRolling(dir, edge string, maxBytes int64, keep int) *rolling {
	return &rolling{path: filepath.Join(dir, fileName(edge)+".log"), maxBytes: maxBytes, keep: keep}
}

// fileName keeps an edge name to a safe file name.
func fileName(edge string) string {
	b := []byte(edge)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	s := strings.TrimLeft(string(b), ".")
	if s == "" {
		s = "_"
	}
	return s
}

// append writes one line (with its newline) received at `at`, rotating first when it would
// not fit.
func (r *rolling) append(line []byte, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f != nil && r.size+int64(len(line)) > r.maxBytes {
		if err := r.rotate(); err != nil {
			return err
		}
	}
	if r.f == nil {
		// A new life of the receiver starts a new file: older lines may have gaps.
		if err := os.MkdirAll(filepath.Dir(r.path), 0o750); err != nil {
			return err
		}
		f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		r.f, r.size = f, fi.Size()
		if r.size+int64(len(line)) > r.maxBytes {
			if err := r.rotate(); err != nil {
				return err
			}
		}
	}
	n, err := r.f.Write(line)
	r.size += int64(n)
	if err != nil {
		return err
	}
	if r.first.IsZero() {
		r.first = at
	}
	r.last = at
	return nil
}

// rotate shifts NAME.log to NAME.log.1 and so on, deleting the oldest, and opens a new file.
func (r *rolling) rotate() error {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	oldest := fmt.Sprintf("%s.%d", r.path, r.keep)
	if _, err := os.Stat(oldest); err == nil {
		if err := os.Remove(oldest); err != nil {
			return err
		}
		if len(r.closed) >= r.keep {
			r.lostUntil = r.closed[r.keep-1]
		} else {
			r.lostUntil = r.last // a file of an earlier life: assume the worst
		}
	}
	for i := r.keep - 1; i >= 1; i-- {
		from := fmt.Sprintf("%s.%d", r.path, i)
		if _, err := os.Stat(from); err == nil {
			if err := os.Rename(from, fmt.Sprintf("%s.%d", r.path, i+1)); err != nil {
				return err
			}
		}
	}
	if r.keep > 0 {
		if err := os.Rename(r.path, r.path+".1"); err != nil && !os.IsNotExist(err) {
			return err
		}
		r.closed = append([]time.Time{r.last}, r.closed...)
		if len(r.closed) > r.keep {
			r.closed = r.closed[:r.keep]
		}
	} else {
		if err := os.Remove(r.path); err != nil && !os.IsNotExist(err) {
			return err
		}
		r.lostUntil = r.last
	}
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	r.f, r.size = f, 0
	return nil
}

// covers reports whether the log holds every line this receiver got from `from` on: the edge
// had sent a line at or before from, and no rotation deleted lines after it.
func (r *rolling) covers(from time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.first.IsZero() && !r.first.After(from) && r.lostUntil.Before(from)
}

// copySince writes the kept lines received at or after from, oldest first.
func (r *rolling) copySince(from time.Time, w io.Writer) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for i := r.keep; i >= 0; i-- {
		p := r.path
		if i > 0 {
			p = fmt.Sprintf("%s.%d", r.path, i)
		}
		m, err := copyFile(p, from, w)
		n += m
		if err != nil && !os.IsNotExist(err) {
			return n, err
		}
	}
	return n, nil
}

func copyFile(path string, from time.Time, w io.Writer) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 2*maxLineBytes)
	var n int64
	for sc.Scan() {
		line := sc.Bytes()
		ts, _, _ := bytes.Cut(line, []byte(" "))
		at, err := time.Parse(time.RFC3339Nano, string(ts))
		if err != nil || at.Before(from) {
			continue
		}
		m, err := w.Write(line)
		n += int64(m)
		if err == nil {
			_, err = w.Write(newline)
			n++
		}
		if err != nil {
			return n, err
		}
	}
	return n, sc.Err()
}

var newline = []byte("\n")

func (r *rolling) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}
