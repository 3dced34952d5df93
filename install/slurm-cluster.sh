#!/usr/bin/env bash
# A small SLURM cluster on this machine, for trying mpigo with SLURM and for
# its tests: slurmctld on the host, one slurmd per node, each node in its own
# network namespace (with its own host name, /tmp, /dev/shm and /etc/hosts),
# joined to the host by a bridge, so that multi-node MPI jobs cross a network.
# Needs root and Debian/Ubuntu (the packages are installed when missing).
# See --help.
set -euo pipefail

PROG=${0##*/}
DEFAULT_DIR=/var/lib/mpigo-slurm

usage() {
	cat <<EOF
Usage: bash install/$PROG COMMAND [OPTIONS]

A SLURM cluster on this machine: slurmctld on the host and K nodes n1..nK, each
a network namespace running its own slurmd, joined to the host by a bridge.
Everything lives in one state directory; stop ends only what start started.

Commands:
  start     start the cluster (or check that it runs) and wait until every
            node is idle; prints how long that took
  stop      stop the daemons and jobs this cluster started, remove its
            network namespaces, veth pairs and bridge (safe to repeat)
  status    daemons, nodes and network; exit 0 running, 3 stopped, 1 broken
  env       print the shell exports that point SLURM commands at the cluster:
              eval "\$(bash install/$PROG env)"

Options:
  --dir DIR       state directory [\$MPIGO_SLURM_DIR or $DEFAULT_DIR];
                  must not be under /tmp (every node has a private /tmp)
  --nodes K       number of nodes (start) [2]
  --cpus C        CPUs declared per node (start) [8]: more than the machine
                  has is fine (SlurmdParameters=config_overrides)
  --subnet A.B.C  the /24 of the bridge (start) [10.213.0]: the host is A.B.C.1,
                  node i is A.B.C.(10+i)
  --port P        SlurmctldPort (start) [6917]
  --timeout S     seconds start waits for idle nodes [60]
  -h, --help      show this help

Layout: bridge mpigo-br0 (A.B.C.1), node i in netns mpigo-nI with veth
mpigo-vI on the host side and eth0 inside. Partition "debug" (default) holds
every node. MpiDefault=pmix: Open MPI programs run with plain srun; give
steps that are not MPI programs --mpi=none (no PMIx server set up for them). \$DIR/shared is a directory for programs and job files
(every node sees the host's files except /tmp).
EOF
}

die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}
info() { printf '%s: %s\n' "$PROG" "$*"; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------
CMD=
DIR=${MPIGO_SLURM_DIR:-$DEFAULT_DIR}
NODES=2
CPUS=8
SUBNET=10.213.0
PORT=6917
TIMEOUT=60
GIVEN="" # the options given on the command line
while [[ $# -gt 0 ]]; do
	case $1 in
	start | stop | status | env)
		[[ -z $CMD ]] || die "one command at a time (got $CMD and $1)"
		CMD=$1
		;;
	--dir | --nodes | --cpus | --subnet | --port | --timeout)
		[[ $# -ge 2 ]] || die "$1 needs a value"
		case $1 in
		--dir) DIR=$2 ;;
		--nodes) NODES=$2 ;;
		--cpus) CPUS=$2 ;;
		--subnet) SUBNET=$2 ;;
		--port) PORT=$2 ;;
		--timeout) TIMEOUT=$2 ;;
		esac
		GIVEN+=" ${1#--} "
		shift
		;;
	--dir=* | --nodes=* | --cpus=* | --subnet=* | --port=* | --timeout=*)
		set -- "${1%%=*}" "${1#*=}" "${@:2}"
		continue
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown argument: $1"
		;;
	esac
	shift
done
[[ -n $CMD ]] || {
	usage >&2
	exit 2
}
[[ $NODES =~ ^[1-9][0-9]*$ && $NODES -le 200 ]] || die "--nodes must be 1..200, not '$NODES'"
[[ $CPUS =~ ^[1-9][0-9]*$ ]] || die "--cpus must be a positive number, not '$CPUS'"
[[ $PORT =~ ^[1-9][0-9]*$ && $PORT -lt 65535 ]] || die "--port must be a port number, not '$PORT'"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a number of seconds, not '$TIMEOUT'"
[[ $SUBNET =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || die "--subnet must look like 10.213.0, not '$SUBNET'"
[[ $DIR == /* ]] || DIR=$PWD/$DIR
DIR=${DIR%/}
case $DIR/ in
/tmp/*) die "--dir $DIR is under /tmp, which every node replaces with its own: pick another place" ;;
esac

CONF=$DIR/etc/slurm.conf
CLUSTER_ENV=$DIR/etc/cluster.env # what start was given: stop/status/env use it
MUNGE_DIR=$DIR/munge
MUNGE_SOCKET=$MUNGE_DIR/munge.socket.2
LOG=$DIR/log
BRIDGE=mpigo-br0
OWNER=/run/mpigo-slurm.owner # state dir of the cluster that holds the names

# the settings of the cluster as started (over the defaults; options given to
# stop/status/env do not matter once it is started)
load_cluster_env() {
	if [[ -r $CLUSTER_ENV ]]; then
		# shellcheck source=/dev/null
		. "$CLUSTER_ENV"
	fi
}

node_ns() { echo "mpigo-n$1"; }
node_veth() { echo "mpigo-v$1"; }
node_addr() { echo "$SUBNET.$((10 + $1))"; }
host_addr() { echo "$SUBNET.1"; }

# ---------------------------------------------------------------------------
# processes: pid files, checked against the command name before any signal
# ---------------------------------------------------------------------------
# alive PID: the process exists and is not a zombie (a daemon killed but not
# yet reaped by init still has its /proc entry)
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# pid_of FILE COMM: the pid in FILE if that process runs and is COMM
pid_of() {
	local pid
	[[ -r $1 ]] || return 1
	pid=$(tr -dc 0-9 <"$1")
	[[ -n $pid ]] && alive "$pid" || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] || return 1
	echo "$pid"
}

# wait_gone SECONDS PID...: true when all are gone in time
wait_gone() {
	local deadline=$((SECONDS + $1)) p n
	shift
	while :; do
		n=0
		for p in "$@"; do
			alive "$p" && n=1
		done
		((n)) || return 0
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# stop_pids FILE COMM [FILE COMM...]: SIGTERM to all at once, SIGKILL to
# those left after 5 s; removes the FILEs
stop_pids() {
	local pids=() names=() files=() pid
	while [[ $# -ge 2 ]]; do
		files+=("$1")
		if pid=$(pid_of "$1" "$2"); then
			pids+=("$pid")
			names+=("$2 ($pid)")
		fi
		shift 2
	done
	if [[ ${#pids[@]} -gt 0 ]]; then
		kill -TERM "${pids[@]}" 2>/dev/null || true
		if ! wait_gone 5 "${pids[@]}"; then
			kill -KILL "${pids[@]}" 2>/dev/null || true
			wait_gone 2 "${pids[@]}" || true
		fi
		info "stopped ${names[*]}"
	fi
	rm -f "${files[@]}" # the daemons remove their own; a dead one's is left
}

# stop_netns_procs NS: every process in network namespace NS (this script's
# slurmd and what it started: slurmstepd, job tasks)
stop_netns_procs() {
	local ns=$1 pids
	[[ -e /run/netns/$ns ]] || return 0
	mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
	[[ ${#pids[@]} -gt 0 ]] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	if ! wait_gone 5 "${pids[@]}"; then
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		[[ ${#pids[@]} -eq 0 ]] || kill -KILL "${pids[@]}" 2>/dev/null || true
		wait_gone 2 "${pids[@]}" || true
	fi
}

# ---------------------------------------------------------------------------
# packages
# ---------------------------------------------------------------------------
# slurm's mpi/pmix plugin dlopens pmix2/lib/libpmix.so, which only
# libpmix-dev ships
PKGS=(slurm-wlm munge libpmix-dev iproute2 util-linux procps)

ensure_packages() {
	local p missing=()
	for p in "${PKGS[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) == "install ok installed" ]] || missing+=("$p")
	done
	[[ ${#missing[@]} -gt 0 ]] || return 0
	command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them yourself"
	info "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# policy-rc.d or not, the packages' own services are not used
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_root() {
	[[ $(id -u) -eq 0 ]] || die "$CMD needs root (slurmd, network namespaces); try: sudo bash $0 $CMD"
}

# ---------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------
write_config() {
	local i ctl_name
	ctl_name=$(hostname -s)
	mkdir -p "$DIR/etc" "$DIR/ctld" "$DIR/run" "$LOG" "$DIR/shared" "$DIR/nodes"
	chmod 755 "$DIR" "$DIR/etc" "$DIR/shared"
	cat >"$CLUSTER_ENV" <<EOF
NODES=$NODES
CPUS=$CPUS
SUBNET=$SUBNET
PORT=$PORT
EOF
	: >"$DIR/etc/plugstack.conf"
	{
		cat <<EOF
# written by $PROG start; rewritten at every start
ClusterName=mpigo
SlurmctldHost=$ctl_name($(host_addr))
SlurmctldPort=$PORT
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/nodes/%n/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/nodes/%n/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/etc/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SlurmdParameters=config_overrides
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
EnforcePartLimits=ALL
MailProg=/bin/true
TmpFS=/tmp
EOF
		# RealMemory: memory is no consumable resource with CR_Core, but a job's
		# --mem-per-cpu (100M in jobs/) is refused beyond what a node declares
		for ((i = 1; i <= NODES; i++)); do
			echo "NodeName=n$i NodeHostname=n$i NodeAddr=$(node_addr "$i") CPUs=$CPUS Sockets=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$((CPUS * 256)) State=UNKNOWN"
		done
		echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
	} >"$CONF"
	# /etc/hosts of the nodes: they know each other and the host by name
	{
		echo "127.0.0.1 localhost"
		echo "$(host_addr) $ctl_name"
		for ((i = 1; i <= NODES; i++)); do
			echo "$(node_addr "$i") n$i"
		done
	} >"$DIR/etc/hosts"
	chmod 644 "$CONF" "$DIR/etc/hosts" "$DIR/etc/plugstack.conf"
}

# ---------------------------------------------------------------------------
# network: bridge on the host, a netns + veth pair per node
# ---------------------------------------------------------------------------
setup_network() {
	local i ns veth used
	# the subnet must be free (or ours already)
	used=$(ip -o -4 addr show | awk -v s="$SUBNET." -v b="$BRIDGE" '$2 != b && index($4, s) == 1 { print $2 }')
	[[ -z $used ]] || die "subnet $SUBNET.0/24 is used by interface $used on this machine: pick another with --subnet"
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add "$BRIDGE" type bridge
	fi
	ip addr replace "$(host_addr)/24" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	for ((i = 1; i <= NODES; i++)); do
		ns=$(node_ns "$i") veth=$(node_veth "$i")
		# start over for this node: a half-made one is not worth repairing
		[[ ! -e /run/netns/$ns ]] || ip netns del "$ns"
		! ip link show "$veth" >/dev/null 2>&1 || ip link del "$veth"
		ip netns add "$ns"
		ip link add "$veth" type veth peer name eth0 netns "$ns"
		ip link set "$veth" master "$BRIDGE" up
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$(node_addr "$i")/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via "$(host_addr)"
	done
}

teardown_network() {
	local ns veth n
	for ns in /run/netns/mpigo-n*; do
		[[ -e $ns ]] || continue
		n=${ns##*/mpigo-n}
		[[ $n =~ ^[0-9]+$ ]] || continue
		stop_netns_procs "mpigo-n$n"
		ip netns del "mpigo-n$n" 2>/dev/null || true
	done
	for veth in $(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^mpigo-v[0-9]+$' || true); do
		ip link del "$veth" 2>/dev/null || true
	done
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link del "$BRIDGE"
	fi
}

# ---------------------------------------------------------------------------
# daemons
# ---------------------------------------------------------------------------
start_munge() {
	if pid_of "$MUNGE_DIR/munged.pid" munged >/dev/null; then
		return 0
	fi
	mkdir -p "$MUNGE_DIR"
	chown munge:munge "$MUNGE_DIR"
	chmod 755 "$MUNGE_DIR" # clients (slurm, users) reach the socket
	if [[ ! -s $MUNGE_DIR/munge.key ]]; then
		runuser -u munge -- mungekey --create --keyfile="$MUNGE_DIR/munge.key"
	fi
	chown munge:munge "$MUNGE_DIR/munge.key"
	chmod 400 "$MUNGE_DIR/munge.key"
	rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
	runuser -u munge -- /usr/sbin/munged \
		--socket="$MUNGE_SOCKET" --key-file="$MUNGE_DIR/munge.key" \
		--pid-file="$MUNGE_DIR/munged.pid" --log-file="$MUNGE_DIR/munged.log" \
		--seed-file="$MUNGE_DIR/munged.seed" 9>&- ||
		fail_start "munged did not start"
	munge -n -S "$MUNGE_SOCKET" | unmunge -S "$MUNGE_SOCKET" >/dev/null ||
		fail_start "munged started but does not answer on $MUNGE_SOCKET"
}

# wait_pidfile FILE COMM: until FILE names a running COMM (10 s)
wait_pidfile() {
	local deadline=$((SECONDS + 10))
	until pid_of "$1" "$2" >/dev/null; do
		((SECONDS < deadline)) || fail_start "$2 did not start (no live pid in $1)"
		sleep 0.05
	done
}

start_slurmctld() {
	pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null && return 0
	# -c: a fresh cluster, no jobs or node states from an earlier run
	SLURM_CONF=$CONF slurmctld -c -f "$CONF" 9>&- || fail_start "slurmctld did not start"
	wait_pidfile "$DIR/run/slurmctld.pid" slurmctld
}

start_slurmd() {
	local i=$1 node="n$1" ns nd
	ns=$(node_ns "$i") nd=$DIR/nodes/n$i
	pid_of "$nd/slurmd.pid" slurmd >/dev/null && return 0
	mkdir -p "$nd/spool" "$nd/tmp"
	find "$nd/tmp" -mindepth 1 -delete # a fresh /tmp, as after a reboot
	chmod 1777 "$nd/tmp"
	# not `ip netns exec`: that remounts /sys, and slurmd then finds no
	# cgroup file system. A mount namespace of its own gives the node a
	# private /tmp (else the PMIx step directories of the nodes collide),
	# /dev/shm and /etc/hosts; a UTS namespace its host name.
	# shellcheck disable=SC2016 # $1.. expand in the inner sh
	SLURM_CONF=$CONF nsenter --net="/run/netns/$ns" unshare -m -u sh -c '
		mount --bind "$1/tmp" /tmp &&
		mount -t tmpfs -o mode=1777,size=25% tmpfs /dev/shm &&
		mount --bind "$2" /etc/hosts &&
		hostname "$3" &&
		exec slurmd -f "$4" -N "$3"' sh "$nd" "$DIR/etc/hosts" "$node" "$CONF" 9>&- ||
		fail_start "slurmd of $node did not start"
	wait_pidfile "$nd/slurmd.pid" slurmd
}

# log tails, for the reader of a failed start
show_logs() {
	local f
	for f in "$LOG"/slurmctld.log "$LOG"/slurmd-*.log "$MUNGE_DIR"/munged.log; do
		[[ -e $f ]] || continue
		printf '\n---- last lines of %s ----\n' "$f" >&2
		tail -n 15 "$f" >&2
	done
}

fail_start() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	show_logs
	printf '\n(state in %s; stop with: bash %s stop)\n' "$DIR" "$0" >&2
	exit 1
}

# wait_idle SECONDS: until every node is up (idle, or running jobs of a
# cluster that was already up)
wait_idle() {
	local deadline=$((SECONDS + $1)) states=""
	while :; do
		states=$(SLURM_CONF=$CONF sinfo -h -N -o '%N %T' 2>&1 || true)
		if [[ $(grep -cE ' (idle|mixed|allocated|completing)$' <<<"$states") -eq $NODES ]]; then
			return 0
		fi
		if ((SECONDS >= deadline)); then
			fail_start "nodes not idle after $1 s; sinfo says:
$states"
		fi
		sleep 0.2
	done
}

# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------
# running: 0 all daemons up, 3 none, 1 some
cluster_state() {
	local up=0 down=0 i
	if pid_of "$MUNGE_DIR/munged.pid" munged >/dev/null; then up=$((up + 1)); else down=$((down + 1)); fi
	if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then up=$((up + 1)); else down=$((down + 1)); fi
	for ((i = 1; i <= NODES; i++)); do
		if [[ -e /run/netns/$(node_ns "$i") ]] && pid_of "$DIR/nodes/n$i/slurmd.pid" slurmd >/dev/null; then
			up=$((up + 1))
		else
			down=$((down + 1))
		fi
	done
	if ((down == 0)); then return 0; fi
	if ((up == 0)); then return 3; fi
	return 1
}

owner_dir() { cat "$OWNER" 2>/dev/null || true; }

cmd_start() {
	local t0 want_nodes=$NODES want_cpus=$CPUS want_subnet=$SUBNET want_port=$PORT owner i rc=0
	t0=$(now)
	need_root
	ensure_packages
	[[ -e /proc/self/ns/net ]] || die "this kernel has no network namespaces"
	mkdir -p "$DIR"
	exec 9>"$DIR/.lock"
	flock -w 120 9 || die "another $PROG holds $DIR/.lock"

	owner=$(owner_dir)
	if [[ -n $owner && $owner != "$DIR" ]] && pid_of "$owner/run/slurmctld.pid" slurmctld >/dev/null; then
		die "another mpigo SLURM cluster (state dir $owner) uses the names mpigo-*: stop it first (bash $0 stop --dir $owner)"
	fi

	if [[ -r $CLUSTER_ENV ]]; then
		load_cluster_env
		cluster_state || rc=$?
		if ((rc == 0)); then
			# a running cluster is fine unless an option asked for another one
			if [[ ($GIVEN == *" nodes "* && $NODES != "$want_nodes") || ($GIVEN == *" cpus "* && $CPUS != "$want_cpus") ||
				($GIVEN == *" subnet "* && $SUBNET != "$want_subnet") || ($GIVEN == *" port "* && $PORT != "$want_port") ]]; then
				die "the cluster runs with $NODES node(s) x $CPUS CPUs on $SUBNET.0/24, port $PORT; to change that, stop it first"
			fi
			wait_idle "$TIMEOUT"
			info "already running: $NODES node(s) ($(SLURM_CONF=$CONF sinfo -h -o %N)), checked in $(elapsed "$t0") s"
			return 0
		fi
		if ((rc == 1)); then
			info "cluster half running: stopping what is left before starting"
			do_stop
		fi
	fi
	NODES=$want_nodes CPUS=$want_cpus SUBNET=$want_subnet PORT=$want_port
	teardown_network # leftovers of a cluster that died (no live one holds the names)

	command -v slurmctld >/dev/null || die "slurmctld not found after installing slurm-wlm"
	write_config
	echo "$DIR" >"$OWNER"
	setup_network
	start_munge
	start_slurmctld
	for ((i = 1; i <= NODES; i++)); do
		start_slurmd "$i"
	done
	wait_idle "$TIMEOUT"
	info "started $NODES node(s) ($(SLURM_CONF=$CONF sinfo -h -o %N), $CPUS CPUs each) in $(elapsed "$t0") s"
	local dir_arg=""
	[[ $DIR == "$DEFAULT_DIR" ]] || dir_arg=" --dir $DIR"
	info "use it with: eval \"\$(bash $0 env$dir_arg)\""
}

do_stop() {
	local i owner daemons
	# jobs first, so that salloc/srun waiting on the host hear of it
	if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then
		SLURM_CONF=$CONF timeout 5 scancel --quiet --full --user=root >/dev/null 2>&1 || true
		SLURM_CONF=$CONF timeout 5 scancel --quiet --state=PENDING >/dev/null 2>&1 || true
	fi
	daemons=("$DIR/run/slurmctld.pid" slurmctld)
	for ((i = 1; i <= NODES; i++)); do
		daemons+=("$DIR/nodes/n$i/slurmd.pid" slurmd)
	done
	stop_pids "${daemons[@]}"
	owner=$(owner_dir)
	if [[ -z $owner || $owner == "$DIR" ]]; then
		teardown_network # also ends whatever is left in the nodes (slurmstepd, tasks)
		rm -f "$OWNER"
	else
		info "network names belong to the cluster in $owner: left alone"
	fi
	stop_pids "$MUNGE_DIR/munged.pid" munged
	rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
}

cmd_stop() {
	local t0
	t0=$(now)
	need_root
	if [[ ! -d $DIR ]]; then
		info "nothing to stop ($DIR does not exist)"
		return 0
	fi
	exec 9>"$DIR/.lock"
	flock -w 120 9 || die "another $PROG holds $DIR/.lock"
	load_cluster_env
	do_stop
	info "stopped in $(elapsed "$t0") s"
}

cmd_status() {
	local rc=0 i pid
	load_cluster_env
	cluster_state || rc=$?
	case $rc in
	0) echo "running: $NODES node(s), state in $DIR" ;;
	3) echo "stopped (state dir $DIR)" ;;
	*) echo "broken: some daemons are down (state dir $DIR); restart with: bash $0 stop && bash $0 start" ;;
	esac
	if ((rc != 3)); then
		printf '  %-10s %s\n' munged "$(pid_of "$MUNGE_DIR/munged.pid" munged || echo down)"
		printf '  %-10s %s\n' slurmctld "$(pid_of "$DIR/run/slurmctld.pid" slurmctld || echo down)"
		for ((i = 1; i <= NODES; i++)); do
			pid=$(pid_of "$DIR/nodes/n$i/slurmd.pid" slurmd || echo down)
			printf '  %-10s %s (netns %s, %s)\n' "slurmd n$i" "$pid" "$(node_ns "$i")" "$(node_addr "$i")"
		done
		if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then
			SLURM_CONF=$CONF timeout 10 sinfo -N -l 2>&1 | sed 's/^/  /' || true
		fi
	fi
	return "$rc"
}

cmd_env() {
	load_cluster_env
	cat <<EOF
export SLURM_CONF=$CONF
export MPIGO_SLURM_DIR=$DIR
export MPIGO_SLURM_SHARED=$DIR/shared
EOF
}

case $CMD in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
esac
