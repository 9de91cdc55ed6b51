package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

// Ensure a failure to grow the store's file is ErrFull with its errno still matchable, also
// when bbolt passed the errno on as text only, and nothing else is.
func TestNoRoom(t *testing.T) {
	for _, tc := range []struct {
		err   error
		errno syscall.Errno // 0: not a full store
	}{
		{errors.New("file resize error: truncate /var/lib/bot/bot.db: file too large"), syscall.EFBIG},
		{fmt.Errorf("create incident: %w", &os.PathError{Op: "write", Path: "/var/lib/bot/bot.db", Err: syscall.ENOSPC}), syscall.ENOSPC},
		{&os.PathError{Op: "write", Path: "/var/lib/bot/bot.db", Err: syscall.EDQUOT}, syscall.EDQUOT},
		{&os.PathError{Op: "write", Path: "/var/lib/bot/bot.db", Err: syscall.EIO}, 0},
		{ErrNotFound, 0},
	} {
		err := noRoom(tc.err)
		if full := errors.Is(err, ErrFull); full != (tc.errno != 0) {
			t.Errorf("noRoom(%v): ErrFull %v", tc.err, full)
			continue
		}
		if tc.errno != 0 && (!errors.Is(err, tc.errno) || err.Error() != ErrFull.Error()+": "+tc.err.Error()) {
			t.Errorf("noRoom(%v) = %v, does not match %v", tc.err, err, tc.errno)
		}
		if tc.errno == 0 && err != tc.err {
			t.Errorf("noRoom(%v) = %v, want it unchanged", tc.err, err)
		}
		if again := noRoom(err); again != err {
			t.Errorf("noRoom twice wrapped %v again", err)
		}
	}
	if noRoom(nil) != nil {
		t.Error("noRoom(nil) is not nil")
	}
}
