package store

// IncidentDetail is one incident with everything recorded under it: what `bot incidents show`
// prints and GET /incidents/{id} serves. Timeline and Artifacts are never nil, so they encode
// as [] rather than null.
type IncidentDetail struct {
	Incident  Incident   `json:"incident"`
	Timeline  []Event    `json:"timeline"`
	Artifacts []Artifact `json:"artifacts"`
}

// IncidentDetail reads an incident with its timeline and artifacts; ErrNotFound if there is
// none with that ID.
func (db *DB) IncidentDetail(id string) (IncidentDetail, error) {
	inc, err := db.Incident(id)
	if err != nil {
		return IncidentDetail{}, err
	}
	d := IncidentDetail{Incident: inc, Timeline: []Event{}, Artifacts: []Artifact{}}
	if ev, err := db.Timeline(inc.ID); err != nil {
		return IncidentDetail{}, err
	} else if ev != nil {
		d.Timeline = ev
	}
	if as, err := db.Artifacts(inc.ID); err != nil {
		return IncidentDetail{}, err
	} else if as != nil {
		d.Artifacts = as
	}
	return d, nil
}
