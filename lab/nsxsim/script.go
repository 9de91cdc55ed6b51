package nsxsim

import (
	"context"
	"sync"

	"ipsecbot/diag/nsx"
)

// Script is an edge's IPsec statistics as a fixed sequence of documents: each read takes the
// next one, and the last is served again once they run out. It reads like an *nsx.Client
// (the watcher's source) for tests that want each sweep's document exactly.
type Script struct {
	mu   sync.Mutex
	docs []*nsx.Statistics
}

// NewScript serves docs in order (at least one).
func NewScript(docs ...*nsx.Statistics) *Script { return &Script{docs: docs} }

// Then replaces the documents still to come.
func (s *Script) Then(docs ...*nsx.Statistics) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs = docs
}

// IPsecStatistics serves the next document.
func (s *Script) IPsecStatistics(context.Context, string) (*nsx.Statistics, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[0]
	if len(s.docs) > 1 {
		s.docs = s.docs[1:]
	}
	return d, nil, nil
}
