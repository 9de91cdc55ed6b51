package diag

import "time"

// TimeLayout is how the bot prints a moment for people: date, time and zone, so that a line
// read at 3 a.m. (or pasted into another team's channel) cannot be taken for another day or zone.
const TimeLayout = "2006-01-02 15:04:05 MST"

// FormatTime prints t in UTC with TimeLayout ("2026-12-01 21:10:26 UTC"); the zero time is "-".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(TimeLayout)
}

// FormatTimeMicro is FormatTime to the microsecond, for captured frames
// ("2026-12-01 21:10:26.123456 UTC").
func FormatTimeMicro(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000 MST")
}
