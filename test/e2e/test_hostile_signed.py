"""Hostile signed messages (issue 11): whoever holds the key (any client of the
kernel) sends requests with bad fields, a history search that used to crash the
kernel, and replays of a captured request with its signature re-spelled. Every
request gets a reply, a replay runs once, and the kernel and its heartbeat stay
alive throughout."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import zmq
from jupyter_client.session import Session

from helpers import ok

DELIM = b"<IDS|MSG>"
CONTENT_LIMIT = 16 << 20  # kernel/wire.go defaultLimits.content
EDITOR_CODE_LIMIT = 1 << 20  # kernel/guard.go maxEditorCode


class Raw:
    """DEALER sockets on the kernel's shell and control ports, a REQ on its
    heartbeat, and a Session with the kernel's key, to send signed messages
    whose every byte the test chooses."""

    def __init__(self, info: dict):
        self.info = info
        self.session = Session(key=info["key"].encode(), signature_scheme=info["signature_scheme"])
        self.ctx = zmq.Context.instance()
        self.socks = {name: self._dealer(info[f"{name}_port"]) for name in ("shell", "control")}

    def _url(self, port: int) -> str:
        return f"{self.info['transport']}://{self.info['ip']}:{port}"

    def _dealer(self, port: int):
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
        sock.connect(self._url(port))
        return sock

    def header(self, msg_type: str) -> dict:
        return {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "hostile",
                "session": self.session.session, "date": "2026-01-01T00:00:00Z", "version": "5.4"}

    def frames(self, header: bytes, content: bytes, parent: bytes = b"{}", metadata: bytes = b"{}") -> list:
        """The frames of a message with these parts, correctly signed."""
        parts = [header, parent, metadata, content]
        return [DELIM, self.session.sign(parts), *parts]

    def send(self, channel: str, frames: list) -> None:
        self.socks[channel].send_multipart(frames)

    def reply(self, channel: str, msg_id: str, timeout: float = 30) -> dict | None:
        """The reply to msg_id on channel (signature checked), or None."""
        sock = self.socks[channel]
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not sock.poll(int(left * 1000)):
                break
            _, msg = self.session.feed_identities(sock.recv_multipart())
            msg = self.session.deserialize(msg)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    def request(self, channel: str, msg_type: str, content: dict) -> dict | None:
        header = self.header(msg_type)
        self.send(channel, self.frames(json.dumps(header).encode(), json.dumps(content).encode()))
        return self.reply(channel, header["msg_id"])

    def heartbeat(self, timeout: float = 10) -> bool:
        req = self.ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        try:
            req.connect(self._url(self.info["hb_port"]))
            req.send(b"ping")
            return bool(req.poll(int(timeout * 1000))) and req.recv() == b"ping"
        finally:
            req.close()

    def close(self) -> None:
        for sock in self.socks.values():
            sock.close()


@pytest.fixture(scope="module")
def raw(shared_kernel):
    with open(shared_kernel.km.connection_file) as f:
        r = Raw(json.load(f))
    yield r
    r.close()


def assert_alive(kernel, raw: Raw) -> None:
    """The kernel process lives, answers kernel_info on both channels and its heartbeat."""
    assert kernel.km.is_alive(), "the kernel died"
    for channel in ("shell", "control"):
        reply = raw.request(channel, "kernel_info_request", {})
        assert reply is not None and reply["content"]["status"] == "ok", f"no kernel_info_reply on {channel}"
    assert raw.heartbeat(), "the heartbeat does not answer"


def test_history_search_four_million_question_marks(shared_kernel, raw):
    """regexp.MustCompile used to panic on this pattern and end the kernel."""
    reply = raw.request("shell", "history_request", {
        "hist_access_type": "search", "pattern": "?" * 4_000_000, "output": False, "raw": True})
    assert reply is not None, "no history_reply"
    content = reply["content"]
    assert reply["msg_type"] == "history_reply"
    assert content["status"] == "error" or (content["status"] == "ok" and len(content["history"]) <= 10000), content
    if content["status"] == "error":
        assert content["ename"] == "RequestTooLarge" and content["evalue"], content
    assert_alive(shared_kernel, raw)
    # a pattern of a sensible size still searches
    ok(shared_kernel.kc, "searchMe := 1")
    reply = raw.request("shell", "history_request", {
        "hist_access_type": "search", "pattern": "search?e*", "output": False, "raw": True, "n": 5})
    assert reply["content"]["status"] == "ok"
    assert [h[2] for h in reply["content"]["history"]] == ["searchMe := 1"], reply["content"]


def mixed_case(sig: bytes) -> bytes:
    """sig with every other hex letter upper-cased."""
    return bytes(c - 0x20 if i % 2 and 0x61 <= c <= 0x66 else c for i, c in enumerate(sig))


@pytest.mark.parametrize("spell", [bytes.upper, mixed_case, bytes], ids=["upper-case", "mixed-case", "identical"])
def test_replay_runs_once(shared_kernel, raw, spell):
    """A captured execute_request sent again, its signature spelled differently
    (hex is case-insensitive), is dropped: the cell runs exactly once."""
    counter = f"hits{uuid.uuid4().hex[:8]}"
    ok(shared_kernel.kc, f"var {counter} int")
    header = raw.header("execute_request")
    content = {"code": f"{counter}++", "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    frames = raw.frames(json.dumps(header).encode(), json.dumps(content).encode())
    raw.send("shell", frames)
    first = raw.reply("shell", header["msg_id"])
    assert first is not None and first["content"]["status"] == "ok", first
    replay = list(frames)
    replay[1] = spell(frames[1])
    assert replay[1].lower() == frames[1].lower()
    for _ in range(3):
        raw.send("shell", replay)
    # shell requests are answered in order: once kernel_info is answered, a
    # replay that ran would have been answered too
    assert raw.request("shell", "kernel_info_request", {}) is not None
    assert raw.reply("shell", header["msg_id"], timeout=0.5) is None, "a replayed request was answered"
    assert ok(shared_kernel.kc, counter).result_text == "1", "the replayed cell ran again"


DROP = object()  # a header field value: leave the field out


def _header(raw: Raw, msg_type: str, **fields) -> tuple:
    h = raw.header(msg_type)
    h.update(fields)
    h = {k: v for k, v in h.items() if v is not DROP}
    return json.dumps(h).encode(), h["msg_id"]


# (name, channel, msg_type, content bytes, header fields, parent, metadata, reply type, ename or None for ok)
BAD = [
    ("code a number", "shell", "execute_request", b'{"code": 5}', {}, b"{}", b"{}", "execute_reply", "BadRequest"),
    ("silent a string", "shell", "execute_request", b'{"code": "1", "silent": "yes"}', {}, b"{}", b"{}", "execute_reply", "BadRequest"),
    ("content a list", "shell", "execute_request", b"[]", {}, b"{}", b"{}", "execute_reply", "BadRequest"),
    ("content null", "shell", "execute_request", b"null", {}, b"{}", b"{}", "execute_reply", "BadRequest"),
    ("content not JSON", "shell", "execute_request", b'{"code":', {}, b"{}", b"{}", "execute_reply", "BadRequest"),
    ("content not UTF-8", "shell", "execute_request", b'{"code": "\xff"}', {}, b"{}", b"{}", "execute_reply", "BadRequest"),
    ("extremely long code runs", "shell", "execute_request",
     json.dumps({"code": "// " + "x" * (1 << 20)}).encode(), {}, b"{}", b"{}", "execute_reply", None),
    ("code over the content limit", "shell", "execute_request",
     json.dumps({"code": "x" * CONTENT_LIMIT}).encode(), {}, b"{}", b"{}", "execute_reply", "RequestTooLarge"),
    ("execute on control", "control", "execute_request", b'{"code": "1"}', {}, b"{}", b"{}", "execute_reply", "WrongChannel"),
    ("cursor_pos huge", "shell", "complete_request", b'{"code": "fmt.Pr", "cursor_pos": 1e30}', {}, b"{}", b"{}", "complete_reply", "BadRequest"),
    ("cursor_pos negative", "shell", "complete_request", b'{"code": "fmt.Pr", "cursor_pos": -99}', {}, b"{}", b"{}", "complete_reply", None),
    ("cursor_pos past the end", "shell", "inspect_request", b'{"code": "fmt", "cursor_pos": 2147483647, "detail_level": -4}', {}, b"{}", b"{}", "inspect_reply", None),
    ("completion code over its limit", "shell", "complete_request",
     json.dumps({"code": "x" * (EDITOR_CODE_LIMIT + 1), "cursor_pos": 1}).encode(), {}, b"{}", b"{}", "complete_reply", "RequestTooLarge"),
    ("is_complete code a list", "shell", "is_complete_request", b'{"code": ["for {"]}', {}, b"{}", b"{}", "is_complete_reply", "BadRequest"),
    ("history n a string", "shell", "history_request", b'{"hist_access_type": "tail", "n": "5"}', {}, b"{}", b"{}", "history_reply", "BadRequest"),
    ("history n negative", "shell", "history_request", b'{"hist_access_type": "tail", "n": -5}', {}, b"{}", b"{}", "history_reply", None),
    ("history session huge", "shell", "history_request", b'{"hist_access_type": "range", "session": 1e300}', {}, b"{}", b"{}", "history_reply", "BadRequest"),
    ("comm_info target a number", "control", "comm_info_request", b'{"target_name": 5}', {}, b"{}", b"{}", "comm_info_reply", "BadRequest"),
    ("unknown request", "shell", "no_such_request", b"{}", {}, b"{}", b"{}", "no_such_reply", "UnknownMessageType"),
    ("header username a number", "shell", "kernel_info_request", b"{}", {"username": 5}, b"{}", b"{}", "kernel_info_reply", "BadRequest"),
    ("header missing fields", "shell", "kernel_info_request", b"{}", {"session": DROP, "date": DROP, "username": DROP, "version": DROP}, b"{}", b"{}", "kernel_info_reply", None),
    ("header fields null", "shell", "kernel_info_request", b"{}", {"session": None, "date": None}, b"{}", b"{}", "kernel_info_reply", None),
    ("parent header a list", "shell", "kernel_info_request", b"{}", {}, b"[]", b"{}", "kernel_info_reply", "BadRequest"),
    ("metadata a number", "control", "kernel_info_request", b"{}", {}, b"{}", b"7", "kernel_info_reply", "BadRequest"),
]


@pytest.mark.parametrize("name,channel,msg_type,content,fields,parent,metadata,reply_type,ename", BAD,
                         ids=[b[0] for b in BAD])
def test_bad_signed_request_gets_a_reply(shared_kernel, raw, name, channel, msg_type, content, fields,
                                         parent, metadata, reply_type, ename):
    header, msg_id = _header(raw, msg_type, **fields)
    raw.send(channel, raw.frames(header, content, parent=parent, metadata=metadata))
    reply = raw.reply(channel, msg_id, timeout=30)
    assert reply is not None, f"no reply to {name}"
    assert reply["msg_type"] == reply_type
    got = reply["content"]
    if ename is None:
        assert got["status"] == "ok", got
    else:
        assert got["status"] == "error" and got["ename"] == ename and got["evalue"], got
    assert_alive(shared_kernel, raw)


def test_header_without_msg_type_is_dropped(shared_kernel, raw):
    """A header with no msg_type leaves no reply type: dropped, logged, and the
    kernel goes on."""
    header = json.dumps({"msg_id": uuid.uuid4().hex, "session": "s"}).encode()
    raw.send("shell", raw.frames(header, b"{}"))
    assert_alive(shared_kernel, raw)
