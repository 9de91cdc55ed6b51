package store

import (
	"errors"
	"strings"
	"syscall"
)

// ErrFull: the store's file could not grow (the disk full, a quota or a file size limit).
// What the write was to record is not recorded; the file stays as it was.
var ErrFull = errors.New("the store cannot grow (disk full or file size limit)")

// noRoom marks err ErrFull when it is a failure to grow the file. The errno stays matchable
// (errors.Is(err, syscall.ENOSPC)): bbolt formats its resize errors with %s, so it is
// recognized by its text as well.
func noRoom(err error) error {
	if err == nil || errors.Is(err, ErrFull) {
		return err
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EFBIG, syscall.EDQUOT} {
		if errors.Is(err, errno) || strings.Contains(err.Error(), errno.Error()) {
			return fullError{errno: errno, err: err}
		}
	}
	return err
}

type fullError struct {
	errno syscall.Errno
	err   error
}

func (e fullError) Error() string   { return ErrFull.Error() + ": " + e.err.Error() }
func (e fullError) Unwrap() []error { return []error{ErrFull, e.errno, e.err} }
