"""The mpigo command line: install (kernel spec layout) and version."""

import json
import os
import subprocess

import pytest

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
