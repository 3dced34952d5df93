package gomod

import (
	"fmt"
	"strings"
)

// Kind says what went wrong with a module.
type Kind int

// The kinds of Error.
const (
	// Unavailable: the module could not be downloaded (GOPROXY=off, no
	// network, a proxy that refused) and is not in the module cache.
	Unavailable Kind = iota + 1
	// NotFound: no module provides the package, or no such version exists.
	NotFound
	// BadSpec: the argument of %go get is neither a module path nor a
	// directory with a go.mod.
	BadSpec
	// Failed: the go command failed in another way (its output says how).
	Failed
)

// Error is a module that could not be had. Its message names the module or
// package, what was tried and how to make it available.
type Error struct {
	Kind   Kind
	Target string // the module, package or directory asked for
	Tried  string // the command that failed, as one would type it
	Output string // what the go command said, trimmed
	Hint   string // how to make it available
}

// Error is one paragraph: what, why, what was tried, what to do.
func (e *Error) Error() string {
	var b strings.Builder
	switch e.Kind {
	case Unavailable:
		fmt.Fprintf(&b, "cannot download %s", e.Target)
	case NotFound:
		fmt.Fprintf(&b, "no module provides %s", e.Target)
	case BadSpec:
		fmt.Fprintf(&b, "%s is neither a module path nor a directory with a go.mod", e.Target)
	default:
		fmt.Fprintf(&b, "cannot get %s", e.Target)
	}
	if e.Output != "" {
		fmt.Fprintf(&b, ": %s", e.Output)
	}
	if e.Tried != "" {
		fmt.Fprintf(&b, "\ntried: %s", e.Tried)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "\n%s", e.Hint)
	}
	return b.String()
}

// unavailableError is a module the go command could not download.
func unavailableError(target, tried, output, goproxy string) *Error {
	hint := "to make it available: let the go command reach a module proxy (GOPROXY=https://proxy.golang.org,direct; in a notebook %env GOPROXY=...)" +
		", fill the module cache on a machine that can (go mod download " + modulePart(target) + ", then copy GOMODCACHE)" +
		", or use a local copy (in a notebook %go get ./path/to/module; elsewhere a replace directive in go.mod)"
	if goproxy != "" {
		hint = "GOPROXY=" + goproxy + "; " + hint
	}
	return &Error{Kind: Unavailable, Target: target, Tried: tried, Output: output, Hint: hint}
}

// notFoundError is a package or version no module provides.
func notFoundError(target, tried, output string) *Error {
	return &Error{Kind: NotFound, Target: target, Tried: tried, Output: output,
		Hint: "check the import path and version (go list -m -versions MODULE lists the versions); a module of your own can be used with %go get ./path/to/module"}
}

// badSpecError is an argument of %go get that names nothing usable.
func badSpecError(target, why string) *Error {
	return &Error{Kind: BadSpec, Target: target, Output: why,
		Hint: "usage: %go get MODULE[@VERSION] | %go get ./path/to/module (a directory with a go.mod)"}
}

// failedError is any other failure of the go command.
func failedError(target, tried, output string) *Error {
	return &Error{Kind: Failed, Target: target, Tried: tried, Output: output}
}

// modulePart guesses the module of a package path for a hint: the first
// three elements of a path on a hosting site, else the path itself.
func modulePart(p string) string {
	p, _, _ = strings.Cut(p, "@")
	parts := strings.Split(p, "/")
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return strings.Join(parts, "/")
}

// classify turns the go command's failure into an Error.
func classify(target, tried, output, goproxy string) *Error {
	out := trimOutput(output)
	low := strings.ToLower(output)
	switch {
	case strings.Contains(low, "module lookup disabled"),
		strings.Contains(low, "goproxy=off"),
		strings.Contains(low, "dial tcp"),
		strings.Contains(low, "no such host"),
		strings.Contains(low, "connection refused"),
		strings.Contains(low, "i/o timeout"),
		strings.Contains(low, "network is unreachable"),
		strings.Contains(low, "tls handshake timeout"):
		return unavailableError(target, tried, out, goproxy)
	case strings.Contains(low, "no required module provides"),
		strings.Contains(low, "cannot find module providing"),
		strings.Contains(low, "no matching versions"),
		strings.Contains(low, "unknown revision"),
		strings.Contains(low, "invalid version"),
		strings.Contains(low, "not found"),
		strings.Contains(low, "no such file or directory"), // a file:// proxy's "not found"
		strings.Contains(low, "does not contain package"),
		strings.Contains(low, "malformed module path"),
		strings.Contains(low, "is not in std"):
		return notFoundError(target, tried, out)
	}
	return failedError(target, tried, out)
}

// trimOutput keeps the go command's messages, without its "go: " prefixes
// and download chatter, at most a few lines.
func trimOutput(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "go: downloading ") || strings.HasPrefix(l, "go: finding ") {
			continue
		}
		keep = append(keep, strings.TrimPrefix(l, "go: "))
	}
	if len(keep) > 6 {
		keep = append(keep[:6], fmt.Sprintf("(%d more lines)", len(keep)-6))
	}
	return strings.Join(keep, "\n")
}
