package debugproto

// Expose hands out references for the children of vars, recursively, and
// returns vars with VariablesReference set where they have children: the
// variables request later asks for them by reference. References of an
// earlier Expose are forgotten (the explorer asks again after each cell).
func (s *Session) Expose(vars []Variable) []Variable {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs = map[int][]Variable{}
	return s.expose(vars)
}

func (s *Session) expose(vars []Variable) []Variable {
	out := make([]Variable, len(vars))
	for i, v := range vars {
		v.VariablesReference = 0
		if len(v.Children) > 0 && len(s.refs) < maxRefs {
			ref := len(s.refs) + 1
			s.refs[ref] = nil // reserved before the children take theirs
			s.refs[ref] = s.expose(v.Children)
			v.VariablesReference = ref
		}
		v.Children = nil
		out[i] = v
	}
	return out
}

// Children returns the variables under ref, from the last Expose.
func (s *Session) Children(ref int) ([]Variable, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vars, ok := s.refs[ref]
	return vars, ok
}
