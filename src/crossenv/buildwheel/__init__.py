"""``crossenv buildwheel``: cibuildwheel's configuration, built by cross-compiling.

The package is split by job: :mod:`.identifiers` (which builds exist), :mod:`.selector`
(cibuildwheel's build/skip patterns), :mod:`.config` (reading ``[tool.cibuildwheel]``,
``CIBW_*`` and the command line), :mod:`.runner` (one identifier through
:mod:`crossenv.api`, several in parallel), :mod:`.report` (the table and JSON) and
:mod:`.command` (the subcommand). It sits above :mod:`crossenv.api`: what the API needs
of a build (glibc symbol versions against a policy, a test command on the host) lives
below it, in :mod:`crossenv.symbols` and :mod:`crossenv.testcmd`.
"""
