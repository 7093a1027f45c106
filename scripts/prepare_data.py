#!/usr/bin/env python3
"""Download and verify a test set into DIR (official archives, checked digests).

  prepare_data.py cifar10 DIR   ->  DIR/cifar-10-batches-bin/test_batch.bin
  prepare_data.py cifar100 DIR  ->  DIR/cifar-100-binary/test.bin
  prepare_data.py gtsrb DIR     ->  DIR/GTSRB/GT-final_test.csv and DIR/GTSRB/Final_Test/Images/
"""
import argparse
import os
import sys
import tarfile
import zipfile

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


GTSRB_BASE = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"
GTSRB_ARCHIVES = (("GTSRB_Final_Test_Images.zip", "c7e4e6327067d32654124b0fe9e82185"),
                  ("GTSRB_Final_Test_GT.zip", "fe31e9c9270bbcd7b84b7f21a9d9d9e5"))


def prepare_gtsrb(root, base=None):
    """ROOT/GTSRB/Final_Test/Images/*.ppm and ROOT/GTSRB/GT-final_test.csv (with ClassId)."""
    target = os.path.join(root, "GTSRB")
    if os.path.exists(os.path.join(target, "GT-final_test.csv")):
        return target
    tmp = target + ".part"
    os.makedirs(tmp, exist_ok=True)
    for name, md5 in GTSRB_ARCHIVES:
        archive = fetch.fetch((base or GTSRB_BASE) + name, os.path.join(root, name), md5=md5)
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                if member.endswith("/"):
                    continue
                # Images come as GTSRB/Final_Test/Images/..., the labels as GT-final_test.csv.
                rel = member[len("GTSRB/"):] if member.startswith("GTSRB/") else member
                dest = os.path.join(tmp, rel)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with z.open(member) as src, open(dest, "wb") as out:
                    out.write(src.read())
    if not os.path.exists(os.path.join(tmp, "GT-final_test.csv")):
        raise fetch.FetchError(f"{tmp}: the archives held no GT-final_test.csv")
    os.replace(tmp, target)
    for name, _ in GTSRB_ARCHIVES:
        os.remove(os.path.join(root, name))
    return target


def prepare(dataset, root, url=None):
    if dataset == "gtsrb":
        return prepare_gtsrb(root, url)
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
    ap.add_argument("dataset", choices=sorted(DATASETS) + ["gtsrb"])
    ap.add_argument("dir")
    ap.add_argument("--url", help="mirror of the official archive (same bytes); for gtsrb, of its folder")
    args = ap.parse_args()
    try:
        print(prepare(args.dataset, args.dir, args.url))
    except fetch.FetchError as e:
        print(f"dnnfi: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
