package sqlite_test

import (
	"testing"

	"github.com/oxygen-tools/oxygen/store/storetest"
)

// TestConformance runs the one suite every store passes.
func TestConformance(t *testing.T) { storetest.Run(t, storetest.SQLite()) }
