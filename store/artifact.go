package store

import (
	"errors"
	"fmt"
)

// Artifact is a file collected for an incident (a pcap, a show output, a log, the report).
type Artifact struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"` // e.g. "pcap", "show", "log", "report"
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

type artifactRecord struct {
	header
	Artifact
}

// AddArtifact records a file of the incident. ErrNotFound if the incident does not exist.
func (db *DB) AddArtifact(id string, a Artifact) error {
	if a.Path == "" {
		return errors.New("add artifact: path is required")
	}
	if err := db.appendUnder(bucketArtifacts, id, &artifactRecord{current, a}); err != nil {
		return fmt.Errorf("add artifact: %w", err)
	}
	return nil
}

// Artifacts returns the incident's files in the order they were added.
func (db *DB) Artifacts(id string) ([]Artifact, error) {
	var out []Artifact
	err := db.listUnder(bucketArtifacts, id, func(v []byte) error {
		var r artifactRecord
		if err := decode(v, &r); err != nil {
			return err
		}
		out = append(out, r.Artifact)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	return out, nil
}
