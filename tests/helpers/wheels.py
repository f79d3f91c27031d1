"""Wheels made in a test: small, valid (RECORD hashes), shaped as a build makes them."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def make_wheel(directory: Path, name: str = "demo", version: str = "1.0",
               files: dict[str, bytes] | None = None, requires: tuple[str, ...] = (),
               tag: str = "cp311-cp311-linux_aarch64") -> Path:
    """A wheel with a correct RECORD: a package, platlib and script data, a header and
    an entry point, unless *files* says otherwise."""
    info = f"{name}-{version}.dist-info"
    members = dict(files if files is not None else {
        f"{name}/__init__.py": b"VALUE = 42\n",
        f"{name}/_native.cpython-311-aarch64-linux-gnu.so": b"\x7fELF not really",
        f"{name}-{version}.data/scripts/{name}-tool": b"#!python\nprint('tool')\n",
        f"{name}-{version}.data/headers/{name}.h": b"int demo(void);\n",
        f"{name}-{version}.data/data/share/{name}/notes.txt": b"notes\n",
    })
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    members[f"{info}/METADATA"] = metadata.encode()
    members[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: "
                                f"false\nTag: {tag}\n").encode()
    members[f"{info}/entry_points.txt"] = f"[console_scripts]\n{name}-cli = {name}:main\n".encode()
    record = []
    for member, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{member},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    members[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{name}-{version}-{tag}.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as zf:
        for member, data in members.items():
            entry = zipfile.ZipInfo(member)
            entry.external_attr = (0o100755 if "/scripts/" in member else 0o100644) << 16
            zf.writestr(entry, data)
    return wheel
