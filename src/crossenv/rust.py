"""A Rust toolchain that can build for the host: found on PATH, or provisioned from Debian.

Cross-building a crate needs a rustc with the *host's* standard library, and a cargo of
the same release. rustup gives that with ``rustup target add``; where rustup is not
usable (no network to its servers, no rustup at all) Debian's archive has it: the
release's ``rustc``/``cargo`` for the build machine and ``libstd-rust-dev:ARCH`` for each
host, built from the same source, so versions always match. They are unpacked without
root through crossenv's private apt (no hard-coded archive), cached under
``~/.cache/crossenv/rust`` and built atomically under a lock like sysroots are.

Debian's rustc looks for its std under ``/usr``; the cached one is run through a
wrapper script with ``--sysroot`` pointing at a directory that joins the build
machine's std (build scripts and proc-macros run here) with the host's. Debian's
binaries carry no RUNPATH, so the wrapper points ``LD_LIBRARY_PATH`` at the unpacked
libraries (librustc_driver, libgit2 for cargo).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _proc, arches, provision, quoting, releases
from .apt import SKIPPED_DEPENDENCIES, os_codename
from .errors import CrossenvError, ProvisionError
from .machine import build_machine
from .releases import Release

#: What the build machine already has (or only maintainer scripts need): never unpacked.
#: Compilers are left out because cargo links with the cross gcc crossenv chose.
_TOOLCHAIN_SKIPPED = (*SKIPPED_DEPENDENCIES, "gcc", "gcc-*", "clang", "clang-*", "binutils",
                      "binutils-*", "cpp", "cpp-*", "pcc", "tcc", "llvm*", "libllvm*",
                      "libclang*", "libobjc*", "libstdc++*", "libgcc-*", "lib*-dev",
                      "linux-libc-dev", "libc-dev-bin", "rpcsvc-proto", "rustc-web",
                      "cargo-web")
TOOLCHAIN_PACKAGES = ("rustc", "cargo", "libstd-rust-dev")
STD_PACKAGE = "libstd-rust-dev"
SYSROOT = "sysroot"


@dataclasses.dataclass(frozen=True)
class RustToolchain:
    """Which rustc/cargo build for the host: ``path`` (as found), ``provisioned``
    (Debian's, from the cache) or ``missing`` (a Rust build fails naming the fix)."""

    kind: str
    target: str  # the host's Rust target triple
    rustc: str | None = None
    cargo: str | None = None
    version: str | None = None
    debian_arch: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def missing_message(target: str, arch: str | None) -> str:
    """The one line a Rust build prints when no toolchain has the host's std."""
    fix = f"run `crossenv provision-rust --arch {arch}`, or " if arch else ""
    return (f"crossenv: no Rust standard library for {target}: {fix}"
            f"`rustup target add {target}` and recreate the environment")


def has_std(libdir: Path) -> bool:
    """Whether a rustc target-libdir holds a standard library (not just the directory)."""
    return libdir.is_dir() and any(libdir.glob("libstd-*.rlib"))


def _rustc_version(rustc: str, environ: Mapping[str, str] | None = None) -> str | None:
    proc = _proc.run([rustc, "-V"], check=False, env=environ, error=ProvisionError)
    words = proc.stdout.split()
    return words[1] if proc.returncode == 0 and len(words) > 1 else None


def on_path(target: str, environ: Mapping[str, str] | None = None) -> RustToolchain | None:
    """The rustc on PATH, if ``rustc --print target-libdir --target TARGET`` has a std."""
    path = (environ if environ is not None else os.environ).get("PATH")
    rustc = shutil.which("rustc", path=path)
    if rustc is None:
        return None
    try:
        proc = _proc.run([rustc, "--print", "target-libdir", "--target", target], check=False,
                         timeout=60, error=ProvisionError)
    except ProvisionError:  # cannot be started
        return None
    if proc.returncode != 0 or not has_std(Path(proc.stdout.strip())):
        return None
    return RustToolchain("path", target, rustc, shutil.which("cargo", path=path),
                         _rustc_version(rustc))


def build_debian_arch() -> str:
    """The build machine's Debian architecture (whose rustc and cargo run here)."""
    return _debian_name(build_machine().machine) or "amd64"


def _debian_name(machine: str) -> str | None:
    try:
        info: Any = provision.debian_arch(machine)
    except CrossenvError:
        return None
    return getattr(info, "debian", None) or getattr(info, "name", None)


def _release() -> Release:
    """The build machine's own release: its rustc must run on this machine's libc."""
    try:
        return releases.by_suite(os_codename())
    except CrossenvError:
        return releases.choose(build_debian_arch())


def toolchain_dir(release: Release | None = None) -> Path:
    from .cache import user_cache

    release = release or _release()
    return user_cache("rust") / f"debian-{release.suite}-{build_debian_arch()}-toolchain"


def std_dir(arch: str, release: Release | None = None) -> Path:
    """The cached tree for host ``arch``: its std, the joined sysroot and the wrappers."""
    from .cache import user_cache

    release = release or _release()
    return user_cache("rust") / f"debian-{release.suite}-{arch}"


def _load(dest: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((dest / provision.MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def provisioned(arch: str) -> RustToolchain | None:
    """The cached Debian toolchain for host ``arch``, if it was provisioned."""
    dest = std_dir(arch)
    manifest = _load(dest)
    if manifest is None or not (dest / "bin" / "rustc").is_file():
        return None
    return RustToolchain("provisioned", str(manifest.get("rust_target")),
                         str(dest / "bin" / "rustc"), str(dest / "bin" / "cargo"),
                         str(manifest.get("rustc_version")), arch)


def find(target: str, arch: str | None, environ: Mapping[str, str] | None = None
         ) -> RustToolchain:
    """PATH's rustc when it has the host's std, else the provisioned one, else missing."""
    found = on_path(target, environ)
    if found is not None:
        return found
    if arch is not None:
        cached = provisioned(arch)
        if cached is not None and cached.target == target:
            return cached
    return RustToolchain("missing", target, debian_arch=arch)


def _libdir(root: Path) -> Path:
    """The directory of the unpacked librustc_driver (the build machine's multiarch one)."""
    found = sorted(root.glob("usr/lib/*/librustc_driver-*.so"))
    if not found:
        raise ProvisionError(f"no librustc_driver in {root}; the rustc package changed "
                             "layout (run again with --refresh)")
    return found[0].parent


def _wrapper(tool: Path, libdir: Path, args: str = "", setup: str = "") -> str:
    return ("#!/bin/sh\n# Generated by crossenv: Debian's Rust tool, unpacked without root.\n"
            f"{setup}LD_LIBRARY_PATH={quoting.shell(str(libdir))}"
            '${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} '
            f'exec {quoting.shell(str(tool))} {args}"$@"\n')


def _write_exec(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


def _ensure_toolchain(release: Release, refresh: bool) -> Path:
    dest = toolchain_dir(release)
    installed = _proc.run(["dpkg-query", "-W", "-f", "${Package}\n"], check=False,
                          error=ProvisionError).stdout.split()
    skipped = (*_TOOLCHAIN_SKIPPED, *(n for n in installed if n not in TOOLCHAIN_PACKAGES))

    def finish(root: Path) -> dict[str, Any]:
        libdir = _libdir(root)
        env = {**os.environ, "LD_LIBRARY_PATH": str(libdir)}
        version = _rustc_version(str(root / "usr" / "bin" / "rustc"), env)
        if version is None:
            raise ProvisionError(f"Debian {release.suite}'s rustc does not run on this "
                                 "machine; install a Rust toolchain with rustup instead")
        return {"rustc_version": version}

    provision.build_tree(provision.debian_arch(build_debian_arch()), release, dest,
                         list(TOOLCHAIN_PACKAGES), finish, refresh=refresh, skipped=skipped)
    return dest


def provision_rust(arch: str, *, refresh: bool = False) -> RustToolchain:
    """Unpack Debian's rustc/cargo and host ``arch``'s std into the cache; return it."""
    release = _release()
    name = _debian_name(arch) or arch
    info = provision.debian_arch(name)
    tools = _ensure_toolchain(release, refresh)
    build_target = _only_target(tools)
    dest = std_dir(name, release)
    libdir = _libdir(tools)

    def finish(root: Path) -> dict[str, Any]:
        target = build_target if name == build_debian_arch() else _only_target(root)
        rustlib = root / SYSROOT / "lib" / "rustlib"
        rustlib.mkdir(parents=True)
        if target != build_target:
            (rustlib / target).symlink_to(Path("../../../usr/lib/rustlib") / target)
        (rustlib / build_target).symlink_to(tools / "usr" / "lib" / "rustlib" / build_target)
        (root / "bin").mkdir()
        sysroot = dest / SYSROOT
        _write_exec(root / "bin" / "rustc", _wrapper(
            tools / "usr" / "bin" / "rustc", libdir, f"--sysroot {quoting.shell(str(sysroot))} "))
        rustc = dest / "bin" / "rustc"
        _write_exec(root / "bin" / "cargo", _wrapper(
            tools / "usr" / "bin" / "cargo", libdir,
            setup=f'RUSTC="${{RUSTC:-{quoting.shell(str(rustc))}}}"; export RUSTC\n'))
        _check_std(root, tools, target)
        manifest = _load(tools) or {}
        return {"rust_target": target, "rustc_version": manifest.get("rustc_version"),
                "toolchain": str(tools)}

    provision.build_tree(info, release, dest, [STD_PACKAGE], finish, refresh=refresh,
                         skipped=("*",))
    found = provisioned(name)
    assert found is not None  # build_tree either made it or raised
    return found


def _only_target(root: Path) -> str:
    """The one target triple whose std a libstd-rust-dev tree holds."""
    found = [p.name for p in (root / "usr" / "lib" / "rustlib").glob("*-*")
             if has_std(p / "lib")]
    if len(found) != 1:
        raise ProvisionError(f"expected one Rust std in {root}/usr/lib/rustlib, found "
                             f"{found or 'none'}; run again with --refresh")
    return found[0]


def _check_std(root: Path, tools: Path, target: str) -> None:
    """rustc loads the std (same release, same compiler hash): checked before caching."""
    proc = _proc.run(
        [str(tools / "usr" / "bin" / "rustc"), "--sysroot", str(root / SYSROOT), "--target",
         target, "--crate-type", "lib", "--emit", "metadata", "--crate-name", "probe",
         "-o", str(root / "probe.rmeta"), "-"], input="pub fn f() -> String { "
        "std::string::String::new() }\n", check=False, error=ProvisionError,
        env={**os.environ, "LD_LIBRARY_PATH": str(_libdir(tools))})
    (root / "probe.rmeta").unlink(missing_ok=True)
    if proc.returncode != 0:
        detail = proc.last_line(first=True)
        raise ProvisionError(f"Debian's rustc cannot use the {target} std: {detail}; "
                             "run again with --refresh")


def host_debian_arch(host: Any) -> str | None:
    """The Debian architecture of a host description (None: no Debian port)."""
    row = getattr(host, "arch", None)
    if row is not None and getattr(row, "debian", None):
        return str(row.debian)
    return _debian_name(host.machine)


def register(subparsers: Any) -> None:
    """Add the ``provision-rust`` subcommand to the main command line."""
    parser = subparsers.add_parser(
        "provision-rust", help="download Debian's rustc/cargo and a host's Rust std, without "
        "root", description="Unpack the build machine's Debian release's rustc and cargo and "
        "libstd-rust-dev for ARCH into the user cache (~/.cache/crossenv/rust), from apt's "
        "configured sources. Environments whose PATH has no rustc with ARCH's standard library "
        "use it, also those created before. Prints the rustc wrapper's path as the last line.")
    parser.add_argument("--arch", default="arm64", help="the host's Debian architecture "
                        f"({arches.arch_choices()})")
    parser.add_argument("--refresh", action="store_true",
                        help="rebuild even if the cached toolchain exists")
    parser.set_defaults(func=run)


def run(args: Any) -> int:
    import sys

    found = provision_rust(args.arch, refresh=args.refresh)
    print(f"rust {found.version} for {found.target} ({found.debian_arch})", file=sys.stderr)
    print(found.rustc)
    return 0
