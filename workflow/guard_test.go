package workflow

import (
	"reflect"
	"testing"
)

// TestParseRaw: `git diff --raw -z` output becomes changes with full object
// ids; a removal has none, and a rename changes both its paths.
func TestParseRaw(t *testing.T) {
	const a, b, zero = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222", "0000000000000000000000000000000000000000"
	out := ":100644 100644 " + a + " " + b + " M\x00svc/x.yaml\x00" +
		":100644 000000 " + a + " " + zero + " D\x00gone.txt\x00" +
		":100644 100644 " + a + " " + b + " R087\x00old name.md\x00new name.md\x00" +
		":100644 100644 " + a + " " + a + " C100\x00src.md\x00copy.md\x00" +
		":000000 100644 " + zero + " " + b + " A\x00added\x00"
	want := []Change{{"svc/x.yaml", b}, {"gone.txt", ""}, {"old name.md", ""}, {"new name.md", b}, {"copy.md", a}, {"added", b}}
	if got := parseRaw([]byte(out)); !reflect.DeepEqual(got, want) {
		t.Fatalf("parseRaw:\n got %v\nwant %v", got, want)
	}
}

// TestFromGit: git's top-relative paths become oxygen-root-relative; paths
// outside the root are not covered by any resource.
func TestFromGit(t *testing.T) {
	cases := []struct {
		prefix, path, want string
		ok                 bool
	}{
		{"", "tools/schema.yaml", "tools/schema.yaml", true},
		{"svc/", "svc/tools/schema.yaml", "tools/schema.yaml", true},
		{"svc/", "tools/schema.yaml", "", false},
		{"svc/", "svcx/tools/schema.yaml", "", false},
		{"a/b/", "a/b/c", "c", true},
	}
	for _, c := range cases {
		got, ok := fromGit(c.prefix, c.path)
		if got != c.want || ok != c.ok {
			t.Errorf("fromGit(%q, %q) = %q, %v; want %q, %v", c.prefix, c.path, got, ok, c.want, c.ok)
		}
	}
}

// TestParseLeaseTrailer: only "RESOURCE TOKEN OWNER" with a positive token
// is a trailer; anything else names no lease.
func TestParseLeaseTrailer(t *testing.T) {
	if got, ok := parseLeaseTrailer(" schema 1795996087273001  scribe "); !ok || got != (LeaseTrailer{"schema", 1795996087273001, "scribe"}) {
		t.Fatalf("parse: %v %v", got, ok)
	}
	if got := (LeaseTrailer{"schema", 7, "ada"}).String(); got != "Oxygen-Lease: schema 7 ada" {
		t.Fatalf("String: %q", got)
	}
	for _, bad := range []string{"", "schema", "schema soon", "schema 0 ada", "schema -3 ada", "schema 7 ada extra"} {
		if _, ok := parseLeaseTrailer(bad); ok {
			t.Errorf("%q parsed as a trailer", bad)
		}
	}
}
