#!/usr/bin/env python3
"""Tests scripts/fetch.py (and export_model.locate_checkpoint) against a real HTTP server.

The server runs in a background thread on 127.0.0.1 (ephemeral port) and serves
generated files from a temporary directory; it supports Range requests (206), a 404
path and a path that sends a Content-Length larger than the bytes it sends and then
closes the connection (a truncated transfer). Nothing but loopback is contacted.

A plain script (no pytest): run with Debian's interpreter,
    /usr/bin/python3 tests/python/test_fetch.py
Prints "ok - NAME" or "FAIL - NAME: REASON" per case and a final "N passed, M failed";
exits 0 only when every case passes. A watchdog exits non-zero after 120 s.
"""
import contextlib
import hashlib
import http.server
import io
import os
import re
import shutil
import sys
import tempfile
import threading
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))

# Loopback only: make sure no proxy from the environment is used by urllib.
for _var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)
os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"

import fetch  # noqa: E402

WATCHDOG_S = 120
NET_TIMEOUT = 10  # seconds, for every socket on both sides
FILE_SIZE = 200 * 1024  # > fetch.CHUNK, so the download loop reads several blocks
TRUNCATE_AT = 70 * 1024  # bytes the truncating path sends before closing


def _watchdog():
    sys.stdout.write(f"FAIL - watchdog: test_fetch.py still running after {WATCHDOG_S} s\n")
    sys.stdout.flush()
    os._exit(2)


class State:
    """What the server serves and what it has seen (shared with the handler threads)."""

    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()
        self.requests = []  # (path, Range header or None)
        self.truncate = True  # /trunc/NAME truncates while this is set

    def log(self, path, rng):
        with self.lock:
            self.requests.append((path, rng))

    def count(self):
        with self.lock:
            return len(self.requests)

    def since(self, n):
        with self.lock:
            return list(self.requests[n:])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = NET_TIMEOUT  # socket timeout of the connection
    state = None  # set by start_server

    def log_message(self, format, *args):  # keep the output quiet
        pass

    def _plain(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):
        st = self.state
        rng = self.headers.get("Range")
        st.log(self.path, rng)
        m = re.fullmatch(r"/(files|trunc)/([A-Za-z0-9_.-]+)", self.path)
        if not m:
            return self._plain(404, "not found\n")
        path = os.path.join(st.root, m.group(2))
        if not os.path.isfile(path):
            return self._plain(404, "not found\n")
        with open(path, "rb") as f:
            data = f.read()
        if m.group(1) == "trunc" and st.truncate:
            # Promise the whole file, send part of it, then close the connection.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[:TRUNCATE_AT])
            self.wfile.flush()
            self.close_connection = True
            return
        start, end, code = 0, len(data) - 1, 200
        if rng:
            r = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if r:
                start = int(r.group(1))
                if r.group(2):
                    end = min(int(r.group(2)), len(data) - 1)
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    return
                code = 206
        body = data[start:end + 1]
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def start_server(state):
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = Server(("127.0.0.1", 0), handler)
    server.timeout = NET_TIMEOUT
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return server, thread


def stop_server(server, thread):
    server.shutdown()
    server.server_close()
    thread.join(NET_TIMEOUT)


class Failure(Exception):
    pass


def check(cond, reason):
    if not cond:
        raise Failure(reason)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def md5(data):
    return hashlib.md5(data).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def expect_fetch_error(fn):
    try:
        fn()
    except fetch.FetchError as e:
        return str(e)
    raise Failure("no FetchError raised")


class Env:
    def __init__(self, root, served, state, base):
        self.served, self.state, self.base = served, state, base
        self.out = root

    def url(self, name, kind="files"):
        return f"{self.base}/{kind}/{name}"

    def dest(self, name):
        d = tempfile.mkdtemp(dir=self.out)
        return os.path.join(d, name)


def quiet(fn, *args, **kwargs):
    """Call FN with stderr captured (fetch prints progress/notes there)."""
    with contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


def get(env, name, dest, **kw):
    kw.setdefault("timeout", NET_TIMEOUT)
    return quiet(fetch.fetch, env.url(name, kw.pop("kind", "files")), dest, **kw)


# ---------------------------------------------------------------------------------------
def t_right_checksum(env):
    data = env.served["a.bin"]
    dest = env.dest("a.bin")
    got = get(env, "a.bin", dest, sha256=sha256(data), size=len(data))
    check(got == dest, f"returned {got!r}, expected {dest!r}")
    check(os.path.isfile(dest), "dest does not exist")
    check(read(dest) == data, "dest bytes differ from the served file")
    check(not os.path.exists(dest + ".part"), ".part left behind")


def t_wrong_checksum(env):
    dest = env.dest("a.bin")
    msg = expect_fetch_error(lambda: get(env, "a.bin", dest, sha256="0" * 64))
    check("a.bin" in msg, f"message does not name the file: {msg!r}")
    check("sha256" in msg, f"message does not say sha256: {msg!r}")
    check(not os.path.exists(dest), "dest exists")
    check(not os.path.exists(dest + ".part"), ".part left behind")


def t_truncated_then_resume(env):
    data = env.served["b.bin"]
    dest = env.dest("b.bin")
    env.state.truncate = True
    try:
        msg = expect_fetch_error(lambda: get(env, "b.bin", dest, kind="trunc", sha256=sha256(data)))
    finally:
        env.state.truncate = False
    check("run again" in msg, f"message does not say to run again: {msg!r}")
    check(not os.path.exists(dest), "dest exists after a truncated transfer")
    part = dest + ".part"
    check(os.path.isfile(part), ".part not kept for resuming")
    have = os.path.getsize(part)
    check(0 < have < len(data), f".part holds {have} bytes")
    check(read(part) == data[:have], ".part bytes differ from the start of the file")
    n = env.state.count()
    get(env, "b.bin", dest, kind="trunc", sha256=sha256(data), size=len(data))
    seen = env.state.since(n)
    check(len(seen) == 1, f"server saw {len(seen)} requests on resume, expected 1")
    rng = seen[0][1]
    check(rng is not None and rng.startswith(f"bytes={have}-"),
          f"resume request had Range {rng!r}, expected bytes={have}-")
    check(read(dest) == data, "resumed file differs from the served file")
    check(not os.path.exists(part), ".part left behind")
    # A .part that already holds the whole file: the server answers the Range request
    # with 416 and fetch() verifies and keeps what it has.
    dest2 = env.dest("b.bin")
    with open(dest2 + ".part", "wb") as f:
        f.write(data)
    n = env.state.count()
    get(env, "b.bin", dest2, sha256=sha256(data))
    seen = env.state.since(n)
    check(len(seen) == 1 and seen[0][1] == f"bytes={len(data)}-",
          f"complete .part: server saw {seen!r}, expected one Range bytes={len(data)}- request")
    check(read(dest2) == data and not os.path.exists(dest2 + ".part"), "complete .part not renamed to dest")


def t_404(env):
    dest = env.dest("nothing.bin")
    msg = expect_fetch_error(lambda: get(env, "nothing.bin", dest))
    check("404" in msg, f"message does not mention 404: {msg!r}")
    check(not os.path.exists(dest), "dest created")
    check(not os.path.exists(dest + ".part"), ".part created")
    # A path outside /files/ too.
    msg = expect_fetch_error(lambda: quiet(fetch.fetch, env.base + "/missing", dest, timeout=NET_TIMEOUT))
    check("404" in msg, f"message does not mention 404: {msg!r}")
    check(not os.path.exists(dest), "dest created")


def t_existing_reused(env):
    data = env.served["a.bin"]
    dest = env.dest("a.bin")
    with open(dest, "wb") as f:
        f.write(data)
    mtime = os.stat(dest).st_mtime_ns
    n = env.state.count()
    got = get(env, "a.bin", dest, sha256=sha256(data), md5=md5(data), size=len(data))
    check(got == dest, f"returned {got!r}")
    check(env.state.count() == n, f"server saw {env.state.count() - n} requests, expected none")
    check(os.stat(dest).st_mtime_ns == mtime and read(dest) == data, "dest was rewritten")


def t_existing_wrong_replaced(env):
    data = env.served["a.bin"]
    dest = env.dest("a.bin")
    with open(dest, "wb") as f:
        f.write(b"stale" * 1000)
    n = env.state.count()
    get(env, "a.bin", dest, sha256=sha256(data))
    check(env.state.count() == n + 1, f"server saw {env.state.count() - n} requests, expected 1")
    check(read(dest) == data, "dest not replaced by the served file")
    check(not os.path.exists(dest + ".part"), ".part left behind")


def t_size_mismatch(env):
    data = env.served["a.bin"]
    dest = env.dest("a.bin")
    msg = expect_fetch_error(lambda: get(env, "a.bin", dest, sha256=sha256(data), size=len(data) + 1000))
    check("size" in msg, f"message does not mention the size: {msg!r}")
    check(not os.path.exists(dest), "dest exists")
    check(not os.path.exists(dest + ".part"), ".part left behind")


def t_md5(env):
    data = env.served["c.bin"]
    dest = env.dest("c.bin")
    get(env, "c.bin", dest, md5=md5(data))
    check(read(dest) == data, "dest bytes differ (right md5)")
    dest2 = env.dest("c.bin")
    msg = expect_fetch_error(lambda: get(env, "c.bin", dest2, md5="f" * 32))
    check("md5" in msg and "c.bin" in msg, f"message does not name md5 and the file: {msg!r}")
    check(not os.path.exists(dest2), "dest exists after a wrong md5")
    check(not os.path.exists(dest2 + ".part"), ".part left behind")


def t_locate_checkpoint(env):
    with contextlib.redirect_stderr(io.StringIO()):
        import export_model  # imports torch: slow, so only here and once
    data = env.served["ckpt.pt"]
    entry = {"name": "fake", "dataset": "cifar10", "weights_file": "fake-cifar10.pt",
             "url": env.url("ckpt.pt"), "sha256": sha256(data), "size": str(len(data))}
    home = tempfile.mkdtemp(dir=env.out)
    got = quiet(export_model.locate_checkpoint, entry, None, home)
    want = os.path.join(home, "weights", "fake-cifar10.pt")
    check(got == want, f"returned {got!r}, expected {want!r}")
    check(os.path.isfile(want) and read(want) == data, "checkpoint not downloaded intact")
    home2 = tempfile.mkdtemp(dir=env.out)
    bad = dict(entry, sha256="1" * 64)
    try:
        quiet(export_model.locate_checkpoint, bad, None, home2)
    except export_model.ExportError as e:
        msg = str(e)
    else:
        raise Failure("no ExportError raised for a wrong sha256")
    check("retry" in msg and "--weights-dir" in msg, f"message does not say retry / --weights-dir: {msg!r}")
    check(not os.path.exists(os.path.join(home2, "weights", "fake-cifar10.pt")), "bad checkpoint kept")


CASES = [
    ("right checksum", t_right_checksum),
    ("wrong checksum", t_wrong_checksum),
    ("truncated transfer resumes", t_truncated_then_resume),
    ("404", t_404),
    ("existing verified dest reused", t_existing_reused),
    ("existing wrong dest replaced", t_existing_wrong_replaced),
    ("size mismatch", t_size_mismatch),
    ("md5", t_md5),
    ("export_model.locate_checkpoint", t_locate_checkpoint),
]


def main():
    dog = threading.Timer(WATCHDOG_S, _watchdog)
    dog.daemon = True
    dog.start()
    tmp = tempfile.mkdtemp(prefix="dnnfi-test-fetch-")
    passed = failed = 0
    try:
        served_dir = os.path.join(tmp, "served")
        out_dir = os.path.join(tmp, "out")
        os.makedirs(served_dir)
        os.makedirs(out_dir)
        served = {}
        for name in ("a.bin", "b.bin", "c.bin", "ckpt.pt"):
            served[name] = os.urandom(FILE_SIZE + len(served) * 123)
            with open(os.path.join(served_dir, name), "wb") as f:
                f.write(served[name])
        state = State(served_dir)
        server, thread = start_server(state)
        try:
            host, port = server.server_address[:2]
            env = Env(out_dir, served, state, f"http://{host}:{port}")
            for name, fn in CASES:
                try:
                    fn(env)
                except Failure as e:
                    failed += 1
                    print(f"FAIL - {name}: {e}")
                except Exception as e:  # an unexpected exception is a failure too
                    failed += 1
                    tb = traceback.extract_tb(e.__traceback__)[-1]
                    print(f"FAIL - {name}: {type(e).__name__}: {e} "
                          f"({os.path.basename(tb.filename)}:{tb.lineno})")
                else:
                    passed += 1
                    print(f"ok - {name}")
                sys.stdout.flush()
        finally:
            stop_server(server, thread)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        dog.cancel()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
