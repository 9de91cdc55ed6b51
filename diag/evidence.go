package diag

import "strings"

// Stamp says when and at which site a piece of evidence was said, for a reader comparing both
// sides: "2026-11-27 04:18:32.961 UTC, edge". Parts that are unknown are left out; the time
// keeps its own zone so a log read in the Edge's zone is not mistaken for UTC.
func (e Evidence) Stamp() string {
	var parts []string
	if !e.Time.IsZero() {
		layout := TimeLayout
		if e.Time.Nanosecond() != 0 {
			layout = "2006-01-02 15:04:05.000 MST"
		}
		parts = append(parts, e.Time.Format(layout))
	}
	if e.Site != "" {
		parts = append(parts, e.Site)
	}
	return strings.Join(parts, ", ")
}

// StampNote is Stamp in parentheses after a space, or nothing when Stamp is empty: what
// renderers put after an evidence reference.
func (e Evidence) StampNote() string {
	if st := e.Stamp(); st != "" {
		return " (" + st + ")"
	}
	return ""
}
