"""Render crossenv's command line reference from the real argparse parsers.

``.. crossenv-cli::`` documents ``crossenv HOST_PYTHON ENV`` from
:func:`crossenv.cli.build_create_parser`; ``.. crossenv-cli:: check`` documents one
subcommand from the ``register()`` of its module in :data:`crossenv.cli.SUBCOMMANDS`;
``.. crossenv-subcommands::`` documents every subcommand whose module exists. So the
reference can never disagree with ``crossenv --help``. ``.. crossenv-arches::`` is the
paragraph of ``--arch`` values, from the architecture table as ``--help`` and the errors
say them (:func:`crossenv.arches.arch_choices`); ``.. crossenv-releases::`` is the table
of Debian releases crossenv provisions from (:data:`crossenv.releases.RELEASES`).
"""

from __future__ import annotations

import argparse
import importlib
import re

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

_RST_SPECIAL = re.compile(r"([\\*`_|])")


def _escape(text: str) -> str:
    return _RST_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def subcommand_parser(name: str) -> argparse.ArgumentParser | None:
    """The parser of subcommand *name*, or None if its module is not in this version."""
    from crossenv import cli

    try:
        module = importlib.import_module(cli.SUBCOMMANDS[name])
    except ModuleNotFoundError:
        return None
    parser = argparse.ArgumentParser(prog="crossenv")
    subparsers = parser.add_subparsers(dest="command")
    module.register(subparsers)
    return subparsers.choices[name]


def _parser_lines(parser: argparse.ArgumentParser, program: str) -> list[str]:
    formatter = parser._get_formatter()
    lines = [".. program:: " + program, "", ".. code-block:: text", ""]
    usage = parser.format_usage().strip()
    lines += ["   " + line for line in usage.splitlines()] + [""]
    if parser.description:
        lines += [_escape(parser.description), ""]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.help is not argparse.SUPPRESS]
        if not actions:
            continue
        title = {"positional arguments": "Arguments", "options": "Options",
                 "optional arguments": "Options"}.get(group.title or "", group.title or "")
        lines += [f".. rubric:: {_escape(title[:1].upper() + title[1:])}", ""]
        for action in actions:
            invocation = formatter._format_action_invocation(action)
            lines += [f".. option:: {invocation}", ""]
            text = action.help or ""
            if "%(" in text:
                text = text % {"default": action.default, "prog": parser.prog,
                               "choices": action.choices}
            lines += ["   " + (_escape(text) or "(no description)"), ""]
    return lines


class CrossenvCli(SphinxDirective):
    optional_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        from crossenv import cli

        if self.arguments:
            name = self.arguments[0]
            parser = subcommand_parser(name)
            if parser is None:
                raise self.error(f"crossenv has no subcommand module for {name!r}")
            lines = _parser_lines(parser, f"crossenv {name}")
        else:
            lines = _parser_lines(cli.build_create_parser(), "crossenv")
        return self._parse(lines)

    def _parse(self, lines: list[str]) -> list[nodes.Node]:
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="crossenv --help"), node)
        return node.children


class CrossenvSubcommands(CrossenvCli):
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        from crossenv import cli

        lines: list[str] = []
        for name in cli.SUBCOMMANDS:
            parser = subcommand_parser(name)
            if parser is None:
                continue
            lines += [f".. _cli-{name}:", "", f"crossenv {name}", "-" * (9 + len(name)), ""]
            lines += _parser_lines(parser, f"crossenv {name}")
        return self._parse(lines)


class CrossenvArches(CrossenvCli):
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        from crossenv import arches

        return self._parse([f"``--arch`` accepts: {_escape(arches.arch_choices())}.", ""])


class CrossenvReleases(CrossenvCli):
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        from crossenv import _recorded_releases, releases

        lines = [".. list-table:: Recorded from each release's Packages index on "
                 f"{_recorded_releases.RECORDED_ON} (scripts/record-releases.py); crossenv "
                 "reads the index itself when it provisions", "   :header-rows: 1", ""]
        rows = [("Release", "Python", "glibc", "C++ library", "Architectures")]
        for release in releases.RELEASES:
            cxx = next((p for p in release.packages if p.startswith("libstdc++")), "")
            rows.append((release.suite, ", ".join(release.pythons), release.glibc,
                         f"``{cxx}``", " ".join(release.architectures)))
        for row in rows:
            lines += [f"   * - {row[0]}", *(f"     - {cell}" for cell in row[1:])]
        return self._parse([*lines, ""])


def setup(app):  # type: ignore[no-untyped-def]
    app.add_directive("crossenv-cli", CrossenvCli)
    app.add_directive("crossenv-arches", CrossenvArches)
    app.add_directive("crossenv-releases", CrossenvReleases)
    app.add_directive("crossenv-subcommands", CrossenvSubcommands)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
