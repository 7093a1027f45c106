#!/usr/bin/env python3
"""Download and verify a test set into DIR (official archives, checked digests).

  prepare_data.py cifar10 DIR   ->  DIR/cifar-10-batches-bin/test_batch.bin
  prepare_data.py cifar100 DIR  ->  DIR/cifar-100-binary/test.bin
"""
import argparse
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fetch  # noqa: E402

DATASETS = {
    "cifar10": {
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        "archive_md5": "c32a1d4ab5d03f1284b67883e8d87530",
        "member": "cifar-10-batches-bin/test_batch.bin",
        "member_md5": "803d5f7f4d78ea53de84dbe85f74fb6d",
    },
    # No published digest of the binary CIFAR-100 archive is known here: the extracted test
    # set is checked by size (10,000 records of 3,074 bytes) and dnnfi checks its labels.
    "cifar100": {
        "url": "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
        "member": "cifar-100-binary/test.bin",
        "member_size": 10000 * 3074,
    },
}


def prepare(dataset, root, url=None):
    spec = DATASETS[dataset]
    target = os.path.join(root, spec["member"])
    checks = {"md5": spec.get("member_md5"), "size": spec.get("member_size")}
    if os.path.exists(target):
        fetch.check_file(target, **checks)
        return target
    archive = os.path.join(root, os.path.basename(spec["url"]))
    fetch.fetch(url or spec["url"], archive, md5=spec.get("archive_md5"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = target + ".part"
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile(spec["member"])
        if member is None:
            raise fetch.FetchError(f"{archive}: has no {spec['member']}")
        with open(tmp, "wb") as out:
            out.write(member.read())
    try:
        fetch.check_file(tmp, **checks)
    except fetch.FetchError:
        os.remove(tmp)
        raise
    os.replace(tmp, target)
    os.remove(archive)
    return target


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", choices=sorted(DATASETS))
    ap.add_argument("dir")
    ap.add_argument("--url", help="mirror of the official archive (same bytes)")
    args = ap.parse_args()
    try:
        print(prepare(args.dataset, args.dir, args.url))
    except fetch.FetchError as e:
        print(f"dnnfi: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
