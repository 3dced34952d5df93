// Command nullkernel is mpigo's kernel without an interpreter: the same kernel
// package (zmq4 transport, wire protocol, dispatch, magics) with an Engine that
// does nothing and returns each cell's code as its value. bench/null_rtt.py
// measures mpigo against it, so that the difference is what the interpreter
// and the hop to its worker process cost, the floor being this kernel.
//
// Usage: nullkernel CONNECTION_FILE
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/kernel"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: nullkernel CONNECTION_FILE")
		os.Exit(2)
	}
	err := kernel.Run(context.Background(), kernel.Config{
		ConnectionFile: os.Args[1],
		Engine:         nullEngine{},
		Version:        "null",
		HandleSignals:  true,
		ParentPID:      kernel.WatchedParent(os.Getenv("JPY_PARENT_PID"), os.Getppid()),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "nullkernel: %v\n", err)
		os.Exit(1)
	}
}

// nullEngine implements kernel.Engine without evaluating anything.
type nullEngine struct{}

// Execute returns the cell's code as its value, as if it were an expression
// that evaluates to itself.
func (nullEngine) Execute(_ context.Context, req cellio.Request, _ cellio.Output) (cellio.Result, error) {
	return cellio.Result{Data: map[string]any{"text/plain": req.Code}}, nil
}

// Complete offers nothing.
func (nullEngine) Complete(_ context.Context, _ string, cursor int) (cellio.Completion, error) {
	return cellio.Completion{Matches: []string{}, Start: cursor, End: cursor}, nil
}

// Inspect finds nothing.
func (nullEngine) Inspect(context.Context, string, int, int) (cellio.Inspection, error) {
	return cellio.Inspection{Data: map[string]any{}}, nil
}

// Reset has nothing to forget.
func (nullEngine) Reset(context.Context) error { return nil }

// Setenv has no interpreter to tell.
func (nullEngine) Setenv(context.Context, string, string, bool) error { return nil }

// Chdir has no interpreter to tell.
func (nullEngine) Chdir(context.Context, string) error { return nil }

// Close has no process to stop.
func (nullEngine) Close() error { return nil }
