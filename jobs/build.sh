#!/bin/bash
# Builds the programs of the batch jobs, once, on the login node (or a
# laptop), before any sbatch: every jobs/src/NAME into jobs/bin/FLAVOUR/NAME,
# for the MPI whose launcher will start them (Open MPI or MPICH, as
# `$MPIEXEC --version` says; the same module and settings as the jobs, see
# common.sh). The jobs only run what this built: nothing compiles inside an
# allocation, where the nodes would wait for one of them to compile and a
# cold build (~300 MB) would not fit the jobs' memory (--mem-per-cpu).
#
#   bash jobs/build.sh                        # every program, for the MPI of mpiexec
#   bash jobs/build.sh 05-ring                # just one
#   MPIEXEC=mpirun.mpich bash jobs/build.sh   # for MPICH (into jobs/bin/mpich/)
#   GO_TAGS=mpicc CC=mpicc bash jobs/build.sh # an MPI without a pkg-config file
#
# Needs Go on PATH (module load go; the version of go.mod's go line or newer:
# an older go fetches that release itself, which needs the network) and the
# MPI's development files (pkg-config ompi-c or mpich, or mpicc). Build again
# after editing a program or switching MPI; jobs/bin is on the file system
# you submit from, so every node of a job finds the programs there.
set -euo pipefail

case ${1:-} in
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
esac

jobs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$jobs_dir/common.sh"
GO_TAGS=${GO_TAGS:-$MPI_FLAVOUR}

if ! command -v go >/dev/null 2>&1; then
	if [[ -x /usr/local/go/bin/go ]]; then
		PATH=/usr/local/go/bin:$PATH
	else
		echo "go not found: load its module (module load go) or install Go (https://go.dev/dl)" >&2
		exit 1
	fi
fi
have=$(GOTOOLCHAIN=local go env GOVERSION) # the go on PATH, not the release go.mod may make it fetch
want=go$(sed -nE 's/^go ([0-9.]+).*/\1/p' "$root/go.mod")
if [[ $(printf '%s\n' "${want#go}" "${have#go}" | sort -V | head -n1) != "${want#go}" ]]; then
	echo "note: $have is older than $want (go.mod's go line): go fetches $want first, which needs the network;" \
		"offline, load a newer Go (module avail go)" >&2
fi

args=("$@")
[[ $# -gt 0 ]] || args=("$root"/jobs/src/*/) # all of them
names=()
for name in "${args[@]}"; do
	name=${name%/}
	name=${name##*/} # 05-ring, jobs/src/05-ring/ or 05-ring.sh
	name=${name%.sh}
	[[ -f $root/jobs/src/$name/main.go ]] || {
		echo "no program jobs/src/$name/ (there are: $(cd "$root/jobs/src" && echo *))" >&2
		exit 2
	}
	names+=("$name")
done

t0=$SECONDS
mkdir -p "$bin_dir" "$root/out" # out/: where the jobs' output files go (sbatch does not create it)
# one go build for all: the packages build in parallel, package mpi once;
# -o DIR/ puts each program in DIR under its directory's name
(cd "$root" && run go build -tags "$GO_TAGS" -o "$bin_dir/" "${names[@]/#/./jobs/src/}")
echo "built ${#names[@]} program(s) in $((SECONDS - t0)) s with $(cd "$root" && go env GOVERSION) for $("$MPIEXEC" --version 2>&1 | head -n1)" \
	"into ${bin_dir#"$root"/}/: ${names[*]}"
echo "next: cd jobs && sbatch ${names[0]}.sh   (or without SLURM: bash jobs/${names[0]}.sh)"
