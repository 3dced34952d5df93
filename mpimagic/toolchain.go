package mpimagic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// toolchain is the Go and MPI set-up programs are built with.
type toolchain struct {
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

// launcherEnvKeys are the variables the choice of the launcher depends on
// (findLauncher, inJobStep, chooseMPIPlugin).
var launcherEnvKeys = []string{"PATH", "MPIGO_MPIRUN", "SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_MPI_TYPE"}

// toolEnvKeys are the variables a toolchain detection depends on.
var toolEnvKeys = []string{"PATH", "GOROOT", "PKG_CONFIG_PATH", "CC", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_LDFLAGS", "GOEXPERIMENT", "GOAMD64", "MPIGO_MPIRUN"}

// toolKey is the cache key of a toolchain detection for launcher l in
// env.
func toolKey(l *launcher, env environ.Env) string {
	return l.mpirun + "\x00" + l.flavour + env.Key(toolEnvKeys...)
}

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

// detectToolchain finds go and decides how to build for the MPI of l.
func detectToolchain(ctx context.Context, l *launcher, env environ.Env) (*toolchain, error) {
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
	t := &toolchain{goBin: goBin}
	t.goVersion, _, _ = strings.Cut(goEnv, "\n")

	pkgConfig := func(module string) (string, bool) {
		out, err := run("pkg-config", "--cflags", "--libs", module)
		return out, err == nil
	}
	// mpicc next to the mpirun (mpirun.mpich → mpicc.mpich), else on PATH.
	mpicc := func() string {
		if l.mpirun != "" {
			dir, base := filepath.Split(l.mpirun)
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
	switch l.flavour {
	case flavourOpenMPI:
		module = "ompi-c"
		t.tags = "ompi"
	case flavourMPICH:
		module = "mpich"
		t.tags = "mpich"
	default:
		module = "mpi"
	}
	if out, ok := pkgConfig(module); ok {
		cflags = out
		t.mpi = l.flavour + " (pkg-config " + module + ")"
	} else if cc := mpicc(); cc != "" {
		t.tags, t.cc = "mpicc", cc
		showArg := "-show"
		if l.flavour == flavourOpenMPI {
			showArg = "--showme"
		}
		cflags, _ = run(cc, showArg)
		t.mpi = l.flavour + " (" + cc + ")"
	} else {
		return nil, fmt.Errorf("cannot build for %s: neither pkg-config module %q nor an mpicc was found; install the MPI development files (e.g. apt-get install libopenmpi-dev) or load the MPI module", l.flavour, module)
	}
	if l.flavour == "" || l.flavour == flavourOther {
		t.mpi = strings.TrimPrefix(t.mpi, l.flavour+" ")
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s\n%s\n", goEnv, t.tags, t.cc, cflags, env.Get("PKG_CONFIG_PATH"), l.version)
	t.fingerprint = hex.EncodeToString(h.Sum(nil))
	return t, nil
}
