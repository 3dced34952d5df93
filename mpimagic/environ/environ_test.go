package environ

import (
	"reflect"
	"slices"
	"testing"
)

func TestChild(t *testing.T) {
	env := []string{"PATH=/bin", "OMPI_MCA_btl=self", "OMPI_ALLOW_RUN_AS_ROOT=1", "PMIX_SERVER_URI=x", "PMI_FD=3", "MPIGO_RANKIO=a;b", "HOME=/root"}
	want := []string{"PATH=/bin", "OMPI_MCA_btl=self", "HOME=/root"}
	if got := New(env...).Child(); !reflect.DeepEqual(got, want) {
		t.Errorf("Child = %q, want %q", got, want)
	}
	// inside an MPI job even the MCA settings are the job's, not the user's
	env = append(env, "OMPI_COMM_WORLD_RANK=0")
	want = []string{"PATH=/bin", "HOME=/root"}
	if got := New(env...).Child(); !reflect.DeepEqual(got, want) {
		t.Errorf("Child in a job = %q, want %q", got, want)
	}
	// the allocation's variables stay; a job step's go (the kernel under
	// srun, batchspawner's shape), the user's SLURM_MPI_TYPE stays outside one
	alloc := []string{"SLURM_JOB_ID=5", "SLURM_JOB_CPUS_PER_NODE=3,1", "SLURM_JOB_NUM_NODES=2", "SLURM_NODELIST=n[1-2]", "SLURM_CONF=/etc/slurm.conf"}
	step := []string{"SLURM_STEP_ID=0", "SLURM_STEPID=0", "SLURM_NTASKS=1", "SLURM_NPROCS=1", "SLURM_NNODES=1", "SLURM_MPI_TYPE=none",
		"SLURM_DISTRIBUTION=cyclic", "SLURM_PROCID=0", "SLURM_STEP_NODELIST=n1", "SLURM_CPU_BIND=quiet", "SLURM_SRUN_COMM_PORT=1", "SRUN_DEBUG=3",
		"PMIX_RANK=0", "PMIX_NAMESPACE=slurm.pmix.5.0", "SLURM_PMIXP_ABORT_AGENT_PORT=2"}
	if got := New(append(append([]string{}, alloc...), step...)...).Child(); !reflect.DeepEqual(got, alloc) {
		t.Errorf("Child in a job step = %q, want %q", got, alloc)
	}
	batch := append(append([]string{}, alloc...), "SLURM_NTASKS=4", "SLURM_MPI_TYPE=pmi2")
	if got := New(batch...).Child(); !reflect.DeepEqual(got, batch) {
		t.Errorf("Child in an allocation = %q, want %q", got, batch)
	}
	// a job submitted with sbatch --export=LIST: the ranks' srun must not
	// inherit LIST as its --export, in a step or not
	for _, env := range [][]string{batch, append(append([]string{}, alloc...), step...)} {
		got := New(append(append([]string{}, env...), "SLURM_EXPORT_ENV=PATH,HOME")...).Child()
		if slices.Contains(got, "SLURM_EXPORT_ENV=PATH,HOME") {
			t.Errorf("Child kept SLURM_EXPORT_ENV: %q", got)
		}
	}
	if got := Merge([]string{"A=1", "B=2"}, []string{"B=3", "C=4"}); !reflect.DeepEqual(got, []string{"A=1", "B=3", "C=4"}) {
		t.Errorf("mergeEnv = %q", got)
	}
}
