package mpimagic

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/mpigo/mpigo/mpimagic/shell"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// The job file of --export: a bash script with #SBATCH lines, so that one
// file is both the batch job (sbatch job.sh) and the way to run the
// program anywhere else (bash job.sh). It builds the program next to it
// with go build, for the MPI it finds the way the magic does (the flavour
// of mpiexec --version, then pkg-config or mpicc), and launches it with
// srun inside a SLURM job and mpiexec otherwise, with the cell's flags.

const (
	// buildAllowance is added to --timeout for the job's time limit: the
	// job builds the program before it runs it.
	buildAllowance = 5 * time.Minute
	// defaultJobTime is the time limit of a job whose cell has no
	// --timeout (and no -t).
	defaultJobTime = "00:10:00"
	// progName is the binary job.sh builds.
	progName = "prog"
)

// jobSpec is what the job file is made from.
type jobSpec struct {
	opts     Options // the cell's flags (Hostfile absolute)
	name     string  // job name
	cellName string  // cell[N]
	dirArg   string  // the directory as the user gave it, for the comments
	modules  bool    // the program imports packages of other modules than mpigo's
}

// jobTime is the job's time limit: -t, else --timeout plus the time to
// build, else defaultJobTime.
func jobTime(o Options) string {
	switch {
	case o.Batch.Time != "":
		return o.Batch.Time
	case o.Timeout > 0:
		return slurm.Duration(o.Timeout + buildAllowance)
	}
	return defaultJobTime
}

// sbatchLines are the #SBATCH lines of an exported job.
func sbatchLines(s jobSpec) []string {
	return slurm.Directives(s.name, s.opts.N, jobTime(s.opts), "%x-%j.out", s.opts.Batch)
}

// magicLine rebuilds the %mpirun line of the cell, for the comments.
func magicLine(s jobSpec) string {
	o := s.opts
	w := []string{"%mpirun", "-n", fmt.Sprint(o.N)}
	if o.Timeout > 0 {
		w = append(w, "--timeout", o.Timeout.String())
	}
	if o.Hosts != "" {
		w = append(w, "--hosts", o.Hosts)
	}
	if o.Hostfile != "" {
		w = append(w, "--hostfile", o.Hostfile)
	}
	if o.Launcher != "auto" && o.Launcher != "" {
		w = append(w, "--launcher", o.Launcher)
	}
	for _, kv := range o.Env {
		w = append(w, "--env", kv)
	}
	w = append(w, "--export", s.dirArg)
	if o.Vendor {
		w = append(w, "--vendor")
	}
	for _, f := range batchFlags(o.Batch) {
		if f.value != "" {
			w = append(w, f.flag, f.value)
		}
	}
	if len(o.LauncherArgs) > 0 {
		w = append(w, "--")
		w = append(w, o.LauncherArgs...)
	}
	return shell.Join(w)
}

// jobScript writes job.sh.
func jobScript(s jobSpec) string {
	o := s.opts
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	for _, l := range sbatchLines(s) {
		b.WriteString(l + "\n")
	}
	dir := shell.Quote(s.dirArg)
	fmt.Fprintf(&b, `
# The %%mpirun cell %s of a notebook as a batch job, exported by mpigo from
#   %s
# Submit it:          cd %s && sbatch job.sh
# Or run it anywhere: bash %s/job.sh
# It builds main.go (packages mpi and display come from ./mpigo: no network
# needed) into ./%s with Go and an MPI, then runs it on NTASKS ranks: with
# srun inside a SLURM job, else with $MPIEXEC.

set -euo pipefail

# module load go openmpi   # on a cluster: the modules of Go and MPI (names vary)

`, s.cellName, magicLine(s), dir, strings.TrimSuffix(dir, "/"), progName)

	timeout := 0
	if o.Timeout > 0 {
		timeout = int(math.Ceil(o.Timeout.Seconds()))
	}
	launcher, mpiexec := "auto", "mpiexec"
	switch o.Launcher {
	case "auto", "":
	case "srun":
		launcher = "srun"
	case "mpirun":
		launcher, mpiexec = "mpirun", "mpirun"
	default: // a specific mpirun
		launcher, mpiexec = "mpirun", o.Launcher
	}
	fmt.Fprintf(&b, "# ranks (%%mpirun -n)\nNTASKS=%d\n", o.N)
	fmt.Fprintf(&b, "# seconds the program may run (%%mpirun --timeout); 0: no limit\nTIMEOUT=%d\n", timeout)
	b.WriteString("# auto: srun inside a SLURM job, else $MPIEXEC; srun; mpirun: $MPIEXEC (%mpirun --launcher)\n")
	fmt.Fprintf(&b, "LAUNCHER=%s\nMPIEXEC=${MPIEXEC:-%s}\n", launcher, shell.Quote(mpiexec))
	fmt.Fprintf(&b, "# %%mpirun --hosts, --hostfile\nHOSTS=%s\nHOSTFILE=%s\n", shell.Quote(o.Hosts), shell.Quote(o.Hostfile))
	b.WriteString("# the words after -- of the %mpirun line: they go to the launcher (srun or\n# mpiexec), before the program\n")
	fmt.Fprintf(&b, "LAUNCHER_ARGS=(%s)\n", shell.Join(o.LauncherArgs))
	b.WriteString("# %mpirun --env: set for every rank\nPROGRAM_ENV=(")
	var keys []string
	for _, kv := range o.Env {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	b.WriteString(strings.Join(keys, " ") + ")\n")
	slurm.WriteExports(&b, o.Env)
	b.WriteString(jobScriptBody)
	return b.String()
}

// jobScriptBody is the part of job.sh that does not depend on the cell.
// Arrays are expanded as ${a[@]+"${a[@]}"}: bash before 4.4 takes an empty
// "${a[@]}" for an unset variable under set -u.
const jobScriptBody = `
log() { echo "job.sh: $*" >&2; }

# The export directory: where this script is or, under sbatch (which runs a
# copy of it), the directory it was submitted from.
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -f "$dir/main.go" ] || [ ! -d "$dir/mpigo" ]; then
	dir=${SLURM_SUBMIT_DIR:-$PWD}
fi
if [ ! -f "$dir/main.go" ] || [ ! -d "$dir/mpigo" ]; then
	log "main.go and mpigo/ are neither next to this script nor in $dir: submit it from its directory (cd DIR && sbatch job.sh)"
	exit 2
fi
cd "$dir"

use_srun=false
case $LAUNCHER in
auto) if [ -n "${SLURM_JOB_ID:-}" ] && command -v srun >/dev/null; then use_srun=true; fi ;;
srun) use_srun=true ;;
esac

# The MPI: Open MPI or MPICH, as mpiexec --version says.
flavour=other
if version=$("$MPIEXEC" --version 2>&1); then
	case $version in
	*"Open MPI"* | *OpenRTE*) flavour=openmpi ;;
	*HYDRA* | *MPICH*) flavour=mpich ;;
	esac
elif ! $use_srun; then
	log "cannot run $MPIEXEC: install an MPI (e.g. apt-get install openmpi-bin libopenmpi-dev), load its module (module load openmpi), or set MPIEXEC"
	exit 1
fi

# Build tags of package mpi for that MPI (go doc github.com/mpigo/mpigo/mpi):
# its pkg-config module, else its mpicc; set MPI_TAGS (ompi, mpich, mpicc,
# or empty for pkg-config's "mpi") to choose.
base=${MPIEXEC##*/}
suffix=
case $base in
*.*) suffix=.${base#*.} ;; # mpiexec.mpich goes with mpicc.mpich
esac
mpicc=
for c in "$(dirname "$(command -v "$MPIEXEC" || echo "$MPIEXEC")")/mpicc$suffix" "mpicc$suffix" mpicc; do
	if command -v "$c" >/dev/null; then
		mpicc=$c
		break
	fi
done
if [ -z "${MPI_TAGS+set}" ]; then
	case $flavour in
	openmpi) pc=ompi-c tag=ompi ;;
	mpich) pc=mpich tag=mpich ;;
	*) pc=mpi tag= ;;
	esac
	if pkg-config --exists "$pc" 2>/dev/null; then
		MPI_TAGS=$tag
	elif [ -n "$mpicc" ]; then
		MPI_TAGS=mpicc
	else
		log "cannot build for MPI: neither pkg-config $pc nor mpicc was found; install the MPI development files or load the MPI module, or set MPI_TAGS"
		exit 1
	fi
fi
if [ "$MPI_TAGS" = mpicc ]; then
	export CC=${mpicc:-mpicc}
fi

if ! command -v go >/dev/null; then
	log "no go command: install Go or load its module (module load go)"
	exit 1
fi
# With vendor/ (%mpirun --export --vendor) the modules come from there: no
# network, no module cache; else from the module cache (go.sum checks them).
modflags=()
if [ -f vendor/modules.txt ]; then
	modflags=(-mod=vendor)
fi
log "building ./` + progName + `: go build ${modflags[*]+${modflags[*]} }${MPI_TAGS:+-tags=$MPI_TAGS }-o ` + progName + ` . ($(go env GOVERSION))"
GOWORK=off CGO_ENABLED=1 go build ${modflags[@]+"${modflags[@]}"} ${MPI_TAGS:+-tags=$MPI_TAGS} -o ` + progName + ` .

cmd=()
if [ "$TIMEOUT" -gt 0 ] && command -v timeout >/dev/null; then
	cmd=(timeout --kill-after=10 "$TIMEOUT")
fi
if $use_srun; then
	cmd+=(srun)
	if [ -n "${SLURM_STEP_ID:-}${SLURM_STEPID:-}" ]; then
		cmd+=(--overlap) # inside a job step: share its resources
	fi
	cmd+=(-n "$NTASKS" --kill-on-bad-exit=1)
	if [ -n "$HOSTS" ]; then
		nodes=
		IFS=, read -ra hosts <<<"$HOSTS"
		for h in "${hosts[@]}"; do
			nodes+=${nodes:+,}${h%%:*}
		done
		cmd+=(--nodelist="$nodes")
	fi
else
	cmd+=("$MPIEXEC" -n "$NTASKS")
	case $flavour in
	openmpi)
		if [ -n "$HOSTS" ]; then
			cmd+=(--host "$HOSTS")
		elif [ -n "$HOSTFILE" ]; then
			cmd+=(--hostfile "$HOSTFILE")
		elif [ -z "${SLURM_JOB_ID:-}" ]; then
			# more ranks than cores: allowed, as in the notebook
			cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
			physical=$(lscpu -p=Socket,Core 2>/dev/null | grep -v '^#' | sort -u | wc -l || true)
			if [ "${physical:-0}" -gt 0 ] && [ "$physical" -lt "$cores" ]; then
				cores=$physical
			fi
			if [ "$NTASKS" -gt "$cores" ]; then
				cmd+=(--oversubscribe)
			fi
		fi
		for k in ${PROGRAM_ENV[@]+"${PROGRAM_ENV[@]}"}; do
			cmd+=(-x "$k") # to ranks on other hosts too
		done
		if [ "$(id -u)" = 0 ]; then
			export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
		fi
		;;
	*)
		if [ -n "$HOSTS" ]; then
			cmd+=(-hosts "$HOSTS")
		elif [ -n "$HOSTFILE" ]; then
			cmd+=(-f "$HOSTFILE")
		fi
		;;
	esac
fi
cmd+=(${LAUNCHER_ARGS[@]+"${LAUNCHER_ARGS[@]}"} ./` + progName + `)

log "running: ${cmd[*]}"
status=0
"${cmd[@]}" || status=$?
if [ "$status" = 124 ] && [ "$TIMEOUT" -gt 0 ]; then
	log "stopped: the program ran past its --timeout of ${TIMEOUT}s"
fi
exit "$status"
`

// jobName makes a SLURM job name of a directory: its base name, with
// anything but letters, digits, '.', '_' and '-' made '_'.
func jobName(absDir string) string {
	base := filepath.Base(absDir)
	var b strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), ".-")
	if strings.Trim(name, "._-") == "" {
		return progName
	}
	return name
}
