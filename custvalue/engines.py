"""Engines beside pandas: how an adapter package plugs its frame type into the core steps.

The core knows pandas only. An adapter (``custvalue.dask`` today) registers
its frame type with the steps it implements when it is imported; the core
steps then hand such frames to it. Nothing here imports an adapter, so the
core neither pays for nor depends on one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from custvalue.errors import SchemaError

__all__ = ["register_engine", "engine_step", "not_a_frame_error"]

_ENGINES: dict[type, dict[str, Callable[..., Any]]] = {}
# Adapters shipped with custvalue, by the top-level package of the frame types they serve: named in
# the error a user gets when they pass such a frame before importing the adapter.
KNOWN_ADAPTERS = {"dask": "custvalue.dask"}


def register_engine(frame_type: type, **steps: Callable[..., Any]) -> None:
    """Serve ``frame_type`` with ``steps`` (step name → implementation taking the same arguments as
    the core step). The step ``attrs`` returns the dict in which the frame carries custvalue's record.

    Examples
    --------
    >>> class Rows(list):
    ...     pass
    >>> register_engine(Rows, summarize=lambda data, *args, **kwargs: f"{len(data)} rows summarized")
    >>> engine_step("summarize", Rows([1, 2]))(Rows([1, 2]))
    '2 rows summarized'
    >>> _ = _ENGINES.pop(Rows)
    """
    _ENGINES.setdefault(frame_type, {}).update(steps)


def engine_step(step: str, data: object) -> Callable[..., Any] | None:
    """The registered implementation of ``step`` for ``data``'s type, or None (pandas and anything else)."""
    for frame_type, steps in _ENGINES.items():
        if isinstance(data, frame_type) and step in steps:
            return steps[step]
    return None


def not_a_frame_error(data: object, what: str) -> SchemaError:
    """The error for ``data`` that is not a pandas DataFrame, naming the adapter to import if there is one."""
    kind = type(data)
    message = f"{what}: expected a pandas DataFrame, got {kind.__module__}.{kind.__qualname__}"
    adapter = KNOWN_ADAPTERS.get(kind.__module__.split(".")[0])
    if adapter is not None:
        message += f". How to fix: `import {adapter}` first; it teaches custvalue this kind of frame"
    return SchemaError(message)
