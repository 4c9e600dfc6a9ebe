package main

import (
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/workflow"
)

func TestWaitLine(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	holder := &workflow.Lease{Owner: "ada", Domain: "builder", Token: 7, ExpiresAt: workflow.Time{Time: now.Add(12*time.Minute + 30*time.Second)}}
	for _, c := range []struct {
		st   workflow.WaitState
		want string
	}{
		{workflow.WaitState{Resource: "storage", Position: 1, Holder: holder, Now: workflow.Time{Time: now}},
			"waiting for storage: queue position 1, held by ada (builder), token 7, 12m left"},
		{workflow.WaitState{Resource: "storage", Position: 3, Now: workflow.Time{Time: now}},
			"waiting for storage: queue position 3, free, 2 ahead"},
		{workflow.WaitState{Resource: "storage", Position: 1, Now: workflow.Time{Time: now}},
			"waiting for storage: queue position 1, free, claiming"},
	} {
		if got := waitLine(c.st); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
