"""The model registry: names to classes, one way to look a model up, ``@register`` and entry points."""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from typing import Any

from custvalue.errors import InvalidParameterError, UnknownModelError
from custvalue.models import _files
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


def load(path: str | os.PathLike[str]) -> BaseModel:
    """Read any registered model saved with ``model.save(path)``, checking every field first.

    Raises :class:`~custvalue.errors.ModelFileError` naming the field and the file when the file is not
    UTF-8 JSON, is larger than 10 MB or nested too deeply, names a model that is not registered, or has a
    field that is missing, unknown, of the wrong type or out of range.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from custvalue.models import BetaGeo
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.json"
    >>> BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259).save(path)
    >>> load(path).params_.tolist()
    [0.2426, 4.4136, 0.7929, 2.4259]
    >>> _ = path.write_text(path.read_text().replace('"converged": true', '"converged": "no"'))
    >>> try:
    ...     load(path)
    ... except ValueError as err:
    ...     print(err.field)
    converged
    """
    source = _files.describe(path)
    data = _files.read_json(path)
    name = _files.model_name(data, source)
    _load_entry_points()
    cls = REGISTRY.get(name)
    if cls is None:
        raise _files.problem(source, "model", f"is {name!r}, which is not a registered model (available: "
                                              f"{available()})",
                             "install the package that provides it, or correct the name")
    return cls._from_dict(data, source)
