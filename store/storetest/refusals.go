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
	// base is a repository with rows in the tables the refusals touch:
	// two open items, and builder at its change budget holding deployment
	// and storage.
	base := func(t *testing.T) (*workflow.Service, []string) {
		svc := open(t).Open(t)
		ids := []string{addItem(t, svc, "builder", "first").ID, addItem(t, svc, "builder", "second").ID}
		got(claim(svc, "deployment", actor("ada", "builder"))).must(t, "claim deployment")
		got(claim(svc, "storage", actor("ada", "builder"))).must(t, "claim storage")
		return svc, ids
	}
	cases := []struct {
		name string
		code string
		do   func(t *testing.T, svc *workflow.Service, ids []string) (refused func() error)
	}{
		{"ClaimOfAHeldResource", workflow.ECONFLICT, func(t *testing.T, svc *workflow.Service, _ []string) func() error {
			return func() error { _, err := claim(svc, "deployment", actor("bo", "builder")); return err }
		}},
		{"ClaimOverTheChangeBudget", workflow.EDENIED, func(t *testing.T, svc *workflow.Service, _ []string) func() error {
			return func() error { _, err := claim(svc, "index", actor("bo", "builder")); return err }
		}},
		{"AssignOverTheCap", workflow.EDENIED, func(t *testing.T, svc *workflow.Service, ids []string) func() error {
			for _, id := range ids {
				got(svc.Assign(ctx, workflow.AssignRequest{ID: id, Owner: "ada", Domain: "builder"})).must(t, "assign "+id)
			}
			third := addItem(t, svc, "builder", "third").ID
			return func() error {
				_, err := svc.Assign(ctx, workflow.AssignRequest{ID: third, Owner: "bo", Domain: "builder"})
				return err
			}
		}},
		{"IllegalMove", workflow.ECONFLICT, func(t *testing.T, svc *workflow.Service, ids []string) func() error {
			return func() error {
				_, err := svc.Block(ctx, workflow.MoveRequest{ID: ids[0], By: "ada", Domain: "builder", Reason: "not started"})
				return err
			}
		}},
		{"UnknownResource", workflow.ENOTFOUND, func(t *testing.T, svc *workflow.Service, _ []string) func() error {
			return func() error { _, err := claim(svc, "nosuchresource", actor("wes", "watcher")); return err }
		}},
		{"UnknownItem", workflow.ENOTFOUND, func(t *testing.T, svc *workflow.Service, _ []string) func() error {
			return func() error {
				_, err := svc.Assign(ctx, workflow.AssignRequest{ID: "WORK-999", Owner: "ada", Domain: "builder"})
				return err
			}
		}},
		{"ClaimForAnUnknownItem", workflow.ENOTFOUND, func(t *testing.T, svc *workflow.Service, _ []string) func() error {
			return func() error {
				_, err := svc.Claim(ctx, workflow.ClaimRequest{Resource: "execution", Actor: actor("wes", "watcher"), Item: "WORK-999"})
				return err
			}
		}},
		{"ControlCharactersInAReason", workflow.EINVALID, func(t *testing.T, svc *workflow.Service, _ []string) func() error {
			return func() error {
				_, err := svc.Claim(ctx, workflow.ClaimRequest{Resource: "execution", Actor: actor("wes", "watcher"), Reason: "fine\x1b[2Jgone"})
				return err
			}
		}},
		{"ControlCharactersInATitle", workflow.EINVALID, func(t *testing.T, svc *workflow.Service, _ []string) func() error {
			return func() error {
				_, err := svc.AddItem(ctx, workflow.ItemSpec{Title: "bell\a", Kind: "chore", Domain: "builder", Priority: "low", Objective: "o"}, "ada")
				return err
			}
		}},
		{"ReleaseByNonOwner", workflow.ECONFLICT, func(t *testing.T, svc *workflow.Service, _ []string) func() error {
			return func() error {
				_, err := svc.Release(ctx, workflow.ReleaseRequest{Resource: "deployment", Actor: actor("bo", "builder")})
				return err
			}
		}},
		{"CouncilApprovedByItsCaller", workflow.EDENIED, func(t *testing.T, svc *workflow.Service, ids []string) func() error {
			call := got(svc.CallCouncil(ctx, ids[0], actor("cy", "builder"), "it cannot wait")).must(t, "council call")
			return func() error { _, err := svc.ApproveCouncil(ctx, call.ID, actor("cy", "scribe"), ""); return err }
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc, ids := base(t)
			refused := c.do(t, svc, ids)
			before := dump(t, svc)
			wantCode(t, c.name, refused(), c.code)
			if d := before.diff(dump(t, svc)); d != "" {
				t.Fatalf("the refusal changed the store:\n%s", d)
			}
		})
	}
}
