"""What custvalue remembers about a frame: its cleaning report, the fitted models.

pandas accessors keep no state (pandas 3 builds a new one on every access), so
results carry their history in ``DataFrame.attrs["custvalue"]``. pandas
propagates ``attrs`` through filtering, sorting, ``assign`` and ``copy``, and
deep-copies them on the way; :class:`Provenance` is immutable and returns
itself from ``__deepcopy__``, so that propagation costs nothing even when it
holds the row positions of a 20-million-row cleaning report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from custvalue.engines import engine_step

ATTRS_KEY = "custvalue"


class Provenance(str):
    """An immutable mapping of what produced a frame (``report``, ``model``, ...).

    It is also a short text naming its keys: pandas writes ``attrs`` as JSON
    when saving to Parquet, and a plain object would make ``to_parquet``
    fail. Only that text is written; a frame read back carries no models.
    Two provenances are equal only when they are the same object, so that
    ``pd.concat`` does not hand one frame's models to another.
    """

    _items: dict[str, Any]

    def __new__(cls, **items: Any) -> Provenance:
        self = super().__new__(cls, "custvalue provenance: " + ", ".join(sorted(items)))
        self._items = dict(items)
        return self

    def __reduce__(self) -> tuple[Callable[[dict[str, Any]], Provenance], tuple[dict[str, Any]]]:
        return _restore, (self._items,)

    def __deepcopy__(self, memo: dict) -> Provenance:
        return self

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"Provenance({', '.join(sorted(self._items))})"

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def updated(self, **items: Any) -> Provenance:
        return Provenance(**{**self._items, **items})


def _restore(items: dict[str, Any]) -> Provenance:
    return Provenance(**items)


@runtime_checkable
class Deferred(Protocol):
    """A recorded result that an engine computes when it is first asked for (a lazy cleaning report)."""

    def resolve(self) -> Any: ...


def _attrs(frame: Any) -> dict:
    """The dict in which ``frame`` carries what custvalue records: ``attrs`` of a pandas frame, or
    whatever the frame's engine says (a Dask frame keeps it on the pandas frame describing its partitions)."""
    attrs_of = engine_step("attrs", frame)
    attrs = attrs_of(frame) if attrs_of is not None else getattr(frame, "attrs", None)
    return attrs if isinstance(attrs, dict) else {}


def provenance(frame: Any) -> Provenance:
    """Return the provenance carried by ``frame`` (empty when it has none)."""
    found = _attrs(frame).get(ATTRS_KEY)
    return found if isinstance(found, Provenance) else Provenance()


def attach(frame: pd.DataFrame, **items: Any) -> pd.DataFrame:
    """Record ``items`` on ``frame`` (which the caller owns) and return it."""
    frame.attrs[ATTRS_KEY] = provenance(frame).updated(**items)
    return frame
