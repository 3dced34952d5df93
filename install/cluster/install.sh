#!/usr/bin/env bash
# Cluster-wide install of mpigo for a site's software tree, with an Lmod module.
#
#   bash install/cluster/install.sh PREFIX [MODULEFILES_DIR]
#
# builds mpigo (Go must be loaded: `module load go`), copies it to PREFIX/bin,
# installs the kernel spec under PREFIX/share/jupyter/kernels/mpigo (argv points
# at PREFIX/bin/mpigo), and writes the modulefile MODULEFILES_DIR/mpigo/VERSION.lua
# (default PREFIX/modulefiles) from install/cluster/mpigo.lua. Users then run
# `module load mpigo` and pick "Go (mpigo)" in Jupyter. No root needed when
# PREFIX is writable; nothing outside PREFIX and MODULEFILES_DIR is touched.
#
# Environment: MPIGO_GO_MODULE and MPIGO_MPI_MODULE name the modules the
# modulefile loads (default "go" and "openmpi"; set one empty to load none).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
	sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	[[ $# -ge 1 ]] && exit 0
	exit 2
fi
PREFIX=$(mkdir -p "$1" && cd "$1" && pwd)
MODDIR=${2:-$PREFIX/modulefiles}
GO_MODULE=${MPIGO_GO_MODULE-go}
MPI_MODULE=${MPIGO_MPI_MODULE-openmpi}

command -v go >/dev/null || {
	echo "install.sh: go not found: load it first (module load go)" >&2
	exit 1
}
mkdir -p "$PREFIX/bin"
echo "==> building $PREFIX/bin/mpigo"
(cd "$ROOT" && go build -o "$PREFIX/bin/mpigo.new" ./cmd/mpigo)
mv -f "$PREFIX/bin/mpigo.new" "$PREFIX/bin/mpigo"
VERSION=$("$PREFIX/bin/mpigo" version | awk '{print $2}')
[[ -n $VERSION ]] || VERSION=dev

echo "==> kernel spec in $PREFIX/share/jupyter/kernels/mpigo"
"$PREFIX/bin/mpigo" install --prefix "$PREFIX"

echo "==> modulefile $MODDIR/mpigo/$VERSION.lua"
mkdir -p "$MODDIR/mpigo"
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$VERSION|g" \
	-e "s|@GO_MODULE@|$GO_MODULE|g" -e "s|@MPI_MODULE@|$MPI_MODULE|g" \
	"$ROOT/install/cluster/mpigo.lua" >"$MODDIR/mpigo/$VERSION.lua"
cat <<MSG
done. Users:
    module use $MODDIR        # once, or add $MODDIR to MODULEPATH site-wide
    module load mpigo
    jupyter kernelspec list   # shows mpigo from $PREFIX/share/jupyter/kernels
MSG
