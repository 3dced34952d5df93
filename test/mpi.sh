#!/usr/bin/env bash
# Tests of package mpi under real MPI jobs, for every MPI implementation
# installed (Open MPI and MPICH; install both: apt-get install libopenmpi-dev
# openmpi-bin libmpich-dev mpich).
#
#   bash test/mpi.sh               both passes below
#   bash test/mpi.sh --plain       pass 1 only (what `go test ./...` also runs)
#   bash test/mpi.sh --cgocheck2   pass 2 only (for CI after `go test ./...`)
#
# Pass 1: go test ./mpi/ re-executes its test binary under each
#   implementation's own mpirun with 1, 2, 4 and 5 ranks (5 oversubscribed on
#   small machines), builds mpi/internal/testprog with plain `go build` and
#   checks its output and failure modes. About 70 s on 2 cores.
# Pass 2: the same tests built with GOEXPERIMENT=cgocheck2, which checks
#   every pointer handed to C (the non-blocking ring with forced GCs between
#   post and Wait is the point), on 2 and 5 ranks. The first run rebuilds the
#   standard library with the experiment (about a minute on 2 cores; cached
#   afterwards).
#
# Extra arguments go to go test (e.g. -v, -run TestReduce). Environment:
# MPIGO_TEST_MPI=openmpi|mpich limits the implementations, MPIGO_TEST_NP the
# world sizes (see mpi/main_test.go).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit
[[ -x /usr/local/go/bin/go && ":$PATH:" != *":/usr/local/go/bin:"* ]] && export PATH="/usr/local/go/bin:$PATH"

plain=1 cgo2=1
case ${1:-} in
--plain) cgo2=0; shift ;;
--cgocheck2) plain=0; shift ;;
esac

rc=0
if ((plain)); then
	echo "== go test ./mpi/ (Open MPI and MPICH, 1 2 4 5 ranks)"
	t0=$SECONDS
	go test -count=1 -timeout 10m ./mpi/ "$@" || rc=1
	echo "   ($((SECONDS - t0)) s)"
fi
if ((cgo2)); then
	echo "== GOEXPERIMENT=cgocheck2 go test ./mpi/ (2 and 5 ranks)"
	t0=$SECONDS
	GOEXPERIMENT=cgocheck2 MPIGO_TEST_NP=${MPIGO_TEST_NP:-2,5} MPIGO_TEST_PROGRAM=0 \
		go test -count=1 -timeout 10m ./mpi/ "$@" || rc=1
	echo "   ($((SECONDS - t0)) s)"
fi
exit $rc
