#!/usr/bin/env bash
# Go over package mpi against C, same MPI library, same measurements.
#
#   bash bench/mpi/run.sh [--mpi openmpi|mpich|all] [--rounds N] [--thread multiple|single] [--wait-idle]
#
# Builds bench.c with the implementation's mpicc and gobench with
# `go build -tags ompi|mpich`, then runs, alternating C and Go, N rounds of:
#   - pingpong on 2 ranks: round-trip latency of 8 bytes (median of 21 samples
#     of 20000 round trips) and bandwidth at 1 MiB (2 MiB moved per round
#     trip; median of 21 samples of 100 round trips);
#   - allreduce on 4 ranks: MPI_SUM of 1M float64 (median of 21 samples of 10
#     calls, the slowest rank's time);
#   - calls on 1 rank: nanoseconds per call of Send, Recv, Isend+Wait to
#     ProcNull and Allreduce of 8 bytes on Self, where MPI does nothing, and
#     (Go only) of a bare cgo call to an empty C function: the binding's own
#     cost per call is Go minus C, printed beside that floor.
# Each figure is the median over the rounds of each run's median, with the
# spread (min-max of the run medians). Ratios are Go/C of those medians, and
# ("best") of the best run medians, which resists bursts of load from other
# work on the machine better; targets: latency
# <= 1.35 (four cgo calls on the critical path of a round trip, plus 10 %),
# bandwidth >= 0.95, allreduce <= 1.05. Not a test: it never fails
# on speed. Both programs initialise MPI with the same thread level
# (MPI_THREAD_MULTIPLE, what mpi.Init asks for, unless --thread single).
# --wait-idle waits before each round until the CPUs are at least 90% idle
# (up to 10 minutes), for machines shared with other work.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
[[ -x /usr/local/go/bin/go && ":$PATH:" != *":/usr/local/go/bin:"* ]] && export PATH="/usr/local/go/bin:$PATH"

MPIS=all
ROUNDS=5
THREAD=multiple
WAIT_IDLE=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--mpi) MPIS=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--thread) THREAD=$2; shift ;;
	--wait-idle) WAIT_IDLE=1 ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# impl NAME -> sets CC_MPI, LAUNCH, TAG (empty CC_MPI if not installed)
impl() {
	CC_MPI= LAUNCH= TAG=
	case $1 in
	openmpi)
		TAG=ompi
		for c in mpicc.openmpi; do command -v $c >/dev/null && CC_MPI=$c; done
		for l in mpirun.openmpi orterun; do command -v $l >/dev/null && LAUNCH=$l && break; done
		if [[ -z $CC_MPI ]] && command -v mpicc >/dev/null && mpicc --showme >/dev/null 2>&1; then CC_MPI=mpicc; fi
		if [[ -z $LAUNCH ]] && mpirun --version 2>&1 | grep -q "Open MPI"; then LAUNCH=mpirun; fi
		export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
		;;
	mpich)
		TAG=mpich
		command -v mpicc.mpich >/dev/null && CC_MPI=mpicc.mpich
		for l in mpirun.mpich mpiexec.hydra; do command -v $l >/dev/null && LAUNCH=$l && break; done
		if [[ -z $CC_MPI ]] && command -v mpicc >/dev/null && mpicc -show 2>/dev/null | grep -q mpich; then CC_MPI=mpicc; fi
		if [[ -z $LAUNCH ]] && mpirun --version 2>&1 | grep -q HYDRA; then LAUNCH=mpirun; fi
		;;
	esac
	[[ -n $CC_MPI && -n $LAUNCH ]]
}

# launch NAME NP PROG ARGS...: pinned to a core per rank when they fit
launch() {
	local name=$1 np=$2
	shift 2
	local cores
	cores=$(nproc)
	case $name in
	openmpi)
		if ((np <= cores)); then
			"$LAUNCH" -n "$np" --bind-to core "$@"
		else
			"$LAUNCH" -n "$np" --oversubscribe --bind-to none "$@"
		fi
		;;
	mpich)
		if ((np <= cores)); then
			"$LAUNCH" -n "$np" -bind-to core "$@"
		else
			"$LAUNCH" -n "$np" "$@"
		fi
		;;
	esac
}

# wait_idle: until the CPUs are >= 90% idle over 3 s (at most 10 minutes)
wait_idle() {
	local i a b k idle tot
	for ((i = 0; i < 200; i++)); do
		read -ra a < <(head -1 /proc/stat)
		sleep 3
		read -ra b < <(head -1 /proc/stat)
		idle=$((b[4] - a[4]))
		tot=0
		for k in 1 2 3 4 5 6 7 8; do tot=$((tot + b[k] - a[k])); done
		((tot > 0 && 100 * idle / tot >= 90)) && return 0
	done
	echo "run.sh: the machine never became idle; measuring anyway" >&2
}

# stats FILE: median and min-max of column 2 of the lines in FILE
stats() {
	sort -g "$1" | awk '{v[NR]=$1} END {m = (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s %s %s\n", m, v[1], v[NR]}'
}

summary() {
	local name=$1 version=$2
	echo
	echo "== $name: $version; thread level $THREAD; $ROUNDS rounds, C and Go alternating"
	printf '%-34s %26s %26s %7s %7s %9s\n' "" "C median (min-max)" "Go median (min-max)" "Go/C" "best" "target"
	local fig unit target c g cm gm ratio best
	for fig in latency_8B_rtt bandwidth_1MiB allreduce_1M_f64; do
		case $fig in
		latency_8B_rtt) unit="us"; target="<= 1.35"; label="latency 8 B round trip" ;;
		bandwidth_1MiB) unit="MB/s"; target=">= 0.95"; label="bandwidth 1 MiB" ;;
		allreduce_1M_f64) unit="ms"; target="<= 1.05"; label="allreduce 1M float64, 4 ranks" ;;
		esac
		c=$(stats "$OUT/$name.c.$fig")
		g=$(stats "$OUT/$name.go.$fig")
		read -r cm cmin cmax <<<"$c"
		read -r gm gmin gmax <<<"$g"
		ratio=$(awk -v a="$gm" -v b="$cm" 'BEGIN {printf "%.3f", a/b}')
		if [[ $fig == bandwidth_1MiB ]]; then # best is the highest
			best=$(awk -v a="$gmax" -v b="$cmax" 'BEGIN {printf "%.3f", a/b}')
		else
			best=$(awk -v a="$gmin" -v b="$cmin" 'BEGIN {printf "%.3f", a/b}')
		fi
		printf '%-34s %26s %26s %7s %7s %9s\n' "$label ($unit)" "$cm ($cmin-$cmax)" "$gm ($gmin-$gmax)" "$ratio" "$best" "$target"
	done
	calls_summary "$name"
}

# calls_summary NAME: per-call cost of the binding against the cgo floor
calls_summary() {
	local name=$1 fig c g floor
	floor=$(stats "$OUT/$name.go.cgo_nop" | cut -d' ' -f1)
	echo
	printf '%-34s %10s %10s %10s   (bare cgo call: %s ns; target: Go-C <= cgo + 10 ns)\n' "per call, MPI doing nothing (ns)" "C" "Go" "Go-C" "$floor"
	for fig in call_send_procnull call_recv_procnull call_isend_wait_procnull call_allreduce_self_8B; do
		c=$(stats "$OUT/$name.c.$fig" | cut -d' ' -f1)
		g=$(stats "$OUT/$name.go.$fig" | cut -d' ' -f1)
		printf '%-34s %10s %10s %10s\n' "${fig#call_}" "$c" "$g" "$(awk -v a="$g" -v b="$c" 'BEGIN {printf "%.1f", a-b}')"
	done
}

ran=0
for name in openmpi mpich; do
	[[ $MPIS == all || $MPIS == "$name" ]] || continue
	if ! impl "$name"; then
		echo "run.sh: $name not installed (no mpicc/mpirun for it); skipped" >&2
		continue
	fi
	echo "building for $name: $CC_MPI bench/mpi/bench.c, go build -tags $TAG ./bench/mpi/gobench"
	"$CC_MPI" -O2 -o "$OUT/c-$name" bench/mpi/bench.c
	go build -tags "$TAG" -o "$OUT/go-$name" ./bench/mpi/gobench
	version=$("$OUT/go-$name" version 2>/dev/null || true)
	for ((r = 1; r <= ROUNDS; r++)); do
		((WAIT_IDLE)) && wait_idle
		for lang in c go; do
			for mode in pingpong allreduce calls; do
				np=2
				[[ $mode == allreduce ]] && np=4
				[[ $mode == calls ]] && np=1
				launch "$name" $np "$OUT/$lang-$name" $mode "$THREAD" >"$OUT/run" 2>&1 || {
					cat "$OUT/run" >&2
					exit 1
				}
				while read -r fig med _min _unit; do
					case $fig in
					latency_8B_rtt | bandwidth_1MiB | allreduce_1M_f64 | call_* | cgo_nop) echo "$med" >>"$OUT/$name.$lang.$fig" ;;
					esac
				done <"$OUT/run"
			done
		done
		printf '  round %d/%d done\n' "$r" "$ROUNDS"
	done
	summary "$name" "$version"
	ran=1
done
[[ $ran == 1 ]] || { echo "run.sh: no MPI implementation found" >&2; exit 1; }
