package postgres_test

import (
	"os"
	"testing"

	"github.com/oxygen-tools/oxygen/store/storetest"
)

// TestConformance runs the one suite every store passes, on a real server.
// Each repository gets its own schema, dropped when its test ends.
func TestConformance(t *testing.T) {
	url := os.Getenv("OXYGEN_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("OXYGEN_TEST_POSTGRES_URL not set: the conformance suite needs a PostgreSQL server")
	}
	storetest.Run(t, storetest.Postgres(url))
}
