"""The model registry: names to classes, ``@register`` for users, entry points for packages."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from custvalue.errors import UnknownModelError
from custvalue.models._base import BaseModel

_REGISTRY: dict[str, type[BaseModel]] = {}
ENTRY_POINT_GROUP = "custvalue.models"
_entry_points_loaded = False


def register(cls: type[BaseModel]) -> type[BaseModel]:
    """Class decorator adding a model to the registry under ``cls.name``.

    Examples
    --------
    >>> from custvalue.models import BaseModel, register, available
    >>> @register
    ... class MyModel(BaseModel):
    ...     name = "my_model"
    >>> "my_model" in available()
    True
    >>> _ = _REGISTRY.pop("my_model")
    """
    if not (isinstance(cls, type) and issubclass(cls, BaseModel) and cls.name):
        raise TypeError("@register takes a BaseModel subclass with a non-empty class attribute `name`")
    _REGISTRY[cls.name] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for point in entry_points(group=ENTRY_POINT_GROUP):
        loaded = point.load()
        if isinstance(loaded, type) and issubclass(loaded, BaseModel) and loaded.name not in _REGISTRY:
            _REGISTRY[loaded.name] = loaded


def available() -> list[str]:
    """Registered model names, sorted.

    Examples
    --------
    >>> "bgnbd" in available()
    True
    """
    _load_entry_points()
    return sorted(_REGISTRY)


def model_class(name: str) -> type[BaseModel]:
    """The class registered under ``name``."""
    _load_entry_points()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownModelError(f"unknown model {name!r}; available models: {available()}") from None


def get(name: str, **hyper_parameters: Any) -> BaseModel:
    """An unfitted model by registry name, with hyper-parameters as keywords.

    Examples
    --------
    >>> get("bgnbd", penalizer=0.001)
    BetaGeo(penalizer=0.001)
    """
    return model_class(name)(**hyper_parameters)


def load(path) -> BaseModel:
    """Read any registered model saved with ``model.save(path)``."""
    import json
    from pathlib import Path

    data = json.loads(Path(path).read_text())
    return model_class(data.get("model")).from_dict(data)
