"""The kernel's transport under hostile and broken peers (issue 11): raw bytes
without the key must never end the kernel, and a peer that stops reading must
never stall the others. Everything on 127.0.0.1; every wait bounded."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time

import pytest
import zmq

PORTS = ("shell_port", "control_port", "stdin_port", "iopub_port", "hb_port")


def greeting(mechanism: bytes = b"NULL") -> bytes:
    return b"\xff" + bytes(8) + b"\x7f" + bytes([3, 0]) + mechanism.ljust(20, b"\0") + bytes(32)


def frame(flags: int, body: bytes = b"", declared: int | None = None) -> bytes:
    size = len(body) if declared is None else declared
    if size > 255 or declared is not None:
        return bytes([flags | 2]) + struct.pack(">Q", size) + body
    return bytes([flags, size]) + body


def command(name: bytes, body: bytes) -> bytes:
    return frame(4, bytes([len(name)]) + name + body)


def ready(sock_type: bytes) -> bytes:
    return command(b"READY", bytes([11]) + b"Socket-Type" + struct.pack(">I", len(sock_type)) + sock_type)


def hostile_inputs() -> list:
    g = greeting()
    rng = random.Random(11)
    inputs = [
        ("NULL greeting + command of 2^62 bytes", g + frame(4, declared=1 << 62)),
        ("NULL greeting + command of 2^40 bytes", g + frame(4, declared=1 << 40)),
        ("READY with Socket-Type BOGUS", g + ready(b"BOGUS")),
    ]
    for _ in range(100):
        inputs.append(("greeting + random bytes", g + rng.randbytes(rng.randint(1, 200))))
    return inputs


def send_raw(port: int, data: bytes) -> None:
    """Connects, sends data, reads what comes back for a moment, closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
            s.settimeout(0.05)
            s.recv(4096)
        except OSError:  # reset, or nothing to read: both fine
            pass


def heartbeat_ok(port: int, timeout: float = 5) -> bool:
    """A fresh REQ client's ping is echoed within timeout."""
    ctx = zmq.Context.instance()
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    try:
        req.connect(f"tcp://127.0.0.1:{port}")
        req.send(b"ping")
        return req.poll(int(timeout * 1000)) and req.recv() == b"ping"
    finally:
        req.close()


def assert_serving(kernel, when: str) -> None:
    proc = kernel.km.provisioner.process
    assert proc.poll() is None, f"kernel exited ({proc.poll()}) {when}"
    ports = kernel.km.get_connection_info()
    assert heartbeat_ok(ports["hb_port"]), f"no heartbeat reply {when}"
    reply = kernel.kc.kernel_info(reply=True, timeout=10)
    assert reply["content"]["status"] == "ok", f"kernel_info {when}: {reply['content']}"


@pytest.mark.parametrize("port_name", PORTS)
def test_raw_inputs_never_end_the_kernel(kernel, port_name):
    port = kernel.km.get_connection_info()[port_name]
    inputs = hostile_inputs()
    for name, data in inputs[:3]:
        send_raw(port, data)
        assert_serving(kernel, f"after {name!r} on {port_name}")
    for _, data in inputs[3:]:
        send_raw(port, data)
    assert_serving(kernel, f"after 100 'greeting + random bytes' inputs on {port_name}")


class Flooder:
    """A thread that writes to a raw, handshaken ZMTP connection and never reads."""

    def __init__(self, port: int, sock_type: bytes, payload: bytes, seconds: float):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(greeting() + ready(sock_type))
        self.payload = payload
        self.until = time.monotonic() + seconds
        self.sent = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        self.sock.settimeout(1)
        while time.monotonic() < self.until:
            try:
                self.sock.sendall(self.payload)
                self.sent += 1
            except socket.timeout:
                continue  # the kernel stopped reading us: fine, keep trying
            except OSError:
                return  # cut off

    def close(self) -> None:
        self.until = 0
        self.thread.join(5)
        self.sock.close()


def test_heartbeat_flood_does_not_stall_others(kernel):
    port = kernel.km.get_connection_info()["hb_port"]
    # REQ envelope: empty delimiter, then an 8 KiB ping; the replies are never
    # read, so they fill the loopback buffers (a few MB) many times over.
    batch = 16
    pings = (frame(1) + frame(0, b"x" * 8192)) * batch
    target = 40 << 20  # bytes of pings, and as many of replies
    flooder = Flooder(port, b"REQ", pings, seconds=30)
    try:
        deadline = time.monotonic() + 20
        checks = 0
        while flooder.sent * len(pings) < target or checks < 10:
            assert time.monotonic() < deadline, (
                f"after {checks} heartbeat checks, the flooder sent only {flooder.sent * len(pings)} bytes: "
                "the kernel stopped reading"
            )
            assert heartbeat_ok(port, timeout=2), (
                f"heartbeat not answered within 2s during the flood "
                f"(after {flooder.sent * len(pings)} bytes of pings)"
            )
            checks += 1
    finally:
        flooder.close()
    assert_serving(kernel, "after the heartbeat flood")


def test_iopub_subscriber_that_never_reads(kernel):
    info = kernel.km.get_connection_info()
    # A raw SUB that subscribes to everything and never reads.
    slow = socket.create_connection(("127.0.0.1", info["iopub_port"]), timeout=5)
    try:
        slow.sendall(greeting() + ready(b"SUB") + frame(0, b"\x01"))
        start = time.monotonic()
        # 50 MB of output in 50 writes of 1 MB.
        try:
            ex = kernel.run('chunk := strings.Repeat("x", 1<<20)\nfor i := 0; i < 50; i++ { fmt.Print(chunk) }', timeout=120)
        except TimeoutError as e:  # its message holds all the output so far
            raise AssertionError(f"no reply within 120s with a stuck iopub subscriber: {str(e)[:300]}") from None
        took = time.monotonic() - start
        assert ex.status == "ok", ex.status
        assert len(ex.stdout) == 50 << 20, f"got {len(ex.stdout)} bytes of stdout"
        assert took < 120
        assert_serving(kernel, "with a stuck iopub subscriber")
    finally:
        slow.close()


def test_shell_dealer_that_never_reads(kernel):
    info = kernel.km.get_connection_info()
    ctx = zmq.Context.instance()
    stuck = ctx.socket(zmq.DEALER)
    stuck.linger = 0
    stuck.setsockopt(zmq.RCVHWM, 1)
    stuck.setsockopt(zmq.RCVBUF, 4096)
    stuck.connect(f"tcp://127.0.0.1:{info['shell_port']}")
    session = kernel.kc.session
    try:
        # Signed requests whose replies the stuck client never reads.
        for _ in range(3000):
            session.send(stuck, "kernel_info_request", {})
        for i in range(5):
            start = time.monotonic()
            ex = kernel.run(f"{i} + 1", timeout=30)
            assert ex.status == "ok", ex.describe()
            assert ex.result_text == str(i + 1)
            assert time.monotonic() - start < 30
        assert_serving(kernel, "with a stuck shell client")
    finally:
        stuck.close()


@pytest.mark.parametrize(
    "port_name,sock_type,message",
    [
        ("hb_port", b"REQ", frame(1) + frame(0, bytes(1 << 20))),
        ("iopub_port", b"SUB", frame(0, b"\x01" + bytes(1 << 20))),
    ],
)
def test_small_ports_refuse_large_messages(kernel, port_name, sock_type, message):
    """The heartbeat and iopub receive only pings and subscriptions: a 1 MiB
    message there closes the connection (shell keeps a 64 MiB bound)."""
    port = kernel.km.get_connection_info()[port_name]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        closed = False
        try:
            s.sendall(greeting() + ready(sock_type) + message)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if not s.recv(65536):  # the kernel's greeting and READY, then EOF
                    closed = True
                    break
        except ConnectionError:
            closed = True
        except socket.timeout:
            pass
        assert closed, f"the kernel kept a connection that sent a 1 MiB message on {port_name}"
    assert_serving(kernel, f"after a 1 MiB message on {port_name}")
