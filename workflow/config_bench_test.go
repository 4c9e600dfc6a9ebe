package workflow

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadConfig measures what every CLI call pays to read and validate
// the committed configuration (init's default file): the YAML parse, the
// glob and cron compilation and the overlap check. There is no cache to
// skip it; see LoadConfig for why.
func BenchmarkLoadConfig(b *testing.B) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, SubstrateDir), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ConfigFile), defaultConfigYAML, 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := LoadConfig(root)
		if err != nil {
			b.Fatal(err)
		}
		if len(c.Resources) != 8 {
			b.Fatalf("%d resources", len(c.Resources))
		}
	}
}
