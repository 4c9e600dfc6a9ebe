package cli

import (
	"github.com/oxygen-tools/oxygen/workflow"
)

// ReadOnlyService is Service for commands that must never write (the
// dashboard, completion): the same repository, its store opened read-only,
// never created, migrated or moved. Close releases it like the writable one.
func (e *Env) ReadOnlyService() (*workflow.Service, error) {
	if e.svc != nil {
		return e.svc, nil
	}
	l, err := e.Layout()
	if err != nil {
		return nil, err
	}
	clock, err := Clock()
	if err != nil {
		return nil, err
	}
	svc, err := workflow.OpenServiceReadOnly(e.Ctx, l, clock)
	if err != nil {
		return nil, err
	}
	for _, w := range svc.Config.Warnings {
		e.Warnf("%s", w)
	}
	e.store, e.svc = svc.Store, svc
	return e.svc, nil
}
