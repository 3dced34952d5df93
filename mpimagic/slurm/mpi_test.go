package slurm

import (
	"reflect"
	"testing"
)

func TestParseMPIList(t *testing.T) {
	for out, want := range map[string][]string{
		// Slurm 22.05, on stderr with srun's prefix on some versions
		"MPI plugin types are...\n\tpmix\n\tnone\n\tcray_shasta\n\tpmi2\nspecific pmix plugin versions available: pmix_v4\n": {"pmix", "none", "cray_shasta", "pmi2", "pmix_v4"},
		"srun: MPI plugin types are...\nsrun: \tnone\nsrun: \tpmi2\n":                                                        {"none", "pmi2"},
		"srun: error: something\n": nil,
	} {
		if got := parseMPIList(out); !reflect.DeepEqual(got, want) {
			t.Errorf("parseMPIList(%q) = %q, want %q", out, got, want)
		}
	}
}
