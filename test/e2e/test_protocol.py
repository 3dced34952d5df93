"""Messaging protocol: kernel_info, execution counting, message order, the
non-execute requests, shutdown and restart, and robustness against bad input."""

import json
import os
import signal
import time
import uuid

import pytest
import zmq
from jupyter_client.session import Session

import helpers
from conftest import start_kernel, stop_kernel
from helpers import alive, children_of, iopub_until_idle, ok, run, shell_reply, wait_for


# --------------------------------------------------------------------------
# kernel_info
# --------------------------------------------------------------------------


def test_kernel_info(kc):
    msg = shell_reply(kc, kc.kernel_info())
    assert msg["msg_type"] == "kernel_info_reply"
    info = msg["content"]
    assert info["status"] == "ok"
    # 5.4 only deprecates shutdown_request on shell (still honoured there)
    assert info["protocol_version"] == "5.4", info["protocol_version"]
    assert info["implementation"]
    assert info["implementation_version"]
    lang = info["language_info"]
    assert lang["name"] == "go"
    assert lang["mimetype"] == "text/x-go"
    assert lang["file_extension"] == ".go"
    assert lang["pygments_lexer"] == "go"
    assert lang["codemirror_mode"] == "go"
    assert lang["version"]
    assert isinstance(info["banner"], str) and info["banner"].strip()
    links = info["help_links"]
    assert links, "help_links is empty"
    for link in links:
        assert link["text"] and link["url"].startswith("http"), link
    # the header of the reply carries the same protocol version
    assert msg["header"]["version"] == "5.4"


def test_kernel_info_busy_idle(kc):
    msg_id = kc.kernel_info()
    shell_reply(kc, msg_id)
    states = [m["content"]["execution_state"] for m in iopub_until_idle(kc, msg_id) if m["msg_type"] == "status"]
    assert states == ["busy", "idle"]


# --------------------------------------------------------------------------
# execute: counting and message order
# --------------------------------------------------------------------------


def test_execution_count_counts(kc):
    for n in (1, 2, 3):
        ex = ok(kc, f"{n} * 10")
        assert ex.reply["execution_count"] == n
        (inp,) = ex.contents("execute_input")
        assert inp["execution_count"] == n
        assert ex.execute_result["execution_count"] == n
        assert ex.result_text == str(n * 10)


def test_execution_count_counts_failed_cells(kc):
    assert ok(kc, "1").reply["execution_count"] == 1
    ex = run(kc, 'panic("x")')
    assert ex.status == "error"
    assert ex.reply["execution_count"] == 2
    assert ok(kc, "1").reply["execution_count"] == 3


def test_silent_does_not_count_or_broadcast(kc):
    ok(kc, "1")
    ex = run(kc, 'fmt.Println("quiet")\n5', silent=True)
    assert ex.status == "ok", ex.describe()
    assert "execute_input" not in ex.msg_types
    assert ex.execute_result is None
    assert ok(kc, "2").reply["execution_count"] == 2


def test_message_order(kc):
    code = 'fmt.Println("out")\n7'
    ex = ok(kc, code)
    types = ex.msg_types
    assert types[0] == "status" and ex.messages[0]["content"]["execution_state"] == "busy"
    assert types[1] == "execute_input"
    assert ex.messages[1]["content"]["code"] == code
    assert types[-1] == "status" and ex.messages[-1]["content"]["execution_state"] == "idle"
    assert types.count("status") == 2
    assert types.index("stream") < types.index("execute_result")


# --------------------------------------------------------------------------
# complete, inspect, is_complete, history, comm_info
# --------------------------------------------------------------------------


def complete(kc, code, cursor=None):
    msg = shell_reply(kc, kc.complete(code, cursor_pos=len(code) if cursor is None else cursor))
    assert msg["msg_type"] == "complete_reply"
    assert msg["content"]["status"] == "ok", msg["content"]
    return msg["content"]


@pytest.mark.parametrize(
    "code, start, want",
    [
        ("strings.ToUp", len("strings."), "ToUpper"),
        ("x := 1\nstrings.ToUp", len("x := 1\nstrings."), "ToUpper"),
        # cursor positions count code points, not bytes
        ('s := "héllo"\nstrings.ToUp', len('s := "héllo"\nstrings.'), "ToUpper"),
        ("fmt.Sprin", len("fmt."), "Sprintf"),
    ],
)
def test_complete_stdlib(skc, code, start, want):
    c = complete(skc, code)
    assert want in c["matches"], c
    assert c["cursor_start"] == start
    assert c["cursor_end"] == len(code)
    assert all(m.startswith(code[start:]) for m in c["matches"]), c["matches"]


def test_complete_in_the_middle(skc):
    code = "strings.ToUp(x)"
    c = complete(skc, code, cursor=len("strings.ToUp"))
    assert "ToUpper" in c["matches"], c
    assert c["cursor_start"] == len("strings.")


def test_complete_user_names(kc):
    ok(kc, "myLongVariable := 3\nfunc myLongFunction() {}\ntype myLongType struct{ Field int }")
    c = complete(kc, "myLong")
    for want in ("myLongVariable", "myLongFunction", "myLongType"):
        assert want in c["matches"], c
    assert c["cursor_start"] == 0 and c["cursor_end"] == len("myLong")


# What JupyterLab's completer reads: metadata._jupyter_types_experimental[i]
# gives matches[i]'s type (shown as its icon or coloured letter).
@pytest.mark.parametrize(
    "code, match, type_, signature",
    [
        ("strings.ToUp", "ToUpper", "function", "func(string) string"),
        ("strings.Build", "Builder", "class", None),
        ("math.P", "Pi", "constant", None),
        ("myTypedV", "myTypedVariable", "variable", None),
        ("myTypedF", "myTypedFunction", "function", None),
        ("strcon", "strconv", "module", None),
        ("fo", "for", "keyword", None),
        ("%en", "%env", "magic", None),
    ],
)
def test_complete_types(kc, code, match, type_, signature):
    ok(kc, "myTypedVariable := 3\nfunc myTypedFunction() {}")
    c = complete(kc, code)
    items = c["metadata"]["_jupyter_types_experimental"]
    assert [i["text"] for i in items] == c["matches"], c
    for i in items:
        assert (i["start"], i["end"]) == (c["cursor_start"], c["cursor_end"]), i
        assert isinstance(i["type"], str) and i["type"], i
    item = items[c["matches"].index(match)]
    assert item["type"] == type_, item
    assert item.get("signature") == signature, item


def test_complete_busy_idle(kc):
    msg_id = kc.complete("strings.ToUp")
    shell_reply(kc, msg_id)
    states = [m["content"]["execution_state"] for m in iopub_until_idle(kc, msg_id) if m["msg_type"] == "status"]
    assert states == ["busy", "idle"]


def inspect(kc, code, cursor=None):
    msg = shell_reply(kc, kc.inspect(code, cursor_pos=len(code) if cursor is None else cursor))
    assert msg["msg_type"] == "inspect_reply"
    assert msg["content"]["status"] == "ok", msg["content"]
    return msg["content"]


@pytest.mark.parametrize("cursor", [None, len("strings.To")])
def test_inspect_stdlib(skc, cursor):
    r = inspect(skc, "strings.ToUpper", cursor)
    assert r["found"] is True
    doc = helpers.text(r["data"]["text/plain"])
    assert "func ToUpper(s string) string" in doc
    assert "ToUpper returns" in doc


def test_inspect_user_func(kc):
    ok(kc, "// greet says hello to name.\nfunc greet(name string) string { return \"hi \" + name }")
    r = inspect(kc, "greet")
    assert r["found"] is True
    doc = helpers.text(r["data"]["text/plain"])
    assert "func greet(name string) string" in doc
    assert "greet says hello to name." in doc


def test_inspect_unknown(skc):
    r = inspect(skc, "noSuchThingAnywhere")
    assert r["found"] is False


IS_COMPLETE = [
    # (code, status)
    ("x := 1", "complete"),
    ('fmt.Println("a")', "complete"),
    ("func f() {}", "complete"),
    ("type T struct{ A int }", "complete"),
    ("for i := 0; i < 3; i++ {\n\tfmt.Println(i)\n}", "complete"),
    ("func f() {", "incomplete"),
    ("if true {\n\tfmt.Println(1)", "incomplete"),
    ("fmt.Println(", "incomplete"),
    ("x := []int{1,", "incomplete"),
    ("x := 1 +", "incomplete"),
    ("s := `raw\nstring", "incomplete"),
    ("x := )", "invalid"),
    ("}", "invalid"),
    ("a b c d", "invalid"),
]


@pytest.mark.parametrize("code, status", IS_COMPLETE)
def test_is_complete(skc, code, status):
    msg = shell_reply(skc, skc.is_complete(code))
    assert msg["msg_type"] == "is_complete_reply"
    r = msg["content"]
    assert r["status"] == status, f"{code!r}: {r}"
    if status == "incomplete":
        assert isinstance(r.get("indent"), str), r
        if code.rstrip().endswith("{"):
            assert r["indent"] != "", f"an open brace should indent: {r}"


def test_is_complete_while_a_cell_runs(kernel):
    """JupyterLab's console asks is_complete on every Enter and waits 250 ms at
    most: the answer must not wait for a running cell."""
    seen = {}

    def on_msg(msg):
        if "took" not in seen and msg["msg_type"] == "stream" and "started" in msg["content"]["text"]:
            t0 = time.monotonic()
            seen["reply"] = shell_reply(kernel.kc, kernel.kc.is_complete("func f() {"), timeout=10)
            seen["took"] = time.monotonic() - t0
            kernel.km.interrupt_kernel()

    ex = run(kernel.kc, 'fmt.Println("started"); time.Sleep(time.Hour)', on_msg=on_msg, timeout=60)
    assert "took" in seen, ex.describe()
    assert seen["reply"]["content"]["status"] == "incomplete", seen["reply"]
    # the cell ran until the interrupt that followed the answer
    assert ex.status == "error" and ex.error["ename"] == "Interrupted", ex.describe()
    print(f"is_complete while a cell runs: {seen['took'] * 1000:.1f} ms")
    assert seen["took"] < 0.25, f"is_complete took {seen['took']:.3f} s (JupyterLab's console gives up after 0.25 s)"


def test_is_complete_latency(skc):
    took = []
    for _ in range(50):
        t0 = time.monotonic()
        shell_reply(skc, skc.is_complete("for i := 0; i < 3; i++ {\n\tfmt.Println(i)"))
        took.append(time.monotonic() - t0)
    took.sort()
    print(f"is_complete round trip: median {took[25] * 1000:.2f} ms, max {took[-1] * 1000:.2f} ms")
    assert took[25] < 0.05, took


def test_help_pager(skc):
    """name? answers with a page payload (IPython's help syntax), which
    JupyterLab shows below the cell and Notebook 7 in its pager."""
    ex = ok(skc, "strings.ToUpper?")
    pages = [p for p in ex.reply["payload"] if p["source"] == "page"]
    assert len(pages) == 1, ex.reply
    assert "func ToUpper(s string) string" in helpers.text(pages[0]["data"]["text/plain"])
    ex = ok(skc, "noSuchThingAnywhere?")
    assert ex.reply["payload"] == [] and "no documentation found" in ex.stdout, ex.describe()


def test_history_tail(kc):
    codes = ["a := 1", "a + 1", 'fmt.Println("h")']
    for c in codes:
        ok(kc, c)
    msg = shell_reply(kc, kc.history(hist_access_type="tail", n=10, output=False, raw=True))
    assert msg["msg_type"] == "history_reply"
    r = msg["content"]
    assert r["status"] == "ok"
    hist = r["history"]
    assert [h[2] for h in hist][-3:] == codes
    assert [h[1] for h in hist][-3:] == [1, 2, 3]


def test_comm_info(kc):
    msg = shell_reply(kc, kc.comm_info())
    assert msg["msg_type"] == "comm_info_reply"
    assert msg["content"]["status"] == "ok"
    assert msg["content"]["comms"] == {}


# --------------------------------------------------------------------------
# shutdown and restart
# --------------------------------------------------------------------------


def test_shutdown(kernel):
    kc = kernel.kc
    ok(kc, "1")
    workers = children_of(kernel.pid)
    msg_id = kc.shutdown(restart=False)
    reply = helpers.control_reply(kc, msg_id, timeout=15)
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["restart"] is False
    assert wait_for(lambda: not kernel.km.is_alive(), 15), "kernel process still running after shutdown_request"
    assert wait_for(lambda: not any(alive(p) for p in workers), 10), f"child processes {workers} outlived the kernel"


def test_shutdown_on_shell_channel(kernel):
    """Older clients send shutdown_request on the shell channel."""
    kc = kernel.kc
    msg = kc.session.msg("shutdown_request", {"restart": False})
    kc.shell_channel.send(msg)
    reply = shell_reply(kc, msg["header"]["msg_id"], timeout=15)
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"]["restart"] is False
    assert wait_for(lambda: not kernel.km.is_alive(), 15)


def test_shutdown_restart_reply(kernel):
    """shutdown_request with restart=True is answered in kind (the manager then starts a new kernel)."""
    kc = kernel.kc
    msg_id = kc.shutdown(restart=True)
    reply = helpers.control_reply(kc, msg_id, timeout=15)
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["restart"] is True
    assert wait_for(lambda: not kernel.km.is_alive(), 15), "kernel process still running after shutdown_request"


def test_restart(kernel):
    kc = kernel.kc
    ok(kc, "gone := 1")
    kernel.km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=60)
    ex = run(kc, "gone")
    assert ex.status == "error", "a variable survived the restart: " + ex.describe()
    ex = ok(kc, "20 + 22")
    assert ex.result_text == "42"
    assert ex.reply["execution_count"] == 2


def test_debug_log(tmp_path):
    """The kernel logs to stderr, more with MPIGO_LOG=debug."""
    sizes = {}
    for level in ("", "debug"):
        log = tmp_path / f"kernel-{level or 'default'}.log"
        k = start_kernel(log, env={"MPIGO_LOG": level})
        try:
            ok(k.kc, "1")
        finally:
            stop_kernel(k)
        sizes[level] = len(log.read_bytes())
    assert sizes["debug"] > 0, "MPIGO_LOG=debug logged nothing to stderr"
    assert sizes["debug"] > sizes[""], sizes


# --------------------------------------------------------------------------
# robustness: raw frames on the shell socket
# --------------------------------------------------------------------------


@pytest.fixture
def raw_shell(kernel):
    """A DEALER socket on the kernel's shell port and a Session with the right key."""
    with open(kernel.km.connection_file) as f:
        info = json.load(f)
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
    sock.connect(f"{info['transport']}://{info['ip']}:{info['shell_port']}")
    session = Session(key=info["key"].encode(), signature_scheme=info["signature_scheme"])
    yield sock, session, info
    sock.close()


def recv_reply(sock, session, timeout=5.0):
    """The next message on sock (deserialized and signature-checked), or None."""
    if not sock.poll(int(timeout * 1000)):
        return None
    _, msg = session.feed_identities(sock.recv_multipart())
    return session.deserialize(msg)


def test_forged_signature_dropped(kernel, raw_shell):
    sock, session, info = raw_shell
    forger = Session(key=b"not-the-key", signature_scheme=info["signature_scheme"])
    forger.send(sock, "kernel_info_request", {})
    assert recv_reply(sock, session, timeout=3) is None, "the kernel answered a message with a forged signature"
    # an execute_request with a forged signature must not run either
    marker = f"/tmp/mpigo-forged-{uuid.uuid4().hex}"
    forger.send(sock, "execute_request", {"code": f'os.WriteFile("{marker}", nil, 0o644)', "silent": False,
                                          "store_history": True, "user_expressions": {}, "allow_stdin": False,
                                          "stop_on_error": True})
    # requests on one connection are read in order: once this one is
    # answered, the forged one has been read and dropped (or run)
    session.send(sock, "execute_request", {"code": "1", "silent": False, "store_history": False,
                                           "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    reply = recv_reply(sock, session, timeout=30)
    assert reply is not None and reply["msg_type"] == "execute_reply"
    assert not os.path.exists(marker), "a forged execute_request was executed"


def test_garbage_frames_do_not_crash(kernel, raw_shell):
    sock, session, info = raw_shell
    key = info["key"].encode()
    import hashlib
    import hmac

    def signed(*parts):
        h = hmac.new(key, digestmod=hashlib.sha256)
        for p in parts:
            h.update(p)
        return h.hexdigest().encode()

    header = json.dumps({"msg_id": "x", "msg_type": "kernel_info_request", "username": "u",
                         "session": "s", "date": "2024-01-01T00:00:00Z", "version": "5.3"}).encode()
    garbage = [
        [b"no delimiter at all"],
        [b"<IDS|MSG>"],
        [b"<IDS|MSG>", b"sig"],
        [b"<IDS|MSG>", signed(b"{broken", b"{}", b"{}", b"{}"), b"{broken", b"{}", b"{}", b"{}"],
        [b"<IDS|MSG>", signed(b"[1,2]", b"null", b"7", b'"s"'), b"[1,2]", b"null", b"7", b'"s"'],
        [b"<IDS|MSG>", signed(header, b"{}", b"{}", b"[]"), header, b"{}", b"{}", b"[]"],  # content not an object
        [os.urandom(64), os.urandom(7), os.urandom(300)],
        [b"<IDS|MSG>", os.urandom(64), os.urandom(100), os.urandom(10), b"", b""],
        [b""],
    ]
    for frames in garbage:
        sock.send_multipart(frames)
    session.send(sock, "kernel_info_request", {})
    deadline = time.monotonic() + 10
    reply = None
    while reply is None or reply["msg_type"] != "kernel_info_reply":
        assert time.monotonic() < deadline, "no kernel_info_reply after garbage frames"
        reply = recv_reply(sock, session, timeout=1)
    assert ok(kernel.kc, "2 + 2").result_text == "4"


def test_unknown_msg_type_answered(kernel, raw_shell):
    """An unknown X_request gets an X_reply with status error (the client
    is not left waiting), and the kernel carries on."""
    sock, session, info = raw_shell
    session.send(sock, "no_such_request", {"a": 1})
    session.send(sock, "kernel_info_request", {})
    got = {}
    deadline = time.monotonic() + 10
    while "kernel_info_reply" not in got:
        reply = recv_reply(sock, session, timeout=1)
        if reply is not None:
            got[reply["msg_type"]] = reply
        assert time.monotonic() < deadline, f"no kernel_info_reply after an unknown message type: {list(got)}"
    assert got["no_such_reply"]["content"]["status"] == "error", got["no_such_reply"]
    assert kernel.km.is_alive()
    assert ok(kernel.kc, "2 + 3").result_text == "5"


def test_sigterm_stops_kernel_and_workers(kernel):
    ok(kernel.kc, "1")
    workers = children_of(kernel.pid)
    os.kill(kernel.pid, signal.SIGTERM)
    assert wait_for(lambda: not kernel.km.is_alive(), 15), "SIGTERM did not stop the kernel"
    assert wait_for(lambda: not any(alive(p) for p in workers), 10), f"child processes {workers} outlived the kernel"
