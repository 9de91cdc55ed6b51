package fault_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"ipsecbot/diag/fault"
)

// Ensure At keeps an error's text and kinds and adds only its device.
func TestAtKeepsTextAndKinds(t *testing.T) {
	inner := fmt.Errorf("edge-01: show service ipsec: line 3: %w", fault.ErrMalformed)
	err := fault.At(fault.Device{Role: fault.RoleEdge, Name: "edge-01"}, inner)
	if err.Error() != inner.Error() || !errors.Is(err, fault.ErrMalformed) {
		t.Fatalf("got %q", err)
	}
	if d, ok := fault.DeviceOf(fmt.Errorf("step 4: %w", err)); !ok || d.Name != "edge-01" {
		t.Errorf("device %+v through a wrap", d)
	}
	if fault.At(fault.Device{}, nil) != nil {
		t.Error("At(nil) is not nil")
	}
}

// Ensure a real refused connection counts as unreachable and a real timeout does not.
func TestUnreachableFromRealDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = net.Dial("tcp", addr)
	if err == nil || !fault.Unreachable(err) || fault.Timeout(err) {
		t.Fatalf("refused dial %v: unreachable %v", err, fault.Unreachable(err))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 0)
	defer cancel()
	_, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err == nil || fault.Unreachable(err) || !fault.Timeout(err) {
		t.Fatalf("expired dial %v: unreachable %v, timeout %v", err, fault.Unreachable(err), fault.Timeout(err))
	}
}

// Ensure every kind gets its own sentence naming the device, never the error's text.
func TestSentence(t *testing.T) {
	edge := fault.Device{Role: fault.RoleEdge, Name: "edge-01"}
	mgr := fault.Device{Role: fault.RoleManager, Name: "nsx-a"}
	secret := "internal detail 10.0.0.7"
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&fault.Error{Kind: fault.ErrAuth, At: edge, What: secret}, "The Edge refused the SSH login (check the user and password for edge-01)."},
		{&fault.Error{Kind: fault.ErrAuth, At: mgr, What: secret}, "The NSX Manager nsx-a refused the bot's login or request"},
		{&fault.Error{Kind: fault.ErrUnreachable, At: edge, What: secret}, "could not connect to the Edge edge-01"},
		{&fault.Error{Kind: fault.ErrTimeout, At: mgr, What: secret}, "The NSX Manager nsx-a did not answer in time"},
		{fault.At(edge, fmt.Errorf("%s: %w", secret, fault.ErrMalformed)), "The Edge edge-01 answered in a form the bot cannot read."},
		{fault.At(mgr, fmt.Errorf("%s: %w", secret, fault.ErrNotFound)), "The NSX Manager nsx-a does not have what was asked for"},
		{fault.At(edge, fmt.Errorf("%s: %w", secret, fault.ErrHostKey)), "known_hosts entry for edge-01"},
		{fmt.Errorf("%s: %w", secret, context.Canceled), "cancelled"},
		{fault.At(edge, errors.New(secret)), "Something failed while working with the Edge edge-01."},
		{errors.New(secret), "An internal error stopped the work."},
		{fmt.Errorf("write report: %w", &os.PathError{Op: "write", Path: "/var/lib/bot/x", Err: syscall.ENOSPC}), "The bot's disk is full"},
		{fault.At(edge, &os.PathError{Op: "write", Path: "/var/lib/bot/capture.pcap", Err: syscall.EFBIG}), "The bot's disk is full"},
	} {
		got := fault.Sentence(tc.err)
		if !strings.Contains(got, tc.want) || strings.Contains(got, secret) || !strings.HasSuffix(got, "The details are in the bot's log.") {
			t.Errorf("Sentence(%v) = %q, want it to contain %q", tc.err, got, tc.want)
		}
	}
	if fault.Sentence(nil) != "" {
		t.Error("Sentence(nil) is not empty")
	}
}
