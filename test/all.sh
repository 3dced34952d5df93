#!/usr/bin/env bash
# The one test command: install step, then every check. Extra arguments are
# passed to pytest (e.g. `bash test/all.sh -k interrupt`).
#
#   1. install/setup.sh --no-run   packages, build bin/mpigo (once), kernel spec
#   2. gofmt -l, shellcheck         no unformatted Go file, no shell-script warning
#   3. go vet ./...
#      the oldest Go                build and vet again with exactly go.mod's go
#                                   release, fetched from the module proxy
#   4. go test -count=1 ./...
#   5. test/mpi.sh --cgocheck2      the mpi tests again under GOEXPERIMENT=cgocheck2
#      third_party/zmq4             the hardened zmq4 fork's tests, and its fuzz targets briefly
#   6. install/slurm-cluster.sh     (root) a 2-node SLURM cluster for test_slurm.py
#   7. pytest test/e2e              end-to-end tests against bin/mpigo
#
# Every step runs even if an earlier check failed (except the install step);
# a summary follows and the exit status is non-zero if anything failed. A
# step that exits 77 was skipped (it says why) and fails nothing.
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
	if [[ $rc -eq 0 ]]; then
		RESULTS+=(PASS)
	elif [[ $rc -eq 77 ]]; then
		RESULTS+=(SKIP)
	else
		RESULTS+=("FAIL (exit $rc)")
	fi
	return $rc
}

summary() {
	printf '\n========== summary ==========\n'
	local i failed=0
	for i in "${!NAMES[@]}"; do
		printf '  %-28s %-14s %4ss\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
		[[ ${RESULTS[$i]} == PASS || ${RESULTS[$i]} == SKIP ]] || failed=1
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

# The oldest Go the project supports is go.mod's go line: the release a
# cluster's `module load go` must reach to build mpigo and the jobs. Build and
# vet with exactly that release (GOTOOLCHAIN=goX.Y.Z: the go command fetches
# it from the module proxy once, into the module cache), so that nothing newer
# slips in: a standard-library API (vet's stdversion check), a language
# feature, a dependency that needs a newer Go. Skipped (77) only when the
# proxy cannot be reached.
check_oldest_go() {
	local want out
	want=go$(sed -nE 's/^go ([0-9]+[.][0-9.]+)$/\1/p' go.mod)
	if [[ $want == go ]]; then
		echo "go.mod has no go line"
		return 1
	fi
	if ! out=$(GOTOOLCHAIN=$want go env GOVERSION 2>&1); then
		echo "$out"
		if [[ $(go env GOPROXY) == off ]] ||
			grep -qE 'dial tcp|no such host|i/o timeout|connection refused|network is unreachable|TLS handshake timeout|proxyconnect' <<<"$out"; then
			echo "SKIP: cannot fetch $want from the module proxy ($(go env GOPROXY)): the oldest Go is not checked"
			return 77
		fi
		return 1
	fi
	if [[ $out != "$want" ]]; then
		echo "GOTOOLCHAIN=$want runs $out, not $want"
		return 1
	fi
	echo "$want (go.mod's go line): go build ./... && go vet ./..."
	GOTOOLCHAIN=$want go build ./... && GOTOOLCHAIN=$want go vet ./...
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
step "shellcheck" shellcheck install/*.sh install/cluster/*.sh test/*.sh .ci/run jobs/*.sh
step "go vet ./..." go vet ./...
step "oldest Go: build + vet" check_oldest_go
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
