package engine

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"ipsecbot/diag"
	"ipsecbot/store"
)

// writeArtifact writes data to name (relative to the run's directory) and records it.
func (r *run) writeArtifact(name, kind string, data []byte) (diag.Artifact, error) {
	return r.streamArtifact(name, kind, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// streamArtifact writes a file through fill, hashing as it goes, and records it even when fill
// fails part way (what was written is kept, and said to be partial by the caller's error).
func (r *run) streamArtifact(name, kind string, fill func(w io.Writer) error) (diag.Artifact, error) {
	a, kept, err := r.streamFile(name, kind, fill)
	if kept {
		r.recordArtifact(a)
	}
	return a, err
}

// streamFile writes a file through fill, hashing as it goes, without recording it: kept says
// whether the file stays (fill succeeded, or wrote something before it failed).
func (r *run) streamFile(name, kind string, fill func(w io.Writer) error) (a diag.Artifact, kept bool, err error) {
	path := filepath.Join(r.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return diag.Artifact{}, false, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return diag.Artifact{}, false, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	ferr := fill(cw)
	cerr := f.Close()
	a = diag.Artifact{Name: name, Kind: kind, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if ferr == nil && cerr != nil {
		ferr = cerr
	}
	if cw.n > 0 || ferr == nil {
		return a, true, ferr
	}
	os.Remove(path)
	return a, false, ferr
}

// addFileArtifact records a file something else wrote into the run's directory.
func (r *run) addFileArtifact(path, kind string) (diag.Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return diag.Artifact{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return diag.Artifact{}, err
	}
	rel, err := filepath.Rel(r.dir, path)
	if err != nil {
		rel = filepath.Base(path)
	}
	a := diag.Artifact{Name: filepath.ToSlash(rel), Kind: kind, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	r.recordArtifact(a)
	return a, nil
}

func (r *run) recordArtifact(a diag.Artifact) {
	r.mu.Lock()
	r.artifacts = append(r.artifacts, a)
	r.mu.Unlock()
	if r.recorded() {
		if err := r.e.incidents.RecordArtifact(r.req.Incident, store.Artifact{Path: filepath.Join(r.dir, a.Name), Kind: a.Kind, Size: a.Size, SHA256: a.SHA256}); err != nil {
			r.e.log.Warn("record artifact", "incident", r.req.Incident, "artifact", a.Name, "err", err)
		}
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func renameFile(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("move %s: %w", from, err)
	}
	return nil
}

// bundleName names a downloaded tech support file after its content: a gzipped tar
// (logs/edge-techsupport.tar.gz) or a gzipped log (logs/edge-techsupport.log.gz).
func bundleName(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "logs/edge-techsupport.gz"
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "logs/edge-techsupport.gz"
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(zr, head)
	if n >= 262 && string(head[257:262]) == "ustar" {
		return "logs/edge-techsupport.tar.gz"
	}
	return "logs/edge-techsupport.log.gz"
}
