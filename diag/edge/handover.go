package edge

import (
	"fmt"
	"net"
	"os"
	"strconv"
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

// InheritedSCPEnv names the environment variable through which a parent process passes this
// one the SCP endpoint's socket, already bound, as an open file descriptor (its number): the
// parent keeps the port from the moment it chose it, so no later bind can lose it to another
// process (a supervisor holding the port across restarts, or a test's lab).
const InheritedSCPEnv = "IPSECBOT_SCP_LISTEN_FD"

// InheritSCPListener hands over the socket named by InheritedSCPEnv, if set, to the SCP endpoint
// for its address. It returns the address ("" when the variable is not set).
func InheritSCPListener() (string, error) {
	v := os.Getenv(InheritedSCPEnv)
	if v == "" {
		return "", nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return "", fmt.Errorf("%s=%q: not an inherited file descriptor", InheritedSCPEnv, v)
	}
	f := os.NewFile(uintptr(fd), "scp-listener")
	defer f.Close() // FileListener made its own copy
	ln, err := net.FileListener(f)
	if err != nil {
		return "", fmt.Errorf("%s=%d: %w", InheritedSCPEnv, fd, err)
	}
	HandOver(ln)
	return ln.Addr().String(), nil
}
