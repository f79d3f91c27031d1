"""Compiler wrappers that keep build-machine paths out of host builds.

Many build scripts look for libraries themselves: setup.py files add
``-I/usr/include``, ``-L/usr/lib/x86_64-linux-gnu`` or ``-L/usr/local/lib``,
``*-config`` scripts answer for the build machine, CMake projects write
``-Wl,-rpath,/abs/dir``. A cross compiler given those directories either fails
late (an x86-64 ``libxcb.so`` "is incompatible") or, worse, compiles against
the build machine's headers. Like Buildroot's toolchain wrapper and Yocto's
poison-system-directories, crossenv puts a small ``/bin/sh`` wrapper in front of
the cross compiler (``ENV/cross/crossenv/bin/<compiler>``); cross-python's
sysconfig ``CC``/``CXX``/``LDSHARED``, the meson cross file and the CMake
toolchain name it. For every ``-I``/``-isystem``/``-idirafter``/``-iquote``/``-L``
directory, library file and ``-Wl``/``-Xlinker`` linker path it applies the
rules the setuptools hook (``runtime/_crossenv_hostpaths.py``) applies to compiler
directory lists (a property test checks that both agree):

* a build-machine system directory (``/usr/include...``, ``/usr/local...``,
  ``/usr/lib...``, ``/lib...``) is mapped to the same directory in the sysroot,
  with the build machine's multiarch directory replaced by the host's, if that
  exists; otherwise it is dropped with a one-line warning naming the flag;
* of the RUNPATH entries (``-Wl,-rpath,DIR``, ``-R``) only relative ones
  (``$ORIGIN/...``), the build tree (under the compiler's working directory:
  meson and CMake replace it at install, and look for it exactly, so its ':'
  padding is kept too) and the host's view of a non-default sysroot directory
  survive; every other absolute entry is dropped with a warning.

A directory is judged after lexical normalisation (``//`` and ``/./`` collapsed,
``..`` resolved; a relative path with ``..`` is taken from the working directory),
in every spelling gcc accepts: ``-I``/``-isystem``/``-idirafter``/``-iquote``/
``-cxx-isystem``/``-L``/``-B`` joined or separate, ``--include-directory[-after]``,
``--library-directory``, ``-iprefix`` with ``-iwithprefix[before]``, ``=`` and
``$SYSROOT`` prefixes, the words of ``-Wp,`` and ``-Xpreprocessor``, and response
files (``@FILE``, read like gcc's libiberty and judged in place, refused beyond
:data:`RSP_DEPTH` levels, :data:`RSP_FILES` files or :data:`RSP_BYTES` bytes). A
``--sysroot``/``-isysroot`` naming the build machine's root is dropped.

A compiler launcher (``--compiler-launcher ccache``, see :mod:`crossenv.launcher`) is
exec'd by the wrapper, after the mapping, with the real compiler: ccache hashes that
compiler and the mapped arguments, distcc sends the compiler's name to its workers.

The wrapper is POSIX sh because it runs for every compile: a command line
without any suspicious word costs one ``case`` per argument before ``exec``. The
others are mapped in one subshell that prints each word quoted, read back by one
``eval``: linear in the number of words (20,000 words: under a second; rebuilding
``"$@"`` word by word took 208 s).
The real compiler stays recorded in ``ENV/crossenv.json`` (``crossenv describe``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import headers, quoting
from ..host import HostDescription
from ..launcher import ENV_VAR as LAUNCHER_VAR
from ..launcher import cache_environment
from ..launcher import text as launcher_text
from ..model import Layout, Options, Toolchain

BIN_DIR = "bin"
CONFIG_NAME = "hostpaths.json"


def build_multiarch() -> str:
    """The build machine's multiarch directory name (``x86_64-linux-gnu``)."""
    value = getattr(sys.implementation, "_multiarch", None)
    if isinstance(value, str) and value:
        return value
    return f"{os.uname().machine}-linux-gnu"


def _wrapper_name(program: str) -> str:
    return os.path.basename(program) or "cc"


def wrapper_path(crossenv_dir: Path, program: str) -> Path:
    return crossenv_dir / BIN_DIR / _wrapper_name(program)


def wrapped(chain: Toolchain, crossenv_dir: Path) -> Toolchain:
    """*chain* with its C, C++ and Fortran compiler programs replaced by the wrappers in
    *crossenv_dir* (their flags, ``--sysroot`` included, stay on the command line)."""
    def swap(words: tuple[str, ...]) -> tuple[str, ...]:
        if not words:
            return words
        return (str(wrapper_path(crossenv_dir, words[0])), *words[1:])

    return dataclasses.replace(chain, cc=swap(chain.cc), cxx=swap(chain.cxx), fc=swap(chain.fc))


#: build-machine system directories, and those of them that have a multiarch subdirectory;
#: written into ``hostpaths.json`` so that the setuptools hook maps by the same rules
SYSTEM_DIRS = ("/usr/include", "/usr/local", "/usr/lib", "/usr/lib32", "/usr/lib64",
               "/usr/libx32", "/lib", "/lib32", "/lib64", "/libx32")
MULTIARCH_BASES = ("/usr/lib", "/lib", "/usr/include")


def settings(host: HostDescription, chain: Toolchain, *keep: Path) -> dict[str, object]:
    """What the wrapper and the setuptools hook map with (also ``hostpaths.json``);
    directories under *keep* (ENV, the cross prefix) are never touched."""
    sysroot = chain.sysroot if chain.sysroot is not None else host.sysroot
    return {
        "sysroot": str(sysroot) if sysroot is not None else "",
        "build_multiarch": build_multiarch(),
        "host_multiarch": host.multiarch or "",
        "keep": list(dict.fromkeys(str(path) for path in keep)),
        "system_dirs": list(SYSTEM_DIRS),
        "multiarch_bases": list(MULTIARCH_BASES),
    }


#: response files (``@FILE``) the wrapper reads and judges: nesting depth, how many in one
#: call, and their bytes in all (Linux passes at most 2 MiB of arguments to a program)
RSP_DEPTH = 8
RSP_FILES = 64
RSP_BYTES = 2 * 1024 * 1024


def _case_alternatives(prefixes: list[str]) -> str:
    return "|".join(f"{shlex.quote(p)}/*" for p in prefixes)



_TEMPLATE = r"""#!/bin/sh
# Generated by crossenv: {real_text} for the host, guarded against build-machine paths.
# Build-machine -I/-L/-isystem directories, library files and RUNPATH entries are
# mapped into the sysroot or dropped with a warning (docs: "Build-machine paths").
set -f
S={sysroot}
B={build}
H={host}
oIFS=$IFS
# The compiler launcher (ccache, distcc...) runs the real compiler after the mapping:
# LP is its program (quoted: its directory may hold spaces), LA its plain arguments.
# CROSSENV_COMPILER_LAUNCHER overrides them, split at blanks (empty: none); the text
# cross-python exports for the recorded launcher keeps LP and LA as they are.
LP={program}
LA={arguments}
if [ -n "${{CROSSENV_COMPILER_LAUNCHER+x}}" ] && [ "$CROSSENV_COMPILER_LAUNCHER" != {text} ]; then
    LP=; LA=
    for w in $CROSSENV_COMPILER_LAUNCHER; do
        if [ -z "$LP" ]; then LP=$w; else LA="$LA $w"; fi
    done
fi
C={compiler}
# After a failed compile, HP runs HF with the settings HS: one line naming the Debian
# package of a header the sysroot lacks (docs: "Missing headers"). Empty: no hint.
HP={hint_python}
HF={hint_file}
HS={hint_settings}
K=
case " ${{LP##*/}} $LA " in
    *" distcc "*|*"/distcc "*|*" icecc "*|*"/icecc "*|*" icerun "*|*"/icerun "*)
        command -v {name} >/dev/null 2>&1 && C={name} ;;
    *" ccache "*|*"/ccache "*) K=ccache ;;
    *" sccache "*|*"/sccache "*) K=sccache ;;
esac
# A cache: debug information names the working directory "." and the project above it
# (the nearest directory with a pyproject.toml or setup.py, up to 4 levels) by its path
# relative to the working directory (-fdebug-prefix-map, put before the build's own
# arguments so that a map of the build's wins). An sdist that pip unpacks into a new
# random directory then compiles to the same object every time. ccache also hashes paths
# under the temporary directory relative to the working directory (CCACHE_BASEDIR,
# unless set); sccache hashes arguments as they are, so it gets the maps through the
# preprocessor. Docs: "Cache hits for sdists".
case $PWD in /?*=*|/) K= ;; esac
if [ "$K" = ccache ] && [ -z "${{CCACHE_BASEDIR+x}}" ]; then
    case ${{TMPDIR:-/tmp}} in /?*) CCACHE_BASEDIR=${{TMPDIR:-/tmp}}; export CCACHE_BASEDIR ;; esac
fi
run() {{
    if [ -n "$K" ]; then
        s=; [ {subcommand} = 1 ] && [ $# -gt 0 ] && {{ s=$1; shift; }}
        r=$PWD; u=; i=0
        until [ -f "$r/pyproject.toml" ] || [ -f "$r/setup.py" ]; do
            i=$((i + 1)); r=${{r%/*}}; u=$u/..
            if [ $i -gt 4 ] || [ -z "$r" ]; then r=; break; fi
        done
        case $r in "$PWD"|*=*) r= ;; esac
        X=; [ "$K" = sccache ] && X=-Xpreprocessor
        set -- ${{X:+"$X"}} "-fdebug-prefix-map=$PWD=." "$@"
        [ -n "$r" ] && set -- ${{X:+"$X"}} "-fdebug-prefix-map=$r=${{u#/}}" "$@"
        [ -n "$s" ] && set -- "$s" "$@"
    fi
    if [ -z "$HP" ]; then
        if [ -n "$LP" ]; then exec "$LP" $LA "$C"{rest} "$@"; fi
        exec "$C"{rest} "$@"
    fi
    # waits for the compiler (one fork) so that only a failure costs the hint's re-run
    if [ -n "$LP" ]; then "$LP" $LA "$C"{rest} "$@"; else "$C"{rest} "$@"; fi && exit 0
    rc=$?
    "$HP" -I -S "$HF" "$HS" "$C"{rest} "$@" >&2
    exit $rc
}}

# Only a word that could name a build-machine path (or a response file) needs the
# mapping below; any other command line is exec'd after one 'case' per word.
need=
[ "$PWD" = / ] && need=1
for a do
    case $a in
        -[ILB]/usr*|-[ILB]/lib*|-i*[mre]/usr*|-i*[mre]/lib*|/usr*|/lib*|*[=,]/usr*|*[=,]/lib*|\
*//*|*/./*|*/.|*..*|@?*|*'$SYSROOT'*|-B*|--prefix*|-Xlinker|-Xpreprocessor|-Wp,*|-Wl,*-rpath*|\
-Wl,*-R*|-Wl,*-L*|-Wl,*--library-path*|--sysroot*|-isysroot*|-iprefix*|--include-prefix*|\
-iwithprefix*|--include-with-prefix*) need=1; break ;;
    esac
done
[ -n "$need" ] || run "$@"

w() {{ printf 'crossenv: %s\n' "$*" >&2; }}

norm() {{
    # N: $1 made absolute (a relative path with '..' or under / is taken from $PWD)
    # and lexically normal: '//' and '/./' collapsed, '..' resolved, no trailing '/'.
    N=$1
    case $N in
        /*) case $N in *//*|*/./*|*/../*|*/.|*/..|*/) ;; *) return 0 ;; esac ;;
        *) case $N in ..|../*|*/..|*/../*) ;; *) [ "$PWD" = / ] || return 0 ;; esac
           N=$PWD/$N ;;
    esac
    IFS=/; set -- $N; IFS=$oIFS
    N=
    for c do
        case $c in
            ''|.) ;;
            ..) N=${{N%/*}} ;;
            *) N=$N/$c ;;
        esac
    done
    [ -n "$N" ] || N=/
}}

sysdir() {{
    case $1 in
        {keep}) return 1 ;;
        {system}) return 0 ;;
    esac
    return 1
}}

mapdir() {{
    R=$1
{multiarch}    [ -n "$S" ] && [ -e "$S$R" ] && R=$S$R
}}

fixdir() {{
    # R: the directory to use ($1 as written unless it is a build-machine one);
    # status 1: drop it
    R=$1
    norm "$1"
    sysdir "$N" || return 0
    mapdir "$N" && return 0
    w "dropped $2: $N is a build-machine directory${{S:+ and the sysroot has no $R}}"
    return 1
}}

rpent() {{
    R=$1
    case $R in
        /*) ;;
        *) return 0 ;;
    esac
    norm "$R"
    if [ "$PWD" != / ]; then
        case $N in "$PWD"/*) return 0 ;; esac
    fi
    if [ -n "$S" ]; then
        case $N in
            "$S"/*)
                R=${{N#"$S"}}
                case $R in {default_libs}) return 1 ;; esac
                return 0 ;;
        esac
    fi
    return 1
}}

plist() {{
    # Elements one by one, empty ones kept (CMake pads a build RUNPATH with ':' and
    # finds it again at install); nothing is left when every real entry is dropped.
    L=; d=; kept=; rest=$1; last=
    while [ -z "$last" ]; do
        case $rest in
            *:*) p=${{rest%%:*}}; rest=${{rest#*:}} ;;
            *) p=$rest; last=1 ;;
        esac
        if [ -z "$p" ]; then L=$L$d; d=:; continue; fi
        if [ "$3" = rp ]; then
            if rpent "$p"; then L=$L$d$R; d=:; kept=1
            else w "dropped $p from $2: RUNPATH must not name build-machine or" \
                   "sysroot paths (use \$ORIGIN)"; fi
        elif fixdir "$p" "$2"; then L=$L$d$R; d=:; kept=1; fi
    done
    [ -n "$kept" ] || L=
}}

ltok() {{
    TN=0
    case $st in
        rp|dir) k=$st; st=; plist "$1" "$pend $1" $k
                [ -n "$L" ] && {{ TN=2; T1=$pend; T2=$L; }}; return ;;
    esac
    case $1 in
        -rpath|--rpath|-R) st=rp; pend=$1 ;;
        -rpath-link|--rpath-link|-L|--library-path) st=dir; pend=$1 ;;
        -rpath=*|--rpath=*)
            plist "${{1#*=}}" "$1" rp; [ -n "$L" ] && {{ TN=1; T1=${{1%%=*}}=$L; }} ;;
        -rpath-link=*|--rpath-link=*|--library-path=*)
            plist "${{1#*=}}" "$1" dir; [ -n "$L" ] && {{ TN=1; T1=${{1%%=*}}=$L; }} ;;
        -R/*) plist "${{1#-R}}" "$1" rp; [ -n "$L" ] && {{ TN=1; T1=-R$L; }} ;;
        -L?*) fixdir "${{1#-L}}" "$1" && {{ TN=1; T1=-L$R; }} ;;
        *) TN=1; T1=$1 ;;
    esac
}}

wl() {{
    O=-Wl; IFS=,
    for t in ${{1#-Wl,}}; do
        IFS=$oIFS
        ltok "$t"
        case $TN in 1) O=$O,$T1 ;; 2) O=$O,$T1,$T2 ;; esac
    done
    IFS=$oIFS
    [ "$O" = -Wl ] && O=
}}

dk() {{
    # Is $1 an option that names a directory?  DK=sep: its value is the next word
    # (F: the option); DK=val: F is the option as written, V the value joined to it.
    DK=val
    case $1 in
        -I|-L|-B|-isystem|-idirafter|-iquote|-cxx-isystem|-isysroot|-iprefix|-iwithprefix|\
-iwithprefixbefore|--include-directory|--include-directory-after|--library-directory|\
--prefix|--sysroot|--include-prefix|--include-with-prefix|--include-with-prefix-before|\
--include-with-prefix-after) DK=sep; F=$1; return ;;
        --include-directory=*|--include-directory-after=*|--library-directory=*|--prefix=*|\
--sysroot=*|--include-prefix=*|--include-with-prefix=*|--include-with-prefix-before=*|\
--include-with-prefix-after=*) F=${{1%%=*}}= ;;
        -isysroot*) F=-isysroot ;;
        -isystem*) F=-isystem ;;
        -idirafter*) F=-idirafter ;;
        -iquote*) F=-iquote ;;
        -cxx-isystem*) F=-cxx-isystem ;;
        -iprefix*) F=-iprefix ;;
        -iwithprefixbefore*) F=-iwithprefixbefore ;;
        -iwithprefix*) F=-iwithprefix ;;
        -I*) F=-I ;;
        -L*) F=-L ;;
        -B*) F=-B ;;
        *) DK=; return ;;
    esac
    V=${{1#"$F"}}
}}

jd() {{
    # Judge directory $2 of option $1; hand what stays to the emitter $3 (joined, or
    # as two words when $4 is ' ').
    f=$1; v=$2; em=$3; sp=$4
    case $f in
        -iprefix|--include-prefix*) P=$v; out "$v"; return ;;
        -iwithprefix*|--include-with-prefix*)
            if [ -z "${{P+x}}" ]; then
                case $v in
                    *..*) w "dropped $f$sp$v: '..' under the compiler's own prefix" \
                            "(name the directory with -I)"; return ;;
                esac
                out "$v"; return
            fi
            fixdir "$P$v" "$f$sp$v" || return
            [ "$R" = "$P$v" ] && {{ out "$v"; return; }}
            case $f in *before*) f=-I ;; *) f=-idirafter ;; esac
            out "$R"; return ;;
        --sysroot*|-isysroot)
            norm "$v"
            if [ "$N" = / ] || sysdir "$N"; then
                w "dropped $f$sp$v: the build machine's root is not the host's sysroot"
                return
            fi
            out "$v"; return ;;
    esac
    case $v in
        =*) x=$S${{v#=}} ;;
        '$SYSROOT'*) x=$S${{v#'$SYSROOT'}} ;;
        *) x=$v ;;
    esac
    fixdir "$x" "$f$sp$v" || return
    [ "$R" = "$x" ] && R=$v
    out "$R"
}}

out() {{
    if [ -n "$sp" ]; then $em "$f" "$1"; else $em "$f$1"; fi
}}

e() {{
    # print each word single-quoted for the final eval (no word is ever expanded)
    for t do
        case $t in
            *\'*)
                q=; r=$t
                while :; do
                    case $r in
                        *\'*) q=$q${{r%%\'*}}"'\\''"; r=${{r#*\'}} ;;
                        *) q=$q$r; break ;;
                    esac
                done
                printf "'%s' " "$q" ;;
            *) printf "'%s' " "$t" ;;
        esac
    done
}}

pe() {{ for t do O=$O,$t; done; }}
xe() {{ for t do e -Xpreprocessor "$t"; done; }}

wp() {{
    # -Wp,...: the preprocessor's own -I/-isystem/-iprefix... words, mapped alike
    O=-Wp; pf=; IFS=,
    for t in ${{1#-Wp,}}; do
        IFS=$oIFS
        if [ -n "$pf" ]; then
            g=$pf; pf=; jd "$g" "$t" pe " "
        else
            dk "$t"
            case $DK in sep) pf=$F ;; val) jd "$F" "$V" pe "" ;; *) O=$O,$t ;; esac
        fi
    done
    IFS=$oIFS
    [ -n "$pf" ] && O=$O,$pf
    [ "$O" = -Wp ] && O=
}}

xp() {{
    if [ -n "$xpf" ]; then
        g=$xpf; xpf=; jd "$g" "$1" xe " "; return
    fi
    dk "$1"
    case $DK in sep) xpf=$F ;; val) jd "$F" "$V" xe "" ;; *) xe "$1" ;; esac
}}

lib() {{
    norm "$1"
    if ! sysdir "$N"; then e "$1"
    elif mapdir "$N"; then e "$R"
    else w "dropped $1: a build-machine library${{S:+ (the sysroot has no $R)}}"; fi
}}

rsp() {{
    # @FILE: read like gcc (libiberty's buildargv), bounded, and judge every word in
    # place; FILE stays a word when it cannot be read, as gcc keeps it.
    [ -f "${{1#@}}" ] && [ -r "${{1#@}}" ] || {{ e "$1"; return; }}
    nrsp=$((nrsp + 1)); dep=$((dep + 1))
    if [ $dep -gt {rsp_depth} ] || [ $nrsp -gt {rsp_files} ]; then
        w "refusing $1: response files nested deeper than {rsp_depth} or more than" \
          "{rsp_files} of them"
        exit 2
    fi
    sz=$(wc -c < "${{1#@}}") || exit 2
    tot=$((tot + sz))
    if [ "$tot" -gt {rsp_bytes} ]; then
        w "refusing $1: response files larger than {rsp_bytes} bytes in all"
        exit 2
    fi
    rw=$(LC_ALL=C awk "$AWK" < "${{1#@}}") || exit 2
    eval "set -- $rw"
    for ra do one "$ra"; done
    dep=$((dep - 1))
}}

AWK='
function out(s) {{ gsub(/'"'"'/, "'"'"'\\'"'"''"'"'", s); printf "'"'"'%s'"'"' ", s }}
{{
    line = $0 "\n"
    while (line != "") {{
        if (bs) {{ w = w substr(line, 1, 1); line = substr(line, 2); bs = 0; inw = 1; continue }}
        if (sq) {{ stop = "['"'"'\\\\]" }} else if (dq) {{ stop = "[\"\\\\]" }}
        else {{ stop = "['"'"'\"\\\\ \t\n\r\f\v]" }}
        i = match(line, stop)
        if (i == 0) {{ w = w line; inw = 1; break }}
        if (i > 1) {{ w = w substr(line, 1, i - 1); inw = 1 }}
        c = substr(line, i, 1); line = substr(line, i + 1)
        if (c == "\\") {{ bs = 1; inw = 1 }}
        else if (sq && c == "'"'"'") sq = 0
        else if (dq && c == "\"") dq = 0
        else if (c == "'"'"'") {{ sq = 1; inw = 1 }}
        else if (c == "\"") {{ dq = 1; inw = 1 }}
        else if (inw) {{ out(w); w = ""; inw = 0 }}
    }}
}}
END {{ if (inw) out(w) }}'

one() {{
    case $1 in
        @?*) rsp "$1"; return ;;
    esac
    case $nx in
        d) nx=; jd "$df" "$1" e " "; return ;;
        xl) nx=; ltok "$1"
            case $TN in
                1) e -Xlinker "$T1" ;;
                2) e -Xlinker "$T1" -Xlinker "$T2" ;;
            esac
            return ;;
        xp) nx=; xp "$1"; return ;;
        k) nx=; e "$1"; return ;;
    esac
    case $1 in
        -Xlinker) nx=xl; return ;;
        -Xpreprocessor) nx=xp; return ;;
        -o|-MF|-MT|-MQ|-include|-imacros|-x|-Xassembler|-imultilib|-iplugindir|-aux-info|\
--param|-dumpdir|-dumpbase|-dumpbase-ext) e "$1"; nx=k; return ;;
        -Wl,*) wl "$1"; [ -n "$O" ] && e "$O"; return ;;
        -Wp,*) wp "$1"; [ -n "$O" ] && e "$O"; return ;;
        *.so|*.so.*|*.a) lib "$1"; return ;;
    esac
    dk "$1"
    case $DK in
        sep) nx=d; df=$F ;;
        val) jd "$F" "$V" e "" ;;
        *) e "$1" ;;
    esac
}}

# The mapped words are printed quoted and read back with one eval: linear in the
# number of words (rebuilding "$@" word by word would be quadratic).
words=$(
    unset P; nx=; xpf=; st=; pend=; nrsp=0; dep=0; tot=0
    for a do one "$a"; done
    case $nx in d) e "$df" ;; xl) e -Xlinker ;; xp) e -Xpreprocessor ;; esac
    [ -n "$xpf" ] && xe "$xpf"
    case $st in rp|dir) e "-Wl,$pend" ;; esac
) || exit
eval "set -- $words"
run "$@"
"""


def _multiarch_lines(build: str, host: str) -> str:
    if not build or not host or build == host:
        return ""
    lines = ["    case $R in"]
    for base in MULTIARCH_BASES:
        lines.append(f'        {base}/"$B"|{base}/"$B"/*) R={base}/$H${{R#{base}/"$B"}} ;;')
    lines.append("    esac")
    return "\n".join(lines) + "\n"


def render(real: tuple[str, ...] | list[str], config: dict[str, object],
           launcher: Sequence[str] = (), hint: Sequence[object] = ("", "", "")) -> str:
    """The wrapper script for the compiler command *real* (its program, by name or path),
    run through *launcher* (validated by :mod:`crossenv.launcher`) if one is given; *hint*
    is (build python, runtime file, settings) of the missing-header hint, or empties."""
    sysroot = str(config["sysroot"])
    keep = [str(k) for k in config.get("keep", ()) if str(k)]  # type: ignore[attr-defined]
    if sysroot:
        keep.insert(0, sysroot)
    build = str(config["build_multiarch"])
    host = str(config["host_multiarch"])
    defaults = ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
    if host:
        defaults += [f"/lib/{host}", f"/usr/lib/{host}"]
    system = "|".join(f"{d}|{d}/*" for d in SYSTEM_DIRS)
    return _TEMPLATE.format(
        real_text=" ".join(real).replace("\n", " "),
        program=quoting.shell(launcher[0]) if launcher else "''",
        arguments=quoting.shell_join(launcher[1:]) or "''",
        text=quoting.shell(launcher_text(launcher)),
        subcommand="1" if os.path.basename(real[0]) == "zig" else "0",
        compiler=quoting.shell(real[0]),
        name=quoting.shell(os.path.basename(real[0]) or real[0]),
        rest="".join(f" {quoting.shell(word)}" for word in real[1:]),
        sysroot=shlex.quote(sysroot),
        build=shlex.quote(build),
        host=shlex.quote(host),
        keep=_case_alternatives(keep) if keep else "''",
        system=system,
        multiarch=_multiarch_lines(build, host),
        default_libs="|".join(f"{d}|{d}/" for d in defaults),
        rsp_depth=RSP_DEPTH, rsp_files=RSP_FILES, rsp_bytes=RSP_BYTES,
        **{f"hint_{k}": quoting.shell(str(v)) if v else "''"
           for k, v in dict(python=hint[0], file=hint[1], settings=hint[2]).items()},
    )


def write(directory: Path, layout: Layout, host: HostDescription, chain: Toolchain,
          options: Options) -> dict[str, str]:
    """Write one wrapper per compiler program and ``hostpaths.json`` (read by the
    setuptools hook); no variables to export."""
    config = settings(host, chain, layout.env, layout.cross)
    bin_dir = directory / BIN_DIR
    bin_dir.mkdir(parents=True, exist_ok=True)
    hint: tuple[object, ...] = ("", "", "")
    header_settings = headers.settings(host.arch, host.sysroot, host.version_str)
    if header_settings is not None:
        (directory / headers.SETTINGS_NAME).write_text(
            json.dumps(header_settings, indent=2) + "\n", encoding="utf-8")
        hint = (layout.build_python, layout.cross_site / headers.RUNTIME,
                layout.crossenv_dir / headers.SETTINGS_NAME)  # final paths, not staging's
    for words in (chain.cc, chain.cxx, chain.fc):
        if not words:
            continue
        path = bin_dir / _wrapper_name(words[0])
        path.write_text(render((words[0],), config, options.compiler_launcher, hint),
                        encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    if options.compiler_launcher:  # what the wrappers run anyway; shown by describe
        return {LAUNCHER_VAR: launcher_text(options.compiler_launcher),
                **cache_environment(options.compiler_launcher, layout.env)}
    return {}
