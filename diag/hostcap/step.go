package hostcap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"ipsecbot/diag/datapath"
)

// EdgeCapture is the Edge's part of the step: captures on its internal interface (point 2) and
// its uplink (point 3), on the Edge's one clock.
type EdgeCapture interface {
	Start(ctx context.Context) error
	Finish(ctx context.Context) (internal, uplink []byte, err error)
	Abort(ctx context.Context) error
}

// Plan is one run of the data-path step. A point whose part is nil is not captured.
type Plan struct {
	ESXi *Host  // VM 1's ESXi host: point 1
	VM   string // VM 1's name there
	NIC  int    // its vNIC (ethN)
	Edge EdgeCapture
	Far  *Host // the far side: point 4
	// PingFrom pings VM 1 while the captures run (host 2, usually Far); nil: the pings are the
	// operator's to send.
	PingFrom *Host
	Echoes   int            // 0: 4
	Input    datapath.Input // hosts and SPIs; ids 0 are learnt from the captures
	Dir      string         // point-N.pcap are written here; "": not written
}

// Outcome is what a run found.
type Outcome struct {
	Result *datapath.Result
	Files  []string // the captures written, relative to Dir
	Ping   string   // the ping's output
	Port   Port     // VM 1's switch port
}

// Run starts every capture, pings, finishes the captures and correlates them. A capture that
// fails to start stops the run (whatever started is stopped and removed); one that fails to
// finish leaves its point out, with a note.
func (p *Plan) Run(ctx context.Context) (out *Outcome, err error) {
	if err := p.Input.Check(); err != nil {
		return nil, err
	}
	out = &Outcome{}
	var atVM, atFar *Running
	edgeStarted := false
	defer func() {
		if err == nil {
			return
		}
		for _, r := range []*Running{atVM, atFar} {
			if r != nil {
				err = errors.Join(err, r.Abort(ctx))
			}
		}
		if edgeStarted {
			err = errors.Join(err, p.Edge.Abort(context.WithoutCancel(ctx)))
		}
	}()
	if p.ESXi != nil {
		if out.Port, err = p.ESXi.SwitchPort(ctx, p.VM, p.NIC); err != nil {
			return nil, err
		}
		if atVM, err = p.ESXi.StartPktcap(ctx, out.Port.Num); err != nil {
			return nil, err
		}
	}
	if p.Edge != nil {
		if err = p.Edge.Start(ctx); err != nil {
			return nil, fmt.Errorf("the Edge's captures: %w", err)
		}
		edgeStarted = true
	}
	if p.Far != nil {
		if atFar, err = p.Far.StartTcpdump(ctx); err != nil {
			return nil, err
		}
	}
	if p.PingFrom != nil {
		n := p.Echoes
		if n <= 0 {
			n = 4
		}
		if out.Ping, err = p.PingFrom.Ping(ctx, p.Input.VM1, n); err != nil {
			return nil, err
		}
	}
	// From here on every capture is finished (stopped, fetched, removed) one by one.
	var points [4][]byte
	var notes []string
	lost := func(point int, e error) { notes = append(notes, fmt.Sprintf("point %d not captured: %v", point, e)) }
	if atVM != nil {
		r := atVM
		atVM = nil
		if points[0], err = r.Finish(ctx); err != nil {
			lost(1, err)
		}
	}
	if edgeStarted {
		edgeStarted = false
		if points[1], points[2], err = p.Edge.Finish(ctx); err != nil {
			lost(2, err)
			lost(3, err)
			points[1], points[2] = nil, nil
		}
	}
	if atFar != nil {
		r := atFar
		atFar = nil
		if points[3], err = r.Finish(ctx); err != nil {
			lost(4, err)
		}
	}
	if err = ctx.Err(); err != nil {
		return nil, err
	}
	in := p.Input
	for i, data := range points {
		if data == nil {
			continue
		}
		name := fmt.Sprintf("point-%d.pcap", i+1)
		if p.Dir != "" {
			if err = os.WriteFile(filepath.Join(p.Dir, name), data, 0o640); err != nil {
				return nil, err
			}
			out.Files = append(out.Files, name)
		}
		in.Points[i] = datapath.Capture{Name: name, Data: bytes.NewReader(data)}
	}
	if out.Result, err = datapath.Correlate(in); err != nil {
		return nil, err
	}
	out.Result.Notes = append(notes, out.Result.Notes...)
	return out, nil
}
