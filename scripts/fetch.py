#!/usr/bin/env python3
"""Checked downloads for dnnfi: checkpoints and test sets.

A file is downloaded to DEST.part (resuming a previous partial transfer when the
server honours Range requests), verified against the expected size and digest, and
only then renamed to DEST, so DEST is either absent or complete and verified.
"""
import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request

CHUNK = 1 << 16


class FetchError(RuntimeError):
    pass


def digest(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_file(path, sha256=None, md5=None, size=None):
    """Raise FetchError naming PATH when it does not match what is expected."""
    actual_size = os.path.getsize(path)
    if size is not None and actual_size != size:
        raise FetchError(f"{path}: size {actual_size} bytes, expected {size}")
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if not expected:
            continue
        actual = digest(path, algorithm)
        if expected.startswith("prefix:"):
            ok = actual.startswith(expected[len("prefix:"):])
        else:
            ok = actual == expected
        if not ok:
            raise FetchError(f"{path}: {algorithm} {actual}, expected {expected}")


class Progress:
    def __init__(self, label, total):
        self.label, self.total = label, total
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def update(self, done, final=False):
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.2):
            return
        self.last = now
        if self.total:
            pct = 100.0 * done / self.total
            bar = "#" * int(pct / 4)
            sys.stderr.write(f"\r{self.label} [{bar:<25}] {pct:5.1f}% {done / 1e6:.1f}/{self.total / 1e6:.1f} MB")
        else:
            sys.stderr.write(f"\r{self.label} {done / 1e6:.1f} MB")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def fetch(url, dest, sha256=None, md5=None, size=None, timeout=60):
    """Download URL to DEST (atomically) unless DEST already exists and verifies."""
    if os.path.exists(dest):
        try:
            check_file(dest, sha256, md5, size)
            return dest
        except FetchError as e:
            print(f"dnnfi: {e}; downloading it again", file=sys.stderr)
            os.remove(dest)
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    part = dest + ".part"
    have = os.path.getsize(part) if os.path.exists(part) else 0
    if size is not None and have > size:
        os.remove(part)
        have = 0
    request = urllib.request.Request(url, headers={"User-Agent": "dnnfi"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    print(f"dnnfi: downloading {url}", file=sys.stderr)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to fetch: the part file may be complete
            response = None
        else:
            raise FetchError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(f"{url}: {getattr(e, 'reason', e)} (no network? put the file there by hand: {dest})") from None
    if response is not None:
        with response:
            resumed = have and response.status == 206
            mode = "ab" if resumed else "wb"
            done = have if resumed else 0
            length = response.headers.get("Content-Length")
            total = size or (int(length) + done if length else None)
            progress = Progress(os.path.basename(dest), total)
            try:
                with open(part, mode) as out:
                    while True:
                        block = response.read(CHUNK)
                        if not block:
                            break
                        out.write(block)
                        done += len(block)
                        progress.update(done)
            except (OSError, urllib.error.URLError, http.client.IncompleteRead) as e:
                raise FetchError(f"{url}: transfer interrupted after {done} bytes ({e}); run again to resume") from None
            progress.update(done, final=True)
            if length is not None and done - (have if resumed else 0) != int(length):
                raise FetchError(f"{url}: transfer ended after {done} bytes, expected {total}; run again to resume")
    try:
        check_file(part, sha256, md5, size)
    except FetchError as e:
        os.remove(part)
        raise FetchError(f"downloaded file does not verify: {e}; it was removed") from None
    os.replace(part, dest)
    return dest


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("url")
    ap.add_argument("dest")
    ap.add_argument("--sha256")
    ap.add_argument("--md5")
    ap.add_argument("--size", type=int)
    args = ap.parse_args(argv)
    try:
        fetch(args.url, args.dest, args.sha256, args.md5, args.size)
    except FetchError as e:
        print(f"dnnfi: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
