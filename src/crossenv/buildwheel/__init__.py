"""``crossenv buildwheel``: cibuildwheel's configuration, built by cross-compiling.

The package is split by job: :mod:`.identifiers` (which builds exist), :mod:`.selector`
(cibuildwheel's build/skip patterns), :mod:`.config` (reading ``[tool.cibuildwheel]``,
``CIBW_*`` and the command line), :mod:`.symbols` (glibc symbol versions against a
policy), :mod:`.runner` (one identifier through :mod:`crossenv.api`, several in
parallel), :mod:`.report` (the table and JSON) and :mod:`.command` (the subcommand).
This ``__init__`` imports nothing, so :mod:`crossenv.api` can use :mod:`.symbols`
without an import circle.
"""
