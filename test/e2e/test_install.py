"""The mpigo command line: install (kernel spec layout) and version."""

import json
import os
import subprocess

import pytest

import helpers
from helpers import png_size


def test_kernel_spec_contents(kernel_spec, mpigo_bin):
    spec = json.loads((kernel_spec / "kernel.json").read_text())
    argv = spec["argv"]
    assert os.path.isabs(argv[0]), f"argv[0] must be absolute: {argv}"
    assert os.path.samefile(argv[0], mpigo_bin), f"argv[0] {argv[0]} is not {mpigo_bin}"
    assert argv[1:] == ["kernel", "{connection_file}"]
    assert spec["display_name"] == "Go (mpigo)"
    assert spec["language"] == "go"
    assert spec["interrupt_mode"] == "message"
    # JupyterLab offers its debugger for kernels whose spec says so
    assert spec["metadata"] == {"debugger": True}


@pytest.mark.parametrize("size", [32, 64])
def test_kernel_spec_logos(kernel_spec, size):
    logo = kernel_spec / f"logo-{size}x{size}.png"
    assert logo.is_file()
    assert png_size(logo.read_bytes()) == (size, size)


def test_install_name(mpigo_bin, tmp_path):
    subprocess.run(
        [str(mpigo_bin), "install", "--prefix", str(tmp_path), "--name", "gotest"], check=True, timeout=60
    )
    spec = json.loads((tmp_path / "share/jupyter/kernels/gotest/kernel.json").read_text())
    assert spec["language"] == "go"


def test_install_user_is_found_by_jupyter(mpigo_bin, tmp_path):
    """--user writes where Jupyter itself looks for the user's kernels."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "XDG_"))}
    env["HOME"] = str(tmp_path)
    subprocess.run([str(mpigo_bin), "install", "--user"], check=True, env=env, timeout=60)
    listed = subprocess.run(
        ["jupyter", "kernelspec", "list", "--json"], check=True, env=env, capture_output=True, timeout=60
    )
    specs = json.loads(listed.stdout)["kernelspecs"]
    assert "mpigo" in specs, f"jupyter kernelspec list does not show mpigo: {list(specs)}"
    assert specs["mpigo"]["resource_dir"].startswith(str(tmp_path)), specs["mpigo"]
    assert specs["mpigo"]["spec"]["display_name"] == "Go (mpigo)"


def test_version(mpigo_bin):
    out = subprocess.run([str(mpigo_bin), "version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip(), "mpigo version printed nothing"


LMOD_INIT = "/usr/share/lmod/lmod/init/bash"


def test_cluster_install_and_lmod_module(tmp_path):
    """install/cluster/install.sh: binary, kernel spec and modulefile under a
    prefix; `module load mpigo` (Lmod) then puts mpigo on PATH, the spec on
    JUPYTER_PATH, and loads the Go and MPI modules it depends on."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    prefix, mods = tmp_path / "sw" / "mpigo", tmp_path / "modulefiles"
    env = dict(os.environ, MPIGO_GO_MODULE="go", MPIGO_MPI_MODULE="openmpi")
    subprocess.run(["bash", os.path.join(root, "install/cluster/install.sh"), str(prefix), str(mods)],
                   check=True, timeout=600, env=env, capture_output=True)
    spec = json.loads((prefix / "share/jupyter/kernels/mpigo/kernel.json").read_text())
    assert spec["argv"][0] == str(prefix / "bin/mpigo")
    (modfile,) = (mods / "mpigo").glob("*.lua")
    lua = modfile.read_text()
    assert "@" not in lua, lua  # every placeholder filled
    assert f'local prefix = "{prefix}"' in lua
    if not os.path.exists(LMOD_INIT):
        pytest.skip("Lmod is not installed (Debian package lmod): modulefile not loaded")
    for name in ("go", "openmpi"):  # stand-ins for the site's modules
        (mods / name).mkdir()
        (mods / name / "1.0.lua").write_text(f'setenv("STUB_{name.upper()}", "loaded")\n')
    script = f"""
source {LMOD_INIT}
module use {mods}
module load mpigo
echo "PATH=$PATH"
echo "JUPYTER_PATH=$JUPYTER_PATH"
echo "stubs=$STUB_GO,$STUB_OPENMPI"
command -v mpigo
"""
    out = subprocess.run(["bash", "-c", script], check=True, timeout=60, capture_output=True, text=True).stdout
    assert f"PATH={prefix}/bin:" in out, out
    assert f"JUPYTER_PATH={prefix}/share/jupyter" in out, out
    assert "stubs=loaded,loaded" in out, out
    assert out.strip().endswith(f"{prefix}/bin/mpigo"), out


# apt-cache policy with a long version table written after the Candidate line
# (as for a package in many suites): a reader that stops at the first match
# makes it die of SIGPIPE
FAKE_APT_CACHE = """#!/bin/sh
printf '%s:\\n  Installed: (none)\\n  Candidate: 1.0\\n  Version table:\\n' "$2"
sleep 0.2
i=0
while [ $i -lt 5000 ]; do echo '     1.0 500 http://deb.example/debian bookworm/main amd64 Packages'; i=$((i+1)); done
"""


@pytest.mark.parametrize(
    "apt_cache, package, found",
    [("fake", "chromium", True), ("real", "bash", True), ("real", "no-such-package-mpigo", False)],
)
def test_setup_finds_apt_candidates_under_pipefail(tmp_path, apt_cache, package, found):
    """install/setup.sh's has_candidate, run as the script runs it (set -euo
    pipefail): `apt-cache policy | grep -q` failed with SIGPIPE (141) whenever
    apt-cache still had lines to write after the match, so Chromium was never
    installed on a fresh machine."""
    script = (helpers.ROOT / "install" / "setup.sh").read_text()
    start = script.index("has_candidate() {")
    func = script[start : script.index("\n}\n", start) + 3]
    env = dict(os.environ)
    if apt_cache == "fake":
        (tmp_path / "apt-cache").write_text(FAKE_APT_CACHE)
        (tmp_path / "apt-cache").chmod(0o755)
        env["PATH"] = f"{tmp_path}:{env['PATH']}"
    r = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{func}\nif has_candidate {package}; then echo yes; else echo no; fi"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("yes" if found else "no"), r.stderr
