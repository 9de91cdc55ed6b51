package engine_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
)

// refPattern is what an evidence reference reads (docs/design.md): a file relative to the report's
// directory (a member of an archive after "!") with the line (text), the frame (pcap) or the
// element path (XML) that proves the point.
var refPattern = regexp.MustCompile(`^([^:#!]+)(![^:#]+)?(?::([0-9]+)|#([0-9]+)|:([A-Za-z][A-Za-z0-9/\[\]]*))$`)

// checkRef fails unless ref names a line, frame or element of a file in dir.
func checkRef(t *testing.T, dir, where, ref string) {
	t.Helper()
	m := refPattern.FindStringSubmatch(ref)
	if m == nil || filepath.IsAbs(m[1]) || (m[5] != "" && !strings.HasSuffix(m[1], ".xml")) {
		t.Errorf("%s: ref %q names no line, frame or element of a file in the report's directory", where, ref)
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m[1])))
	if err != nil {
		t.Errorf("%s: ref %q: %v", where, ref, err)
		return
	}
	if m[3] != "" && m[2] == "" {
		n, _ := strconv.Atoi(m[3])
		if lines := bytes.Count(data, []byte("\n")) + 1; n < 1 || n > lines {
			t.Errorf("%s: ref %q: the file has %d lines", where, ref, lines)
		}
	}
}

// Ensure every evidence reference of a report points at a line or frame of a file in its
// directory (the interop comparison is written as interop.txt, the ping's decisive line is
// cited), remediation cites files relative to that directory, and api/peerconfig.json keeps
// durations as the API wrote them, not in nanoseconds.
func TestDiagnose_RefsPointIntoTheReportDir(t *testing.T) {
	for _, sc := range []string{"auth_failed", "mtu_fragmentation", "invalid_id", "traffic_selector_mismatch"} {
		t.Run(sc, func(t *testing.T) {
			l := startLab(t, sc, lab.Faults{})
			rep, out := diagnose(t, l, nil, engine.Options{})
			check := func(where string, ev []diag.Evidence) {
				for _, e := range ev {
					checkRef(t, out, where, e.Ref)
				}
			}
			check("evidence", rep.Evidence)
			for _, f := range rep.AlsoSeen {
				check("also_seen "+string(f.Cause), f.Evidence)
			}
			for _, s := range rep.Steps {
				check(s.Name, s.Evidence)
			}
			for _, r := range rep.Remediation {
				if strings.Contains(r, out) {
					t.Errorf("remediation carries the absolute directory: %q", r)
				}
			}
			if pc, err := os.ReadFile(filepath.Join(out, "api", "peerconfig.json")); err == nil {
				if regexp.MustCompile(`[0-9]{10,}`).Match(pc) {
					t.Errorf("api/peerconfig.json has nanosecond durations:\n%s", pc)
				}
			}
		})
	}
}
