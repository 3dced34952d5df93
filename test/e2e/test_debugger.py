"""The Jupyter Debug Protocol (issue 17): debug_request on the
control channel answered with debug_reply, debug_event on iopub, the requests
that need no stopped interpreter (initialize, attach, debugInfo, dumpCell,
source, setBreakpoints, inspectVariables, richInspectVariables, modules,
disconnect), errors that say what is wrong, and a control channel that answers
while the shell runs a cell."""

import itertools
import os
import time

import pytest

from helpers import control_reply, ok, run, shell_reply

_seq = itertools.count(1)

# The seed and vectors of ipykernel (ipykernel/compiler.py, murmur2_x86), which
# JupyterLab's murmur2 matches: the kernel must name cells as both do.
SEED = 0xC70F6907


def murmur2(data: str, seed: int) -> int:
    from ipykernel.compiler import murmur2_x86

    return murmur2_x86(data, seed)


def debug(kc, command: str, arguments=None, raw=None, timeout: float = 30) -> dict:
    """Sends a debug_request on control; returns the debug_reply's content."""
    content = raw if raw is not None else {"type": "request", "seq": next(_seq), "command": command, "arguments": arguments or {}}
    msg = kc.session.msg("debug_request", content)
    kc.control_channel.send(msg)
    reply = control_reply(kc, msg["header"]["msg_id"], timeout=timeout)
    assert reply["msg_type"] == "debug_reply", reply
    return reply["content"]


def debug_events(kc, want: str, timeout: float = 10) -> dict:
    """The first debug_event named want on iopub, within timeout."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
        except Exception:
            continue
        if msg["msg_type"] == "debug_event":
            seen.append(msg["content"].get("event"))
            if msg["content"].get("event") == want:
                return msg["content"]
    raise TimeoutError(f"no {want} debug_event in {timeout}s; saw {seen}")


def ok_response(resp: dict, command: str) -> dict:
    assert resp["type"] == "response", resp
    assert resp["command"] == command, resp
    assert resp["success"] is True, resp
    assert isinstance(resp["seq"], int) and isinstance(resp["request_seq"], int), resp
    return resp.get("body") or {}


def failed(resp: dict) -> str:
    assert resp["type"] == "response" and resp["success"] is False, resp
    assert resp["message"], resp
    return resp["message"]


def started(kc) -> None:
    body = ok_response(debug(kc, "initialize", {"clientID": "jupyterlab", "adapterID": "go", "pathFormat": "path"}), "initialize")
    assert body["supportsConfigurationDoneRequest"] is True
    assert body["exceptionBreakpointFilters"] == []
    debug_events(kc, "initialized")
    ok_response(debug(kc, "attach", {}), "attach")


def test_kernel_info_announces_the_debugger(kc):
    """kernel_info says the kernel has a debugger (JupyterLab shows its bug icon)."""
    info = shell_reply(kc, kc.kernel_info())["content"]
    assert info["debugger"] is True
    assert "debugger" in info["supported_features"], info


def test_session_without_a_stopped_interpreter(kc):
    started(kc)
    info = ok_response(debug(kc, "debugInfo"), "debugInfo")
    assert info["isStarted"] is True
    assert info["hashMethod"] == "Murmur2" and info["hashSeed"] == SEED
    prefix = info["tmpFilePrefix"]
    assert prefix.endswith(os.sep) and os.path.isdir(prefix)
    assert os.stat(prefix).st_mode & 0o077 == 0, "the cells' directory is private"
    assert info["tmpFileSuffix"] == ".go"
    assert info["breakpoints"] == [] and info["stoppedThreads"] == []
    assert info["richRendering"] is True and info["exceptionPaths"] == []

    code = 'for i := 0; i < 3; i++ {\n\tfmt.Println("héllo", i)\n}\n'
    path = ok_response(debug(kc, "dumpCell", {"code": code}), "dumpCell")["sourcePath"]
    assert path == f"{prefix}{murmur2(code, SEED)}.go"
    with open(path, encoding="utf-8") as f:
        assert f.read() == code
    assert ok_response(debug(kc, "source", {"source": {"path": path}}), "source")["content"] == code
    assert "not the source" in failed(debug(kc, "source", {"source": {"path": "/etc/passwd"}}))
    assert "not the source" in failed(debug(kc, "source", {"source": {"path": prefix + "../x.go"}}))

    bps = ok_response(debug(kc, "setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": 2}], "sourceModified": False}), "setBreakpoints")
    assert bps["breakpoints"] == [{"verified": True, "line": 2, "source": {"path": path}}]
    ok_response(debug(kc, "setExceptionBreakpoints", {"filters": []}), "setExceptionBreakpoints")
    ok_response(debug(kc, "configurationDone"), "configurationDone")
    info = ok_response(debug(kc, "debugInfo"), "debugInfo")
    assert info["breakpoints"] == [{"source": path, "breakpoints": [{"line": 2}]}]

    assert ok_response(debug(kc, "modules", {"startModule": 0, "moduleCount": 0}), "modules") == {"modules": [], "totalModules": 0}

    # Requests that need a stopped cell say so; unknown ones say they are not supported.
    for cmd in ("stackTrace", "scopes", "evaluate", "continue", "next", "stepIn", "stepOut"):
        assert "no thread is stopped" in failed(debug(kc, cmd, {"threadId": 1})), cmd
    assert "not supported by mpigo's debugger" in failed(debug(kc, "restartFrame", {"frameId": 1}))

    ok_response(debug(kc, "disconnect", {"restart": False, "terminateDebuggee": True}), "disconnect")
    info = ok_response(debug(kc, "debugInfo"), "debugInfo")
    assert info["isStarted"] is False and info["breakpoints"] == []
    assert "not started" in failed(debug(kc, "setBreakpoints", {"source": {"path": path}, "breakpoints": []}))


def test_inspect_variables(kc):
    ok(kc, "type Point struct {\n\tX, Y int\n\tlabel string\n}\n"
           'x := 42\np := Point{1, 2, "a"}\ns := []string{"a", "b", "c"}\nm := map[string]int{"one": 1, "two": 2}\n')
    started(kc)
    variables = ok_response(debug(kc, "inspectVariables"), "inspectVariables")["variables"]
    by_name = {v["name"]: v for v in variables}
    assert {"x", "p", "s", "m"} <= set(by_name), variables
    assert by_name["x"]["type"] == "int" and by_name["x"]["value"] == "42"
    assert by_name["x"]["variablesReference"] == 0
    assert by_name["p"]["type"] == "Point", by_name["p"]
    assert by_name["s"]["type"] == "[]string" and by_name["s"]["value"] == "[a b c]"

    fields = ok_response(debug(kc, "variables", {"variablesReference": by_name["p"]["variablesReference"]}), "variables")["variables"]
    assert [(f["name"], f["value"]) for f in fields] == [("X", "1"), ("Y", "2"), ("label", '"a"')], fields
    elems = ok_response(debug(kc, "variables", {"variablesReference": by_name["s"]["variablesReference"]}), "variables")["variables"]
    assert [(e["name"], e["type"], e["value"]) for e in elems] == [("0", "string", '"a"'), ("1", "string", '"b"'), ("2", "string", '"c"')]
    entries = ok_response(debug(kc, "variables", {"variablesReference": by_name["m"]["variablesReference"]}), "variables")["variables"]
    assert [(e["name"], e["value"]) for e in entries] == [('"one"', "1"), ('"two"', "2")]

    rich = ok_response(debug(kc, "richInspectVariables", {"variableName": "p"}), "richInspectVariables")
    assert rich["data"]["text/plain"] == "{1 2 a}", rich
    assert "no such variable" in failed(debug(kc, "richInspectVariables", {"variableName": "os.Exit(1)"}))


@pytest.mark.parametrize(
    "raw, why",
    [
        ({"type": "request", "seq": 1}, "names no command"),
        ({"type": "event", "seq": 1, "command": "initialize"}, "type"),
        ({"type": "request", "seq": "x", "command": "initialize"}, "not a DAP request"),
        ({"type": "request", "seq": 1, "command": "dumpCell", "arguments": {"code": 7}}, "arguments of dumpCell"),
        ({"type": "request", "seq": 1, "command": "setBreakpoints", "arguments": {"source": {"path": "/x.go"}, "breakpoints": [{"line": 1}] * 5000}}, "over the limit"),
        ({"type": "request", "seq": 1, "command": "x" * 100000}, "not supported"),
    ],
)
def test_malformed_requests_get_errors(kc, raw, why):
    if raw.get("command") in ("dumpCell", "setBreakpoints"):
        started(kc)
    assert why in failed(debug(kc, "", raw=raw))
    assert debug(kc, "debugInfo")["success"] is True  # and the kernel goes on


def test_debug_request_on_shell_is_refused(kc):
    msg = kc.session.msg("debug_request", {"type": "request", "seq": 1, "command": "debugInfo"})
    kc.shell_channel.send(msg)
    reply = shell_reply(kc, msg["header"]["msg_id"])["content"]
    assert reply["status"] == "error" and reply["ename"] == "WrongChannel", reply


def test_control_answers_while_a_cell_runs(kc):
    ok(kc, "x := 1")
    started(kc)
    before = ok_response(debug(kc, "inspectVariables"), "inspectVariables")["variables"]
    assert [v["name"] for v in before] == ["x"], before
    msg_id = kc.execute("time.Sleep(3 * time.Second)")
    time.sleep(0.5)  # the cell is running
    t0 = time.monotonic()
    info = ok_response(debug(kc, "debugInfo", timeout=2), "debugInfo")
    assert info["isStarted"] is True
    # JupyterLab asks whenever a cell starts and breaks on a failed reply:
    # while the cell runs, the list of the last time the kernel could ask
    busy = ok_response(debug(kc, "inspectVariables", timeout=2), "inspectVariables")["variables"]
    assert time.monotonic() - t0 < 2, "the control channel waited for the cell"
    assert [v["name"] for v in busy] == ["x"], busy
    assert shell_reply(kc, msg_id, timeout=30)["content"]["status"] == "ok"
    assert ok_response(debug(kc, "inspectVariables"), "inspectVariables")["variables"]


def debug_event_where(kc, want: str, timeout: float = 20) -> dict:
    """The next debug_event named want (skipping others)."""
    return debug_events(kc, want, timeout)


def set_breakpoints(kc, code: str, lines: list) -> str:
    path = ok_response(debug(kc, "dumpCell", {"code": code}), "dumpCell")["sourcePath"]
    body = ok_response(debug(kc, "setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": n} for n in lines]}), "setBreakpoints")
    assert [b["verified"] for b in body["breakpoints"]] == [True] * len(lines), body
    return path


def test_breakpoint_stack_variables_step_evaluate_continue(kc):
    """A DAP session as JupyterLab drives it: a breakpoint in a loop stops
    the cell, the stack names the cell's file and line, the loop variable
    shows, evaluate works in the stopped frame, stepping goes into a
    function of an earlier cell, continuing lets the cell finish with its
    output in order; the control channel answers all along."""
    started(kc)
    cell1 = "func twice(n int) int {\n\tm := 2 * n\n\treturn m\n}"
    path1 = set_breakpoints(kc, cell1, [])
    ok_response(debug(kc, "configurationDone"), "configurationDone")
    ok(kc, cell1)
    cell2 = 'total := 0\nfor i := 0; i < 3; i++ {\n\ttotal += twice(i)\n}\nfmt.Println("total", total)'
    path2 = set_breakpoints(kc, cell2, [3])
    msg_id = kc.execute(cell2)
    stopped = debug_event_where(kc, "stopped")
    thread = stopped["body"]["threadId"]
    assert stopped["body"]["reason"] == "breakpoint", stopped
    frames = ok_response(debug(kc, "stackTrace", {"threadId": thread}), "stackTrace")["stackFrames"]
    assert frames[0]["source"]["path"] == path2 and frames[0]["line"] == 3, frames
    assert ok_response(debug(kc, "debugInfo"), "debugInfo")["stoppedThreads"] == [thread]
    scopes = ok_response(debug(kc, "scopes", {"frameId": frames[0]["id"]}), "scopes")["scopes"]
    names = {}
    for s in scopes:
        for v in ok_response(debug(kc, "variables", {"variablesReference": s["variablesReference"]}), "variables")["variables"]:
            names[v["name"]] = v["value"]
    assert names.get("i") == "0", names
    ev = ok_response(debug(kc, "evaluate", {"expression": "i*2 + 1", "frameId": frames[0]["id"]}), "evaluate")
    assert ev["result"] == "1", ev
    # step in until the loop calls twice, a function of cell 1: its file
    # and line (yaegi steps by node: the stop at line 3 may come after
    # this iteration's call, so the next iteration's enters it)
    seen = []
    for _ in range(8):
        ok_response(debug(kc, "stepIn", {"threadId": thread}), "stepIn")
        debug_event_where(kc, "stopped")
        frames = ok_response(debug(kc, "stackTrace", {"threadId": thread}), "stackTrace")["stackFrames"]
        seen.append((frames[0].get("source", {}).get("path"), frames[0]["line"]))
        if seen[-1][0] == path1:
            break
    assert seen[-1][0] == path1 and seen[-1][1] in (2, 3) and frames[0]["name"] == "twice", seen
    # clear the breakpoint and let the cell finish
    set_breakpoints(kc, cell2, [])
    ok_response(debug(kc, "continue", {"threadId": thread}), "continue")
    reply = shell_reply(kc, msg_id, timeout=30)
    assert reply["content"]["status"] == "ok", reply
    ok_response(debug(kc, "disconnect", {}), "disconnect")
    assert ok(kc, 'fmt.Println("after", total)').stdout == "after 6\n"


def frame_locals(kc, frame: dict) -> dict:
    """The variables of a frame's Locals scope, by name."""
    scopes = ok_response(debug(kc, "scopes", {"frameId": frame["id"]}), "scopes")["scopes"]
    ref = next(s["variablesReference"] for s in scopes if s["name"] == "Locals")
    return {v["name"]: v["value"] for v in ok_response(debug(kc, "variables", {"variablesReference": ref}), "variables")["variables"]}


def test_breakpoint_in_a_cell_run_before_the_debugger(kc):
    """A function declared before the debugger was attached stops at a
    breakpoint set later in its cell (found by the path JupyterLab derives
    from the cell's code), and the stack shows the calling cell under it,
    with the variables of both frames."""
    cell1 = "func cube(n int) int {\n\tc := n * n * n\n\treturn c\n}"
    ok(kc, cell1)
    started(kc)
    path1 = set_breakpoints(kc, cell1, [3])
    ok_response(debug(kc, "configurationDone"), "configurationDone")
    cell2 = 'k := 3\nfmt.Println("cube", cube(k))'
    path2 = ok_response(debug(kc, "dumpCell", {"code": cell2}), "dumpCell")["sourcePath"]
    msg_id = kc.execute(cell2)
    thread = debug_event_where(kc, "stopped")["body"]["threadId"]
    frames = ok_response(debug(kc, "stackTrace", {"threadId": thread}), "stackTrace")["stackFrames"]
    where = [(f["name"], f.get("source", {}).get("path"), f["line"]) for f in frames]
    assert where[0] == ("cube", path1, 3) and where[1][1:] == (path2, 2) and len(where) == 2, where
    assert frame_locals(kc, frames[0]).get("c") == "27"
    assert frame_locals(kc, frames[1]).get("k") == "3"
    # the rich view of a variable, as the stopped frame sees it
    for frame, name, want in ((frames[0], "c", "27"), (frames[1], "k", "3"), (frames[1], "c", None)):
        resp = debug(kc, "richInspectVariables", {"variableName": name, "frameId": frame["id"]})
        if want is None:
            assert "undefined in this frame: c" in failed(resp)
        else:
            assert ok_response(resp, "richInspectVariables")["data"] == {"text/plain": want}, resp
    # stepOut returns to the calling cell
    set_breakpoints(kc, cell1, [])
    ok_response(debug(kc, "stepOut", {"threadId": thread}), "stepOut")
    assert debug_event_where(kc, "stopped")["body"]["reason"] == "step"
    frames = ok_response(debug(kc, "stackTrace", {"threadId": thread}), "stackTrace")["stackFrames"]
    assert [(f.get("source", {}).get("path"), f["line"]) for f in frames] == [(path2, 2)], frames
    ok_response(debug(kc, "continue", {"threadId": thread}), "continue")
    reply = shell_reply(kc, msg_id, timeout=30)
    assert reply["content"]["status"] == "ok", reply
    assert ok(kc, "fmt.Println(cube(2))").stdout == "8\n"


def test_pause_a_running_cell_then_interrupt(kernel):
    """pause stops a cell that runs with no breakpoint, on a line of the
    cell, with its variables; continue resumes it; the toolbar's interrupt
    then ends it and the kernel goes on."""
    kc = kernel.kc
    started(kc)
    ok_response(debug(kc, "configurationDone"), "configurationDone")
    cell = 'n := 0\nfmt.Println("looping")\nfor {\n\tn++\n}'
    path = ok_response(debug(kc, "dumpCell", {"code": cell}), "dumpCell")["sourcePath"]
    msg_id = kc.execute(cell)
    debug_event_where(kc, "thread")  # the cell's goroutine started
    ok_response(debug(kc, "pause", {"threadId": 1}), "pause")
    stopped = debug_event_where(kc, "stopped")
    assert stopped["body"]["reason"] == "pause", stopped
    thread = stopped["body"]["threadId"]
    frames = ok_response(debug(kc, "stackTrace", {"threadId": thread}), "stackTrace")["stackFrames"]
    assert frames[0]["source"]["path"] == path and frames[0]["line"] in (3, 4), frames
    assert int(frame_locals(kc, frames[0])["n"]) >= 0
    scopes = ok_response(debug(kc, "scopes", {"frameId": frames[0]["id"]}), "scopes")["scopes"]
    ok_response(debug(kc, "continue", {"threadId": thread}), "continue")
    debug_event_where(kc, "continued")
    # JupyterLab may still fetch an ended stop's variables when the thread
    # has stopped again: an empty answer, not an error (its panel breaks on one)
    ok_response(debug(kc, "pause", {"threadId": thread}), "pause")
    assert debug_event_where(kc, "stopped")["body"]["reason"] == "pause"
    stale = debug(kc, "variables", {"variablesReference": scopes[0]["variablesReference"]})
    assert ok_response(stale, "variables")["variables"] == [], stale
    assert ok_response(debug(kc, "scopes", {"frameId": frames[0]["id"]}), "scopes")["scopes"] == []
    ok_response(debug(kc, "continue", {"threadId": thread}), "continue")
    debug_event_where(kc, "continued")
    kernel.km.interrupt_kernel()
    reply = shell_reply(kc, msg_id, timeout=30)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "Interrupted", reply["content"]
    assert ok(kc, "fmt.Println(1 + 1)").stdout == "2\n"


@pytest.mark.parametrize("cell", ["%mpirun -n 2\nfmt.Println(mpi.World.Rank())", "%%px\nfmt.Println(1)"])
def test_breakpoints_in_magic_cells_are_not_supported(kc, cell):
    """A breakpoint in an %mpirun or %px cell is answered unverified, with
    the reason: those cells do not run in the notebook's interpreter."""
    started(kc)
    path = ok_response(debug(kc, "dumpCell", {"code": cell}), "dumpCell")["sourcePath"]
    body = ok_response(debug(kc, "setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": 2}]}), "setBreakpoints")
    bp = body["breakpoints"][0]
    assert bp["verified"] is False and "not supported in %" in bp["message"], body


@pytest.mark.parametrize("first", ["%reset", "os.Exit(3)"])
def test_breakpoint_after_reset_or_a_new_interpreter(kc, first):
    """After %reset, or a cell that ended the interpreter process (a new one
    is started), a breakpoint in a new cell still stops it."""
    started(kc)
    run(kc, first)
    cell = 'n := 0\nfor j := 0; j < 2; j++ {\n\tn += j\n}\nfmt.Println("n", n)'
    set_breakpoints(kc, cell, [3])
    msg_id = kc.execute(cell)
    stopped = debug_event_where(kc, "stopped")
    thread = stopped["body"]["threadId"]
    frames = ok_response(debug(kc, "stackTrace", {"threadId": thread}), "stackTrace")["stackFrames"]
    assert frames[0]["line"] == 3, frames
    set_breakpoints(kc, cell, [])
    ok_response(debug(kc, "continue", {"threadId": thread}), "continue")
    assert shell_reply(kc, msg_id, timeout=30)["content"]["status"] == "ok"
