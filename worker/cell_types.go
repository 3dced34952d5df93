package worker

import "github.com/mpigo/mpigo/cellio"

// The cell types of package cellio, under the names worker's code has used
// since before they moved there.
type (
	// Output is cellio.Output.
	Output = cellio.Output
	// Display is cellio.Display.
	Display = cellio.Display
	// Request is cellio.Request.
	Request = cellio.Request
	// Result is cellio.Result.
	Result = cellio.Result
	// Error is cellio.Error.
	Error = cellio.Error
	// Completion is cellio.Completion.
	Completion = cellio.Completion
	// Inspection is cellio.Inspection.
	Inspection = cellio.Inspection
)
