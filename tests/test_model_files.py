"""Model files: every registered model round-trips through save/load exactly, and every tampered file in the
catalogue (tests/model_cases.py) raises ModelFileError naming the field and the file, never a raw error and
never a silent load."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from model_cases import NAMES, make, saved_bgnbd, tampered_files, truth

import custvalue as cv
from custvalue.errors import CustValueError, IdentificationWarning, InvalidParameterError, ModelFileError
from custvalue.models import Ability, BetaGeo, ParetoNBD

CATALOGUE = tampered_files()
CDNOW = cv.datasets.load_cdnow_summary()


def test_the_catalogue_is_large():
    assert len(CATALOGUE) >= 30


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.label for c in CATALOGUE])
def test_a_tampered_file_raises_model_file_error_naming_the_field_and_the_file(case, tmp_path):
    path = tmp_path / "model.json"
    path.write_bytes(case.content)
    loader = getattr(cv.models, case.loader).load if case.loader else cv.models.load
    with pytest.raises(ModelFileError) as info:
        loader(path)
    err = info.value
    assert err.field == case.field and str(path) in str(err) and str(path) in err.source
    if case.field != "file":
        assert repr(case.field) in str(err)
    assert isinstance(err, ValueError) and isinstance(err, CustValueError)


def fitted_models() -> list[cv.models.BaseModel]:
    """Every registered model fitted on data of its shape (simulated from its example parameters)."""
    out = []
    for name in NAMES:
        model = make(name)
        if model.can(Ability.SIMULATION) and model.example_params:
            data = truth(model).sample(3000, seed=5)
        else:
            data = cv.summarize(cv.datasets.load_cdnow(sample=True), observation_end="1997-09-30")
        out.append(model.fit(data))
    return out


FITTED = fitted_models()


@pytest.mark.parametrize("model", FITTED, ids=NAMES)
def test_every_registered_model_round_trips_exactly(model, tmp_path):
    path = tmp_path / f"{model.name}.json"
    model.save(path)
    text = path.read_text(encoding="utf-8")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"the file holds {c}, which is not JSON"))
    for loaded in (cv.models.load(path), type(model).load(path), type(model).from_dict(model.to_dict())):
        assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
        pd.testing.assert_series_equal(loaded.params_, model.params_)
        pd.testing.assert_frame_equal(loaded.covariance_log_, model.covariance_log_)
        assert loaded.converged_ is model.converged_ and loaded.unidentified_ == model.unidentified_
        assert loaded.n_customers_ == model.n_customers_
        assert loaded.log_likelihood_ == model.log_likelihood_ or (
            math.isnan(loaded.log_likelihood_) and math.isnan(model.log_likelihood_))
    assert json.loads(text)["format_version"] == 1


@pytest.mark.parametrize("name", NAMES)
def test_unfitted_models_and_models_from_parameters_round_trip(name, tmp_path):
    model = make(name)
    model.save(tmp_path / "unfitted.json")
    loaded = cv.models.load(tmp_path / "unfitted.json")
    assert not loaded.is_fitted and loaded.get_params() == model.get_params()
    if model.example_params:
        known = type(model).from_params(model.get_params(), **model.example_params)
        known.save(tmp_path / "known.json")
        assert json.loads((tmp_path / "known.json").read_text())["log_likelihood"] is None  # not NaN
        again = cv.models.load(tmp_path / "known.json")
        pd.testing.assert_series_equal(again.params_, known.params_)
        assert math.isnan(again.log_likelihood_)


def test_a_fit_at_an_edge_round_trips_with_what_is_not_identified(tmp_path):
    with pytest.warns(IdentificationWarning):
        edge = cv.models.get("sbg").fit([1000] * 9)
    edge.save(tmp_path / "edge.json")
    loaded = cv.models.load(tmp_path / "edge.json")
    assert loaded.converged_ is False and loaded.unidentified_ == edge.unidentified_ == {"alpha": "to 0",
                                                                                        "beta": "to infinity"}


def test_numpy_hyper_parameters_are_written_as_json_numbers(tmp_path):
    model = BetaGeo(penalizer=np.float32(0.5)).fit(CDNOW)
    model.save(tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["hyper_parameters"]["penalizer"] == 0.5
    assert cv.models.load(tmp_path / "m.json").penalizer == 0.5


def test_files_without_a_format_version_are_version_1(tmp_path):
    data = saved_bgnbd()
    del data["format_version"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))  # files written before the field existed
    loaded = cv.models.load(path)
    assert loaded.params_.to_dict() == data["params"]


def test_old_files_with_a_nan_log_likelihood_load(tmp_path):
    data = BetaGeo.from_params(**BetaGeo.example_params).to_dict()
    data.pop("format_version")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data).replace('"log_likelihood": null', '"log_likelihood": NaN'))
    assert math.isnan(cv.models.load(path).log_likelihood_)


def test_a_class_refuses_another_models_file_and_the_suggested_call_works(tmp_path):
    path = tmp_path / "pareto.json"
    ParetoNBD.from_params(**ParetoNBD.example_params).save(path)
    with pytest.raises(ModelFileError, match=r"is 'paretonbd', not 'bgnbd' \(BetaGeo\); load it with "
                                             r"custvalue\.models\.load\(path\)"):
        BetaGeo.load(path)
    assert isinstance(cv.models.load(path), ParetoNBD)


def test_from_dict_checks_like_load():
    with pytest.raises(ModelFileError, match="model data must be a dictionary"):
        BetaGeo.from_dict([1, 2])  # type: ignore[arg-type]
    data = saved_bgnbd()
    data["converged"] = "no"
    with pytest.raises(ModelFileError, match="model data: field 'converged' must be true or false, got 'no'"):
        BetaGeo.from_dict(data)


def test_formula_models_check_their_own_hyper_parameters_on_load(tmp_path):
    path = tmp_path / "formula.json"
    cv.models.get("formula", retention=0.8).save(path)
    path.write_text(path.read_text().replace('"retention": 0.8', '"retention": 5'))
    with pytest.raises(ModelFileError, match=r"field 'hyper_parameters' .*retention=5 is not valid: it must lie "
                                             r"in \[0, 1\)"):
        cv.models.load(path)


def test_a_missing_file_is_a_file_not_found_error_and_a_path_must_be_a_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        cv.models.load(tmp_path / "nowhere.json")
    with pytest.raises(InvalidParameterError, match="path=3 is not valid"):
        cv.models.load(3)  # type: ignore[arg-type]


def test_save_writes_strict_json_for_every_state(tmp_path):
    """No NaN or Infinity literal reaches a file: unknown values are null."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentificationWarning)
        edge = cv.models.get("bgnbd").fit(pd.DataFrame({"frequency": [0.0] * 20, "recency": [0.0] * 20,
                                                         "T": [5.0] * 20}))
    for model in (edge, BetaGeo.from_params(**BetaGeo.example_params)):
        path = Path(tmp_path / "strict.json")
        model.save(path)
        assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
