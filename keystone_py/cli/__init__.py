"""``keystone-py``: the command line (``main``), a module per group of commands.

* :mod:`.main` – the parser and ``main``;
* :mod:`.setup` – ``doctor``, ``setup``;
* :mod:`.build` – ``build``, ``artifacts``, ``host-test``;
* :mod:`.boot` – ``boot``, ``gdb``, ``run``, ``bench``;
* :mod:`.attest` – ``measure``, ``attest verify``.

Only the standard library is imported until a command needs more.
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
