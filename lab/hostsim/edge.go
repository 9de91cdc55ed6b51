package hostsim

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"ipsecbot/diag/datapath/scene"
)

// EdgePoints is the lab's stand-in for the Edge's part of the data-path step: its internal and
// uplink captures (points 2 and 3) are the scene's. It keeps the same discipline as a real
// capture: Finish or Abort only what was started, once.
type EdgePoints struct {
	Scene scene.Scene

	mu      sync.Mutex
	running bool
	// Started and Stopped count the captures started and ended (finished or aborted).
	Started, Stopped int
}

func (e *EdgePoints) Start(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running {
		return errors.New("the Edge's captures are already running")
	}
	e.running, e.Started = true, e.Started+1
	return nil
}

func (e *EdgePoints) Finish(context.Context) (internal, uplink []byte, err error) {
	if err := e.stop(); err != nil {
		return nil, nil, err
	}
	var in, up bytes.Buffer
	if err := e.Scene.WritePoint(2, &in); err != nil {
		return nil, nil, err
	}
	if err := e.Scene.WritePoint(3, &up); err != nil {
		return nil, nil, err
	}
	return in.Bytes(), up.Bytes(), nil
}

func (e *EdgePoints) Abort(context.Context) error { return e.stop() }

func (e *EdgePoints) stop() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running {
		return errors.New("the Edge's captures are not running")
	}
	e.running, e.Stopped = false, e.Stopped+1
	return nil
}
