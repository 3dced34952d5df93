#!/bin/bash
# ---- site settings ------------------------------------------------------
# Most clusters want a partition and an account: remove one '#' from a line
# and put in your cluster's names (`sinfo -s` lists the partitions, `sacctmgr
# show assoc user=$USER` your accounts), or give them to every job at once
# with `export SBATCH_PARTITION=NAME SBATCH_ACCOUNT=NAME` before sbatch.
##SBATCH --partition=YOUR_PARTITION
##SBATCH --account=YOUR_ACCOUNT
# --------------------------------------------------------------------------

#SBATCH --job-name="mpi+go"
#SBATCH --time=00:05:00
#SBATCH --output=../out/06-hybrid-%j.out
# 2 nodes, one rank on each with 4 CPUs (goroutines): the speedups of
# 1 CPU, 1 node and 2 nodes. To scale up, ask for more nodes or more CPUs
# per rank (up to a node's cores), on sbatch's command line, which wins
# over these lines:
#   sbatch --nodes=8 --cpus-per-task=16 06-hybrid.sh   (128 CPUs)
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=4
# Memory: the ranks take about 20 MB each (Open MPI, shared memory; more
# over a fast network). Nothing is compiled in the job: see jobs/build.sh.
#SBATCH --mem-per-cpu=250M

# Hybrid: MPI ranks across nodes, goroutines within a node; rank 0 prints the
# speedups of 1 CPU vs 1 node vs all nodes against the ideal ones.
#   build once:     bash jobs/build.sh   (on the login node, before sbatch)
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

program 06-hybrid # sets $prog; stops the job, saying how to build it, if jobs/build.sh has not

# launcher options before the program, the program's own options (-cpus, -items) after it
if in_slurm; then
	# --cpus-per-task again: the srun of Slurm 22.05 to 23.02 does not take it
	# from sbatch (23.11 passes it on again, as SRUN_CPUS_PER_TASK), and
	# without it each rank would be bound to one CPU. Given here, it is right
	# for every version.
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
