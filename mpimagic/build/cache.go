package build

import (
	"context"
	"sync"

	"github.com/mpigo/mpigo/mpimagic/environ"
)

// Cache builds programs in a private cache directory against mpigo's
// embedded sources, and remembers for each toolchain whether its programs
// need external linking. It is safe for concurrent use.
type Cache struct {
	dir string
	src *Sources

	mu       sync.Mutex
	external map[string]bool // by Toolchain fingerprint
}

// NewCache returns a Cache in dir, which it creates private (0700), for
// programs built against src (LoadSources).
func NewCache(dir string, src *Sources) (*Cache, error) {
	if err := EnsurePrivateDir(dir); err != nil {
		return nil, err
	}
	return &Cache{dir: dir, src: src, external: map[string]bool{}}, nil
}

// Dir is the cache directory.
func (c *Cache) Dir() string { return c.dir }

// Sources are the embedded sources programs build against.
func (c *Cache) Sources() *Sources { return c.src }

// Build builds the main package made of files (file name → content) with
// tc into a binary called name, or finds it built already; env is the
// environment of the go command (its Child part), verbose (may be nil)
// receives the command.
func (c *Cache) Build(ctx context.Context, name string, files map[string][]byte, tc *Toolchain, env environ.Env, verbose func(string)) (*Program, error) {
	c.mu.Lock()
	external := c.external[tc.fingerprint]
	c.mu.Unlock()
	b := &builder{cacheDir: c.dir, src: c.src, env: env}
	res, usedExternal, err := b.build(ctx, name, files, tc, external, verbose)
	if usedExternal && !external {
		c.mu.Lock()
		c.external[tc.fingerprint] = true
		c.mu.Unlock()
	}
	return res, err
}

// Wrapper builds the rank wrapper (WrapperMain) with tc.
func (c *Cache) Wrapper(ctx context.Context, tc *Toolchain, env environ.Env) (*Program, error) {
	return c.Build(ctx, "mpigo-rankio", map[string][]byte{"main.go": []byte(WrapperMain)}, tc, env, nil)
}

// WrapperMain is the main package of the rank wrapper binary: package rankio
// alone, which starts in a few milliseconds on every rank where the whole
// mpigo binary (the kernel, the interpreter) would take tens.
const WrapperMain = `// Command rankio is the rank wrapper of mpigo's %mpirun (see package rankio).
package main

import (
	"os"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

func main() { os.Exit(rankio.Main(os.Args[1:], os.Stdout, os.Stderr)) }
`
