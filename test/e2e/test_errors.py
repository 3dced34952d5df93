"""Errors: compile errors with cell positions, panics, os.Exit, goroutine panics,
interrupts and hard crashes of the interpreter; earlier state survives them all."""

import os
import re
import signal
import time

import pytest

from helpers import control_reply, ok, run


def assert_error_reply(ex):
    assert ex.status == "error", ex.describe()
    assert ex.error is not None, "no error message on iopub: " + ex.describe()
    for part in (ex.error, ex.reply):
        assert isinstance(part["ename"], str) and part["ename"], part
        assert isinstance(part["evalue"], str), part
        assert isinstance(part["traceback"], list), part
        assert all(isinstance(line, str) for line in part["traceback"]), part
    assert ex.reply["ename"] == ex.error["ename"]
    assert ex.reply["evalue"] == ex.error["evalue"]


COMPILE_ERRORS = [
    # (id, code, line, column or None when only the line is checked)
    ("undefined", "a := 1\nfmt.Println(undefinedName)", 2, 13),
    ("in-func-decl", "x := 1\n\nfunc g() int { return undefinedY }", 3, 23),
    ("syntax", "fmt.Println(1)\nfmt.Println(2))", 2, 15),
    ("types", 's := "a"\nn := s + 1\n_ = n', 2, None),
    ("bad-import", 'y := 2\nimport "no/such/pkg"\n_ = y', 2, None),
]


@pytest.mark.parametrize("code, line, col", [c[1:] for c in COMPILE_ERRORS], ids=[c[0] for c in COMPILE_ERRORS])
def test_compile_error_names_cell_position(kc, code, line, col):
    ok(kc, "1")  # so that the failing cell is not number 1
    ex = run(kc, code)
    assert_error_reply(ex)
    n = ex.reply["execution_count"]
    assert n == 2
    positions = re.findall(r"cell\[(\d+)\]:(\d+):(\d+)", ex.error_text)
    assert positions, f"no cell[N]:L:C position in the error:\n{ex.error_text}"
    cell, got_line, got_col = positions[0]
    assert int(cell) == n, ex.error_text
    assert int(got_line) == line, ex.error_text
    if col is not None:
        assert int(got_col) == col, ex.error_text


def test_compile_error_keeps_state(kc):
    ok(kc, "keep := 7\nfunc keptFunc() int { return 8 }")
    assert run(kc, "keep = undefinedThing").status == "error"
    assert ok(kc, "keep + keptFunc()").result_text == "15"


def test_runtime_panic(kc):
    ok(kc, "1")
    code = "x := 5\n\nfunc boom(n int) int {\n\tvar s []int\n\treturn s[n]\n}\nboom(x)"
    ex = run(kc, code)
    assert_error_reply(ex)
    assert "index out of range" in ex.error["evalue"], ex.error
    n = ex.reply["execution_count"]
    tb = "\n".join(ex.error["traceback"])
    # yaegi v0.16 names each frame by the first statement of its function (a
    # shadowed variable in its runCfg loses the exact node), so the frame of
    # boom points inside boom (lines 3-5), and the cell's own frame follows.
    frames = [line for line in ex.error["traceback"] if line.startswith(f"cell[{n}]:")]
    assert len(frames) == 2, tb
    assert re.match(rf"cell\[{n}\]:[345]:\d+: main\.boom\(", frames[0]), tb
    assert "main(" in frames[1], tb


def test_panic_value(kc):
    ex = run(kc, 'panic("boom")')
    assert_error_reply(ex)
    assert "boom" in ex.error["evalue"]
    # the error message is the only output (no duplicate on stderr)
    assert ex.msg_types.count("error") == 1 and "stream" not in ex.msg_types, ex.describe()


def test_panic_with_error_value(kc):
    ex = run(kc, 'panic(fmt.Errorf("wrapped: %w", os.ErrNotExist))')
    assert_error_reply(ex)
    assert "wrapped: file does not exist" in ex.error["evalue"]


def test_panic_keeps_state(kc):
    ok(kc, "keep := 7")
    assert run(kc, "var m map[string]int\nm[\"a\"] = 1").status == "error"
    assert ok(kc, "keep").result_text == "7"


def test_output_before_panic_is_kept(kc):
    ex = run(kc, 'fmt.Println("got here")\npanic("then this")')
    assert ex.stdout == "got here\n"
    assert_error_reply(ex)


@pytest.mark.parametrize("code", ["os.Exit(3)", 'fmt.Println("bye")\nos.Exit(3)', "func quit() { os.Exit(3) }\nquit()"])
def test_os_exit(kc, code):
    ok(kc, "keep := 7")
    ex = run(kc, code)
    assert_error_reply(ex)
    assert "exit status 3" in ex.error_text, ex.describe()
    assert ok(kc, "keep").result_text == "7"
    assert ok(kc, "keep * 6").result_text == "42"


def test_goroutine_panic_reported(kc):
    ok(kc, "keep := 7")
    ex = run(kc, 'go func() { panic("in goroutine") }()\ntime.Sleep(500 * time.Millisecond)')
    assert "in goroutine" in ex.stderr + ex.error_text, "goroutine panic not reported: " + ex.describe()
    assert ok(kc, "keep").result_text == "7"


def test_late_goroutine_panic_keeps_kernel(kernel):
    kc = kernel.kc
    ok(kc, "keep := 7")
    ok(kc, 'done := make(chan bool)\ngo func() { defer close(done); time.Sleep(200 * time.Millisecond); panic("late panic") }()')
    ok(kc, "<-done")  # the goroutine has panicked (its deferred close ran)
    assert kernel.km.is_alive()
    assert ok(kc, "keep").result_text == "7"


LOOPS = {
    "busy-loop": "for {\n}",
    "sleep": "time.Sleep(time.Hour)",
    "chan-recv": "<-make(chan int)",
    "select": "select {}",
}


def interrupt_and_wait(kernel, body, how):
    """Runs a cell that prints "started" then blocks; interrupts it once "started"
    arrives. Returns (execution, seconds from interrupt to reply+idle)."""
    kc = kernel.kc
    sent = {}

    def on_msg(msg):
        if "t" in sent or msg["msg_type"] != "stream" or "started" not in msg["content"]["text"]:
            return
        sent["t"] = time.monotonic()
        if how == "message":
            kernel.km.interrupt_kernel()  # interrupt_mode "message": interrupt_request on control
        elif how == "control":
            msg = kc.session.msg("interrupt_request", {})
            kc.control_channel.send(msg)
            sent["id"] = msg["header"]["msg_id"]
        elif how == "sigint":
            os.kill(kernel.pid, signal.SIGINT)

    ex = run(kc, 'fmt.Println("started")\n' + body, on_msg=on_msg, timeout=40)
    took = time.monotonic() - sent["t"]
    if how == "control":
        reply = control_reply(kc, sent["id"], timeout=10)
        assert reply["msg_type"] == "interrupt_reply"
        assert reply["content"]["status"] == "ok"
    return ex, took


@pytest.mark.parametrize("body", LOOPS.values(), ids=LOOPS.keys())
def test_interrupt(kernel, body):
    ok(kernel.kc, "keep := 7")
    ex, took = interrupt_and_wait(kernel, body, "message")
    assert ex.status == "error", ex.describe()
    assert took < 10, f"interrupt took {took:.1f}s"
    assert ok(kernel.kc, "keep").result_text == "7"


@pytest.mark.parametrize("how", ["control", "sigint"])
def test_interrupt_other_ways(kernel, how):
    ok(kernel.kc, "keep := 7")
    ex, took = interrupt_and_wait(kernel, "for {\n}", how)
    assert ex.status == "error", ex.describe()
    assert took < 10, f"interrupt took {took:.1f}s"
    assert ok(kernel.kc, "keep").result_text == "7"


def test_interrupt_when_idle_is_harmless(kernel):
    kc = kernel.kc
    ok(kc, "keep := 7")
    msg = kc.session.msg("interrupt_request", {})
    kc.control_channel.send(msg)
    reply = control_reply(kc, msg["header"]["msg_id"], timeout=10)  # handled: it cannot reach the next cell
    assert reply["content"]["status"] == "ok"
    assert ok(kc, "keep").result_text == "7"


def test_interrupt_goroutine_loop_then_continue(kernel):
    """A cell that waits on a goroutine stuck in a loop is interrupted too."""
    ok(kernel.kc, "keep := 7")
    ex, took = interrupt_and_wait(kernel, "done := make(chan bool)\ngo func() {\n\tfor {\n\t}\n}()\n<-done", "message")
    assert ex.status == "error"
    assert took < 10
    assert ok(kernel.kc, "keep").result_text == "7"


def test_hard_crash_keeps_declarations(kernel):
    kc = kernel.kc
    ok(kc, "func keepMe() int { return 5 }\ntype kept struct{ N int }\nconst kc = 3")
    ex = run(kc, "func r(n int) int { return r(n+1) + 1 }\nr(0)", timeout=180)
    assert_error_reply(ex)
    assert kernel.km.is_alive(), "the kernel died with the interpreter"
    assert ok(kc, "keepMe() + kept{N: 2}.N + kc").result_text == "10"
    # and it keeps counting
    assert ok(kc, "1").reply["execution_count"] == ex.reply["execution_count"] + 2
