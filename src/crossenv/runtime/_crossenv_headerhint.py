"""After a failed compile: name the Debian package of a header the sysroot lacks.

The compiler wrapper (``crossenv.backends.compilerwrap``) runs this with the *build*
interpreter (stdlib only, ``-I -S``) only when the compiler failed, as
``python _crossenv_headerhint.py SETTINGS COMPILER ARGS...``. It preprocesses the
same sources again (``-E -o /dev/null``, ``LC_ALL=C``: cheap, and the compiler's
own words for a missing include), and for the first ``fatal error: X: No such file
or directory`` (gcc) or ``'X' file not found`` (clang) prints one line: the
package from the cached Contents index (``crossenv.headers``) and the
``crossenv provision --package`` command; without a cached index, the
``crossenv find-header`` command that looks it up. Never the network: this runs
inside a build. A header no Debian package ships (the project's own) gets no line.
"""

import json
import os
import re
import shlex
import subprocess
import sys

_MISSING = re.compile(r"fatal error: (?:'([^']+)' file not found|([^:\s]+): No such file or "
                      r"directory)")
#: options that name an output or choose what is made: left out of the re-run
_WITH_VALUE = ("-o", "-MF", "-MT", "-MQ")
_ALONE = ("-c", "-S", "-E", "-M", "-MM", "-MD", "-MMD", "-MG", "-MP")
_SOURCES = (".c", ".cc", ".cp", ".cxx", ".cpp", ".c++", ".C", ".m", ".mm", ".i", ".ii",
            ".f", ".f90", ".F", ".F90")


def preprocess_command(words):
    """The compile command *words* turned into a preprocessing run, or None when it
    compiles no source file (a link)."""
    out, skip = [], False
    for word in words[1:]:
        if skip:
            skip = False
        elif word in _WITH_VALUE:
            skip = True
        elif word in _ALONE or word.startswith(("-o", "-MF", "-MT", "-MQ")):
            continue
        else:
            out.append(word)
    if not any(w.endswith(_SOURCES) and not w.startswith("-") for w in out):
        return None
    return [words[0], *out, "-E", "-o", os.devnull]


def missing_header(words):
    """The first header the preprocessor could not find, or None."""
    command = preprocess_command(words)
    if command is None:
        return None
    env = dict(os.environ, LC_ALL="C")
    try:
        proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=env, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _MISSING.search(proc.stderr.decode("utf-8", "replace"))
    return (match.group(1) or match.group(2)) if match else None


def lookup(index, header):
    """As crossenv.headers.lookup (the index is ``header<TAB>pkg,pkg``, sorted)."""
    key = header.encode() + b"\t"
    with open(index, "rb") as lines:
        for line in lines:
            if line.startswith(key):
                names = line[len(key):].decode().strip().split(",")
                return sorted(names, key=lambda n: (not n.endswith("-dev"), n))
    return []


def _command(template, placeholder, value):
    return shlex.join([value if w == placeholder else w for w in template])


def message(settings, header):
    """The line for *header*, or None (a header no Debian package ships)."""
    where = f"Debian {settings['release']} {settings['arch']}"
    try:
        packages = lookup(settings["index"], header)
    except OSError:
        find = _command(settings["find"], "HEADER", header)
        return (f"crossenv: {header} is not in the sysroot; `{find}` names the {where} "
                "package that ships it")
    if not packages:
        return None
    provision = _command(settings["provision"], "PKG", packages[0])
    return (f"crossenv: {header} is not in the sysroot: {where}'s {packages[0]} ships it; "
            f"`{provision}` makes a sysroot with it, then create the environment again "
            "from that sysroot's python")


def main(argv):
    if len(argv) < 3:
        return 0
    try:
        with open(argv[1], encoding="utf-8") as f:
            settings = json.load(f)
        header = missing_header(argv[2:])
        line = message(settings, header) if header else None
    except (OSError, ValueError, KeyError, TypeError):
        return 0  # a hint must never turn into a second error
    if line:
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
