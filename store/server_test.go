package store

import (
	"strings"
	"testing"
)

func TestRedactURLHidesThePassword(t *testing.T) {
	for _, u := range []string{
		"postgres://ann:s3cret@db.example:5432/team",
		"postgres://ann@db.example/team?password=s3cret&sslmode=require",
	} {
		if got := RedactURL(u); strings.Contains(got, "s3cret") || !strings.Contains(got, "db.example") {
			t.Errorf("RedactURL(%q) = %q", u, got)
		}
		if !URLHasPassword(u) {
			t.Errorf("URLHasPassword(%q) = false", u)
		}
	}
	if URLHasPassword("postgres://ann@db.example/team") {
		t.Error("a URL without a password reported one")
	}
}

func TestValidRepositoryID(t *testing.T) {
	for id, want := range map[string]bool{
		"0b9a83de8f130c58": true, "abcdefgh": true, "abcdefg": false, strings.Repeat("a", 41): false,
		"ABCDEFGH": false, "abc-defgh": false, "abc;drop": false, "": false,
	} {
		if got := ValidRepositoryID(id); got != want {
			t.Errorf("ValidRepositoryID(%q) = %v, want %v", id, got, want)
		}
	}
}
