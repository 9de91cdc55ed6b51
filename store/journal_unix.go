//go:build unix

package store

import (
	"os"
	"syscall"
)

// lockFile takes f's exclusive lock: waiting for it when wait, else failing at once when
// another open file holds it. The kernel releases it when its process dies, kill -9 included.
func lockFile(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	return syscall.Flock(int(f.Fd()), how)
}
