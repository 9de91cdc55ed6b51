package diag

import (
	"testing"
	"time"
)

func TestEvidence_Stamp(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		ev   Evidence
		want string
	}{
		{Evidence{Time: time.Date(2026, 11, 27, 4, 18, 32, 961e6, time.UTC), Site: "edge"}, "2026-11-27 04:18:32.961 UTC, edge"},
		{Evidence{Time: time.Date(2026, 3, 3, 10, 15, 1, 0, berlin), Site: "peer"}, "2026-03-03 10:15:01 CET, peer"},
		{Evidence{Site: "edge"}, "edge"},
		{Evidence{}, ""},
	} {
		if got := tc.ev.Stamp(); got != tc.want {
			t.Errorf("Stamp() = %q, want %q", got, tc.want)
		}
	}
}
