package mpimagic

import (
	"context"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"sync"
)

// wrapperMain is the main package of the rank wrapper binary: package rankio
// alone, which starts in a few milliseconds on every rank where the whole
// mpigo binary (the kernel, the interpreter) would take tens.
const wrapperMain = `// Command rankio is the rank wrapper of mpigo's %mpirun (see package rankio).
package main

import (
	"os"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

func main() { os.Exit(rankio.Main(os.Args[1:], os.Stdout, os.Stderr)) }
`

// pendingWrapper is the rank wrapper being made ready, in parallel with the
// program's build.
type pendingWrapper struct {
	wg   sync.WaitGroup
	argv []string
}

// startWrapper gets the rank wrapper ready: the small binary built from
// package rankio (built once, then cached like any program), or `mpigo
// rankio` should that build fail.
func (m *Magic) startWrapper(ctx context.Context, tc *toolchain, env environ.Env) *pendingWrapper {
	p := &pendingWrapper{}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		b, err := m.build(ctx, "mpigo-rankio", map[string][]byte{"main.go": []byte(wrapperMain)}, tc, env, nil)
		if err == nil {
			p.argv = []string{b.bin}
			return
		}
		exe, xerr := m.exe()
		if xerr != nil || ctx.Err() != nil {
			return
		}
		m.log.Warn("mpirun: building the rank wrapper failed; using mpigo rankio", "err", err)
		p.argv = []string{exe, "rankio"}
	}()
	return p
}

// wait returns the wrapper's argv, or nil if there is none.
func (p *pendingWrapper) wait() []string {
	p.wg.Wait()
	return p.argv
}
