//go:build linux

// Package opencount counts how often a file is opened, through inotify, for tests that show a
// command or a diagnosis reads a file once.
package opencount

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"
)

// Watch starts counting the opens of path (an existing file) by any process; the function it
// returns reports the opens so far. inotify queues an event before open returns, so every open
// made before the call is counted.
func Watch(t testing.TB, path string) func() int {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	// Closes are watched too: inotify folds identical events in a row into one, and an open
	// between two closes is never identical to the one before.
	if _, err := syscall.InotifyAddWatch(fd, path, syscall.IN_OPEN|syscall.IN_CLOSE_WRITE|syscall.IN_CLOSE_NOWRITE); err != nil {
		t.Fatalf("inotify watch %s: %v", path, err)
	}
	opens := 0
	buf := make([]byte, 64*syscall.SizeofInotifyEvent)
	return func() int {
		t.Helper()
		for {
			n, err := syscall.Read(fd, buf)
			if errors.Is(err, syscall.EAGAIN) {
				return opens
			}
			if err != nil {
				t.Fatalf("inotify read: %v", err)
			}
			for b := buf[:n]; len(b) >= syscall.SizeofInotifyEvent; {
				mask := binary.NativeEndian.Uint32(b[4:])
				if mask&syscall.IN_OPEN != 0 {
					opens++
				}
				b = b[syscall.SizeofInotifyEvent+int(binary.NativeEndian.Uint32(b[12:])):]
			}
		}
	}
}
