"""``curl-config``, ``pg_config``, ``xml2-config``...: the host's answers, never the build's.

setup.py files run library ``*-config`` programs from ``PATH``; on a build
machine without the library's -dev package they are missing, and where the build
machine has one it answers ``-I/usr/include/x86_64-linux-gnu`` for itself. Each
name crossenv knows (``crossenv.backends.configscripts``) has a ``/bin/sh``
dispatcher in ``ENV/cross/crossenv/config-bin``, first on cross-python's ``PATH``,
that runs this file with the *build* interpreter (stdlib only, ``-I -S``):

* the sysroot's own script (``usr/bin/<multiarch>-NAME``, ``usr/bin/NAME``...,
  looked up at each run, so a file added to the sysroot later is found) runs on
  the build machine -- a shell or Perl script with the build machine's
  interpreter, a host ELF program (``mariadb_config``) under qemu -- and each
  path in its output that names a host system directory (``-I/usr/include/...``,
  ``-L/usr/lib/...``, a bare ``/usr``...) is moved into the sysroot;
* without one: one line naming the Debian package that ships it, exit status 1.
  A sysroot entry that is a symlink leaving the sysroot: one line, status 2.

The sysroot's script is run as it is shipped, like the project's own setup.py:
the sysroot is the one the environment was created from.
"""

import json
import os
import posixpath
import re
import subprocess
import sys

#: top-level directories of the host's system paths: their paths move into the sysroot.
#: Everything else (/etc, /var, /run, /tmp, /home...) is a run-time path kept as printed.
SYSTEM_TOPS = frozenset((b"usr", b"lib", b"lib32", b"lib64", b"libx32", b"opt", b"bin",
                         b"sbin"))
#: flags whose joined path is a build-time directory (run-time paths, -Wl,-rpath,
#: stay: the compiler wrapper judges those)
PATH_FLAGS = (b"-Wl,-rpath-link,", b"-Wl,-rpath-link=", b"-isystem", b"-idirafter",
              b"-iquote", b"-Wl,-L", b"-I", b"-L")
_WORD = re.compile(rb"\S+")
MAX_LINKS = 40


def _under(path, root):
    return path == root or path.startswith(root + b"/")


def relocate_path(path, roots):
    """*path* (absolute, bytes) inside the sysroot ``roots[0]`` if it names a host system
    directory; already inside one of *roots*, or a run-time path: unchanged."""
    if any(_under(path, root) for root in roots):
        return path
    norm = posixpath.normpath(b"/" + path.lstrip(b"/"))
    if norm.split(b"/")[1] not in SYSTEM_TOPS:
        return path
    return roots[0] + norm


def relocate(output, roots):
    """*output* with each word that is a host system path, alone or after one of
    :data:`PATH_FLAGS`, moved into the sysroot; spacing and other words unchanged."""
    def word(match):
        text = match.group(0)
        for flag in PATH_FLAGS:
            if text.startswith(flag) and text[len(flag):].startswith(b"/"):
                return flag + relocate_path(text[len(flag):], roots)
        if text.startswith(b"/"):
            return relocate_path(text, roots)
        return text
    return _WORD.sub(word, output)


class Refused(Exception):
    """One line for stderr and the exit status."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def find(root, candidates):
    """The first candidate (relative to *root*) that is a file, resolved; a candidate that
    resolves outside *root* is refused (the build machine's file would answer)."""
    real_root = os.path.realpath(root)
    for relative in candidates:
        path = os.path.join(root, relative)
        if not os.path.lexists(path):
            continue
        real = os.path.realpath(path)
        if not _under(os.fsencode(real), os.fsencode(real_root)):
            raise Refused(f"{path} is a symlink that leaves the sysroot (to {real}), so the "
                          "build machine's program would answer; make the link relative, "
                          "inside the sysroot", 2)
        if os.path.isfile(real):
            return real
    return None


def _build_program(name, search_path):
    """A program of the build machine by path or name (never a config-bin dispatcher)."""
    if os.path.isabs(name) and os.access(name, os.X_OK):
        return name
    for directory in search_path:
        candidate = os.path.join(directory, os.path.basename(name))
        if directory and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def command(path, settings, search_path):
    """How to run the sysroot's program *path* here: a script with the build machine's
    interpreter from its ``#!`` line (``/bin/sh`` without one), a host ELF under qemu."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith(b"\x7fELF"):
        emulator = settings.get("emulator")
        if not emulator:
            raise Refused(f"{path} is a program for the host and qemu-user is not installed "
                          "to run it; install qemu-user-static (or qemu-user) and create the "
                          "environment again", 1)
        return [*emulator, path]
    if not head.startswith(b"#!"):
        return ["/bin/sh", path]
    line = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    words = line.split(None, 1)  # the kernel's reading: the interpreter and one argument
    if not words:
        return ["/bin/sh", path]
    interpreter, args = words[0], words[1:]
    if os.path.basename(interpreter) == "env" and args:
        interpreter, *args = args[0].split()
    program = _build_program(interpreter, search_path)
    if program is None:
        raise Refused(f"{path} is run by {interpreter}, which this machine does not have",
                      1)
    return [program, *args, path]


def main(argv):
    settings_file, name, args = argv[1], argv[2], argv[3:]
    with open(settings_file, encoding="utf-8") as handle:
        settings = json.load(handle)
    script = settings["scripts"][name]
    sysroot = settings.get("sysroot")
    search_path = [d for d in os.environ.get("PATH", "").split(os.pathsep)
                   if os.path.abspath(d or ".") != settings["bin_dir"]]
    try:
        path = find(sysroot, script["candidates"]) if sysroot else None
        if path is None:
            raise Refused(script["missing"], 1)
        cmd = command(path, settings, search_path)
    except Refused as refused:
        sys.stderr.write(f"crossenv: {name}: {refused}\n")
        return refused.status
    proc = subprocess.run([*cmd, *args], stdout=subprocess.PIPE, check=False)
    roots = [os.fsencode(sysroot).rstrip(b"/")]
    real = os.fsencode(os.path.realpath(sysroot))
    if real not in roots:
        roots.append(real)
    sys.stdout.buffer.write(relocate(proc.stdout, roots))
    sys.stdout.flush()
    return proc.returncode if proc.returncode >= 0 else 128 - proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
