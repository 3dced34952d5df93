# shellcheck shell=bash
# Sourced by the job scripts jobs/NN-*.sh and by jobs/build.sh (not a job
# itself). It
#
#   - loads the MPI module where there is a module system (clusters),
#   - tells Open MPI from MPICH by asking $MPIEXEC --version,
#   - defines   program NAME  sets $prog to jobs/bin/FLAVOUR/NAME, the program
#                             jobs/build.sh built; stops the job, saying how
#                             to build it, when it is not there
#               in_slurm      true when the ranks are to be started with srun
#               run CMD...    prints CMD (to stderr, so it lands in the job's output) and runs it
#   - and sets the array mpiexec_opts: the options mpiexec needs outside SLURM.
#
# Settings (environment variables), all optional:
#   NP          ranks when run without SLURM (each job script has its default)
#   MPIEXEC     the launcher outside SLURM: mpiexec (default), mpirun.openmpi, mpirun.mpich
#   LAUNCHER    auto (default: srun inside a SLURM job, else $MPIEXEC), srun, or mpiexec
#   MPI_MODULE  the module to load where `module` exists (default openmpi/4.1.2; empty: none)
#   MPI_FLAVOUR ompi or mpich, when $MPIEXEC --version does not tell
#   GO_TAGS     (build.sh) build tags for package mpi (default: the flavour;
#               `mpicc` for MPIs without a pkg-config file, with CC=mpicc)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) # the repository
MPIEXEC=${MPIEXEC:-mpiexec}
LAUNCHER=${LAUNCHER:-auto}

# The MPI comes from an environment module on a cluster. Laptops
# and CI have no `module` command and their MPI installed system-wide, so the
# load is skipped there. Module scripts often read unset variables: no set -u
# while they run.
MPI_MODULE=${MPI_MODULE-openmpi/4.1.2}
if [[ -n $MPI_MODULE ]] && command -v module >/dev/null 2>&1; then
	set +u
	module load "$MPI_MODULE"
	set -u
fi

# Package mpi is compiled against one MPI and its programs must be started by
# that MPI's launcher, so the launcher decides which MPI to build with.
if [[ -z ${MPI_FLAVOUR:-} ]]; then
	case $("$MPIEXEC" --version 2>&1 || true) in
	*"Open MPI"* | *OpenRTE*) MPI_FLAVOUR=ompi ;;
	*HYDRA* | *MPICH* | *MVAPICH*) MPI_FLAVOUR=mpich ;;
	*)
		echo "cannot tell which MPI '$MPIEXEC' belongs to (is it installed, or its module loaded?);" \
			"set MPIEXEC to an Open MPI or MPICH mpiexec, or MPI_FLAVOUR=ompi|mpich" >&2
		exit 1
		;;
	esac
fi

in_slurm() {
	case $LAUNCHER in
	srun) return 0 ;;
	mpiexec) return 1 ;;
	*) [[ -n ${SLURM_JOB_ID:-} ]] ;;
	esac
}

run() {
	printf '+ %s\n' "$*" >&2
	"$@"
}

# The programs are built once, on the login node, by jobs/build.sh: a job
# only runs them. Compiling in the job would keep its nodes idle while one
# of them compiles, and a cold build (~300 MB) would not fit the job's
# memory (--mem-per-cpu) where the cluster enforces it. One directory per
# MPI: a program runs only under the launcher of the MPI it was built with.
bin_dir=$root/jobs/bin/$MPI_FLAVOUR

program() {
	prog=$bin_dir/$1
	if [[ ! -x $prog ]]; then
		local how="bash jobs/build.sh"
		[[ $MPIEXEC == mpiexec ]] || how="MPIEXEC=$MPIEXEC $how"
		{
			echo "error: ${prog#"$root"/} is not built: the jobs run programs built beforehand, nothing compiles in an allocation."
			echo "Build them once, on the login node (or here, without SLURM), with the MPI the jobs use:"
			echo "    cd $root && $how"
			echo "then submit (or run) this job again."
		} >&2
		exit 1
	fi
	# an edited program (or package mpi) runs as it was until it is built again
	local newer
	newer=$(find "$root/jobs/src/$1" "$root/mpi" -newer "$prog" -type f -print -quit 2>/dev/null || true)
	if [[ -n $newer ]]; then
		echo "note: ${newer#"$root"/} changed after $prog was built: run bash jobs/build.sh again to run the new version" >&2
	fi
}

# Options for mpiexec, all of them placed BEFORE the program in the job
# scripts: everything after the program's name is handed to the program. The
# original jobs ran `mpiexec -np 20 python ../src/00-hello-world.py --mca
# mpi_cuda_support 0`, so the Python script got "--mca mpi_cuda_support 0" in
# sys.argv and Open MPI never saw it.
mpiexec_opts=()
if [[ $MPI_FLAVOUR == ompi ]]; then
	# CUDA support off, as the original meant: an Open MPI built with CUDA
	# may otherwise look for GPUs on every rank and warn on nodes without one
	mpiexec_opts+=(--mca mpi_cuda_support 0)
	if ! in_slurm && [[ -z ${SLURM_JOB_ID:-} ]]; then
		# a laptop or CI: let more ranks than cores share the cores (MPICH's
		# mpiexec does so by default)
		mpiexec_opts+=(--oversubscribe)
	fi
	if [[ $(id -u) == 0 ]]; then
		# Open MPI refuses to run as root unless told (containers, CI)
		mpiexec_opts+=(--allow-run-as-root)
	fi
fi
if in_slurm; then
	# srun has no --mca; Open MPI reads the same setting from the environment
	export OMPI_MCA_mpi_cuda_support=0
fi
