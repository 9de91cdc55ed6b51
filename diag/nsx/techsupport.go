package nsx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// TechSupportLogs downloads the edge's tech support bundle (step 1 of the procedure) into w and
// returns the bytes written. The Manager answers 303 See Other with a Location on itself; the
// client follows it (only to the same host, so the credentials stay there) and streams the gzip,
// at most maxBytes of it: past that it stops with ErrTooLarge, having written maxBytes.
// The first request is retried like any GET; the download is not, since w may hold part of it.
// The per-request Timeout bounds the wait for the answer and then for each chunk, not the
// whole download.
func (c *Client) TechSupportLogs(ctx context.Context, edgeID string, w io.Writer, maxBytes int64) (int64, error) {
	if err := checkID("edge id", edgeID); err != nil {
		return 0, err
	}
	if maxBytes <= 0 {
		return 0, fmt.Errorf("tech support logs: size cap must be positive")
	}
	path := "/api/4.0/edges/" + edgeID + "/techsupportlogs"
	loc, err := c.redirectTarget(ctx, path)
	if err != nil {
		return 0, err
	}
	return c.download(ctx, loc, w, maxBytes)
}

// redirectTarget GETs path (with retries) and returns the Location of its 303.
func (c *Client) redirectTarget(ctx context.Context, path string) (*url.URL, error) {
	return withRetries(ctx, c, "GET "+path, func() (*url.URL, error) { return c.redirectOnce(ctx, path) })
}

// errNoRedirect is an answer other than a usable 303; it is not worth retrying.
var errNoRedirect = errors.New("no redirect to the bundle")

func (c *Client) redirectOnce(ctx context.Context, path string) (*url.URL, error) {
	resp, body, err := c.exchange(ctx, http.MethodGet, path, nil, nil, "application/xml")
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusSeeOther, http.StatusFound, http.StatusTemporaryRedirect:
	default:
		if resp.StatusCode/100 == 2 {
			return nil, &APIError{Manager: c.m.Name, Op: "GET " + path, Status: resp.StatusCode, Details: errNoRedirect.Error()}
		}
		return nil, c.statusErr("GET "+path, resp.StatusCode, body)
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoRedirect, err)
	}
	if loc.Scheme != c.base.Scheme || loc.Host != c.base.Host {
		return nil, fmt.Errorf("%w: Location %s is not on the Manager", errNoRedirect, loc.Redacted())
	}
	return loc, nil
}

func (c *Client) download(ctx context.Context, loc *url.URL, w io.Writer, maxBytes int64) (int64, error) {
	op := "GET " + loc.Path
	dctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watch := newIdleWatch(c.m.Timeout, func() { cancel(errAttemptTimeout) })
	defer watch.stop()

	req, err := http.NewRequestWithContext(dctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(c.m.User, c.m.Password)
	req.Header.Set("Accept", "application/octet-stream, application/x-gzip, */*")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, c.finalErr(op, c.classify(dctx, err), 1)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := readCapped(resp.Body, 1<<16)
		return 0, c.statusErr(op, resp.StatusCode, body)
	}
	br := bufio.NewReader(&touchReader{r: resp.Body, watch: watch})
	magic, err := br.Peek(2)
	if err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, c.finalErr(op, c.classify(dctx, err), 1)
		}
		return 0, c.wrap(op, &DecodeError{Doc: "gzip", Err: errors.New("the bundle is not gzip data")})
	}
	n, err := io.Copy(w, io.LimitReader(br, maxBytes))
	if err == nil && dctx.Err() != nil {
		// A cancelled body can read as a clean end; the bundle is cut short all the same.
		err = dctx.Err()
	}
	if err != nil {
		return n, c.finalErr(op, c.classify(dctx, err), 1)
	}
	if n == maxBytes {
		if _, err := br.ReadByte(); err == nil {
			return n, c.wrap(op, fmt.Errorf("bundle %w of %d bytes", ErrTooLarge, maxBytes))
		}
	}
	return n, nil
}

// idleWatch calls fire when it is not touched for d.
type idleWatch struct {
	mu sync.Mutex
	t  *time.Timer
	d  time.Duration
}

func newIdleWatch(d time.Duration, fire func()) *idleWatch {
	return &idleWatch{t: time.AfterFunc(d, fire), d: d}
}

func (w *idleWatch) touch() {
	w.mu.Lock()
	w.t.Reset(w.d)
	w.mu.Unlock()
}

func (w *idleWatch) stop() { w.t.Stop() }

// touchReader touches its watch on every read that returns data.
type touchReader struct {
	r     io.Reader
	watch *idleWatch
}

func (t *touchReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.watch.touch()
	}
	return n, err
}
