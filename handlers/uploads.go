package handlers

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// maxUploadBytes: a bigger file stays on disk only (Slack takes up to 1 GB; a thread is no
// place for that).
const maxUploadBytes = 100 << 20

// reportFile is one file to upload; comment goes with it (how to open a capture).
type reportFile struct{ name, path, comment string }

// uploadFiles posts report.md and the captures into the run's thread, each on its own, and
// the other collected outputs (show commands, API documents, logs) as one zip, so the thread
// gets three entries, not twenty. What cannot be uploaded is said in the thread and the
// timeline; the files stay with the incident either way.
func (s *Server) uploadFiles(ctx context.Context, r *run, rep *diag.Report) {
	files, outputs := s.reportFiles(r, rep)
	if len(outputs) > 0 {
		zipPath, err := zipOutputs(outputs)
		if err == nil {
			defer os.Remove(zipPath)
			files = append(files, reportFile{name: r.incident + "-outputs.zip", path: zipPath})
		} else {
			s.log.Warn("outputs not zipped; uploading them one by one", "incident", r.incident, "err", err)
			files = append(files, outputs...)
		}
	}
	var failed []string
	for _, f := range files {
		if err := s.api.upload(ctx, r.channel, r.thread(), f.path, f.name, f.name, f.comment); err != nil {
			s.log.Error("file not uploaded", "incident", r.incident, "file", f.name, "err", err)
			failed = append(failed, f.name)
		}
	}
	if len(failed) > 0 {
		msg := fmt.Sprintf(":warning: Could not upload %s; the files are kept with %s on the bot's host.", strings.Join(failed, ", "), r.incident)
		s.note(r.incident, store.EventSlack, msg, incident.Bot)
		if _, err := s.api.post(ctx, r.channel, r.thread(), msg, nil); err != nil {
			s.log.Error("upload failure note not posted", "incident", r.incident, "err", err)
		}
	}
}

// reportFiles lists the run's files: report.md and the captures first, then the other
// outputs. report.json is left out (report.md says the same for people). (The engine records
// them all as the incident's artifacts.)
func (s *Server) reportFiles(r *run, rep *diag.Report) (first, outputs []reportFile) {
	seen := map[string]bool{"report.json": true}
	add := func(name, kind string) {
		path := filepath.Join(r.outDir, name)
		if seen[name] {
			return
		}
		seen[name] = true
		if st, err := os.Stat(path); err != nil || st.Size() == 0 || st.Size() > maxUploadBytes {
			return
		}
		f := reportFile{name: filepath.ToSlash(name), path: path}
		if kind == "report" || kind == "pcap" || kind == "png" { // png: the data path's ladder
			// Slack file names have no directories.
			f.name = strings.ReplaceAll(f.name, "/", "-")
			if kind == "pcap" {
				f.comment = engine.PcapHint(f.name)
			}
			first = append(first, f)
		} else {
			outputs = append(outputs, f)
		}
	}
	add("report.md", "report")
	for _, a := range rep.Artifacts {
		add(a.Name, a.Kind)
	}
	return first, outputs
}

// zipOutputs writes files into a temporary zip (names as in the incident's directory) and
// returns its path; the caller removes it.
func zipOutputs(files []reportFile) (path string, err error) {
	tmp, err := os.CreateTemp("", "ipsecbot-outputs-*.zip")
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	zw := zip.NewWriter(tmp)
	for _, f := range files {
		if err := addToZip(zw, f); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return tmp.Name(), nil
}

func addToZip(zw *zip.Writer, f reportFile) error {
	in, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := zw.Create(f.name)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, in)
	return err
}
