//go:build !unix

package store

import (
	"errors"
	"os"
)

// lockFile: without flock no journal file can be told free of a live process, so none is
// ever adopted here.
func lockFile(f *os.File, wait bool) error {
	if wait {
		return nil
	}
	return errors.ErrUnsupported
}
