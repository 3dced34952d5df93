"""The compatibility tier: Debian 12's own Jupyter (jupyter_client 7.4,
nbconvert 6.5, Python 3.11 from /usr/bin), the kind of years-old Jupyter a
cluster often runs. The rest of the suite runs on the project's current stack
(.venv); this smoke run keeps the older clients working."""

from __future__ import annotations

import json
import os
import subprocess

import nbformat
import pytest

from helpers import TESTDATA, check_smoke_notebook

DEBIAN_PYTHON = "/usr/bin/python3"

# a client session through jupyter_client 7: kernel_info, execute (value and
# stream), complete, inspect, is_complete, then shutdown; prints JSON facts
CLIENT = r"""
import json, sys
import jupyter_client
from jupyter_client.manager import start_new_kernel

km, kc = start_new_kernel(kernel_name="mpigo", startup_timeout=60)
try:
    facts = {"jupyter_client": jupyter_client.__version__}
    info = kc.kernel_info(reply=True, timeout=30)["content"]
    facts["language"] = info["language_info"]["name"]
    out = []
    reply = kc.execute_interactive('fmt.Println("hi")\n40 + 2', timeout=60,
                                   output_hook=out.append)["content"]
    facts["status"] = reply["status"]
    facts["stdout"] = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
    facts["result"] = [m["content"]["data"]["text/plain"] for m in out if m["msg_type"] == "execute_result"]
    code = "strings.ToUp"
    facts["matches"] = kc.complete(code, len(code), reply=True, timeout=30)["content"]["matches"]
    code = "strings.ToUpper"
    facts["inspect"] = kc.inspect(code, len(code), reply=True, timeout=30)["content"]["found"]
    msg_id = kc.is_complete("for {")  # jupyter_client 7: no reply=True here
    reply = kc.get_shell_msg(timeout=30)
    assert reply["parent_header"]["msg_id"] == msg_id
    facts["is_complete"] = reply["content"]["status"]
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=False)
print(json.dumps(facts))
"""


def debian_env() -> dict:
    """The test environment without the venv: Debian's Python finds its own
    packages only."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if "/.venv/" not in p + "/")
    return env


@pytest.fixture(scope="module")
def debian_jupyter():
    """Skips (a failure as root on Debian: setup.sh installs them) when Debian's
    Jupyter packages are missing."""
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import jupyter_client, nbconvert; print(jupyter_client.__version__)"],
                           capture_output=True, text=True, env=debian_env())
    if probe.returncode != 0:
        pytest.skip(f"Debian's python3-jupyter-client / jupyter-nbconvert missing: {probe.stderr.strip()}")
    return probe.stdout.strip()


def test_jupyter_client_7_session(debian_jupyter):
    proc = subprocess.run([DEBIAN_PYTHON, "-c", CLIENT], capture_output=True, text=True,
                          timeout=180, env=debian_env())
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts["jupyter_client"].startswith("7."), facts
    assert facts["language"] == "go"
    assert facts["status"] == "ok"
    assert facts["stdout"] == "hi\n"
    assert facts["result"] == ["42"]
    assert "strings.ToUpper" in facts["matches"] or "ToUpper" in facts["matches"], facts["matches"]
    assert facts["inspect"] is True
    assert facts["is_complete"] == "incomplete"


def test_nbconvert_6_executes_smoke_notebook(debian_jupyter, tmp_path):
    proc = subprocess.run(
        [DEBIAN_PYTHON, "-m", "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.kernel_name=mpigo", "--ExecutePreprocessor.timeout=120",
         "--output-dir", str(tmp_path), str(TESTDATA / "smoke.ipynb")],
        capture_output=True, text=True, timeout=300, env=debian_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert "6." in subprocess.run([DEBIAN_PYTHON, "-m", "nbconvert", "--version"], capture_output=True,
                                  text=True, env=debian_env()).stdout
    check_smoke_notebook(nbformat.read(tmp_path / "smoke.ipynb", as_version=4))
