package main

import (
	"context"
	"errors"
	"strings"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/interpbuild"
	"github.com/mpigo/mpigo/kernel"
	"github.com/mpigo/mpigo/worker"
)

// packager gives the worker interpreters with the session's packages
// compiled in.
type packager struct {
	b    *interpbuild.Builder
	mods *gomod.Session
}

// Interpreter builds (or finds) an interpreter with paths compiled in.
func (p packager) Interpreter(ctx context.Context, paths []string, progress func(string)) (worker.Interpreter, error) {
	it, err := p.b.Build(ctx, p.mods, paths, func(st interpbuild.Stage, _ []gomod.Package) { progress(st.String()) })
	if err != nil {
		return worker.Interpreter{}, err
	}
	return worker.Interpreter{Command: it.Command, Key: it.Key, About: it.About()}, nil
}

// Key is the key of the interpreter Interpreter would return now.
func (p packager) Key(ctx context.Context, paths []string) (string, error) {
	return p.b.Key(ctx, p.mods, paths)
}

// goMagic is %go: get and list the session's modules. %go list also names
// the packages compiled into the running interpreter.
func goMagic(mods *gomod.Session, engine func() *worker.Engine) kernel.LineMagic {
	return kernel.LineMagic{
		Run: func(ctx context.Context, args []string, out cellio.Output) error {
			var b strings.Builder
			err := mods.Command(ctx, args, &b)
			if len(args) > 0 && args[0] == "list" && err == nil {
				if pkgs := engine().Packages(); len(pkgs) > 0 {
					b.WriteString("Compiled into the interpreter of plain cells: " + strings.Join(pkgs, ", ") + "\n")
				}
			}
			if b.Len() > 0 {
				out.Stream("stdout", b.String())
			}
			return goMagicError(err)
		},
		Doc: kernel.MagicDoc{
			Usage:   "%go get MODULE[@VERSION] | ./dir, %go list",
			Desc:    "require a Go module (or use a local one) in plain and %mpirun cells; list what the session uses",
			Example: "%go get gonum.org/v1/gonum@latest",
		},
	}
}

// goMagicError turns an error of %go into a cell error of its kind.
func goMagicError(err error) error {
	var ue *gomod.UsageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue):
		return &cellio.Error{Name: cellio.UsageError, Value: err.Error()}
	}
	return &cellio.Error{Name: cellio.ImportError, Value: err.Error()}
}
