package kernel

import (
	"context"

	"github.com/mpigo/mpigo/cellio"
)

// Engine evaluates Go cells for the kernel. *worker.Engine implements it; tests
// use a fake. Positions (cursor) are Unicode code point offsets, as in the
// Jupyter protocol.
type Engine interface {
	// Execute runs one cell. A failed cell returns a *cellio.Error. Cancelling ctx
	// interrupts the cell; Execute then returns within a second.
	Execute(ctx context.Context, req cellio.Request, out cellio.Output) (cellio.Result, error)
	Complete(ctx context.Context, code string, cursor int) (cellio.Completion, error)
	Inspect(ctx context.Context, code string, cursor, detail int) (cellio.Inspection, error)
	// Reset forgets every declaration and variable (%reset).
	Reset(ctx context.Context) error
	// Setenv sets (or, with unset, removes) an environment variable seen by cells.
	Setenv(ctx context.Context, key, value string, unset bool) error
	// Chdir changes the working directory of cells.
	Chdir(ctx context.Context, dir string) error
	// Close stops the interpreter process.
	Close() error
}
