"""Packs the Python package scripts/gen-bindings.sh generated (target/uniffi/python/seqsync: the uniffi module and
the cdylib it loads) into a wheel, without building anything.

    python3 scripts/pack-wheel.py [--package-dir DIR] [--out-dir DIR]      # prints the wheel's path

Why not maturin: `maturin build` always compiles the crate itself (a second, release compilation of the workspace's
dependencies, the longest step of a CI run), and has no option to pack an already built library. The wheel here has
the same content maturin's `bindings = "uniffi"` wheel has (bindings-uniffi/pyproject.toml, the way to build a wheel
for publishing), plus `py.typed`: the generated module is annotated.
"""

import argparse
import base64
import hashlib
import re
import sysconfig
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "seqsync"
SUMMARY = "The seqsync engine for Python: keep a local SQLite replica in sync with a seq-cursor server."


def workspace_version():
    """The workspace's version (Cargo.toml [workspace.package]), the crate's and so the wheel's."""
    text = (REPO / "Cargo.toml").read_text()
    section = text.split("[workspace.package]", 1)[1]
    return re.search(r'^version = "([^"]+)"', section, re.M).group(1)


def platform_tag():
    # The library is native code for this machine: py3 (any CPython 3, the module is pure Python over ctypes),
    # no ABI tag, this platform (linux_x86_64 here; not manylinux, which needs auditwheel's checks).
    return re.sub(r"[-.]", "_", sysconfig.get_platform())


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def pack(package_dir, out_dir):
    version, tag = workspace_version(), f"py3-none-{platform_tag()}"
    files = {f"{NAME}/{p.name}": p.read_bytes() for p in sorted(package_dir.iterdir()) if p.is_file()}
    if f"{NAME}/__init__.py" not in files:
        raise SystemExit(f"pack-wheel: no {package_dir}/__init__.py: run scripts/gen-bindings.sh first")
    files[f"{NAME}/py.typed"] = b""
    info = f"{NAME}-{version}.dist-info"
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\nSummary: {SUMMARY}\n"
                                 "License: MIT OR Apache-2.0\nRequires-Python: >=3.9\n").encode()
    files[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: seqsync pack-wheel.py\nRoot-Is-Purelib: false\n"
                              f"Tag: {tag}\n").encode()
    record = [record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{NAME}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-dir", type=Path, default=REPO / "target" / "uniffi" / "python" / NAME)
    parser.add_argument("--out-dir", type=Path, default=REPO / "target" / "wheels")
    args = parser.parse_args()
    print(pack(args.package_dir, args.out_dir))


if __name__ == "__main__":
    main()
