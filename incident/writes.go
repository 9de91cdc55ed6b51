package incident

// The order of the store writes. Background writes (timeline entries, status changes,
// artifacts, and through Background the audit log) share l.order; opening an incident, which
// an acknowledgement to Slack waits for, takes it alone. A waiting writer of a sync.RWMutex
// holds back new readers, so an opening waits for the writes in flight (each a commit with an
// fsync) but not for the whole queue that built up behind them.

func (l *Lifecycle) urgent(write func() error) error {
	l.order.Lock()
	defer l.order.Unlock()
	return write()
}

func (l *Lifecycle) background(write func() error) error {
	l.order.RLock()
	defer l.order.RUnlock()
	return write()
}

// Background runs a store write that is not an incident's (an audit record) in the same
// order as the incidents' background writes, so an opening goes ahead of it too.
func (l *Lifecycle) Background(write func()) {
	_ = l.background(func() error { write(); return nil })
}
