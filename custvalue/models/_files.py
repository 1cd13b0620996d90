"""Model files: reading JSON safely and checking a saved model against its schema before anything is built.

A model file (``model.save(path)``, or the dictionary of ``model.to_dict()``)
holds, in format version 1:

* ``format_version`` — 1 (files written before it existed count as 1);
* ``model`` — the registry name of the model;
* ``hyper_parameters`` — exactly the model's hyper-parameters (those of its ``__init__``);
* and, for a fitted model, ``params`` (exactly the model's parameter names, finite and in range),
  ``log_likelihood`` (a finite number or null), ``n_customers`` (a finite number >= 0),
  ``converged`` (true or false), ``covariance_log`` (k lists of k finite numbers or nulls) and,
  optionally, ``unidentified`` (the parameters the data did not identify, and how).

Anything else — not UTF-8, not JSON, larger than :data:`MAX_FILE_BYTES`,
nested deeper than :data:`MAX_DEPTH`, a repeated key, a missing or unknown
field, a value of the wrong type or out of range — raises
:class:`~custvalue.errors.ModelFileError` naming the field and the file.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np

from custvalue.errors import InvalidParameterError, ModelFileError
from custvalue.models._identification import WAYS

FORMAT_VERSION = 1
#: Larger files are refused before they are read (a fitted model with 50 parameters takes about 60 kB).
MAX_FILE_BYTES = 10 * 2**20
#: Deeper nesting is refused before parsing (a model file nests 3 levels).
MAX_DEPTH = 20

FITTED_FIELDS = ("params", "log_likelihood", "n_customers", "converged", "covariance_log")
#: Fields a fitted model may have: the parameters the data did not identify (see IdentificationWarning).
OPTIONAL_FIELDS = ("unidentified",)
FIX = "save the model again with model.save(path), or correct the file"

_STRING = re.compile(rb'"(?:\\.|[^"\\])*"')


def describe(path: object) -> str:
    """How messages name a file."""
    return f"model file {str(path)!r}"


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object in the file at ``path``, or :class:`ModelFileError` saying what is wrong with it."""
    if not isinstance(path, str | os.PathLike):
        raise InvalidParameterError(f"path={path!r} is not valid: it must be a file path (a str or pathlib.Path)")
    source = describe(path)
    file = Path(path)
    size = file.stat().st_size  # a missing file raises FileNotFoundError, as open() would
    if size > MAX_FILE_BYTES:
        raise ModelFileError(f"{source} is {size:,} bytes; a model file is at most {MAX_FILE_BYTES:,} bytes "
                             f"(model files are small JSON documents): is this the right file?", "file", source)
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelFileError(f"{source} is not UTF-8 text (byte {err.start} is {raw[err.start]:#04x}): "
                             "it is not a file written by model.save(path)", "file", source) from None
    return parse_json(text, source, raw)


def parse_json(text: str, source: str, raw: bytes | None = None) -> dict[str, Any]:
    """``text`` parsed as a JSON object, refusing deep nesting and repeated keys."""
    depth = nesting_depth(text.encode("utf-8") if raw is None else raw)
    if depth > MAX_DEPTH:
        raise ModelFileError(f"{source} nests {depth} levels deep; a model file nests at most {MAX_DEPTH}",
                             "file", source)
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except _RepeatedKeyError as err:
        raise ModelFileError(f"{source}: field {err.key!r} appears more than once; {FIX}", err.key, source) from None
    except json.JSONDecodeError as err:
        raise ModelFileError(f"{source} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}): "
                             "it is not a file written by model.save(path)", "file", source) from None
    if not isinstance(data, dict):
        raise ModelFileError(f"{source} holds a JSON {type(data).__name__}, not the object model.save(path) "
                             "writes", "file", source)
    return data


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of JSON arrays and objects in ``raw``, strings ignored (one pass, no recursion)."""
    skeleton = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    steps = np.isin(skeleton, (ord("["), ord("{"))).astype(np.int64) - np.isin(skeleton, (ord("]"), ord("}")))
    return int(np.max(np.cumsum(steps), initial=0))


class _RepeatedKeyError(Exception):
    def __init__(self, key: str):
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKeyError(key)
        out[key] = value
    return out


def problem(source: str, field: str, text: str, fix: str = FIX) -> ModelFileError:
    """The error for ``field`` of ``source``: what is wrong, and how to fix it."""
    return ModelFileError(f"{source}: field {field!r} {text}; {fix}", field, source)


def model_name(data: object, source: str) -> str:
    """The registry name a model file gives (its ``model`` field), before the rest is checked."""
    if not isinstance(data, dict):
        raise ModelFileError(f"{source} must be a dictionary (model.to_dict()), got {type(data).__name__}",
                             "file", source)
    if "model" not in data:
        raise problem(source, "model", "is missing")
    if not isinstance(data["model"], str):
        raise problem(source, "model", f"must be a model name (a string), got {data['model']!r}")
    return data["model"]


def check_layout(data: object, source: str, extra_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """``data`` if it is a dictionary with the fields of a model file (and ``extra_fields``), its version known."""
    model_name(data, source)  # refuses anything but a dictionary with a model name
    data = cast(dict[str, Any], data)
    allowed = {"format_version", "model", "hyper_parameters", *FITTED_FIELDS, *OPTIONAL_FIELDS, *extra_fields}
    unknown = sorted(map(str, set(data) - allowed))
    if unknown:
        raise problem(source, unknown[0], f"is not a field of a model file (it has {sorted(allowed)})")
    if "hyper_parameters" not in data:
        raise problem(source, "hyper_parameters", "is missing")
    version = data.get("format_version", 1)
    if not is_integer(version) or version < 1:
        raise problem(source, "format_version", f"must be a whole number >= 1, got {version!r}")
    if version > FORMAT_VERSION:
        raise problem(source, "format_version", f"is {version}, a format newer than this custvalue reads (up to "
                                                f"{FORMAT_VERSION})", "upgrade custvalue to load it")
    present = [f for f in FITTED_FIELDS if f in data]
    if present and len(present) < len(FITTED_FIELDS):
        missing = next(f for f in FITTED_FIELDS if f not in data)
        raise problem(source, missing, f"is missing (a fitted model has all of {list(FITTED_FIELDS)})")
    if not isinstance(data["hyper_parameters"], dict):
        raise problem(source, "hyper_parameters", f"must be an object, got {type(data['hyper_parameters']).__name__}")
    return data


def check_params(params: object, names: tuple[str, ...], check: Callable[[str, object], float], model: str,
                 source: str) -> dict[str, float]:
    """``params`` as floats if it holds exactly ``names``, each passing ``check(name, value)`` (which raises
    InvalidParameterError); ``model`` says what the names are, for messages."""
    if not isinstance(params, dict):
        raise problem(source, "params", f"must be an object of {list(names)}")
    missing = [p for p in names if p not in params]
    unknown = [p for p in params if p not in names]
    if missing or unknown:
        raise problem(source, f"params.{(missing + unknown)[0]}",
                      f"is {'missing' if missing else 'not a parameter of the model'} ({model})")
    values = {}
    for name in names:
        try:
            values[name] = check(name, params[name])
        except InvalidParameterError as err:
            raise problem(source, f"params.{name}", f"has a value the model cannot use: {err}") from None
    return values


def check_fitted_state(data: dict[str, Any], names: tuple[str, ...], source: str) -> dict[str, Any]:
    """log_likelihood, n_customers, converged, covariance_log and unidentified, checked and converted (NaN for
    nulls)."""
    log_likelihood = data["log_likelihood"]
    if log_likelihood is None or (is_number(log_likelihood) and math.isnan(log_likelihood)):
        log_likelihood = math.nan
    elif not (is_number(log_likelihood) and math.isfinite(log_likelihood)):
        raise problem(source, "log_likelihood", f"must be a finite number or null, got {log_likelihood!r}")
    n_customers = data["n_customers"]
    if not (is_number(n_customers) and math.isfinite(n_customers) and n_customers >= 0):
        raise problem(source, "n_customers", f"must be a finite number >= 0, got {n_customers!r}")
    converged = data["converged"]
    if not isinstance(converged, bool):
        raise problem(source, "converged", f"must be true or false, got {converged!r}")
    unidentified = data.get("unidentified", {})
    if not (isinstance(unidentified, dict) and set(unidentified) <= set(names)
            and all(v in WAYS for v in unidentified.values())):
        raise problem(source, "unidentified", f"must map parameter names to one of {list(WAYS)}")
    return {"log_likelihood": float(log_likelihood), "n_customers": float(n_customers), "converged": converged,
            "covariance_log": check_covariance(data["covariance_log"], len(names), source),
            "unidentified": dict(unidentified)}


def check_covariance(rows: object, k: int, source: str) -> np.ndarray:
    """A k × k matrix of finite numbers or nulls (NaN) from nested lists."""
    shape = f"{k} lists of {k} numbers or nulls (one per parameter)"
    if not isinstance(rows, list) or len(rows) != k or not all(isinstance(row, list) and len(row) == k
                                                                for row in rows):
        raise problem(source, "covariance_log", f"must be {shape}")
    matrix = np.full((k, k), np.nan)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is None:
                continue
            if not (is_number(value) and math.isfinite(value)):
                raise problem(source, f"covariance_log[{i}][{j}]", f"must be a finite number or null, got {value!r}")
            matrix[i, j] = float(value)
    return matrix


def is_number(value: object) -> bool:
    """A real number (numpy's included), not a boolean or a string."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def is_integer(value: object) -> bool:
    """A whole number (a float holding one too), not a boolean."""
    if not is_number(value):
        return False
    number = float(value)  # type: ignore[arg-type]
    return math.isfinite(number) and number == int(number)


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and tuples as lists, for ``json.dumps``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value
