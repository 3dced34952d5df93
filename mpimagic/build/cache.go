package build

import (
	"context"
	"sync"

	"github.com/mpigo/mpigo/gomod"
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
	return c.BuildModules(ctx, name, files, gomod.Snapshot{}, tc, env, verbose)
}

// BuildModules is Build for a program that imports packages of modules
// other than mpigo's: the build module requires what mods requires (its
// go.mod and go.sum, its local modules), and the build is found in the
// cache only while mods.Key is the same. Those modules must be in the
// module cache already (gomod.Session.Provide downloads them): the build
// never downloads.
func (c *Cache) BuildModules(ctx context.Context, name string, files map[string][]byte, mods gomod.Snapshot, tc *Toolchain, env environ.Env, verbose func(string)) (*Program, error) {
	return c.build(ctx, &builder{cacheDir: c.dir, src: c.src, env: env, mods: mods}, name, files, tc, verbose)
}

// build builds with b, remembering whether tc needs external linking.
func (c *Cache) build(ctx context.Context, b *builder, name string, files map[string][]byte, tc *Toolchain, verbose func(string)) (*Program, error) {
	c.mu.Lock()
	external := c.external[tc.fingerprint]
	c.mu.Unlock()
	res, usedExternal, err := b.build(ctx, name, files, tc, external, verbose)
	if usedExternal && !external {
		c.mu.Lock()
		c.external[tc.fingerprint] = true
		c.mu.Unlock()
	}
	return res, err
}

// Warm builds, in the background at the lowest CPU priority, the rank
// wrapper and a program that uses package mpi, so that Go's build cache
// holds the compiled mpi package (its C part, compiled with cgo, is most of
// a first build) and a user's first cell only compiles its own main
// package. It returns at once when both are built already (an earlier
// kernel warmed the cache); cancelling ctx stops the builds.
func (c *Cache) Warm(ctx context.Context, tc *Toolchain, env environ.Env) error {
	b := &builder{cacheDir: c.dir, src: c.src, env: env, background: true}
	for _, p := range []struct{ name, src string }{{"mpigo-rankio", WrapperMain}, {"mpigo-warm", warmMain}} {
		if _, err := c.build(ctx, b, p.name, map[string][]byte{"main.go": []byte(p.src)}, tc, nil); err != nil {
			return err
		}
	}
	return nil
}

// warmMain uses what %mpirun programs use: package mpi, display and fmt.
const warmMain = `// Command mpigo-warm fills Go's build cache for %mpirun (Cache.Warm).
package main

import (
	"fmt"

	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/mpi"
)

func main() {
	mpi.Init()
	defer mpi.Finalize()
	fmt.Println(mpi.World.Rank(), display.EnvToken)
}
`

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
