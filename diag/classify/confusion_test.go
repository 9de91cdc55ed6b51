package classify

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"ipsecbot/diag"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's confusion matrix")

const (
	readmePath      = "../../README.md"
	matrixBegin     = "<!-- confusion-matrix:begin (go test ./diag/classify -run ConfusionMatrix -update-readme) -->"
	matrixEnd       = "<!-- confusion-matrix:end -->"
	evidenceAll     = "both logs + Edge capture"
	evidenceEdge    = "Edge log only"
	evidenceCapOnly = "Edge capture only"
)

// evidenceModes are the inputs the matrix is computed for, from the same fixture folder.
var evidenceModes = []string{evidenceAll, evidenceEdge, evidenceCapOnly}

func modeInput(dir, mode string) Input {
	edge := LogSource{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"}
	peer := LogSource{Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"}
	capture := CaptureSource{Path: filepath.Join(dir, "capture.pcap")}
	switch mode {
	case evidenceEdge:
		return Input{Logs: []LogSource{edge}}
	case evidenceCapOnly:
		return Input{Captures: []CaptureSource{capture}}
	}
	return Input{Logs: []LogSource{edge, peer}, Captures: []CaptureSource{capture}}
}

// The README's confusion matrix is what the classifier gives today on every fixture of both
// sets and both IKE versions, for each kind of evidence (regenerate with -update-readme).
func TestClassify_ConfusionMatrix(t *testing.T) {
	scenarios := loadScenarios(t)
	dirs := make([]string, 0, len(scenarios))
	for d := range scenarios {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", matrixBegin)
	for _, mode := range evidenceModes {
		got := map[diag.Cause]map[diag.Cause]int{}
		right := map[string][2]int{} // "alt IKEv1" -> right, total
		for _, d := range dirs {
			sc := scenarios[d]
			v, err := Classify(t.Context(), modeInput(d, mode))
			if err != nil {
				t.Fatal(err)
			}
			if got[sc.ExpectedLabel] == nil {
				got[sc.ExpectedLabel] = map[diag.Cause]int{}
			}
			got[sc.ExpectedLabel][v.Cause]++
			k := fmt.Sprintf("%s IKEv%d", filepath.Base(filepath.Dir(d)), sc.IKEVersion)
			r := right[k]
			if sc.accepts(v.Cause) {
				r[0]++
			}
			r[1]++
			right[k] = r
			if mode == evidenceAll && !sc.accepts(v.Cause) {
				t.Errorf("%s: %s, want %s", sc.Name, v.Cause, sc.ExpectedLabel)
			}
		}
		writeMatrix(&b, mode, got, right)
	}
	fmt.Fprintf(&b, "%s\n", matrixEnd)
	syncReadme(t, matrixBegin, matrixEnd+"\n", b.String(), *updateReadme,
		"the README's confusion matrix is stale; run go test ./diag/classify -run ConfusionMatrix -update-readme\n"+b.String())
}

// syncReadme checks that the README's text from begin through end is section (which carries
// both markers), and rewrites it when update is set.
func syncReadme(t *testing.T, begin, end, section string, update bool, stale string) {
	t.Helper()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(readme), begin), strings.Index(string(readme), end)
	if i < 0 || j < i {
		t.Fatalf("README has no %q ... %q markers", begin, end)
	}
	updated := string(readme[:i]) + section + string(readme[j+len(end):])
	if updated == string(readme) {
		return
	}
	if update {
		if err := os.WriteFile(readmePath, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error(stale)
}

// writeMatrix writes one evidence mode's matrix: a row per expected label, a column per label
// given, and the share right per fixture set and IKE version.
func writeMatrix(b *strings.Builder, mode string, got map[diag.Cause]map[diag.Cause]int, right map[string][2]int) {
	var cols []diag.Cause
	for _, c := range diag.Causes {
		for _, row := range got {
			if row[c] > 0 && !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		}
	}
	fmt.Fprintf(b, "\n**%s** (rows: the fixture's label; columns: the verdict)\n\n| expected \\\\ given |", mode)
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", c)
	}
	fmt.Fprintf(b, "\n|---|%s\n", strings.Repeat("---:|", len(cols)))
	for _, exp := range diag.Causes {
		row, ok := got[exp]
		if !ok {
			continue
		}
		fmt.Fprintf(b, "| %s |", exp)
		for _, c := range cols {
			switch n := row[c]; {
			case n == 0:
				b.WriteString(" |")
			case c == exp:
				fmt.Fprintf(b, " **%d** |", n)
			default:
				fmt.Fprintf(b, " %d |", n)
			}
		}
		b.WriteString("\n")
	}
	keys := make([]string, 0, len(right))
	for k := range right {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d/%d", k, right[k][0], right[k][1]))
	}
	fmt.Fprintf(b, "\nRight: %s.\n", strings.Join(parts, ", "))
}
