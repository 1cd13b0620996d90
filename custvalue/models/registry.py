"""The model registry: names to classes, one way to look a model up, ``@register`` and entry points."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from custvalue.errors import InvalidParameterError, UnknownModelError
from custvalue.models._base import REGISTRY, Ability, BaseModel, Role

__all__ = ["register", "available", "resolve", "get", "load"]

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
    >>> _ = REGISTRY.pop("my_model")
    """
    if not (isinstance(cls, type) and issubclass(cls, BaseModel) and cls.name):
        raise TypeError("@register takes a BaseModel subclass with a non-empty class attribute `name`")
    REGISTRY[cls.name] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for point in entry_points(group=ENTRY_POINT_GROUP):
        loaded = point.load()
        if isinstance(loaded, type) and issubclass(loaded, BaseModel) and loaded.name not in REGISTRY:
            REGISTRY[loaded.name] = loaded


def available(role: Role | str | None = None, ability: Ability | str | None = None) -> list[str]:
    """Registered model names, sorted; only those of ``role`` and with ``ability`` when given.

    Examples
    --------
    >>> "bgnbd" in available()
    True
    >>> available(role="spend")
    ['gammagamma', 'gammagamma_individual']
    >>> "formula" in available(ability="p_alive")
    False
    """
    _load_entry_points()
    try:
        wanted_role = None if role is None else Role(role)
        wanted_ability = None if ability is None else Ability(ability)
    except ValueError:
        raise InvalidParameterError(
            f"unknown role {role!r} or ability {ability!r}; roles: {[r.value for r in Role]}, "
            f"abilities: {[a.value for a in Ability]}") from None
    return sorted(name for name, cls in REGISTRY.items()
                  if (wanted_role is None or cls.role is wanted_role)
                  and (wanted_ability is None or wanted_ability in cls.abilities))


def resolve(spec: str | type[BaseModel] | BaseModel, **hyper_parameters: Any) -> BaseModel:
    """The model ``spec`` names: a registry name, a model class or a model instance.

    Names and classes give a new unfitted model with ``hyper_parameters``. A
    fitted instance is returned as it is (steps only read it). An unfitted
    instance is returned as a clone, so that fitting it never changes the
    caller's object; ``hyper_parameters`` are set on the clone.

    Examples
    --------
    >>> resolve("bgnbd", penalizer=0.001)
    BetaGeo(penalizer=0.001)
    >>> from custvalue.models import ParetoNBD
    >>> resolve(ParetoNBD).name
    'paretonbd'
    """
    if isinstance(spec, str):
        _load_entry_points()
        if spec not in REGISTRY:
            raise UnknownModelError(f"unknown model {spec!r}; available models: {available()}")
        return REGISTRY[spec](**hyper_parameters)
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return spec(**hyper_parameters)
    if isinstance(spec, BaseModel):
        if spec.is_fitted:
            if hyper_parameters:
                raise InvalidParameterError(
                    f"this {type(spec).__name__} is already fitted, so {sorted(hyper_parameters)} would not "
                    "apply to it; pass its name or an unfitted model instead")
            return spec
        return spec.clone().set_params(**hyper_parameters)
    raise InvalidParameterError(
        f"a model must be a registry name (one of {available()}), a model class or a model instance; "
        f"got {type(spec).__name__} {spec!r}")


def get(name: str, **hyper_parameters: Any) -> BaseModel:
    """An unfitted model by registry name, with hyper-parameters as keywords (:func:`resolve` for names).

    Examples
    --------
    >>> get("bgnbd", penalizer=0.001)
    BetaGeo(penalizer=0.001)
    """
    if not isinstance(name, str):
        raise InvalidParameterError(f"get takes a registry name such as 'bgnbd', got {type(name).__name__}; "
                                    "for classes and instances use custvalue.models.resolve")
    return resolve(name, **hyper_parameters)


def load(path: str | Path) -> BaseModel:
    """Read any registered model saved with ``model.save(path)``."""
    data = json.loads(Path(path).read_text())
    model = resolve(data.get("model"))
    return model.from_dict(data)
