package diag

import (
	"testing"
	"time"
)

// Ensure printed times carry the date and the zone, in UTC whatever zone t is in.
func TestFormatTime(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2026, 12, 1, 22, 10, 26, 123456789, paris)
	if got, want := FormatTime(at), "2026-12-01 21:10:26 UTC"; got != want {
		t.Errorf("FormatTime = %q, want %q", got, want)
	}
	if got, want := FormatTimeMicro(at), "2026-12-01 21:10:26.123456 UTC"; got != want {
		t.Errorf("FormatTimeMicro = %q, want %q", got, want)
	}
	if FormatTime(time.Time{}) != "-" || FormatTimeMicro(time.Time{}) != "-" {
		t.Error("the zero time is not -")
	}
}
