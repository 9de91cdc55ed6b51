package edgesim_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Close stops every session an Edge runs: nothing may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
