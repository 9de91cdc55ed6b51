package edge

import (
	"net"
	"sync"
)

// Listeners handed over to the SCP endpoint, by address. A process that picks the endpoint's
// port ahead (the lab writes it into the configuration) keeps the socket bound and hands it
// over, rather than freeing the port for a later bind that a busy machine may lose.
var handedOver struct {
	sync.Mutex
	byAddr map[string]net.Listener
}

// HandOver gives ln to the next NewSCPReceiver for ln's address.
func HandOver(ln net.Listener) {
	handedOver.Lock()
	defer handedOver.Unlock()
	if handedOver.byAddr == nil {
		handedOver.byAddr = map[string]net.Listener{}
	}
	handedOver.byAddr[ln.Addr().String()] = ln
}

// Withdraw takes back a listener HandOver gave and no endpoint took; it reports whether it
// was still there (the caller then closes it).
func Withdraw(ln net.Listener) bool {
	handedOver.Lock()
	defer handedOver.Unlock()
	addr := ln.Addr().String()
	if handedOver.byAddr[addr] != ln {
		return false
	}
	delete(handedOver.byAddr, addr)
	return true
}

// listenSCP returns the listener handed over for addr, else a new one bound to it.
func listenSCP(addr string) (net.Listener, error) {
	handedOver.Lock()
	ln, ok := handedOver.byAddr[addr]
	delete(handedOver.byAddr, addr)
	handedOver.Unlock()
	if ok {
		return ln, nil
	}
	return net.Listen("tcp", addr)
}
