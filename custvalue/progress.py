"""Progress bars for work that takes more than a couple of seconds.

A bar appears only where someone is watching — a Jupyter notebook or a
terminal — and only once the work has run for ``DELAY`` seconds, through
tqdm (the ``progress`` extra: ``pip install "custvalue[progress]"``): a widget
in Jupyter where ipywidgets is installed, a text bar otherwise. Scripts, pipes and CI logs stay silent. Every
function that shows one takes ``progress=``: ``False`` silences it, ``True``
shows it wherever tqdm is installed, ``None`` (the default) decides as above.

Examples
--------
>>> list(progress(range(3), "counting", enabled=False))
[0, 1, 2]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from custvalue.errors import InvalidParameterError

__all__ = ["progress", "check_progress"]

Item = TypeVar("Item")
DELAY = 2.0  # seconds of work before a bar appears


def check_progress(enabled: object) -> bool | None:
    """The ``progress=`` argument checked: True, False or None."""
    if enabled is None or isinstance(enabled, bool):
        return enabled
    raise InvalidParameterError(f"progress={enabled!r} is not valid: use True, False or None (automatic)")


def _watched() -> bool:
    """True in a Jupyter kernel or when standard error is a terminal."""
    if "ipykernel" in sys.modules:
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty is not None and isatty())


def progress(iterable: Iterable[Item], label: str, *, total: int | None = None,
             enabled: bool | None = None) -> Iterable[Item]:
    """``iterable``, with a progress bar labelled ``label`` when one should show (see the module docstring)."""
    show = check_progress(enabled)
    if show is False or (show is None and not _watched()):
        return iterable
    try:
        bar = _bar_class()
    except ImportError:
        return iterable
    return bar(iterable, desc=label, total=total, delay=DELAY, leave=False)


def _bar_class() -> Any:
    """tqdm's notebook widget in Jupyter when ipywidgets is installed, its text bar otherwise (tqdm.auto would
    warn about the missing widgets instead)."""
    from importlib.util import find_spec

    if "ipykernel" in sys.modules and find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm as notebook_bar

        return notebook_bar
    from tqdm import tqdm as text_bar

    return text_bar
