package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ipsecbot/diag"
)

// WriteReportFiles writes report.json (the `analyze --json` shape plus steps and artifacts)
// and report.md (for people) into dir, each atomically.
func WriteReportFiles(dir string, r *diag.Report) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "report.json"), append(js, '\n')); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "report.md"), []byte(RenderMarkdown(r)))
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// RenderMarkdown renders a report for people: the verdict, its evidence and remediation, the
// steps with their status and duration, what is missing, and the artifacts.
func RenderMarkdown(r *diag.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# IPsec diagnosis: %s", r.Edge)
	if r.Peer != "" {
		fmt.Fprintf(&b, " ↔ %s", r.Peer)
	}
	b.WriteString("\n\n")
	if r.Incident != "" {
		fmt.Fprintf(&b, "Incident %s. ", r.Incident)
	}
	fmt.Fprintf(&b, "Started %s, finished %s (%s).\n\n", diag.FormatTime(r.Started), diag.FormatTime(r.Finished),
		r.Finished.Sub(r.Started).Round(100*time.Millisecond))
	if r.Interrupted != "" {
		fmt.Fprintf(&b, "**This diagnosis was %s.**\n\n", mdLine(r.Interrupted))
	}
	fmt.Fprintf(&b, "## Cause: `%s`\n\n", r.Cause)
	fmt.Fprintf(&b, "%s\n\n", mdLine(r.Summary))
	fmt.Fprintf(&b, "Confidence %.2f", r.Confidence)
	if r.IKEVersion > 0 {
		fmt.Fprintf(&b, ", IKEv%d", r.IKEVersion)
	}
	b.WriteString(".\n\n")
	if len(r.Evidence) > 0 {
		b.WriteString("### Evidence\n\n")
		for _, e := range r.Evidence {
			fmt.Fprintf(&b, "- **%s** `%s`%s: %s\n", e.Source, e.Ref, e.StampNote(), mdLine(e.Text))
		}
		b.WriteString("\n")
	}
	if len(r.Remediation) > 0 {
		b.WriteString("### What to do\n\n")
		for _, s := range r.Remediation {
			fmt.Fprintf(&b, "- %s\n", mdLine(s))
		}
		b.WriteString("\n")
	}
	if len(r.AlsoSeen) > 0 {
		b.WriteString("### Also seen\n\n")
		for _, f := range r.AlsoSeen {
			fmt.Fprintf(&b, "- `%s` (confidence %.2f)", f.Cause, f.Confidence)
			if len(f.Evidence) > 0 {
				fmt.Fprintf(&b, ": `%s` %s", f.Evidence[0].Ref, mdLine(f.Evidence[0].Text))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	if dp := r.DataPath; dp != nil {
		b.WriteString("## Data path (step 8)\n\n")
		if dp.Stop != 0 {
			fmt.Fprintf(&b, "The %s ping's %s stopped at point %d: `%s`.\n\n", dp.Direction, dp.Leg, dp.Stop, dp.Verdict)
		}
		fmt.Fprintf(&b, "```\n%s```\n\n", dp.Table)
		if dp.Ladder != "" {
			fmt.Fprintf(&b, "![ladder](%s)\n\n", dp.Ladder)
		}
		if len(dp.Captures) > 0 {
			fmt.Fprintf(&b, "Captures: %s.\n\n", strings.Join(dp.Captures, ", "))
		}
	}
	if len(r.RuledOut) > 0 {
		b.WriteString("### Ruled out\n\n")
		for _, ro := range r.RuledOut {
			fmt.Fprintf(&b, "- `%s`: %s (`%s`)\n", ro.Cause, mdLine(ro.Why), ro.Ref)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Procedure\n\n| # | step | status | time | result |\n|---|---|---|---|---|\n")
	for i, s := range r.Steps {
		res := s.Summary
		if s.Error != "" {
			res = strings.TrimSpace(res + " " + s.Error)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %.1fs | %s |\n", i+1, s.Title, s.Status, s.DurationS, mdCell(res))
	}
	b.WriteString("\n")
	if len(r.Missing) > 0 {
		b.WriteString("## Not collected\n\n")
		for _, m := range r.Missing {
			fmt.Fprintf(&b, "- %s\n", mdLine(m))
		}
		b.WriteString("\n")
	}
	if len(r.Artifacts) > 0 {
		b.WriteString("## Artifacts\n\n| file | kind | bytes | sha256 |\n|---|---|---|---|\n")
		for _, a := range r.Artifacts {
			fmt.Fprintf(&b, "| %s | %s | %d | `%s` |\n", a.Name, a.Kind, a.Size, a.SHA256)
		}
		b.WriteString("\n")
		for _, a := range r.Artifacts {
			if a.Kind == "pcap" {
				fmt.Fprintf(&b, "%s\n\n", PcapHint(a.Name))
			}
		}
	}
	s := r.Scanned
	fmt.Fprintf(&b, "Read %d log lines (%d matched), %d packets (%d IKE messages).\n", s.LogLines, s.MatchedLines, s.Packets, s.IKEMessages)
	return b.String()
}

func mdLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func mdCell(s string) string { return strings.ReplaceAll(mdLine(s), "|", "\\|") }

// WriteVerdict prints the verdict as it would be posted: cause, confidence, summary, evidence
// lines with their references, remediation, what is missing, and the artifacts.
func WriteVerdict(w io.Writer, r *diag.Report, dir string) {
	fmt.Fprintf(w, "\nCause: %s (confidence %.2f", r.Cause, r.Confidence)
	if r.IKEVersion > 0 {
		fmt.Fprintf(w, ", IKEv%d", r.IKEVersion)
	}
	fmt.Fprintf(w, ")\n%s\n", r.Summary)
	if r.Interrupted != "" {
		fmt.Fprintf(w, "This diagnosis was %s.\n", r.Interrupted)
	}
	if len(r.Evidence) > 0 {
		fmt.Fprintln(w, "\nEvidence:")
		for _, e := range r.Evidence {
			fmt.Fprintf(w, "  [%s] %s%s  %s\n", e.Source, e.Ref, e.StampNote(), oneLine(e.Text, 160))
		}
	}
	if len(r.Remediation) > 0 {
		fmt.Fprintln(w, "\nWhat to do:")
		for _, s := range r.Remediation {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	if len(r.AlsoSeen) > 0 {
		fmt.Fprintln(w, "\nAlso seen:")
		for _, f := range r.AlsoSeen {
			fmt.Fprintf(w, "  - %s (%.2f)\n", f.Cause, f.Confidence)
		}
	}
	if dp := r.DataPath; dp != nil {
		fmt.Fprintf(w, "\nData path (step 8):\n%s", dp.Table)
	}
	if len(r.Missing) > 0 {
		fmt.Fprintln(w, "\nNot collected:")
		for _, m := range r.Missing {
			fmt.Fprintf(w, "  - %s\n", oneLine(m, 200))
		}
	}
	if dir != "" {
		fmt.Fprintf(w, "\nReport: %s, report.md\n", filepath.Join(dir, "report.json"))
	}
	if len(r.Artifacts) > 0 {
		fmt.Fprintf(w, "\nArtifacts in %s:\n", dir)
		for _, a := range r.Artifacts {
			fmt.Fprintf(w, "  %-40s %9d  sha256:%s\n", a.Name, a.Size, shortHash(a.SHA256))
		}
		for _, a := range r.Artifacts {
			if a.Kind == "pcap" {
				fmt.Fprintf(w, "%s\n", PcapHint(filepath.Join(dir, a.Name)))
			}
		}
	}
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// PcapHint is the line that tells how to open a capture the bot wrote: whoever reads the
// verdict at night need not know the tools.
func PcapHint(path string) string {
	return fmt.Sprintf("Open %s with Wireshark, or `tshark -r %s -Y isakmp`, or `bot pcap summary %s`.", path, path, path)
}
