#!/bin/bash

#SBATCH --job-name="scatter"
#SBATCH --time=00:05:00
#SBATCH --output=../out/03-scatter-%j.out
#SBATCH --nodes=20
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=1
#SBATCH --mem-per-cpu=100M
# Where your cluster wants them, remove one '#' (ask its admins for the names):
##SBATCH --partition=standard
##SBATCH --account=YOUR_ACCOUNT

# Scatter: rank 0 splits an array of size*3+1 elements into size uneven parts,
# one for each rank.
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

build 03-scatter

# launcher options before the program: after it, they would be the program's own arguments
if in_slurm; then
	run srun "$prog"
else
	run "$MPIEXEC" "${mpiexec_opts[@]}" -np "$NP" "$prog"
fi
