// Package templates holds the built-in context capsule template. It is
// embedded so that a binary renders capsules without any file on disk, and
// `orchestrate capsule template` prints it for repositories to copy.
package templates

import _ "embed"

// CapsuleName is the name the built-in template reports in errors.
const CapsuleName = "capsule.md.tmpl"

// Capsule is the built-in capsule template (text/template).
//
//go:embed capsule.md.tmpl
var Capsule string
