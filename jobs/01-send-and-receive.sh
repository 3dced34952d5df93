#!/bin/bash

#SBATCH --job-name="sndrcv"
#SBATCH --time=00:05:00
#SBATCH --output=../out/01-send-and-receive-%j.out
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=1
#SBATCH --mem-per-cpu=100M
# Where your cluster wants them, remove one '#' (ask its admins for the names):
##SBATCH --partition=standard
##SBATCH --account=YOUR_ACCOUNT

# Blocking send and receive: rank 0 sends a map to every other rank after a delay.
# The original worked with exactly 2 ranks; this one works with any number.
#   submit:         cd jobs && sbatch 01-send-and-receive.sh   (output: out/01-send-and-receive-JOBID.out)
#   without SLURM:  bash jobs/01-send-and-receive.sh   (4 ranks; NP=2 bash ... for 2 ranks)
set -euo pipefail

NP=${NP:-${SLURM_NTASKS:-4}} # ranks: --nodes x --ntasks-per-node under SLURM, else 4

# sbatch runs a copy of this script from its spool directory: then the
# submit directory (jobs/) holds common.sh
jobs_dir=$(dirname "$0")
[[ -f $jobs_dir/common.sh ]] || jobs_dir=${SLURM_SUBMIT_DIR:-.}
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$jobs_dir/common.sh"

build 01-send-and-receive

# launcher options before the program: after it, they would be the program's own arguments
if in_slurm; then
	run srun "$prog" -delay 1s
else
	run "$MPIEXEC" "${mpiexec_opts[@]}" -np "$NP" "$prog" -delay 1s
fi
