#!/bin/bash

#SBATCH --job-name="mpi+go"
#SBATCH --time=00:05:00
#SBATCH --output=../out/06-hybrid-%j.out
#SBATCH --nodes=8
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=4
#SBATCH --mem-per-cpu=100M
# Where your cluster wants them, remove one '#' (ask its admins for the names):
##SBATCH --partition=standard
##SBATCH --account=YOUR_ACCOUNT

# Hybrid: MPI ranks across nodes, goroutines within a node; rank 0 prints the
# speedups of 1 CPU vs 1 node vs all nodes against the ideal ones.
#   submit:         cd jobs && sbatch 06-hybrid.sh   (output: out/06-hybrid-JOBID.out)
#   without SLURM:  bash jobs/06-hybrid.sh   (2 ranks, the cores shared among them;
#                   NP=4 CPUS=2 ITEMS=5000 bash ... for others)
set -euo pipefail

NP=${NP:-${SLURM_NTASKS:-2}} # ranks: --nodes x --ntasks-per-node under SLURM, else 2

# sbatch runs a copy of this script from its spool directory: then the
# submit directory (jobs/) holds common.sh
jobs_dir=$(dirname "$0")
[[ -f $jobs_dir/common.sh ]] || jobs_dir=${SLURM_SUBMIT_DIR:-.}
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$jobs_dir/common.sh"

build 06-hybrid

# launcher options before the program, the program's own options (-cpus, -items) after it
if in_slurm; then
	# --cpus-per-task again: srun does not take it from sbatch (Slurm 22.05 and
	# later), and without it each rank would be bound to one CPU
	CPUS=${SLURM_CPUS_PER_TASK:-1}
	run srun --cpus-per-task="$CPUS" "$prog" -cpus "$CPUS" -items "${ITEMS:-20000}"
else
	cores=$(nproc)
	CPUS=${CPUS:-$((cores / NP > 0 ? cores / NP : 1))}
	if [[ $MPI_FLAVOUR == ompi ]]; then
		# Open MPI binds each rank to one core when there are at most 2 ranks:
		# the goroutines of a rank could not run in parallel
		mpiexec_opts+=(--bind-to none)
	fi
	run "$MPIEXEC" "${mpiexec_opts[@]}" -np "$NP" "$prog" -cpus "$CPUS" -items "${ITEMS:-2000}"
fi
