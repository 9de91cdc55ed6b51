package slacktestx

// ClearFaults drops the failures queued by Fail and not yet served, and returns how many
// there were: a chaos run ends its faults before it checks the end state.
func (s *Server) ClearFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for method, queued := range s.faults {
		n += len(queued)
		delete(s.faults, method)
	}
	return n
}
