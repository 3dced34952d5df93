package kernel

// historySession is the session number reported in history entries: mpigo
// keeps only the running kernel's history, in memory.
const historySession = 1

// maxHistoryReply bounds the entries of one history_reply (the latest are
// kept): a front end asks for tens, and without a bound a request with no n
// would copy the whole history, inputs of up to a message's size each, into
// one reply.
const maxHistoryReply = 10000

// historyEntry is one executed input, numbered by its execution count.
type historyEntry struct {
	line   int
	input  string
	output string // text/plain of the execute_result, if any
}

// history holds the inputs executed in this kernel with store_history.
type history struct {
	entries []historyEntry
}

func (h *history) add(line int, input, output string) {
	h.entries = append(h.entries, historyEntry{line: line, input: input, output: output})
}

// historyRequest is the content of history_request.
type historyRequest struct {
	Output         bool   `json:"output"`
	Raw            bool   `json:"raw"`
	HistAccessType string `json:"hist_access_type"`
	Session        int    `json:"session"`
	Start          int    `json:"start"`
	Stop           *int   `json:"stop"`
	N              *int   `json:"n"`
	Pattern        string `json:"pattern"`
	Unique         bool   `json:"unique"`
}

// query answers a history_request as a list of [session, line, input] (or
// [session, line, [input, output]] when output is requested), like IPython;
// the error is a *protoError for a search pattern over its limit.
func (h *history) query(req historyRequest) ([][]any, error) {
	sel, err := h.selectEntries(req)
	if err != nil {
		return nil, err
	}
	n := maxHistoryReply
	sel = lastN(sel, &n)
	out := make([][]any, 0, len(sel))
	for _, e := range sel {
		var item any = e.input
		if req.Output {
			var o any // null when the cell had no result
			if e.output != "" {
				o = e.output
			}
			item = []any{e.input, o}
		}
		out = append(out, []any{historySession, e.line, item})
	}
	return out, nil
}

// selectEntries returns the entries req asks for, oldest first.
func (h *history) selectEntries(req historyRequest) ([]historyEntry, error) {
	var sel []historyEntry
	switch req.HistAccessType {
	case "tail":
		sel = lastN(h.entries, req.N)
	case "range":
		// Session 0 is the current one in IPython; negative ones are earlier
		// sessions, which mpigo does not keep.
		if req.Session != 0 && req.Session != historySession {
			break
		}
		for _, e := range h.entries {
			if e.line >= req.Start && (req.Stop == nil || e.line < *req.Stop) {
				sel = append(sel, e)
			}
		}
	case "search":
		g, err := compileGlob(req.Pattern)
		if err != nil {
			return nil, err
		}
		var matched []historyEntry
		for _, e := range h.entries {
			if g.match(e.input) {
				matched = append(matched, e)
			}
		}
		if req.Unique {
			matched = uniqueLatest(matched)
		}
		sel = lastN(matched, req.N)
	}
	return sel, nil
}

// lastN returns the last *n entries, or all of them when n is nil or not positive.
func lastN(es []historyEntry, n *int) []historyEntry {
	if n == nil || *n <= 0 || *n >= len(es) {
		return es
	}
	return es[len(es)-*n:]
}

// uniqueLatest keeps the latest entry of each distinct input, in order.
func uniqueLatest(es []historyEntry) []historyEntry {
	seen := make(map[string]bool)
	var rev []historyEntry
	for i := len(es) - 1; i >= 0; i-- {
		if !seen[es[i].input] {
			seen[es[i].input] = true
			rev = append(rev, es[i])
		}
	}
	out := make([]historyEntry, len(rev))
	for i, e := range rev {
		out[len(rev)-1-i] = e
	}
	return out
}
