"""Helpers shared by the end-to-end tests: send a request, collect what comes back."""

from __future__ import annotations

import base64
import dataclasses
import os
import queue
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = Path(__file__).resolve().parent / "testdata"


def text(value) -> str:
    """A MIME value as a string (nbformat may store multi-line text as a list)."""
    if isinstance(value, list):
        return "".join(value)
    return value


@dataclasses.dataclass
class Execution:
    """What one execute_request produced."""

    msg_id: str
    reply: dict  # execute_reply content
    messages: list  # every iopub message with this parent, in arrival order
    input_requests: list  # input_request contents, in order

    def contents(self, msg_type: str) -> list:
        return [m["content"] for m in self.messages if m["msg_type"] == msg_type]

    @property
    def msg_types(self) -> list:
        return [m["msg_type"] for m in self.messages]

    @property
    def status(self) -> str:
        return self.reply["status"]

    def stream(self, name: str) -> str:
        return "".join(c["text"] for c in self.contents("stream") if c["name"] == name)

    @property
    def stdout(self) -> str:
        return self.stream("stdout")

    @property
    def stderr(self) -> str:
        return self.stream("stderr")

    @property
    def display_data(self) -> list:
        return self.contents("display_data")

    @property
    def update_display_data(self) -> list:
        return self.contents("update_display_data")

    @property
    def execute_result(self) -> Optional[dict]:
        results = self.contents("execute_result")
        assert len(results) <= 1, f"more than one execute_result: {results}"
        return results[0] if results else None

    @property
    def result_text(self) -> Optional[str]:
        """text/plain of the execute_result, None when there is none."""
        r = self.execute_result
        return None if r is None else text(r["data"].get("text/plain"))

    @property
    def error(self) -> Optional[dict]:
        errors = self.contents("error")
        assert len(errors) <= 1, f"more than one error message: {errors}"
        return errors[0] if errors else None

    @property
    def error_text(self) -> str:
        """ename, evalue and traceback of the error (iopub and reply), one string."""
        parts = []
        for e in (self.error, self.reply if self.status == "error" else None):
            if e:
                parts += [e.get("ename", ""), e.get("evalue", "")] + list(e.get("traceback", []))
        return "\n".join(parts)

    def describe(self) -> str:
        """A readable dump for assertion messages."""
        return (
            f"status={self.status!r} reply={self.reply!r}\n"
            f"iopub={self.msg_types}\nstdout={self.stdout!r}\nstderr={self.stderr!r}\n"
            f"result={self.result_text!r}\nerror={self.error!r}"
        )


def _poll(get, timeout):
    try:
        return get(timeout=timeout)
    except queue.Empty:
        return None


def run(
    kc,
    code: str,
    allow_stdin: bool = False,
    timeout: float = 30,
    stdin: tuple = (),
    on_msg: Optional[Callable[[dict], None]] = None,
    **execute_kw,
) -> Execution:
    """Executes code and collects every iopub message with that parent until the
    kernel is idle again, plus the execute_reply.

    stdin: answers sent, in order, to input_request messages (an input_request
    with no answer left fails the test). on_msg is called with each iopub
    message of this request as it arrives (to act while the cell still runs).
    """
    answers = list(stdin)
    msg_id = kc.execute(code, allow_stdin=allow_stdin, **execute_kw)
    deadline = time.monotonic() + timeout
    reply = None
    idle = False
    messages: list = []
    input_requests: list = []
    while reply is None or not idle:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"no {'execute_reply' if reply is None else 'idle status'} within {timeout}s "
                f"for {code!r}; iopub so far: {[m['msg_type'] for m in messages]}; "
                f"stdout so far: {''.join(m['content'].get('text', '') for m in messages if m['msg_type'] == 'stream')!r}"
            )
        got = False
        msg = _poll(kc.get_iopub_msg, 0.05)
        if msg is not None:
            got = True
            if msg["parent_header"].get("msg_id") == msg_id:
                messages.append(msg)
                if on_msg is not None:
                    on_msg(msg)
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
        msg = _poll(kc.get_shell_msg, 0 if got else 0.01)
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            reply = msg["content"]
        msg = _poll(kc.get_stdin_msg, 0)
        if msg is not None and msg["msg_type"] == "input_request":
            input_requests.append(msg["content"])
            if not answers:
                raise AssertionError(f"unexpected input_request {msg['content']!r} for {code!r}")
            kc.input(answers.pop(0))
    return Execution(msg_id, reply, messages, input_requests)


def shell_reply(kc, msg_id: str, timeout: float = 30) -> dict:
    """The shell reply (whole message) to request msg_id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = _poll(kc.get_shell_msg, 0.1)
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            return msg
    raise TimeoutError(f"no shell reply to {msg_id} within {timeout}s")


def control_reply(kc, msg_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = _poll(kc.get_control_msg, 0.1)
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            return msg
    raise TimeoutError(f"no control reply to {msg_id} within {timeout}s")


def iopub_until_idle(kc, msg_id: str, timeout: float = 30) -> list:
    """Every iopub message with parent msg_id, up to and including status idle."""
    deadline = time.monotonic() + timeout
    out = []
    while time.monotonic() < deadline:
        msg = _poll(kc.get_iopub_msg, 0.1)
        if msg is None or msg["parent_header"].get("msg_id") != msg_id:
            continue
        out.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out
    raise TimeoutError(f"no idle for {msg_id} within {timeout}s; got {[m['msg_type'] for m in out]}")


def ok(kc, code: str, **kw) -> Execution:
    """Runs code and asserts it succeeded."""
    ex = run(kc, code, **kw)
    assert ex.status == "ok", f"cell failed:\n{code}\n{ex.describe()}"
    assert ex.error is None, ex.describe()
    return ex


def b64decode(value) -> bytes:
    return base64.b64decode(text(value))


def png_size(data: bytes) -> tuple:
    """(width, height) of a PNG file's bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"not a PNG: {data[:16]!r}"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def children_of(pid: int) -> list:
    """PIDs of the direct children of pid (Linux /proc)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may contain spaces; the fields after ")" are fixed
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def alive(pid: int) -> bool:
    """Whether pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def wait_for(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


RANK_LINE = re.compile(r"^\[rank (\d+)\] (.*)$")


def rank_lines(s: str) -> list:
    """(rank, text) for every line of s; every line must carry a rank label."""
    out = []
    for line in s.splitlines():
        m = RANK_LINE.match(line)
        assert m, f"line without a [rank N] label: {line!r}"
        out.append((int(m[1]), m[2]))
    return out


def summary(ex) -> dict:
    """The data of an %mpirun cell's summary display (exactly one)."""
    shown = [d for d in ex.display_data if "text/html" in d["data"] and "wall time" in text(d["data"]["text/html"])]
    assert len(shown) == 1, f"want one summary display: {ex.describe()}"
    return shown[0]["data"]


def progress(ex) -> list:
    """The texts an %mpirun cell's progress line showed, in order (shown,
    then updated in place), without the "%mpirun: " prefix."""
    out = []
    for m in ex.messages:
        if m["msg_type"] in ("display_data", "update_display_data"):
            t = text(m["content"]["data"].get("text/plain", ""))
            if t.startswith("%mpirun: "):
                out.append(t[len("%mpirun: ") :])
    return out


def interrupt_when(km, marker: str = "started"):
    """An on_msg hook for run() that interrupts the kernel of km the first
    time a stream shows marker, and the time it did (sent["t"])."""
    sent = {}

    def on_msg(msg):
        if "t" not in sent and msg["msg_type"] == "stream" and marker in msg["content"]["text"]:
            sent["t"] = time.monotonic()
            km.interrupt_kernel()

    return on_msg, sent


# ---------------------------------------------------------------------------
# executed notebooks (nbformat nodes): what the workshop notebooks must show,
# shared by test_nbconvert.py (run by jupyter nbconvert on this host) and
# test_workshop_profile.py (run by nbclient inside a SLURM allocation)
# ---------------------------------------------------------------------------


def outputs(cell) -> list:
    return cell.get("outputs", [])


def cell_text(cell) -> str:
    """Everything a cell showed, as text: streams, text/plain of results and
    displays, and errors (name, value, traceback)."""
    parts = []
    for out in outputs(cell):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(text(out.data.get("text/plain", "")))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}\n" + "\n".join(out.traceback))
    return "\n".join(parts)


def check_unexecuted_notebook(name: str, nb) -> None:
    """A notebook as kept in the repository: the mpigo kernel, no outputs."""
    assert nb.metadata["kernelspec"]["name"] == "mpigo", f"{name}: kernelspec {nb.metadata['kernelspec']}"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert outputs(cell) == [] and cell.execution_count is None, f"{name}: outputs not cleared"


def slurm_answers(env: dict | None = None) -> bool:
    """Whether SLURM is there for env (os.environ by default): sinfo runs and
    reaches a controller, as notebook 07 asks."""
    try:
        return subprocess.run(["sinfo"], env=env, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def check_executed_notebook(name: str, nb, slurm: bool | None = None) -> None:
    """Asserts that nb, executed top to bottom, ran clean: every code cell
    ran; a cell tagged raises-exception failed and every other cell did not;
    a cell whose metadata holds "mpigo": {"expect": [REGEX, ...]} showed text
    matching each regular expression (re.search over cell_text, multiline).

    A cell tagged raises-exception whose metadata also holds "mpigo":
    {"fails_without_slurm": true} (notebook 07's %mpirun --sbatch) fails only
    where there is no SLURM: slurm says whether there was (None: either)."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"{name}: cell not executed:\n{cell.source}"
        errors = [o for o in outputs(cell) if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []) and cell.metadata.get("mpigo", {}).get("fails_without_slurm"):
            if slurm is not None:
                assert bool(errors) != slurm, (
                    f"{name}: with{'' if slurm else 'out'} SLURM, this cell must {'not ' if slurm else ''}fail:\n{cell.source}\n{cell_text(cell)}"
                )
        elif "raises-exception" in cell.metadata.get("tags", []):
            assert errors, f"{name}: cell tagged raises-exception did not fail:\n{cell.source}"
        else:
            for out in errors:
                raise AssertionError(f"{name}: error in cell:\n{cell.source}\n{out.ename}: {out.evalue}")
        shown = cell_text(cell)
        for pattern in cell.metadata.get("mpigo", {}).get("expect", []):
            assert re.search(pattern, shown, re.M), (
                f"{name}: cell output does not match {pattern!r}\n--- cell:\n{cell.source}\n--- output:\n{shown}"
            )


def check_smoke_notebook(nb) -> None:
    """Checks testdata/smoke.ipynb after execution: a value, a stream, a
    display, an expected error, and state kept across cells."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    by_source = {c.source: c for c in code}

    assert outputs(by_source["x := 20"]) == []

    (res,) = outputs(by_source["x*2 + 2"])
    assert res.output_type == "execute_result"
    assert text(res.data["text/plain"]) == "42"

    (stream,) = outputs(by_source['fmt.Println("hello from", "mpigo")'])
    assert stream.output_type == "stream" and stream.name == "stdout"
    assert stream.text == "hello from mpigo\n"

    (disp,) = outputs(by_source['display.HTML("<b>bold</b>")'])
    assert disp.output_type == "display_data"
    assert text(disp.data["text/html"]) == "<b>bold</b>"
    assert "text/plain" in disp.data

    (err,) = outputs(by_source['panic("expected failure")'])
    assert err.output_type == "error"
    assert "expected failure" in err.evalue

    (after,) = outputs(by_source["x + 1"])
    assert text(after.data["text/plain"]) == "21"

    # cells are numbered in order
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))


def descendants(pid: int) -> list:
    """PIDs of every process below pid (children, their children, ...), found
    now through /proc."""
    out = []
    todo = [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


def cmdline(pid: int) -> list:
    """The argv of pid ([] once it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def environ(pid: int) -> dict:
    """The environment pid started with ({} once it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return {}
    env = {}
    for item in raw.split(b"\0"):
        k, sep, v = item.partition(b"=")
        if sep:
            env[k.decode(errors="replace")] = v.decode(errors="replace")
    return env


def free_port(addr: str = "127.0.0.1") -> int:
    """A TCP port free on addr now (for a server the test starts)."""
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def wait_for_kernel(connection_file, timeout: float = 60) -> None:
    """Waits until the kernel of connection_file answers a kernel_info_request
    (it writes the file before it binds its ports)."""
    from jupyter_client import BlockingKernelClient

    kc = BlockingKernelClient(connection_file=str(connection_file))
    kc.load_connection_file()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
    finally:
        kc.stop_channels()
