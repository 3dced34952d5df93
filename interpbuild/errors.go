package interpbuild

import (
	"strings"

	"github.com/mpigo/mpigo/gomod"
)

// Error is an interpreter that could not be built.
type Error struct {
	Step     string   // "extracting the symbols of" or "compiling an interpreter with"
	Packages []string // the packages it was built for
	Output   string   // what the tool said
}

// Error names the packages and says what failed.
func (e *Error) Error() string {
	msg := e.Step + " " + strings.Join(e.Packages, ", ") + " failed"
	if e.Output != "" {
		msg += ":\n" + e.Output
	}
	return msg + "\nthe package can still be used in %mpirun cells, which compile the whole cell with the go command"
}

// extractError is a failure of yaegi's extract.
func extractError(pkgs []gomod.Package, out string) *Error {
	return &Error{Step: "extracting the symbols of", Packages: paths(pkgs), Output: lastLines(out, 12)}
}

// compileError is a failure of go build.
func compileError(pkgs []gomod.Package, out string) *Error {
	return &Error{Step: "compiling an interpreter with", Packages: paths(pkgs), Output: lastLines(out, 12)}
}

func paths(pkgs []gomod.Package) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = p.Path
	}
	return out
}

// lastLines keeps the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
