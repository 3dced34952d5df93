#!/bin/bash
# A batch job for the SLURM test cluster (install/slurm-cluster.sh) that runs
# one MPI program twice, with both launchers: srun (PMIx) and Open MPI's
# mpirun (which starts its daemons through srun). Two nodes, two tasks each.
#
#   sbatch --wait test/slurm/srun-and-mpirun.sh PROGRAM
#
# PROGRAM must be on a path every node sees (not /tmp: each node has its own).
#SBATCH --job-name=srun-and-mpirun
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=2
#SBATCH --time=2
set -eu
prog=${1:?usage: sbatch srun-and-mpirun.sh PROGRAM}
if [ "$(id -u)" = 0 ]; then
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
echo "batch host $(hostname), job $SLURM_JOB_ID on $SLURM_JOB_NODELIST"
echo "== srun"
srun "$prog"
echo "== mpirun"
mpirun "$prog"
echo "== done"
