package debugproto

import (
	"maps"
	"slices"
	"sync"
)

// Bounds on what a client may make the session keep.
const (
	maxSources     = 4096 // sources with breakpoints
	maxBreakpoints = 1024 // breakpoints in one source
	maxFilters     = 64   // exception breakpoint filters
	// maxRefs bounds the variable references of one inspectVariables: the
	// engine bounds depth and width already, this is the last guard.
	maxRefs = 1 << 16
)

// SourceBreakpoint is a breakpoint as setBreakpoints sets it. Conditions
// and log messages are not supported (initialize does not announce them),
// so only the line is kept.
type SourceBreakpoint struct {
	Line int `json:"line"`
}

// Breakpoint is a breakpoint as setBreakpoints answers it.
type Breakpoint struct {
	Verified bool   `json:"verified"`
	Line     int    `json:"line"`
	Source   Source `json:"source"`
	// Message says why a breakpoint is not verified.
	Message string `json:"message,omitempty"`
}

// Source names a source file.
type Source struct {
	Name string `json:"name,omitempty"`
	Path string `json:"path"`
}

// SourceBreakpoints are the breakpoints of one source, as debugInfo lists
// them.
type SourceBreakpoints struct {
	Source      string             `json:"source"`
	Breakpoints []SourceBreakpoint `json:"breakpoints"`
}

// Variable is a variable as the variables, inspectVariables and scopes
// answers carry it. Children are its elements or fields, which the session
// hands out under VariablesReference (never sent themselves).
type Variable struct {
	Name               string     `json:"name"`
	Value              string     `json:"value"`
	Type               string     `json:"type"`
	EvaluateName       string     `json:"evaluateName,omitempty"`
	VariablesReference int        `json:"variablesReference"`
	Children           []Variable `json:"-"`
}

// Session is the state of one kernel's debugger; its methods may be called
// from several goroutines (the control channel, the engine's events).
type Session struct {
	paths Paths

	mu          sync.Mutex
	seq         int
	started     bool
	breakpoints map[string][]SourceBreakpoint
	filters     []string
	stopped     map[int]bool
	refs        map[int][]Variable
}

// NewSession returns a session whose cells are named by paths.
func NewSession(paths Paths) *Session {
	return &Session{paths: paths, breakpoints: map[string][]SourceBreakpoint{}, stopped: map[int]bool{}, refs: map[int][]Variable{}}
}

// Paths returns how the session names cells.
func (s *Session) Paths() Paths { return s.paths }

// Start marks the session started (initialize).
func (s *Session) Start() {
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
}

// Started reports whether initialize came, and no disconnect since.
func (s *Session) Started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// Stop ends the session (disconnect): breakpoints, filters, stopped
// threads and variable references are forgotten, as ipykernel does.
func (s *Session) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = false
	s.breakpoints = map[string][]SourceBreakpoint{}
	s.filters = nil
	s.stopped = map[int]bool{}
	s.refs = map[int][]Variable{}
}

// Stamp numbers an outgoing response or event: DAP wants each message of
// the adapter to carry the next sequence number.
func (s *Session) Stamp() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

// SetBreakpoints replaces the breakpoints of source with bps and returns
// them as verified, as ipykernel answers: the engine checks them when it
// compiles the cell, which may be later.
func (s *Session) SetBreakpoints(source string, bps []SourceBreakpoint) ([]Breakpoint, error) {
	if len(bps) > maxBreakpoints {
		return nil, errMalformed("%d breakpoints in one source, over the limit of %d", len(bps), maxBreakpoints)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.breakpoints[source]; !ok && len(s.breakpoints) >= maxSources && len(bps) > 0 {
		return nil, errMalformed("breakpoints in %d sources, over the limit of %d", len(s.breakpoints)+1, maxSources)
	}
	if len(bps) == 0 {
		delete(s.breakpoints, source)
	} else {
		s.breakpoints[source] = slices.Clone(bps)
	}
	out := make([]Breakpoint, len(bps))
	for i, bp := range bps {
		out[i] = Breakpoint{Verified: true, Line: bp.Line, Source: Source{Path: source}}
	}
	return out, nil
}

// Breakpoints returns a copy of the breakpoints by source path.
func (s *Session) Breakpoints() map[string][]SourceBreakpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]SourceBreakpoint, len(s.breakpoints))
	for k, v := range s.breakpoints {
		out[k] = slices.Clone(v)
	}
	return out
}

// SetExceptionFilters replaces the exception breakpoint filters.
func (s *Session) SetExceptionFilters(filters []string) error {
	if len(filters) > maxFilters {
		return errMalformed("%d exception filters, over the limit of %d", len(filters), maxFilters)
	}
	s.mu.Lock()
	s.filters = slices.Clone(filters)
	s.mu.Unlock()
	return nil
}

// ExceptionFilters returns the exception breakpoint filters.
func (s *Session) ExceptionFilters() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.filters)
}

// Observe updates the stopped threads from an event of the engine:
// stopped adds its thread, continued removes it (or all, with
// allThreadsContinued), terminated and exited clear them.
func (s *Session) Observe(ev Event) {
	body, _ := ev.Body.(ThreadBody)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Event {
	case "stopped":
		s.stopped[body.ThreadID] = true
		s.refs = map[int][]Variable{} // references of the last stop are stale
	case "continued":
		if body.AllThreadsContinued {
			s.stopped = map[int]bool{}
		}
		delete(s.stopped, body.ThreadID)
	case "terminated", "exited":
		s.stopped = map[int]bool{}
	}
}

// ThreadBody is the body of the stopped and continued events.
type ThreadBody struct {
	Reason              string `json:"reason,omitempty"` // stopped: "breakpoint", "step", "pause", ...
	ThreadID            int    `json:"threadId"`
	AllThreadsStopped   bool   `json:"allThreadsStopped,omitempty"`
	AllThreadsContinued bool   `json:"allThreadsContinued,omitempty"`
}

// StoppedThreads returns the ids of the stopped threads, in order.
func (s *Session) StoppedThreads() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.stopped)) // [] in JSON, never null
	ids = slices.AppendSeq(ids, maps.Keys(s.stopped))
	slices.Sort(ids)
	return ids
}

// Stopped reports whether a thread is stopped.
func (s *Session) Stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stopped) > 0
}
