#!/bin/bash

#SBATCH --job-name="gather"
#SBATCH --time=00:05:00
#SBATCH --output=../out/04-gather-%j.out
#SBATCH --nodes=20
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=1
#SBATCH --mem-per-cpu=100M
# Where your cluster wants them, remove one '#' (ask its admins for the names):
##SBATCH --partition=standard
##SBATCH --account=YOUR_ACCOUNT

# Gather: rank 0 collects one value from every rank.
#   submit:         cd jobs && sbatch 04-gather.sh   (output: out/04-gather-JOBID.out)
#   without SLURM:  bash jobs/04-gather.sh   (4 ranks; NP=8 bash ... for 8 ranks)
set -euo pipefail

NP=${NP:-${SLURM_NTASKS:-4}} # ranks: --nodes x --ntasks-per-node under SLURM, else 4

# sbatch runs a copy of this script from its spool directory: then the
# submit directory (jobs/) holds common.sh
jobs_dir=$(dirname "$0")
[[ -f $jobs_dir/common.sh ]] || jobs_dir=${SLURM_SUBMIT_DIR:-.}
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$jobs_dir/common.sh"

build 04-gather

# launcher options before the program: after it, they would be the program's own arguments
if in_slurm; then
	run srun "$prog"
else
	run "$MPIEXEC" "${mpiexec_opts[@]}" -np "$NP" "$prog"
fi
