"""Progress bars for work that takes more than a couple of seconds.

A bar appears only where someone is watching — a Jupyter notebook or a
terminal — and only once the work has run for ``DELAY`` seconds, through
tqdm's automatic front end (the ``progress`` extra: ``pip install
"custvalue[progress]"``). Scripts, pipes and CI logs stay silent. Every
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
from typing import TypeVar

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
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=label, total=total, delay=DELAY, leave=False)
