package lab_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every simulator a test starts is stopped by Close: nothing may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
