// Command yaegisrc runs a Go source file with yaegi interpreting every
// package it imports beyond the standard library from source (a GOPATH
// tree): the alternative to mpigo's compiled packages that
// bench/packages/bench.py measures.
//
//	yaegisrc GOPATH FILE.go
package main

import (
	"fmt"
	"os"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
	"github.com/traefik/yaegi/stdlib/unsafe"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: yaegisrc GOPATH FILE.go")
		os.Exit(2)
	}
	src, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// noasm: gonum's pure-Go kernels instead of its assembly, which an
	// interpreter cannot run.
	ip := interp.New(interp.Options{GoPath: os.Args[1], BuildTags: []string{"noasm"}})
	for _, syms := range []interp.Exports{stdlib.Symbols, unsafe.Symbols} {
		if err := ip.Use(syms); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if _, err := ip.Eval(string(src)); err != nil {
		fmt.Fprintln(os.Stderr, "yaegi:", err)
		os.Exit(1)
	}
}
