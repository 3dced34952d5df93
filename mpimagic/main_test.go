package mpimagic

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// TestMain lets the test binary stand in for mpigo as the rank wrapper:
// launched as "TESTBINARY rankio -- PROGRAM", it runs rankio.Main.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "rankio" {
		os.Exit(rankio.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// testEnviron is the environment the tests' cells start with: the
// process's without the variables of a SLURM allocation or job step
// (SLURM_*, PMIX_*), so that the tests behave the same inside salloc or an
// srun step as outside.
func testEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLURM_") && !strings.HasPrefix(kv, "PMIX_") {
			env = append(env, kv)
		}
	}
	return env
}

// quietLog discards what the code under test logs.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))
