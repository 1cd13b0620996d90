"""Data sets for fitting every registered model: random ones around its example parameters and degenerate ones.

Used by tests/test_model_robustness.py and benchmarks/bench_reliability.py. Only the public API of
custvalue is used here, so the same cases can be run against any version of it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import custvalue as cv
from custvalue.models import Ability, BaseModel
from custvalue.models.registry import REGISTRY

NAMES = cv.models.available()
MAX_CUSTOMERS = 5_000
#: Standard deviation of the log of the factor applied to each example parameter.
SPREAD = np.log(10) / 2

@dataclass
class Case:
    """A data set to fit model ``name`` on; ``refusal`` names the error the data deserve, if any (a spend
    model given no repeat buyers)."""

    name: str
    label: str
    data: Any
    refusal: str = ""


def make(name: str) -> BaseModel:
    cls = REGISTRY[name]
    return cls(**cls.example_hyper_parameters)


def shape(model: BaseModel) -> str:
    """The kind of data the model is fitted on, from the columns it reads."""
    columns = set(model.required_columns())
    if "survivors" in columns:
        return "cohort"
    if "periods" in columns:
        return "opportunities"
    if "T" in columns:
        return "customers"
    if "monetary_value" in columns:
        return "spends"
    return "values"


def summary(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, spend: np.ndarray | None = None) -> pd.DataFrame:
    """A customer summary with every column a model may read (spends of 20 by default; each customer's repeat
    purchases all of their mean value, so the mean log value is the log of the mean; purchases evenly spaced,
    so the sum of the logs of the times between them, litt, is x·ln(t_x / x))."""
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    m = np.full(len(x), 20.0) if spend is None else np.asarray(spend, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        litt = np.where((x > 0) & (t_x > 0), x * np.log(t_x / np.maximum(x, 1)), 0.0)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": np.asarray(T, dtype=float),
                         "monetary_value": np.where(x > 0, m, 0.0), "mean_log_value": np.where(x > 0, np.log(m), 0.0),
                         "total_value": m * (x + 1), "n_transactions": x + 1, "litt": litt},
                        index=pd.RangeIndex(len(x), name="customer_id"))


def hand_made(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Random customers: negative-binomial purchase counts over uniform observation times, log-normal spends."""
    T = rng.uniform(1, 78, n)
    x = rng.negative_binomial(rng.uniform(0.2, 2), rng.uniform(0.1, 0.9), n).astype(float)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, n), 0.0)
    return summary(x, t_x, T, rng.lognormal(np.log(rng.uniform(5, 200)), rng.uniform(0.1, 1.5), n))


def truth(model: BaseModel, rng: np.random.Generator | None = None) -> BaseModel:
    """The model with its example parameters, each of its fitted parameters times a random log-normal factor
    when ``rng`` is given (others, such as a whole-number regularity k, as they are)."""
    fitted = set(model.parameter_names())
    params = {k: v * (float(np.exp(rng.normal(0, SPREAD))) if rng is not None and k in fitted else 1.0)
              for k, v in model.example_params.items()}
    return type(model).from_params(model.get_params(), **params)


def random_case(name: str, seed: int, customers: int | None = None) -> Case:
    """A random data set for model ``name``: drawn from the model around its example parameters when it can
    simulate, else built by hand; ``customers`` customers, by default a log-uniform number from 10 to 5,000."""
    model = make(name)
    rng = np.random.default_rng(seed)
    n = int(np.exp(rng.uniform(np.log(10), np.log(MAX_CUSTOMERS))))
    n = n if customers is None else customers
    if model.can(Ability.SIMULATION) and model.example_params:
        return Case(name, f"random-{seed}", truth(model, rng).sample(n, seed=seed))
    return Case(name, f"random-{seed}", hand_made(rng, n))


def times(spends: pd.DataFrame, factor: float) -> pd.DataFrame:
    """Spend data with every amount multiplied by ``factor`` (mean log values shifted to match)."""
    out = spends.assign(monetary_value=spends["monetary_value"] * factor)
    if "mean_log_value" in out.columns:
        out["mean_log_value"] = np.where(out["frequency"] > 0, out["mean_log_value"] + np.log(factor), 0.0)
    return out


def degenerate_cases(name: str) -> list[Case]:
    """Data at the edges of what the model's kind of data can be."""
    model = make(name)
    rng = np.random.default_rng(0)
    simulating = model.can(Ability.SIMULATION) and bool(model.example_params)
    kind = shape(model)
    cases: dict[str, Any] = {}
    refusals: dict[str, str] = {}
    if kind == "cohort":
        generator = truth(model)
        cases = {"10 customers": generator.sample(10, seed=1), "no churn": [1000] * 9,
                 "everyone churns at once": [1000, 0, 0, 0], "one period": generator.simulate_like([1000, 500]),
                 "same churn every period": [1000, 500, 250, 125, 62, 31, 15, 7],
                 "sixty periods": generator.simulate(5000, 60, seed=2)}
    elif kind == "opportunities":
        def discrete(x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> pd.DataFrame:
            return pd.DataFrame({"frequency": x, "recency": t_x, "periods": n}, dtype=float)

        generator = truth(model)
        cases = {"10 customers": generator.sample(10, seed=1),
                 "no repeat purchases": discrete(np.zeros(500), np.zeros(500), np.full(500, 6)),
                 "one opportunity": generator.simulate(2000, 1, seed=2),
                 "200 opportunities": generator.simulate(2000, 200, seed=3),
                 "a purchase at every opportunity": discrete(np.full(300, 40), np.full(300, 40), np.full(300, 40)),
                 "different opportunities": generator.simulate(2000, rng.integers(1, 30, 2000), seed=4)}
    elif kind == "spends":
        x = rng.integers(1, 10, 2000).astype(float)
        base = truth(model).sample(2000, seed=1) if simulating else summary(x, x, x + 1)
        cases = {"10 customers": base.iloc[:10],
                 "no repeat purchases": summary(np.zeros(200), np.zeros(200), np.full(200, 10.0)),
                 "the same spend for everyone": summary(x, x, x + 1, np.full(2000, 25.0)),
                 "one repeat purchase each": summary(np.ones(2000), np.ones(2000), np.full(2000, 5.0),
                                                     rng.lognormal(3, 0.5, 2000)),
                 "huge spends": times(base, 1e7),
                 "huge purchase counts": summary(rng.integers(100, 1000, 2000), x, x + 1, rng.lognormal(3, 0.5, 2000))}
        refusals["no repeat purchases"] = "SchemaError"  # nothing to fit a spend model on
    else:  # customers observed from their first purchase (and value models on the same summaries)
        n = 2000
        T = rng.uniform(1, 78, n)
        generator = truth(model) if simulating else None

        def like(times: np.ndarray) -> pd.DataFrame:
            if generator is None:
                frame = hand_made(rng, len(times))
                return frame.assign(T=times, recency=np.minimum(frame["recency"], times))
            return generator.simulate_like(pd.DataFrame({"T": times}), seed=3)

        cases = {"10 customers": generator.sample(10, seed=1) if generator else hand_made(rng, 10),
                 "no repeat purchases": summary(np.zeros(n), np.zeros(n), T),
                 "everyone observed for 39 units": like(np.full(n, 39.0)),
                 "observed for under 2 units": like(rng.uniform(0.05, 2, n)),
                 "observed for 500 to 2,000 units": like(rng.uniform(500, 2000, n)),
                 "huge purchase counts": summary(rng.integers(100, 1000, n), 52 * rng.uniform(0.9, 1, n),
                                                 np.full(n, 52.0))}
    return [Case(name, label, data, refusals.get(label, "")) for label, data in cases.items()]


def build(name: str, label: str) -> Case:
    """The case ``label`` ("random-<seed>" or a degenerate case's label) of model ``name``."""
    if label.startswith("random-"):
        return random_case(name, int(label.removeprefix("random-")))
    return next(c for c in degenerate_cases(name) if c.label == label)


def prediction_problems(model: BaseModel, data: Any) -> list[str]:
    """What is wrong with the predictions ``model`` declares, on ``data``: non-finite or out-of-range values,
    warnings, floating-point errors other than underflow (to 0, the right answer for far tails)."""
    if not isinstance(data, pd.DataFrame):
        return []  # cohort models predict from the cohort alone
    checks = {
        Ability.CONDITIONAL: _conditional, Ability.P_ALIVE: _p_alive, Ability.PURCHASE_PROBABILITY: _distribution,
        Ability.DISCOUNTING: _discounted, Ability.NEW_CUSTOMER: _new_customer, Ability.SPEND: _spend,
        Ability.VALUE: _value,
    }
    problems = []
    for ability, check in checks.items():
        if not model.can(ability):
            continue
        try:
            with np.errstate(all="raise", under="ignore"), warnings.catch_warnings():
                warnings.simplefilter("error")
                problem = check(model, data)
        except (FloatingPointError, Warning, ArithmeticError) as err:
            problem = f"{type(err).__name__}: {err} ({_where(err)})"
        if problem:
            problems.append(f"{ability.value}: {problem}")
    return problems


def _where(err: BaseException) -> str:
    """The last line of custvalue's code an exception passed through: the model file to fix."""
    import traceback
    from pathlib import Path

    frames = [f for f in traceback.extract_tb(err.__traceback__) if "custvalue" in Path(f.filename).parts]
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"


def _conditional(model: BaseModel, data: pd.DataFrame) -> str:
    curve = [model.expected_purchases(data, t).to_numpy() for t in (0.0, 1.0, 10.0, 52.0)]
    if not all(np.isfinite(c).all() for c in curve):
        return "non-finite expected purchases"
    if not all((c >= 0).all() for c in curve) or not np.allclose(curve[0], 0):
        return "expected purchases below 0, or not 0 over no time"
    return "" if all((b >= a - 1e-9).all() for a, b in zip(curve, curve[1:])) else "expected purchases fall with t"


def _p_alive(model: BaseModel, data: pd.DataFrame) -> str:
    alive = model.p_alive(data).to_numpy()
    if not np.isfinite(alive).all():
        return "non-finite P(alive)"
    return "" if ((alive >= 0) & (alive <= 1)).all() else "P(alive) outside [0, 1]"


def _distribution(model: BaseModel, data: pd.DataFrame) -> str:
    p = np.asarray(model.purchase_probability(data, list(range(20)), 10.0), dtype=float)
    if not np.isfinite(p).all():
        return "non-finite purchase probabilities"
    return "" if ((p >= 0) & (p <= 1)).all() else "purchase probabilities outside [0, 1]"


def _discounted(model: BaseModel, data: pd.DataFrame) -> str:
    d = model.discounted_purchases(data, 10.0, 0.01).to_numpy()
    if not np.isfinite(d).all():
        return "non-finite discounted purchases"
    return "" if (d >= 0).all() else "discounted purchases below 0"


def _new_customer(model: BaseModel, data: pd.DataFrame) -> str:
    mean = np.asarray(model.expected_purchases_new(np.array([0.0, 1.0, 10.0, 52.0])), dtype=float)
    probabilities = np.asarray(model.probability_of_purchases(np.arange(6), 10), dtype=float)
    if not (np.isfinite(mean).all() and np.isfinite(probabilities).all()):
        return "non-finite predictions for a new customer"
    # Series and quadratures are accurate to about 1e-9 relative: within 1e-8 of the value is rounding.
    if abs(mean[0]) > 1e-9 or (np.diff(mean) < -1e-8 * np.maximum(1.0, mean[1:])).any():
        return "a new customer's expected purchases are not 0 at t=0 or fall with t"
    ok = ((probabilities >= 0) & (probabilities <= 1 + 1e-12)).all() and probabilities.sum() <= 1 + 1e-8
    return "" if ok else "a new customer's purchase probabilities outside [0, 1]"


def _spend(model: BaseModel, data: pd.DataFrame) -> str:
    spend = model.expected_spend(data).to_numpy()
    if not np.isfinite(spend).all():
        return "non-finite expected spend"
    return "" if (spend >= 0).all() else "expected spend below 0"


def _value(model: BaseModel, data: pd.DataFrame) -> str:
    return "" if np.isfinite(model.customer_value(data, 52).to_numpy()).all() else "non-finite customer value"


# -- tampered model files ---------------------------------------------------------------------------


@dataclass
class Tampered:
    """A damaged or edited model file: ``field`` is the one a ModelFileError should name; ``loader`` the
    class whose ``load`` reads it ("" for ``custvalue.models.load``)."""

    label: str
    field: str
    content: bytes
    loader: str = ""


def saved_bgnbd() -> dict[str, Any]:
    """What ``model.save`` writes for BG/NBD fitted on the CDNOW sample (a covariance included)."""
    import json

    model = cv.models.get("bgnbd").fit(cv.datasets.load_cdnow_summary())
    return json.loads(json.dumps(model.to_dict()))


def tampered_files() -> list[Tampered]:
    """The catalogue: files that are not JSON, not UTF-8, too big or too deep, and saved models with one
    field removed, renamed, mistyped or out of range."""
    import copy
    import gzip
    import json

    good = saved_bgnbd()
    text = json.dumps(good, indent=2)

    def edited(change: Any) -> bytes:
        data = copy.deepcopy(good)
        change(data)
        return json.dumps(data).encode()

    def replace(old: str, new: str) -> bytes:
        assert old in text
        return text.replace(old, new, 1).encode()

    def put(path: str, value: Any) -> Any:
        keys = path.split(".")

        def change(data: dict) -> None:
            target = data
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = value

        return change

    def drop(path: str) -> Any:
        keys = path.split(".")

        def change(data: dict) -> None:
            target = data
            for key in keys[:-1]:
                target = target[key]
            del target[keys[-1]]

        return change

    r = good["params"]["r"]
    cases = [
        Tampered("not JSON at all", "file", b"model: bgnbd\nr: 0.24\n"),
        Tampered("JSON cut short", "file", text[: len(text) // 2].encode()),
        Tampered("an empty file", "file", b""),
        Tampered("Latin-1 text", "file", text.replace('"bgnbd"', '"bgnbd\u00e9"').encode("latin-1")),
        Tampered("a gzip-compressed model", "file", gzip.compress(text.encode())),
        Tampered("a JSON list", "file", b"[1, 2, 3]"),
        Tampered("nested 100,000 levels deep", "file", b"[" * 100_000 + b"]" * 100_000),
        Tampered("11 MB of padding", "file", text.replace("{", "{" + " " * (11 * 2**20), 1).encode()),
        Tampered("a repeated key", "model", text.replace('"model": "bgnbd"', '"model": "bgnbd", "model": "sbg"',
                                                         1).encode()),
        Tampered("no model name", "model", edited(drop("model"))),
        Tampered("an unknown model", "model", edited(put("model", "bg-nbd"))),
        Tampered("a model name that is a number", "model", edited(put("model", 3))),
        Tampered("another model's file", "model", edited(put("model", "paretonbd")), loader="BetaGeo"),
        Tampered("a format from the future", "format_version", edited(put("format_version", 2))),
        Tampered("a format version in words", "format_version", edited(put("format_version", "one"))),
        Tampered("an unknown field", "parms", edited(put("parms", good["params"]))),
        Tampered("no hyper-parameters", "hyper_parameters", edited(drop("hyper_parameters"))),
        Tampered("hyper-parameters as a list", "hyper_parameters", edited(put("hyper_parameters", [0.0]))),
        Tampered("an unknown hyper-parameter", "hyper_parameters", edited(put("hyper_parameters.penaliser", 0))),
        Tampered("penalizer in words", "hyper_parameters", edited(put("hyper_parameters.penalizer", "abc"))),
        Tampered("a negative penalizer", "hyper_parameters", edited(put("hyper_parameters.penalizer", -1))),
        Tampered("penalizer NaN", "hyper_parameters", replace('"penalizer": 0.0', '"penalizer": NaN')),
        Tampered("an unknown engine", "hyper_parameters", edited(put("hyper_parameters.engine", "stan"))),
        Tampered("covariates as a number", "hyper_parameters", edited(put("hyper_parameters.purchase_covariates", 5))),
        Tampered("a parameter missing", "params.b", edited(drop("params.b"))),
        Tampered("an extra parameter", "params.c", edited(put("params.c", 1.0))),
        Tampered("a negative parameter", "params.r", edited(put("params.r", -r))),
        Tampered("a zero parameter", "params.a", edited(put("params.a", 0.0))),
        Tampered("an infinite parameter", "params.alpha", replace(f'"alpha": {good["params"]["alpha"]}',
                                                                  '"alpha": Infinity')),
        Tampered("a NaN parameter", "params.b", replace(f'"b": {good["params"]["b"]}', '"b": NaN')),
        Tampered("a parameter in words", "params.r", edited(put("params.r", str(r)))),
        Tampered("a parameter that is true", "params.r", edited(put("params.r", True))),
        Tampered("parameters as a list", "params", edited(put("params", list(good["params"].values())))),
        Tampered('converged "no"', "converged", edited(put("converged", "no"))),
        Tampered("converged 1", "converged", edited(put("converged", 1))),
        Tampered("a log-likelihood in words", "log_likelihood", edited(put("log_likelihood", "high"))),
        Tampered("an infinite log-likelihood", "log_likelihood", replace(f'"log_likelihood": {good["log_likelihood"]}',
                                                                         '"log_likelihood": -Infinity')),
        Tampered("a negative customer count", "n_customers", edited(put("n_customers", -5))),
        Tampered("a customer count that is true", "n_customers", edited(put("n_customers", True))),
        Tampered("a 3 x 3 covariance", "covariance_log", edited(put("covariance_log",
                                                                    [row[:3] for row in good["covariance_log"][:3]]))),
        Tampered("a ragged covariance", "covariance_log", edited(put("covariance_log",
                                                                    good["covariance_log"][:3] + [[0.1]]))),
        Tampered("a covariance entry in words", "covariance_log[0][0]",
                 edited(lambda d: d["covariance_log"][0].__setitem__(0, "x"))),
        Tampered("an infinite covariance entry", "covariance_log[1][1]",
                 replace(json.dumps(good["covariance_log"][1][1]), "Infinity")),
        Tampered("a fitted model without its covariance", "covariance_log", edited(drop("covariance_log"))),
        Tampered("an unidentified parameter that is not one", "unidentified",
                 edited(put("unidentified", {"z": "flat"}))),
    ]
    return cases
