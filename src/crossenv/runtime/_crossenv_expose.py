"""cross-expose: make packages installed with build-pip importable from cross-python.

crossenv 1.x's command, kept for scripts that use it (typically to satisfy
``setup_requires`` or a ``--no-build-isolation`` build with tools from build-pip).
Run by ENV/bin/cross-expose with the *build* interpreter; stdlib only.

Each exposed distribution gets, in the cross site-packages, symlinks to its
top-level modules and packages plus a small ``.dist-info`` of its own (so that
importlib.metadata and pip see it, and ``pip uninstall`` removes only the links,
never the build environment's files). ``-u`` removes exactly what was added.
Native extension modules keep working: cross-python is the same interpreter.
"""

import argparse
import json
import os
import shutil
import sys
from importlib import metadata

SKIP = {"pip", "setuptools", "wheel", "distribute"}


def _canonical(name):
    return name.lower().replace("_", "-").replace(".", "-")


class Env:
    def __init__(self, root):
        with open(os.path.join(root, "crossenv.json"), encoding="utf-8") as fh:
            meta = json.load(fh)
        version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        self.build_site = os.path.join(meta["paths"]["build"], "lib", version, "site-packages")
        self.cross_site = os.path.join(meta["paths"]["cross"], "lib", version, "site-packages")
        self.state = os.path.join(meta["paths"]["crossenv_dir"], "exposed.json")

    def load(self):
        try:
            with open(self.state, encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            print(f"cross-expose: error: {self.state} is damaged ({exc}); delete it and "
                  "expose the packages again", file=sys.stderr)
            sys.exit(2)

    def save(self, state):
        with open(self.state, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=2, sort_keys=True)

    def build_dists(self):
        found = {}
        for dist in metadata.distributions(path=[self.build_site]):
            name = dist.metadata["Name"]
            if name:
                found.setdefault(_canonical(name), dist)
        return found


def _top_levels(dist):
    """Top-level names a distribution installs (from RECORD, else top_level.txt)."""
    tops = set()
    for entry in dist.files or ():
        parts = entry.parts
        if not parts or parts[0].endswith((".dist-info", ".egg-info", ".data")) \
                or parts[0] in ("..", "__pycache__") or os.path.isabs(str(entry)):
            continue
        if len(parts) == 1 and not parts[0].endswith((".py", ".so", ".pth")):
            continue
        if parts[0].endswith(".pth"):
            continue
        tops.add(parts[0])
    if not tops:
        text = dist.read_text("top_level.txt") or ""
        tops.update(line.strip() for line in text.splitlines() if line.strip())
    return sorted(tops)


def expose(env, names):
    state = env.load()
    dists = env.build_dists()
    if ":all:" in names:
        names = [n for n in dists if n not in SKIP]
    status = 0
    for name in names:
        key = _canonical(name)
        dist = dists.get(key)
        if dist is None:
            print(f"cross-expose: {name} is not installed in build-python; "
                  f"install it with build-pip first", file=sys.stderr)
            status = 1
            continue
        if key in state:
            continue
        created = []
        for top in _top_levels(dist):
            source = os.path.join(env.build_site, top)
            target = os.path.join(env.cross_site, top)
            if not os.path.exists(source) or os.path.lexists(target):
                continue
            os.symlink(source, target)
            created.append(top)
        info = f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}.dist-info"
        info_dir = os.path.join(env.cross_site, info)
        if not os.path.exists(info_dir):
            os.mkdir(info_dir)
            with open(os.path.join(info_dir, "METADATA"), "w", encoding="utf-8") as fh:
                fh.write(dist.read_text("METADATA") or
                         f"Metadata-Version: 2.1\nName: {dist.metadata['Name']}\n"
                         f"Version: {dist.version}\n")
            with open(os.path.join(info_dir, "INSTALLER"), "w", encoding="utf-8") as fh:
                fh.write("cross-expose\n")
            with open(os.path.join(info_dir, "RECORD"), "w", encoding="utf-8") as fh:
                for entry in [*created, f"{info}/METADATA", f"{info}/INSTALLER",
                              f"{info}/RECORD"]:
                    fh.write(f"{entry},,\n")
            created.append(info)
        state[key] = created
    env.save(state)
    return status


def unexpose(env, names):
    state = env.load()
    if ":all:" in names:
        names = list(state)
    status = 0
    for name in names:
        key = _canonical(name)
        created = state.pop(key, None)
        if created is None:
            print(f"cross-expose: {name} was not exposed", file=sys.stderr)
            status = 1
            continue
        for entry in created:
            path = os.path.join(env.cross_site, entry)
            if os.path.islink(path) or os.path.isfile(path):
                os.unlink(path)
            elif os.path.isdir(path):
                shutil.rmtree(path)
    env.save(state)
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="cross-expose",
        description="Let cross-python import packages installed with build-pip "
        "(crossenv 1.x compatible). ':all:' means every build-pip package except "
        "pip, setuptools and wheel.")
    parser.add_argument("env", help=argparse.SUPPRESS)
    parser.add_argument("-l", "--list", action="store_true", help="list exposed packages")
    parser.add_argument("-u", "--unexpose", action="store_true",
                        help="undo an earlier cross-expose of these packages")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="ignored")
    parser.add_argument("MODULE", nargs="*", help="distribution names, or :all:")
    args = parser.parse_intermixed_args(argv)
    try:
        env = Env(args.env)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged crossenv.json
        detail = exc.strerror if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
        print(f"cross-expose: error: cannot use {os.path.join(args.env, 'crossenv.json')} "
              f"({detail}); recreate the environment with crossenv --clear", file=sys.stderr)
        return 2
    if args.list or not args.MODULE:
        for name in sorted(env.load()):
            print(name)
        return 0
    if args.unexpose:
        return unexpose(env, args.MODULE)
    return expose(env, args.MODULE)


if __name__ == "__main__":
    sys.exit(main())
