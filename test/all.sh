#!/usr/bin/env bash
# The one test command: install step, then every check. Extra arguments are
# passed to pytest (e.g. `bash test/all.sh -k interrupt`).
#
#   1. install/setup.sh --no-run   packages, build bin/mpigo (once), kernel spec
#   2. gofmt -l, shellcheck         no unformatted Go file, no shell-script warning
#   3. go vet ./...
#   4. go test -count=1 ./...
#   5. test/mpi.sh --cgocheck2      the mpi tests again under GOEXPERIMENT=cgocheck2
#      third_party/zmq4             the hardened zmq4 fork's tests, and its fuzz targets briefly
#   6. install/slurm-cluster.sh     (root) a 2-node SLURM cluster for test_slurm.py
#   7. pytest test/e2e              end-to-end tests against bin/mpigo
#
# Every step runs even if an earlier check failed (except the install step);
# a summary follows and the exit status is non-zero if anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit

# the project's virtual environment (install/setup.sh creates it): pytest and
# the current Jupyter stack; test_compat.py runs Debian's older Jupyter itself
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

NAMES=()
RESULTS=()
TIMES=()
T_START=$SECONDS

step() { # step NAME CMD...: runs CMD, records PASS/FAIL and its duration
	local name=$1
	shift
	printf '\n========== %s ==========\n' "$name"
	local t0=$SECONDS rc=0
	"$@" || rc=$?
	NAMES+=("$name")
	TIMES+=($((SECONDS - t0)))
	if [[ $rc -eq 0 ]]; then RESULTS+=(PASS); else RESULTS+=("FAIL (exit $rc)"); fi
	return $rc
}

summary() {
	printf '\n========== summary ==========\n'
	local i failed=0
	for i in "${!NAMES[@]}"; do
		printf '  %-28s %-14s %4ss\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
		[[ ${RESULTS[$i]} == PASS ]] || failed=1
	done
	printf '  %-28s %-14s %4ss\n' total "" $((SECONDS - T_START))
	if [[ $failed -eq 0 ]]; then
		echo "ALL PASSED"
	else
		echo "FAILED"
	fi
	return $failed
}

check_gofmt() {
	local files
	files=$(gofmt -l . 2>&1) || {
		echo "$files"
		return 1
	}
	if [[ -n $files ]]; then
		echo "gofmt: these files need formatting (run gofmt -w):"
		echo "$files"
		return 1
	fi
	echo "all Go files formatted"
}

if ! step "install/setup.sh --no-run" bash install/setup.sh --no-run; then
	summary
	exit 1
fi

# same Go as setup.sh found
if [[ -x /usr/local/go/bin/go && ":$PATH:" != *":/usr/local/go/bin:"* ]]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

step "gofmt -l" check_gofmt
step "shellcheck" shellcheck install/*.sh install/cluster/*.sh test/*.sh .ci/run
step "go vet ./..." go vet ./...
step "go test ./..." go test -count=1 -timeout 10m ./...
step "mpi under cgocheck2" bash test/mpi.sh --cgocheck2
# the hardened zmq4 fork is a module of its own: ./... above does not reach it
step "kernel: fuzz 2x10s" bash -c 'go test -run="^$" -fuzz="^FuzzDecode$" -fuzztime=10s ./kernel/ &&
	go test -run="^$" -fuzz="^FuzzGlob$" -fuzztime=10s ./kernel/'
step "zmq4 fork: vet + test" bash -c 'cd third_party/zmq4 && go vet ./... && go test -count=1 ./...'
step "zmq4 fork: fuzz 2x10s" bash -c 'cd third_party/zmq4 &&
	go test -run="^$" -fuzz=FuzzReadFrame -fuzztime=10s . &&
	go test -run="^$" -fuzz=FuzzHandshake -fuzztime=10s .'

# the SLURM cluster that test/e2e/test_slurm.py runs on (root only; the script
# installs slurm-wlm, munge and libpmix-dev when missing); a cluster that was
# already up is left running
SLURM_WAS_UP=false
if [[ $(id -u) -eq 0 ]]; then
	bash install/slurm-cluster.sh status >/dev/null 2>&1 && SLURM_WAS_UP=true
	step "slurm cluster start" bash install/slurm-cluster.sh start
fi

export MPIGO_BIN="$ROOT/bin/mpigo"
# `jupyter ...` in the tests is the venv's (JupyterLab 4, Notebook 7, nbconvert 7)
export PATH="$ROOT/.venv/bin:$PATH"
export PYDEVD_DISABLE_FILE_VALIDATION=1
# the hard limit keeps a hung kernel from eating the CI budget
step "pytest test/e2e" timeout -k 30 1200 "$PYTHON" -m pytest -q -rfEs -p no:cacheprovider test/e2e "$@"

if [[ $(id -u) -eq 0 ]] && ! $SLURM_WAS_UP; then
	step "slurm cluster stop" bash install/slurm-cluster.sh stop
fi

summary
