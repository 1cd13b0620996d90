"""Why a fit ended at an edge of the parameter space, in the data's terms, and what to do about it.

When maximum likelihood finds its highest value as some parameters run to 0
or infinity (or finds a likelihood that does not depend on them), those
parameters are not identified by the data. The message of the
:class:`~custvalue.errors.IdentificationWarning` names them, gives the facts
of the data that explain it (how long customers were observed, how many
bought again, ...) and the remedies, as calls that work as written.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

#: The ways a parameter is not identified: running to an edge, or leaving the likelihood (nearly) flat.
WAYS = ("to 0", "to infinity", "to -infinity", "flat")
#: How each way of running to an edge is described.
HOW = {"to 0": "runs to 0", "to infinity": "runs to infinity", "to -infinity": "runs to -infinity"}


def way(direction: str, log_scale: bool) -> str:
    """The way (one of :data:`WAYS`) of the optimiser's "down", "up" or "flat" for a parameter on the log
    scale (down is to 0) or a coefficient (down is to -infinity)."""
    if direction == "flat":
        return "flat"
    if direction == "up":
        return "to infinity"
    return "to 0" if log_scale else "to -infinity"


def identification_message(model: Any, data: Any, weights: np.ndarray | None, unidentified: dict[str, str],
                           registry: Mapping[str, Any]) -> str:
    """The warning text for ``model`` (a :class:`~custvalue.models.BaseModel`) fitted on ``data`` (with
    ``weights``), ``unidentified`` its parameters not identified and how (one of :data:`WAYS`);
    ``registry`` the registered models, for the calls the message suggests."""
    what = _parameters(model, unidentified)
    facts = data_facts(data, weights)
    running = {k: v for k, v in unidentified.items() if v != "flat"}
    flat = [k for k, v in unidentified.items() if v == "flat"]
    text = f"{type(model).__name__} ({model.name!r}): the data do not identify {what}."
    if running:
        text += f" The likelihood is highest at an edge of the parameter space, where {_edge(running)}"
        text += f", and it hardly depends on {_listed(flat)} there." if flat else "."
    else:
        text += (f" The likelihood hardly depends on {_listed(flat)}: values over 20,000 times larger or smaller "
                 "fit the data almost as well.")
    if facts:
        text += f" The data: {'; '.join(facts)}."
    returned = "those of that limit" if running else "one point of many that fit as well"
    what_to_do = "; ".join(remedies(model, unidentified, registry))
    text += (f" The estimates returned are {returned} and converged_ is False. To estimate "
             f"{'it' if len(unidentified) == 1 else 'them'}: {what_to_do}.")
    return text


def _parameters(model: Any, unidentified: dict[str, str]) -> str:
    """The parameters, grouped by what they describe where the model says (``parameter_meaning``)."""
    meaning = model.parameter_meaning
    groups: dict[str, list[str]] = {}
    for name in model.parameter_names():
        if name in unidentified:
            groups.setdefault(meaning.get(name, ""), []).append(name)
    return _listed([f"{text} ({', '.join(names)})" if text else _listed(names) for text, names in groups.items()])


def _edge(unidentified: dict[str, str]) -> str:
    """"a runs to 0 and b runs to infinity": each way to an edge, with the parameters that take it."""
    by_how: dict[str, list[str]] = {}
    for name, how in unidentified.items():
        by_how.setdefault(how, []).append(name)
    parts = []
    for how, names in by_how.items():
        verb = HOW.get(how, how)
        if len(names) > 1:
            verb = verb.replace("runs", "run")
        parts.append(f"{_listed(names)} {verb}")
    return _listed(parts)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def data_facts(data: Any, weights: np.ndarray | None) -> list[str]:
    """Facts about customer data that bear on what a model can estimate, from the columns it has."""
    if not isinstance(data, pd.DataFrame) or len(data) == 0:
        return []
    w = np.ones(len(data)) if weights is None else np.asarray(weights, dtype=float)
    total = float(w.sum())
    if total <= 0:
        return []
    facts = []

    def column(name: str) -> np.ndarray:
        return data[name].to_numpy(dtype=float)

    if "survivors" in data.columns:
        counts = column("survivors")
        share = counts[-1] / counts[0] if counts[0] > 0 else np.nan
        facts.append(f"a cohort of {counts[0]:,.0f} customers followed for {len(counts) - 1} period(s), "
                     f"{share:.0%} of them still active at the end")
        return facts
    facts.append(f"{total:,.0f} customers")
    if "T" in data.columns:
        T = column("T")
        facts.append(f"observed for {_span(T)} units of time after their first purchase (T)")
    if "periods" in data.columns:
        periods = column("periods")
        facts.append(f"{_span(periods)} transaction opportunities (periods)")
    if "frequency" in data.columns:
        x = column("frequency")
        once = float(np.dot(w, x == 0)) / total
        if "monetary_value" in data.columns and "T" not in data.columns:  # a spend model fits repeat buyers
            repeat = x > 0
            m = column("monetary_value")[repeat]
            if len(m) and np.mean(m) > 0:
                # Spends may reach the model rescaled: their relative spread is what bears on the fit.
                spread = float(np.sqrt(np.average((m - np.average(m, weights=w[repeat])) ** 2, weights=w[repeat]))
                               / np.average(m, weights=w[repeat]))
                facts.append(f"{float(np.sum(w[repeat])):,.0f} repeat buyers with {_span(x[repeat])} repeat "
                             f"purchases, whose mean spends vary by {spread:.0%} (standard deviation over mean)")
        else:
            facts.append("none made a repeat purchase" if once == 1 else
                         f"{once:.0%} made no repeat purchase, the others up to {_num(x.max())}")
    return facts


def remedies(model: Any, unidentified: dict[str, str], registry: Mapping[str, Any]) -> list[str]:
    """What to do, as calls that work from where the user is (a fit, or :func:`custvalue.score`)."""
    out = ["more history (a longer observation period, or customers observed for longer)"]
    params = model.get_params()
    if "penalizer" in params and any(how in ("to infinity", "flat") for how in unidentified.values()):
        out.append(f"a penalizer, which keeps parameters from running to infinity: {penalizer_call(model, registry)}")
    simpler = _simpler_models(model, registry)
    if simpler:
        out.append("a model with fewer parameters: " + " or ".join(
            f"custvalue.models.get({name!r}).fit(summary)" for name in simpler))
    return out


def penalizer_call(model: Any, registry: Mapping[str, Any]) -> str:
    """The calls that fit ``model`` again with a penalizer (0.01, or ten times the one it has): as a model,
    and, for the purchase and spend models :func:`custvalue.score` fits, through it."""
    current = float(model.get_params().get("penalizer", 0.0))
    penalizer = 0.01 if current < 0.01 else float(f"{10 * current:.3g}")
    call = f"{_call(model, {'penalizer': penalizer}, registry)}.fit(summary)"
    if str(model.role.value) in ("purchase", "spend"):
        call += f", or custvalue.score(..., penalizer={penalizer})"
    return call


def _call(model: Any, changes: dict[str, Any], registry: Mapping[str, Any]) -> str:
    """The call that builds ``model`` with ``changes`` to its hyper-parameters (its other settings kept)."""
    defaults = {p.name: p.default for p in inspect.signature(type(model).__init__).parameters.values()}
    kept = {k: v for k, v in model.get_params().items() if k not in changes and defaults.get(k) != v}
    arguments = ", ".join(f"{k}={v!r}" for k, v in {**kept, **changes}.items())
    name, cls = model.name, type(model)
    if registry.get(name) is cls:
        return f"custvalue.models.get({name!r}, {arguments})"
    return f"{cls.__module__}.{cls.__qualname__}({arguments})"


def _simpler_models(model: Any, registry: Mapping[str, Any]) -> list[str]:
    """Registered models of the same role with fewer parameters that fit on the same columns."""
    own = set(model.required_columns())
    return sorted(name for name, cls in registry.items()
                  if cls.role is model.role and len(cls.param_names) < len(model.param_names) and cls.param_names
                  and set(cls.columns) <= own and not cls.example_hyper_parameters)


def _span(values: np.ndarray) -> str:
    """"2 to 5", or "3" when every value is the same."""
    low, high = float(np.min(values)), float(np.max(values))
    return _num(low) if low == high else f"{_num(low)} to {_num(high)}"


def _num(value: float) -> str:
    return f"{value:,.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
