// Package e2e tests orchestrate and oxygen as users run them: it builds both
// binaries once and drives them as separate processes, from testscript files
// in testdata/script and from Go tests for the races and queues that need
// many processes at once. It holds no production code.
package e2e
