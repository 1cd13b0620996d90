"""Every registered model fitted on random and degenerate data: each fit ends honestly, fast, and predicts sanely.

For each model in ``custvalue.models.available()`` (new models join by registering):

* random data sets: models that can simulate draw them with ``sample(n, seed)`` from parameters around
  their ``example_params`` (each multiplied by a log-normal factor, two thirds of them within ×/÷ 3 and a
  few beyond ×/÷ 10), for 10 to 5,000 customers; the others get random summaries built by hand;
* degenerate data sets of the model's shape: 10 customers, nobody buying again, everyone observed for the
  same time, very short and very long observation, huge purchase counts (and, for spend and cohort data,
  constant spends, no churn, everyone churning ...).

Each fit must end in exactly one of: an interior maximum (``converged_`` True, finite standard errors);
:class:`~custvalue.errors.ConvergenceError`; or an :class:`~custvalue.errors.IdentificationWarning` whose
parameters are the model's ``unidentified_`` (``converged_`` False). No other warning and no floating-point
exception may escape (the fit runs under ``np.seterr(all="raise")``); a returned model's declared
predictions are finite and in range, without warnings or floating-point errors other than underflow;
the fit takes at most 2 s of CPU time.

The default run fits a handful of cases per model; ``pytest -m slow tests/test_model_robustness.py``
runs 200 random data sets per model (each fit under 6 s) and, per model, 100 fits of 5,000 customers of
which at most one may take over 2 s. Cases that fail inside a model's own formulas are listed in
``MODEL_NUMERICS`` and expected to fail (not strictly) until that model's file is fixed.
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from model_cases import MAX_CUSTOMERS, NAMES, Case, build, degenerate_cases, make, prediction_problems, random_case

import custvalue as cv
from custvalue.errors import ConvergenceError, CustValueWarning, IdentificationWarning, SchemaError
from custvalue.models import Ability, BaseModel

MAX_SECONDS = 2.0
DEFAULT_SEEDS = range(3)
SLOW_SEEDS = range(200)

#: (model, case) pairs that fail in the model's own formulas (simulation or prediction numerics), with
#: the symptom; they are expected to fail until that model's file is fixed.
MODEL_NUMERICS: dict[tuple[str, str], str] = {}



@dataclass
class Outcome:
    """How a fit ended: "converged", "identification" (warned) or "convergence error", and its facts."""

    kind: str
    seconds: float
    model: BaseModel | None
    detail: str = ""


def fit(case: Case) -> Outcome:
    """Fit ``case`` under np.seterr(all="raise") with every warning recorded; check how it ended."""
    model = make(case.name)
    start = time.process_time()
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="raise"):
        warnings.simplefilter("always")
        try:
            model.fit(case.data)
        except ConvergenceError as err:
            return Outcome("convergence error", time.process_time() - start, None, str(err))
        except SchemaError as err:
            if case.refusal == "SchemaError":
                return Outcome("refused", time.process_time() - start, None, str(err))
            raise
    seconds = time.process_time() - start
    raw = [w for w in caught if not issubclass(w.category, CustValueWarning)]
    assert not raw, f"a warning other than custvalue's escaped the fit: {raw[0].category.__name__}: {raw[0].message}"
    identification = [w.message for w in caught if issubclass(w.category, IdentificationWarning)]
    if model.converged_:
        assert not identification and not model.unidentified_
        se = model.standard_errors_.to_numpy()
        if model.can(Ability.INTERVALS):
            assert np.all(np.isfinite(se)) and np.all(se > 0), f"converged with standard errors {se}"
        return Outcome("converged", seconds, model)
    assert len(identification) == 1, "a fit that did not converge must say why with one IdentificationWarning"
    warning = identification[0]
    assert isinstance(warning, IdentificationWarning)
    assert warning.parameters == model.unidentified_ and model.unidentified_
    assert all(name in str(warning) for name in model.unidentified_)
    return Outcome("identification", seconds, model, str(warning))


def run(case: Case, max_seconds: float = MAX_SECONDS) -> Outcome:
    outcome = fit(case)
    assert outcome.seconds <= max_seconds, f"the fit took {outcome.seconds:.2f} s of CPU time"
    if outcome.model is not None:
        problems = prediction_problems(outcome.model, case.data)
        assert not problems, f"predictions of the fitted model: {problems}"
    return outcome


def cases(seeds: range, degenerate: bool) -> list[Any]:
    out = []
    for name in NAMES:
        labels = [f"random-{seed}" for seed in seeds]
        if degenerate:
            labels += [c.label for c in degenerate_cases(name)]
        for label in labels:
            marks = []
            if (name, label) in MODEL_NUMERICS:
                marks.append(pytest.mark.xfail(strict=False, reason="model numerics, fixed in the model's file: "
                                                                    + MODEL_NUMERICS[name, label]))
            out.append(pytest.param(name, label, marks=marks, id=f"{name}-{label}"))
    return out


HINT = re.compile(r"custvalue\.models\.get\([^()]*\)\.fit\(summary\)")


@pytest.mark.parametrize("name, label", cases(DEFAULT_SEEDS, degenerate=True))
def test_fits_end_honestly_fast_and_predict_in_range(name: str, label: str) -> None:
    case = build(name, label)
    outcome = run(case)
    if outcome.kind == "identification":
        # Every call the warning suggests (a penalizer, where parameters run to infinity) runs as written on
        # the same data.
        for call in HINT.findall(outcome.detail):
            with warnings.catch_warnings(), contextlib.suppress(ConvergenceError):
                warnings.simplefilter("ignore", IdentificationWarning)
                eval(call, {"custvalue": cv, "summary": case.data})  # our own message, not user input


@pytest.mark.slow
@pytest.mark.parametrize("name, label", cases(SLOW_SEEDS, degenerate=False))
def test_many_random_fits(name: str, label: str) -> None:
    # One fit in a hundred may take longer than 2 s (the next test holds that share); none runs away.
    run(build(name, label), max_seconds=3 * MAX_SECONDS)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_at_most_one_fit_in_a_hundred_of_5000_customers_takes_over_2_seconds(name: str) -> None:
    seconds = [fit(random_case(name, seed, customers=MAX_CUSTOMERS)).seconds for seed in range(100)]
    slow = sorted(s for s in seconds if s > MAX_SECONDS)
    assert len(slow) <= 1, f"{len(slow)} of 100 fits took over {MAX_SECONDS} s: {slow}"


def test_every_registered_model_has_cases() -> None:
    for name in NAMES:
        assert len(degenerate_cases(name)) >= 6
        assert random_case(name, 0).data is not None
