package store

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// Ensure IncidentDetail gathers an incident's timeline and artifacts in order, encodes empty
// lists as [], and reports a missing incident as ErrNotFound.
func TestStore_IncidentDetail(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "bot.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	first, err := db.CreateIncident(Incident{Edge: "edge-01"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.CreateIncident(Incident{Edge: "edge-02"})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"diagnosis requested", "capture started"} {
		if err := db.AppendEvent(first.ID, Event{Kind: EventStatus, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddArtifact(first.ID, Artifact{Path: "INC-1/capture.pcap", Kind: "pcap", Size: 10}); err != nil {
		t.Fatal(err)
	}

	d, err := db.IncidentDetail("inc-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Incident.ID != first.ID || len(d.Timeline) != 2 || d.Timeline[1].Text != "capture started" ||
		len(d.Artifacts) != 1 || d.Artifacts[0].Path != "INC-1/capture.pcap" {
		t.Errorf("detail of %s = %+v", first.ID, d)
	}

	d, err = db.IncidentDetail(second.ID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"timeline":[]`) || !strings.Contains(string(out), `"artifacts":[]`) {
		t.Errorf("empty lists do not encode as []: %s", out)
	}

	if _, err := db.IncidentDetail("INC-9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing incident: %v, want ErrNotFound", err)
	}
}
