package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mpigo/mpigo/mpimagic/environ"
)

// Toolchain is the Go and MPI set-up programs are built with.
type Toolchain struct {
	goBin     string
	goVersion string // e.g. go1.26.8
	// tags select how package mpi finds MPI: "ompi" or "mpich" (their
	// pkg-config modules), "mpicc" (the compiler wrapper in cc), or ""
	// (the generic pkg-config module "mpi").
	tags string
	cc   string // CC for tags "mpicc"
	// mpi describes the MPI the programs link with, for messages.
	mpi string
	// fingerprint hashes everything above and what the C side of a build
	// depends on (flags, pkg-config output), for the build cache key.
	fingerprint string
}

// toolEnvKeys are the variables a toolchain detection depends on.
var toolEnvKeys = []string{"PATH", "GOROOT", "PKG_CONFIG_PATH", "CC", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_LDFLAGS", "GOEXPERIMENT", "GOAMD64", "MPIGO_MPIRUN"}

// MPI flavours, as launchers identify themselves (mpirun --version).
const (
	OpenMPI    = "Open MPI"
	MPICH      = "MPICH"
	IntelMPI   = "Intel MPI"
	UnknownMPI = "unknown MPI"
)

// MPI is the MPI installation programs are built for: the one whose
// launcher runs them.
type MPI struct {
	Mpirun  string // its mpirun ("" if none was found: srun alone)
	Flavour string // OpenMPI, MPICH, IntelMPI, UnknownMPI or ""
	Version string // the first line of mpirun --version
}

// ToolKey is the cache key of a DetectToolchain for mpi in env: the same
// key, the same toolchain.
func ToolKey(mpi MPI, env environ.Env) string {
	return mpi.Mpirun + "\x00" + mpi.Flavour + env.Key(toolEnvKeys...)
}

// Describe says which MPI the programs link with, for messages, e.g.
// "Open MPI (pkg-config ompi-c)".
func (t *Toolchain) Describe() string { return t.mpi }

// findGo locates the go command: on PATH, else in $GOROOT or the GOROOT
// mpigo was built with, else /usr/local/go.
func findGo(env environ.Env) (string, error) {
	if p, err := env.LookPath("go"); err == nil {
		return p, nil
	}
	for _, root := range []string{env.Get("GOROOT"), runtime.GOROOT(), "/usr/local/go"} {
		if root == "" {
			continue
		}
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("the go command is not on PATH (nor in $GOROOT or /usr/local/go): install Go or load its module (module load go)")
}

// DetectToolchain finds go and decides how to build for l.
func DetectToolchain(ctx context.Context, l MPI, env environ.Env) (*Toolchain, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	goBin, err := findGo(env)
	if err != nil {
		return nil, err
	}
	run := func(name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = env.Child()
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	goEnv, err := run(goBin, "env", "GOVERSION", "GOOS", "GOARCH", "GOROOT", "CC", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_LDFLAGS", "GOAMD64", "GOEXPERIMENT")
	if err != nil {
		return nil, fmt.Errorf("running %s env: %w", goBin, err)
	}
	t := &Toolchain{goBin: goBin}
	t.goVersion, _, _ = strings.Cut(goEnv, "\n")

	pkgConfig := func(module string) (string, bool) {
		out, err := run("pkg-config", "--cflags", "--libs", module)
		return out, err == nil
	}
	// mpicc next to the mpirun (mpirun.mpich → mpicc.mpich), else on PATH.
	mpicc := func() string {
		if l.Mpirun != "" {
			dir, base := filepath.Split(l.Mpirun)
			suffix := ""
			if i := strings.IndexByte(base, '.'); i >= 0 {
				suffix = base[i:]
			}
			for _, name := range []string{"mpicc" + suffix, "mpicc"} {
				if p := filepath.Join(dir, name); environ.IsExecutable(p) {
					return p
				}
			}
		}
		p, _ := env.LookPath("mpicc")
		return p
	}
	var cflags string
	module := ""
	switch l.Flavour {
	case OpenMPI:
		module = "ompi-c"
		t.tags = "ompi"
	case MPICH:
		module = "mpich"
		t.tags = "mpich"
	default:
		module = "mpi"
	}
	if out, ok := pkgConfig(module); ok {
		cflags = out
		t.mpi = l.Flavour + " (pkg-config " + module + ")"
	} else if cc := mpicc(); cc != "" {
		t.tags, t.cc = "mpicc", cc
		showArg := "-show"
		if l.Flavour == OpenMPI {
			showArg = "--showme"
		}
		cflags, _ = run(cc, showArg)
		t.mpi = l.Flavour + " (" + cc + ")"
	} else {
		return nil, fmt.Errorf("cannot build for %s: neither pkg-config module %q nor an mpicc was found; install the MPI development files (e.g. apt-get install libopenmpi-dev) or load the MPI module", l.Flavour, module)
	}
	if l.Flavour == "" || l.Flavour == UnknownMPI {
		t.mpi = strings.TrimPrefix(t.mpi, l.Flavour+" ")
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s\n%s\n", goEnv, t.tags, t.cc, cflags, env.Get("PKG_CONFIG_PATH"), l.Version)
	t.fingerprint = hex.EncodeToString(h.Sum(nil))
	return t, nil
}

// ForInterpreter returns what a build of a rank interpreter (%ranks,
// interpbuild.RankToolchain) needs to link with this MPI, as plain values
// so that interpbuild does not depend on this package: the build tags of
// package mpi, the environment to add to the go command's (CGO_ENABLED,
// and CC for the mpicc wrapper), and the fingerprint for the cache key.
func (t *Toolchain) ForInterpreter() (tags string, env []string, fingerprint string) {
	env = []string{"CGO_ENABLED=1"}
	if t.cc != "" {
		env = append(env, "CC="+t.cc)
	}
	return t.tags, env, t.fingerprint
}

// GoCommand locates the go command as builds do: on PATH, else in $GOROOT
// or the GOROOT mpigo was built with, else /usr/local/go.
func GoCommand(env environ.Env) (string, error) { return findGo(env) }
