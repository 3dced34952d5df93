package kernel

import (
	"context"
	"regexp"
	"strings"

	"github.com/mpigo/mpigo/cellio"
)

// helpPattern matches a help request as IPython spells it: a name (a
// selector chain such as strings.ToUpper, or a magic such as %cd) with ?
// before or after it, ?? for more detail. Go has no ? operator, so no Go
// cell looks like this.
var helpPattern = regexp.MustCompile(`^(\?{1,2})?(%{0,2}[\pL_][\pL\pN_]*(?:\.[\pL_][\pL\pN_]*)*)(\?{1,2})?$`)

// helpRequest reports whether the cell code is a help request and returns
// the name it asks about and the detail level (1 for ??, else 0).
func helpRequest(code string) (name string, detail int, ok bool) {
	m := helpPattern.FindStringSubmatch(strings.TrimSpace(code))
	if m == nil || m[1] == "" && m[3] == "" || m[1] != "" && m[3] != "" {
		return "", 0, false
	}
	if m[1] == "??" || m[3] == "??" {
		detail = 1
	}
	return m[2], detail, true
}

// help answers a help request with the inspection of name as a "page"
// payload, which front ends show in their pager (Jupyter Notebook, the
// console) or below the cell (JupyterLab). A name without documentation
// says so on stdout, as IPython does.
func (k *kernel) help(ctx context.Context, name string, detail int, out cellio.Output) ([]any, error) {
	var ins cellio.Inspection
	if strings.HasPrefix(name, "%") {
		ins = inspectMagic(name, k.lineMagics())
	} else {
		var err error
		ins, err = k.engine.Inspect(ctx, name, len([]rune(name)), detail)
		if err != nil {
			return nil, err
		}
	}
	if !ins.Found || len(ins.Data) == 0 {
		out.Stream("stdout", "no documentation found for "+name+"\n")
		return []any{}, nil
	}
	return []any{map[string]any{"source": "page", "data": ins.Data, "start": 0}}, nil
}
