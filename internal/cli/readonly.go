package cli

import (
	"github.com/oxygen-tools/oxygen/workflow"
)

// ReadOnlyService is Service for commands that must never write (the
// dashboard, completion): the same repository, its store opened read-only,
// never created, migrated or moved. Close releases it like the writable one.
func (e *Env) ReadOnlyService() (*workflow.Service, error) {
	return e.openService(workflow.OpenServiceReadOnly)
}
