"""``crossenv provision``: the command line of provisioning a sysroot.

Only the parsing and the printing are here; what is provisioned, from which release,
and when a cached sysroot will do are crossenv.provision's, which the API and the
creation of an environment (``--arch``) call without a command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import arches, provision, releases


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``provision`` subcommand to the main command line."""
    parser = subparsers.add_parser(
        "provision", help="download a Debian sysroot (headers, libraries, python) for a host",
        description="Build a Debian sysroot for ARCH without root, from apt's configured "
                    "sources. Prints the host python's path as the last line.")
    add = parser.add_argument
    add("--arch", default="arm64", help=f"Debian architecture: {arches.arch_choices()}")
    shipped = ", ".join(f"{r.suite}: {'/'.join(r.pythons)}" for r in releases.RELEASES)
    add("--python", type=releases.parse_python, metavar="X.Y",
        help=f"the host CPython version; picks the Debian release that ships it ({shipped}; "
        "default: the Python crossenv runs on)")
    add("--release", metavar="NAME", help="the Debian release to provision from "
        f"({', '.join(r.suite for r in releases.RELEASES)})")
    add("--package", action="append", default=[], metavar="PKG",
        help="extra Debian package to include (repeatable)")
    add("--refresh", action="store_true", help="build a new sysroot even if the current one "
        "suffices; DEST then points to it, the old one is kept for the environments using it "
        "(crossenv cache prune removes it when none does)")
    add("dest", nargs="?", type=Path, help="where the sysroot goes: a symlink to the "
        "generation DEST.<hex> beside it (default: in the user cache, one per package set)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Provision as asked on the command line and print the host python's path."""
    sysroot = provision.provision_debian(args.arch, args.dest, args.package,
                                         refresh=args.refresh, python=args.python,
                                         release=args.release)
    print(f"sysroot {sysroot.root} ({sysroot.arch}, {sysroot.multiarch}, Debian "
          f"{sysroot.release})", file=sys.stderr)
    print(sysroot.python)
    return 0
