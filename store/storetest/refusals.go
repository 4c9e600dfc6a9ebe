package storetest

import (
	"testing"

	"github.com/oxygen-tools/oxygen/workflow"
)

// runRefusals checks that a refused operation leaves the store exactly as
// it found it: every row of every table, compared before and after. A
// refusal that half-wrote (an audit event, a fingerprint, a consumed
// approval) would pass a test that checks only the error.
func runRefusals(t *testing.T, open Opener) {
	// setup is one repository in which every refusal below has something
	// to be refused against: builder at both its budgets, a held resource,
	// an open item and a pending council call.
	setup := func(t *testing.T) (*workflow.Service, []string, int64) {
		svc := open(t).Open(t)
		var ids []string
		for i := 0; i < 4; i++ {
			ids = append(ids, addItem(t, svc, "builder", "item").ID)
		}
		for _, id := range ids[:2] {
			got(svc.Assign(ctx, workflow.AssignRequest{ID: id, Owner: "ada", Domain: "builder"})).must(t, "assign "+id)
		}
		got(claim(svc, "deployment", actor("ada", "builder"))).must(t, "claim deployment")
		got(claim(svc, "storage", actor("ada", "builder"))).must(t, "claim storage")
		call := got(svc.CallCouncil(ctx, ids[2], actor("cy", "builder"), "it cannot wait")).must(t, "council call")
		return svc, ids, call.ID
	}
	cases := []struct {
		name string
		code string
		do   func(svc *workflow.Service, ids []string, call int64) error
	}{
		{"ClaimOfAHeldResource", workflow.ECONFLICT, func(svc *workflow.Service, _ []string, _ int64) error {
			_, err := claim(svc, "deployment", actor("wes", "watcher"))
			return err
		}},
		{"ClaimOverTheChangeBudget", workflow.EDENIED, func(svc *workflow.Service, _ []string, _ int64) error {
			_, err := claim(svc, "index", actor("bo", "builder"))
			return err
		}},
		{"AssignOverTheCap", workflow.EDENIED, func(svc *workflow.Service, ids []string, _ int64) error {
			_, err := svc.Assign(ctx, workflow.AssignRequest{ID: ids[2], Owner: "bo", Domain: "builder"})
			return err
		}},
		{"IllegalMove", workflow.ECONFLICT, func(svc *workflow.Service, ids []string, _ int64) error {
			_, err := svc.Block(ctx, workflow.MoveRequest{ID: ids[3], By: "ada", Reason: "not started"})
			return err
		}},
		{"UnknownResource", workflow.ENOTFOUND, func(svc *workflow.Service, _ []string, _ int64) error {
			_, err := claim(svc, "nosuchresource", actor("ada", "builder"))
			return err
		}},
		{"UnknownItem", workflow.ENOTFOUND, func(svc *workflow.Service, _ []string, _ int64) error {
			_, err := svc.Assign(ctx, workflow.AssignRequest{ID: "WORK-999", Owner: "ada", Domain: "builder"})
			return err
		}},
		{"ClaimForAnUnknownItem", workflow.ENOTFOUND, func(svc *workflow.Service, _ []string, _ int64) error {
			_, err := svc.Claim(ctx, workflow.ClaimRequest{Resource: "execution", Actor: actor("wes", "watcher"), Item: "WORK-999"})
			return err
		}},
		{"ControlCharactersInAReason", workflow.EINVALID, func(svc *workflow.Service, _ []string, _ int64) error {
			_, err := svc.Claim(ctx, workflow.ClaimRequest{Resource: "execution", Actor: actor("wes", "watcher"), Reason: "fine\x1b[2Jgone"})
			return err
		}},
		{"ControlCharactersInATitle", workflow.EINVALID, func(svc *workflow.Service, _ []string, _ int64) error {
			_, err := svc.AddItem(ctx, workflow.ItemSpec{Title: "bell\a", Kind: "chore", Domain: "builder", Priority: "low", Objective: "o"}, "ada")
			return err
		}},
		{"ReleaseByNonOwner", workflow.ECONFLICT, func(svc *workflow.Service, _ []string, _ int64) error {
			_, err := svc.Release(ctx, workflow.ReleaseRequest{Resource: "deployment", Actor: actor("bo", "builder")})
			return err
		}},
		{"CouncilApprovedByItsCaller", workflow.EDENIED, func(svc *workflow.Service, _ []string, call int64) error {
			_, err := svc.ApproveCouncil(ctx, call, actor("cy", "scribe"), "")
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc, ids, call := setup(t)
			before := dump(t, svc)
			wantCode(t, c.name, c.do(svc, ids, call), c.code)
			if d := before.diff(dump(t, svc)); d != "" {
				t.Fatalf("the refusal changed the store:\n%s", d)
			}
		})
	}
}
