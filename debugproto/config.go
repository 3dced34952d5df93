package debugproto

// Config is a debug session's configuration, as the engine receives it
// (kernel.Debugger's DebugConfigure). It is here, not in package kernel, so
// that an engine implements the interface without importing the kernel.
type Config struct {
	// Enabled: a client is attached, and cells run under the debugger.
	Enabled bool `json:"enabled"`
	// Paths names a cell's source file from its code (JupyterLab's scheme).
	Paths Paths `json:"paths"`
	// Breakpoints are the breakpoint lines by source path.
	Breakpoints map[string][]SourceBreakpoint `json:"breakpoints,omitempty"`
	// ExceptionFilters are the exception breakpoint filters set.
	ExceptionFilters []string `json:"exceptionFilters,omitempty"`
	// Events publishes a DAP event (stopped, continued, terminated, output)
	// on IOPub; the body of stopped and continued is a ThreadBody, from
	// which the kernel tracks the stopped threads. It may be called from
	// any goroutine. It stays in the kernel's process.
	Events func(Event) `json:"-"`
}
