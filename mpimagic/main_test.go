package mpimagic

import (
	"os"
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
