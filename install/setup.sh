#!/usr/bin/env bash
# mpigo set-up: system packages, build, kernel spec, the browser test's npm
# package, then the main job.
#
# Safe to run again: packages are only installed when missing, the Go build is
# cached and the kernel spec is overwritten in place. See --help.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() {
	cat <<'EOF'
Usage: bash install/setup.sh [--lab | --notebook | --no-run] [-- JUPYTER ARGS...]

Installs what mpigo needs, builds bin/mpigo, creates the project's virtual
environment .venv (the current Jupyter stack, pinned in install/requirements.txt),
installs the "mpigo" Jupyter kernel spec and the pinned npm packages (test/browser,
install/hub), then runs the main job: executes every workshop notebook under
notebooks/ headless (nbconvert) into out/notebooks/, then prints the outputs of the
first.

  (no flag)     install + build + kernel spec, then execute the notebooks headless
  --lab         install + build + kernel spec, then start JupyterLab on notebooks/
                (no browser is opened; open the printed URL)
  --notebook    the same with Jupyter Notebook 7
  --no-run      install + build + kernel spec only (used by test/all.sh and CI)
  -h, --help    show this help

As root on Debian/Ubuntu the missing apt packages are installed. Without root
(e.g. a cluster login node) system packages are skipped: load the tools with your
module system first (e.g. `module load go openmpi`); the script says which of
go, mpicc and jupyter it found, and installs the kernel spec with --user.

Environment:
  MPIGO_INSTALL_ARGS   arguments for `bin/mpigo install` instead of the default
                       (none as root, --user otherwise), e.g. "--prefix /opt/jupyter"
EOF
}

MODE=run
NOTEBOOK_ARGS=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--lab) MODE=lab ;;
	--notebook) MODE=notebook ;;
	--no-run) MODE=none ;;
	-h | --help)
		usage
		exit 0
		;;
	--)
		shift
		NOTEBOOK_ARGS=("$@")
		break
		;;
	*)
		echo "setup.sh: unknown argument: $1" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

IS_ROOT=false
[[ $(id -u) -eq 0 ]] && IS_ROOT=true

# the official Go tarball installs here without touching PATH
if [[ -x /usr/local/go/bin/go && ":$PATH:" != *":/usr/local/go/bin:"* ]]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

# ---------------------------------------------------------------------------
# 1. System packages (root on Debian/Ubuntu only)
# ---------------------------------------------------------------------------
PKGS=(
	# build: Go fetches modules over HTTPS; cgo (the mpi package) needs a C compiler
	ca-certificates gcc libc6-dev pkg-config
	# MPI
	libopenmpi-dev openmpi-bin libmpich-dev mpich
	# the project's virtual environment (.venv: the current Jupyter stack from
	# PyPI, install/requirements.txt); python3-dev builds mpi4py against Open MPI
	python3-venv python3-dev
	# Debian's own Jupyter (jupyter_client 7, nbconvert 6): the compatibility tier
	# that test/e2e/test_compat.py runs, since clusters often run years-old Jupyter
	python3-jupyter-client jupyter-client jupyter-nbconvert python3-ipykernel python3-zmq
	# tests (test/all.sh): module files, job-script lint, batchspawner's sudo
	lmod shellcheck sudo
)
# Node.js runs the browser driver (test/browser) and the hub's proxy
# (install/hub); Debian's packages only where no node/npm is installed (a
# NodeSource nodejs brings its own npm, which Debian's npm would conflict with)
command -v node >/dev/null || PKGS+=(nodejs)
command -v npm >/dev/null || PKGS+=(npm)
# the browser tests (test/e2e/test_browser*.py, test_hub.py) drive Debian's
# Chromium (/usr/bin/chromium); installed where the distribution has the package
# (Ubuntu ships it as a snap only)
BROWSER_PKG=chromium

pkg_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

has_candidate() { # whether apt knows a version of package $1 to install
	# not `apt-cache policy | grep -q`: grep -q exits at the first match, apt-cache
	# then dies of SIGPIPE and, under pipefail, the pipeline fails (141), so the
	# package would never be found
	local policy
	policy=$(apt-cache policy "$1" 2>/dev/null) || return 1
	grep -Eq '^ *Candidate: *[^( ]' <<<"$policy"
}

APT_UPDATED=false
apt_update() { # once per run
	$APT_UPDATED && return
	info "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	APT_UPDATED=true
}
apt_install() {
	apt_update
	info "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

step "System packages"
if $IS_ROOT && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
	missing=()
	for p in "${PKGS[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	npkgs=${#PKGS[@]}
	if pkg_installed "$BROWSER_PKG"; then
		npkgs=$((npkgs + 1))
	else
		has_candidate "$BROWSER_PKG" || apt_update
		if has_candidate "$BROWSER_PKG"; then
			missing+=("$BROWSER_PKG")
			npkgs=$((npkgs + 1))
		else
			warn "no $BROWSER_PKG package here: the browser test (test/e2e/test_browser.py) will be skipped"
		fi
	fi
	if [[ ${#missing[@]} -eq 0 ]]; then
		info "all $npkgs packages already installed"
	else
		apt_install "${missing[@]}"
	fi
elif $IS_ROOT; then
	warn "not a Debian/Ubuntu system (no apt-get): install Go, Open MPI and Jupyter yourself"
else
	info "not root: skipping system packages (cluster login node?)"
	module_hint="module load go openmpi"
	if [[ -n ${LMOD_CMD:-} || -n ${MODULESHOME:-} ]]; then
		info "a module system is available: e.g. \`$module_hint\` (see \`module avail go\`, \`module avail mpi\`)"
	else
		info "if your site uses environment modules, load the tools first, e.g. \`$module_hint\`"
	fi
	for tool in go mpicc jupyter; do
		if command -v "$tool" >/dev/null; then
			info "found $tool: $(command -v "$tool")"
		else
			info "NOT found: $tool"
		fi
	done
	command -v mpicc >/dev/null || warn "mpicc not found: plain Go cells work, %mpirun cells will not (module load openmpi)"
	command -v jupyter >/dev/null || warn "jupyter not found: the kernel spec is installed, but nothing can run it here (module load python/jupyter, or pip install --user jupyter)"
fi

# ---------------------------------------------------------------------------
# 2. Go toolchain (>= 1.22; go.mod may then fetch its exact toolchain itself)
# ---------------------------------------------------------------------------
GO_MIN_MINOR=22

go_minor() { # prints the minor version of "go1.X[.Y]" (or "1.X~..."), empty if unknown
	sed -nE 's/^(go)?1\.([0-9]+).*/\2/p' <<<"$1"
}

go_help() {
	cat >&2 <<EOF
Go 1.$GO_MIN_MINOR or newer is needed. Install it with one of:
  - a cluster module:   module load go
  - the official build: curl -LO https://go.dev/dl/go1.26.0.linux-amd64.tar.gz
                        tar -C /usr/local -xzf go1.26.0.linux-amd64.tar.gz
                        export PATH=/usr/local/go/bin:\$PATH
then run this script again.
EOF
}

step "Go toolchain"
if ! command -v go >/dev/null; then
	if $IS_ROOT && command -v apt-cache >/dev/null; then
		cand=$(apt-cache policy golang-go 2>/dev/null | sed -nE 's/^ *Candidate: *([0-9]+:)?//p')
		minor=$(go_minor "$cand")
		if [[ -n $minor && $minor -ge $GO_MIN_MINOR ]]; then
			apt_install golang-go
		else
			warn "Debian's golang-go (${cand:-none}) is older than Go 1.$GO_MIN_MINOR"
		fi
	fi
	command -v go >/dev/null || {
		go_help
		die "go not found"
	}
fi
GOVERSION=$(go env GOVERSION)
minor=$(go_minor "$GOVERSION")
[[ $GOVERSION == devel* ]] && minor=$GO_MIN_MINOR # a development build: assume recent
if [[ -z $minor || $minor -lt $GO_MIN_MINOR ]]; then
	go_help
	die "$(command -v go) is $GOVERSION"
fi
info "$(command -v go): $GOVERSION (go.mod asks for $(sed -nE 's/^go ([0-9.]+)$/\1/p' go.mod); with GOTOOLCHAIN=auto an older Go fetches that one)"

# ---------------------------------------------------------------------------
# 3. Build
# ---------------------------------------------------------------------------
step "Build bin/mpigo"
t0=$SECONDS
go build -o bin/mpigo ./cmd/mpigo
info "built $ROOT/bin/mpigo in $((SECONDS - t0)) s ($(bin/mpigo version 2>/dev/null | head -n1 || echo 'version unknown'))"

# ---------------------------------------------------------------------------
# 4. The project's virtual environment: the current Jupyter stack, pinned
# ---------------------------------------------------------------------------
# .venv holds exactly install/requirements.txt (JupyterLab 4, Notebook 7,
# jupyter_client 8, nbconvert 7, JupyterHub + batchspawner, the benchmarks'
# ipykernel/ipyparallel/mpi4py). A stamp with the hash of that file and of the
# interpreter skips the pip run when nothing changed.
VENV=$ROOT/.venv
VENV_PY=/usr/bin/python3 # Debian's Python (the first python3 on PATH may be another)
[[ -x $VENV_PY ]] || VENV_PY=$(command -v python3 || true)

venv_stamp() {
	cat install/requirements.txt "$VENV_PY" 2>/dev/null | sha256sum | cut -c1-16
}

step "Python virtual environment ($VENV, install/requirements.txt)"
if [[ -z $VENV_PY ]]; then
	warn "no python3: no virtual environment (the main job and the tests need one)"
elif [[ -x $VENV/bin/python && $(cat "$VENV/.mpigo-stamp" 2>/dev/null) == "$(venv_stamp)" ]]; then
	info "up to date (JupyterLab $("$VENV/bin/python" -c 'import jupyterlab; print(jupyterlab.__version__)' 2>/dev/null))"
else
	t0=$SECONDS
	[[ -x $VENV/bin/python ]] || "$VENV_PY" -m venv "$VENV" || die "$VENV_PY -m venv failed (Debian: apt-get install python3-venv)"
	"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
	# mpi4py from source, against the MPI that %mpirun uses (Open MPI's mpicc),
	# instead of a wheel's own choice of library; pip caches the built wheel
	mpicc=$(command -v mpicc.openmpi || command -v mpicc || true)
	MPICC=$mpicc "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
		--no-binary mpi4py -r install/requirements.txt ||
		die "pip install -r install/requirements.txt failed"
	venv_stamp >"$VENV/.mpigo-stamp"
	info "installed in $((SECONDS - t0)) s: $("$VENV/bin/python" -m pip list 2>/dev/null | grep -Eic '^[a-z]') packages"
fi
JUPYTER=$VENV/bin/jupyter
[[ -x $JUPYTER ]] || JUPYTER=$(command -v jupyter || true)

# ---------------------------------------------------------------------------
# 5. Kernel spec
# ---------------------------------------------------------------------------
step "Install the Jupyter kernel spec"
if [[ -n ${MPIGO_INSTALL_ARGS:-} ]]; then
	read -r -a install_args <<<"$MPIGO_INSTALL_ARGS"
elif $IS_ROOT; then
	install_args=()
else
	install_args=(--user)
fi
bin/mpigo install "${install_args[@]}"

# ---------------------------------------------------------------------------
# 6. npm packages, each pinned by its package-lock.json: the browser tests'
#    playwright-core (test/browser) and JupyterHub's configurable-http-proxy
#    (install/hub)
# ---------------------------------------------------------------------------
NODE_MIN_MAJOR=20 # playwright-core's engines (test/browser/package.json)

node_deps_current() { # whether $1/node_modules holds exactly what $1/package-lock.json pins
	(cd "$1" && node -e '
const lock = require("./package-lock.json");
for (const [p, v] of Object.entries(lock.packages)) {
	if (!p) continue;
	let got;
	try { got = require("./" + p + "/package.json").version; } catch (e) { process.exit(1); }
	if (got !== v.version) process.exit(1);
}' 2>/dev/null)
}

NPM_DIRS=()
for d in test/browser install/hub; do [[ -f $d/package-lock.json ]] && NPM_DIRS+=("$d"); done
step "npm packages (${NPM_DIRS[*]})"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	warn "node or npm not found: the browser and hub tests cannot run"
elif [[ $(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0) -lt $NODE_MIN_MAJOR ]]; then
	warn "node $(node --version) is older than $NODE_MIN_MAJOR: the browser and hub tests cannot run"
else
	for d in "${NPM_DIRS[@]}"; do
		if node_deps_current "$d"; then
			info "$d: up to date"
			continue
		fi
		t0=$SECONDS
		# playwright-core downloads no browser: the tests use /usr/bin/chromium
		if (cd "$d" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error); then
			info "$d: npm ci in $((SECONDS - t0)) s"
		else
			warn "npm ci in $d failed: the tests that need it will fail until it works"
		fi
	done
fi
[[ -x /usr/bin/chromium ]] || warn "no /usr/bin/chromium: the browser and hub tests cannot run"

# ---------------------------------------------------------------------------
# 7. Main job
# ---------------------------------------------------------------------------
if [[ $MODE == none ]]; then
	step "Done (--no-run): bin/mpigo built, kernel spec installed"
	exit 0
fi

[[ -n $JUPYTER ]] || die "jupyter not found; cannot run the notebooks (the kernel itself is installed)"

NOTEBOOKS=()
while IFS= read -r nb; do NOTEBOOKS+=("$nb"); done < <(find notebooks -maxdepth 1 -name '*.ipynb' | LC_ALL=C sort)
[[ ${#NOTEBOOKS[@]} -gt 0 ]] || die "no notebook under notebooks/"

if [[ $MODE == lab || $MODE == notebook ]]; then
	app=lab
	[[ $MODE == notebook ]] && app=notebook
	step "Starting Jupyter ${app^} on notebooks/ (Ctrl-C to stop); open the URL printed below"
	nb_args=(--no-browser --ServerApp.root_dir="$ROOT/notebooks")
	$IS_ROOT && nb_args+=(--allow-root)
	exec "$JUPYTER" "$app" "${nb_args[@]}" "${NOTEBOOK_ARGS[@]}"
fi

step "Executing the ${#NOTEBOOKS[@]} workshop notebooks headless (jupyter nbconvert, kernel mpigo) into out/notebooks/"
mkdir -p out/notebooks
export PYDEVD_DISABLE_FILE_VALIDATION=1
FAILED=()
for nb in "${NOTEBOOKS[@]}"; do
	t0=$SECONDS
	if "$JUPYTER" nbconvert --to notebook --execute \
		--ExecutePreprocessor.kernel_name=mpigo \
		--ExecutePreprocessor.timeout=600 \
		--output-dir out/notebooks/ "$nb" >out/notebooks/nbconvert.log 2>&1; then
		info "$(printf '%-28s ok      %4ss' "$(basename "$nb")" $((SECONDS - t0)))"
	else
		info "$(printf '%-28s FAILED  %4ss' "$(basename "$nb")" $((SECONDS - t0)))"
		tail -n 20 out/notebooks/nbconvert.log | sed 's/^/      /'
		FAILED+=("$nb")
	fi
done
rm -f out/notebooks/nbconvert.log
RESULT="out/notebooks/$(basename "${NOTEBOOKS[0]}")"
[[ -f $RESULT ]] || die "${NOTEBOOKS[0]} did not run"

step "Outputs of $RESULT"
PY=
for p in "$VENV/bin/python" /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import nbformat' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [[ -z $PY ]]; then
	"$JUPYTER" nbconvert --to markdown --stdout "$RESULT"
else
	"$PY" - "$RESULT" <<'PYEOF'
import sys
import nbformat

nb = nbformat.read(sys.argv[1], as_version=4)


def indent(text, prefix):
    return "\n".join(prefix + line for line in text.rstrip("\n").split("\n"))


def mime_summary(data):
    text = data.get("text/plain", "")
    rich = [k for k in data if k != "text/plain"]
    head = "[" + ", ".join(rich) + "] " if rich else ""
    return head + (text if isinstance(text, str) else "".join(text))


for cell in nb.cells:
    if cell.cell_type == "markdown":
        print(cell.source.rstrip())
        print()
        continue
    if cell.cell_type != "code":
        continue
    n = cell.get("execution_count") or " "
    print(f"In [{n}]:")
    print(indent(cell.source, "    "))
    for out in cell.get("outputs", []):
        kind = out.output_type
        if kind == "stream":
            print(indent(out.text, f"  {out.name}| "))
        elif kind == "execute_result":
            print(indent(mime_summary(out.data), f"  Out[{n}]: "))
        elif kind in ("display_data", "update_display_data"):
            print(indent(mime_summary(out.data), "  display| "))
        elif kind == "error":
            print(f"  ERROR {out.ename}: {out.evalue}")
    print()
PYEOF
fi

if [[ ${#FAILED[@]} -gt 0 ]]; then
	die "${#FAILED[@]} notebook(s) failed: ${FAILED[*]}"
fi
step "All ${#NOTEBOOKS[@]} notebooks ran; executed copies are in out/notebooks/ (open them in JupyterLab: bash install/setup.sh --lab)"
