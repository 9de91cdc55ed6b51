package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// BackupPath serves a consistent copy of the store to loopback clients: `bot store backup`
// uses it while the running bot holds the file.
const BackupPath = "/store/backup"

// backupWriteTime bounds one backup's transfer (the server's usual write timeout is shorter).
const backupWriteTime = 10 * time.Minute

func (s *Server) serveBackup(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(backupWriteTime))
	w.Header().Set("Content-Type", "application/octet-stream")
	n, err := s.db.Backup(w)
	if err != nil {
		// The status is sent; the client sees the stream cut short and keeps nothing.
		s.log.Error("store backup not sent", "bytes", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	s.log.Info("store backup sent", "bytes", n, "remote", r.RemoteAddr)
}

// Backup copies the running bot's store into w and returns the bytes copied. The copy is
// whole or an error: a stream cut short is reported, never taken for a smaller store.
func (c *IncidentsClient) Backup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+BackupPath, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return io.Copy(w, resp.Body)
}
