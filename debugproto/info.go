package debugproto

import "slices"

// Info is the body of the debugInfo response: how the kernel names cells,
// and the session's state, which JupyterLab reads to restore its debugger
// panel after a reload.
type Info struct {
	IsStarted      bool                `json:"isStarted"`
	HashMethod     string              `json:"hashMethod"`
	HashSeed       uint32              `json:"hashSeed"`
	TmpFilePrefix  string              `json:"tmpFilePrefix"`
	TmpFileSuffix  string              `json:"tmpFileSuffix"`
	Breakpoints    []SourceBreakpoints `json:"breakpoints"`
	StoppedThreads []int               `json:"stoppedThreads"`
	RichRendering  bool                `json:"richRendering"`
	ExceptionPaths []string            `json:"exceptionPaths"`
}

// Info returns the session's debugInfo body, breakpoints by source path in
// path order.
func (s *Session) Info() Info {
	bps := s.Breakpoints()
	list := make([]SourceBreakpoints, 0, len(bps))
	for _, path := range sortedKeys(bps) {
		list = append(list, SourceBreakpoints{Source: path, Breakpoints: bps[path]})
	}
	return Info{
		IsStarted:      s.Started(),
		HashMethod:     "Murmur2",
		HashSeed:       s.paths.Seed,
		TmpFilePrefix:  s.paths.Prefix,
		TmpFileSuffix:  s.paths.Suffix,
		Breakpoints:    list,
		StoppedThreads: s.StoppedThreads(),
		RichRendering:  true,
		ExceptionPaths: []string{},
	}
}

// Capabilities is the body of the initialize response: only what mpigo's
// debugger supports is announced, so that JupyterLab offers nothing else.
type Capabilities struct {
	SupportsConfigurationDoneRequest bool `json:"supportsConfigurationDoneRequest"`
	SupportsEvaluateForHovers        bool `json:"supportsEvaluateForHovers"`
	SupportsModulesRequest           bool `json:"supportsModulesRequest"`
	// ExceptionBreakpointFilters is empty: a panic ends the cell with its
	// traceback, and there is no filter to choose.
	ExceptionBreakpointFilters []any `json:"exceptionBreakpointFilters"`
}

// DefaultCapabilities are the capabilities the kernel announces.
func DefaultCapabilities() Capabilities {
	return Capabilities{
		SupportsConfigurationDoneRequest: true,
		SupportsEvaluateForHovers:        true,
		SupportsModulesRequest:           true,
		ExceptionBreakpointFilters:       []any{},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
