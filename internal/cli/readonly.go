package cli

import (
	"github.com/oxygen-tools/oxygen/workflow"
)

// ReadOnlyService loads the config and opens the existing store read-only,
// for commands that must never write (the dashboard). It never creates or
// migrates a store. Close releases it like the writable one.
func (e *Env) ReadOnlyService() (*workflow.Service, error) {
	if e.svc != nil {
		return e.svc, nil
	}
	root, err := e.RootDir()
	if err != nil {
		return nil, err
	}
	cfg, err := workflow.LoadConfig(root)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		e.Warnf("%s", w)
	}
	clock, err := workflow.ClockFromEnv()
	if err != nil {
		return nil, err
	}
	store, err := workflow.OpenStoreReadOnly(e.Ctx, root)
	if err != nil {
		return nil, err
	}
	e.store = store
	e.svc = workflow.NewService(root, cfg, store, clock)
	return e.svc, nil
}
