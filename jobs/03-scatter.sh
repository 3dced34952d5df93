#!/bin/bash
# ---- site settings ------------------------------------------------------
# Most clusters want a partition and an account: remove one '#' from a line
# and put in your cluster's names (`sinfo -s` lists the partitions, `sacctmgr
# show assoc user=$USER` your accounts), or give them to every job at once
# with `export SBATCH_PARTITION=NAME SBATCH_ACCOUNT=NAME` before sbatch.
##SBATCH --partition=YOUR_PARTITION
##SBATCH --account=YOUR_ACCOUNT
# --------------------------------------------------------------------------

#SBATCH --job-name="scatter"
#SBATCH --time=00:05:00
#SBATCH --output=../out/03-scatter-%j.out
# 4 ranks on one node. To scale up, ask for more (any number of ranks
# works), on sbatch's command line, which wins over these lines:
#   sbatch --nodes=4 --ntasks-per-node=8 03-scatter.sh   (32 ranks)
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=4
#SBATCH --cpus-per-task=1
# Memory: the ranks take about 20 MB each (Open MPI, shared memory; more
# over a fast network). Nothing is compiled in the job: see jobs/build.sh.
#SBATCH --mem-per-cpu=250M

# Scatter: rank 0 splits an array of size*3+1 elements into size uneven parts,
# one for each rank.
#   build once:     bash jobs/build.sh   (on the login node, before sbatch)
#   submit:         cd jobs && sbatch 03-scatter.sh   (output: out/03-scatter-JOBID.out)
#   without SLURM:  bash jobs/03-scatter.sh   (4 ranks; NP=8 bash ... for 8 ranks)
set -euo pipefail

NP=${NP:-${SLURM_NTASKS:-4}} # ranks: --nodes x --ntasks-per-node under SLURM, else 4

# sbatch runs a copy of this script from its spool directory: then the
# submit directory (jobs/) holds common.sh
jobs_dir=$(dirname "$0")
[[ -f $jobs_dir/common.sh ]] || jobs_dir=${SLURM_SUBMIT_DIR:-.}
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$jobs_dir/common.sh"

program 03-scatter # sets $prog; stops the job, saying how to build it, if jobs/build.sh has not

# launcher options before the program: after it, they would be the program's own arguments
if in_slurm; then
	run srun "$prog"
else
	run "$MPIEXEC" "${mpiexec_opts[@]}" -np "$NP" "$prog"
fi
