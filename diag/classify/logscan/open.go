package logscan

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Sources are recognised by their first bytes, not their names: gzip (1f 8b), then inside it
// either a tar archive ("ustar" at offset 257, a tech support bundle) or plain text. Members of
// a bundle are read in place, never extracted; a member that is itself gzipped is decompressed
// on the fly. References into a bundle read
//
//	bundle.tgz!member/path:LINE
//
// where bundle.tgz is the path as given and member/path the name stored in the archive.

// OpenLog opens a plain, gzipped or tar.gz log for reading as one stream of lines. For a
// bundle, the members' lines follow one another (each member ends with a newline); use ScanFile
// to keep per-member line numbers. maxBytes caps the decompressed size (0: 8 GiB); past it, reads
// fail with ErrTooLarge.
func OpenLog(path string, maxBytes int64) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	src, err := open(f, maxBytes)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if src.tar == nil {
		return readCloser{src.r, f}, nil
	}
	pr, pw := io.Pipe()
	go func() {
		for {
			hdr, err := src.tar.Next()
			if err == io.EOF {
				pw.Close()
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if hdr.Typeflag != tar.TypeReg {
				continue
			}
			m, err := member(src.tar, maxBytes)
			if err == nil {
				err = copyEndingInNewline(pw, m)
			}
			if err != nil {
				pw.CloseWithError(fmt.Errorf("%s!%s: %w", path, hdr.Name, err))
				return
			}
		}
	}()
	return readCloser{pr, multiCloser{pr, f}}, nil
}

// ScanFile scans a plain, gzipped or tar.gz log; for a bundle, every regular member is scanned
// with its own line numbers and the name PATH!member. Stats are summed over the members.
func ScanFile(ctx context.Context, path string, opts Options) ([]Hit, Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Stats{}, err
	}
	defer f.Close()
	src, err := open(f, opts.MaxBytes)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("%s: %w", path, err)
	}
	if src.tar == nil {
		hits, st, err := ScanLog(ctx, src.r, path, opts)
		if err != nil {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return hits, st, err
	}
	var (
		all   []Hit
		total Stats
	)
	for {
		hdr, err := src.tar.Next()
		if err == io.EOF {
			return all, total, nil
		}
		if err != nil {
			return all, total, fmt.Errorf("%s: %w", path, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := path + "!" + hdr.Name
		m, err := member(src.tar, opts.MaxBytes)
		if err != nil {
			return all, total, fmt.Errorf("%s: %w", name, err)
		}
		hits, st, err := ScanLog(ctx, m, name, opts)
		all = append(all, hits...)
		total.add(st)
		if err != nil {
			return all, total, fmt.Errorf("%s: %w", name, err)
		}
	}
}

type source struct {
	r   io.Reader   // plain text (when tar is nil)
	tar *tar.Reader // a bundle
}

func open(f io.Reader, maxBytes int64) (source, error) {
	if maxBytes <= 0 {
		maxBytes = defaultMaxByte
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if !isGzip(br) {
		return source{r: br}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return source{}, err
	}
	inner := bufio.NewReaderSize(&capped{r: zr, left: maxBytes}, 64<<10)
	if head, _ := inner.Peek(262); len(head) >= 262 && string(head[257:262]) == "ustar" {
		return source{tar: tar.NewReader(inner)}, nil
	}
	return source{r: inner}, nil
}

// member returns a bundle member's text, decompressing it if it is gzipped itself.
func member(r io.Reader, maxBytes int64) (io.Reader, error) {
	if maxBytes <= 0 {
		maxBytes = defaultMaxByte
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if !isGzip(br) {
		return br, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, err
	}
	return &capped{r: zr, left: maxBytes}, nil
}

func isGzip(br *bufio.Reader) bool {
	magic, _ := br.Peek(2)
	return len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
}

// capped fails with ErrTooLarge once more than left bytes have been read.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func copyEndingInNewline(w io.Writer, r io.Reader) error {
	var last [1]byte
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			last[0] = buf[n-1]
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if last[0] != 0 && last[0] != '\n' {
		_, err := w.Write([]byte{'\n'})
		return err
	}
	return nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
