"""Holdout evaluation, model comparison, automatic choice, tracking."""

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import ConvergenceError, CustValueWarning, InvalidParameterError, SchemaError


@pytest.fixture(scope="module")
def calhold():
    return cv.calibration_holdout(cv.datasets.load_cdnow(sample=True), "1997-09-30", "1998-06-30")


def test_evaluate_metrics_by_hand(calhold):
    result = cv.evaluate("bgnbd", calhold, spend_model="gammagamma")
    summary = calhold.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"})
    predicted = result.model.expected_purchases(summary, 39.0).to_numpy()
    actual = calhold["frequency_holdout"].to_numpy()
    assert result.metrics["mae"] == pytest.approx(np.mean(np.abs(predicted - actual)))
    assert result.metrics["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - actual) ** 2)))
    assert result.metrics["bias"] == pytest.approx(np.mean(predicted - actual))
    assert result.metrics["aggregate_error"] == pytest.approx(predicted.sum() / actual.sum() - 1)
    # The model was fitted on the calibration period only: the published CDNOW estimates.
    np.testing.assert_allclose(result.model.params_, [0.2426, 4.4136, 0.7929, 2.4259], rtol=2e-3)
    table = result.by_frequency
    assert table.index.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    ones = calhold["frequency_cal"] == 1
    assert table.loc["1", "actual"] == pytest.approx(calhold.loc[ones, "frequency_holdout"].mean())
    assert table["customers"].sum() == len(calhold)
    bought = actual > 0
    assert result.spend_metrics["total_actual"] == pytest.approx(calhold.loc[bought, "monetary_value_holdout"].sum())
    assert "Holdout evaluation of bgnbd" in str(result) and "<table" in result._repr_html_()


def test_compare_models_ranks_by_the_metric(calhold):
    table = cv.compare_models(calhold, ["bgnbd", "mbgnbd", "paretonbd"])
    assert table["mae"].is_monotonic_increasing
    assert set(table.attrs["models"]) == {"bgnbd", "mbgnbd", "paretonbd"}
    bg = table.attrs["models"]["bgnbd"]
    assert table.loc["bgnbd", "aic"] == pytest.approx(8 - 2 * bg.log_likelihood_)
    by_bic = cv.compare_models(calhold, ["bgnbd", "paretonbd"], metric="bic")
    assert by_bic["bic"].is_monotonic_increasing
    with pytest.raises(InvalidParameterError, match="metric=.r2. is not valid"):
        cv.compare_models(calhold, metric="r2")
    with pytest.raises(SchemaError, match="calibration/holdout frame"):
        cv.compare_models(cv.datasets.load_cdnow_summary())


def test_compare_models_leaves_out_a_model_whose_fit_fails_and_says_so(calhold, monkeypatch):
    def failing_fit(self, summary, **kwargs):
        raise ConvergenceError("ParetoNBD: the optimiser stopped", "abnormal termination")

    monkeypatch.setattr(cv.models.ParetoNBD, "fit", failing_fit)
    with pytest.warns(CustValueWarning, match=r"left out paretonbd, whose fit failed: paretonbd: ParetoNBD: the opt"):
        table = cv.compare_models(calhold, ["bgnbd", "paretonbd", "mbgnbd"])
    assert table.index.tolist() == ["mbgnbd", "bgnbd"]
    assert table.attrs["failed"] == {"paretonbd": "ParetoNBD: the optimiser stopped"}
    assert cv.compare_models(calhold, ["bgnbd"]).attrs["failed"] == {}
    with pytest.raises(ConvergenceError, match="the optimiser stopped"):
        cv.compare_models(calhold, ["paretonbd", "paretonbd"])


def test_auto_choice_is_the_best_single_model_on_cdnow_master():
    tx = cv.clean(cv.datasets.load_cdnow())
    scored = cv.score(tx, model="auto", spend_model=None)
    choice = cv.fitted_models(scored)["model_choice"]
    winner = cv.fitted_models(scored)["model"].name
    assert winner == choice.index[0] and "lowest holdout MAE" in choice.attrs["reason"]
    # The split: 23,570 customers... after cleaning 23,502; calibration to 1997-09-30, holdout to 1998-06-30.
    calhold = cv.calibration_holdout(tx, "1997-09-30", "1998-06-30")
    table = cv.compare_models(calhold, ["bgnbd", "mbgnbd", "paretonbd"])
    assert table.loc[winner, "mae"] <= table["mae"].min() + 1e-12
    # The winner was refitted on all the data, not left at its calibration fit.
    assert cv.fitted_models(scored)["model"].n_customers_ == len(scored)


def test_auto_needs_transactions():
    with pytest.raises(InvalidParameterError, match="pass transactions"):
        cv.score(cv.datasets.load_cdnow_summary(), model="auto")


def test_tracking_by_hand():
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 2, 2],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-10", "2024-01-03", "2024-01-20"]),
                       "amount": 1.0})
    model = cv.models.BetaGeo.from_params(r=0.5, alpha=5.0, a=0.8, b=2.0)
    track = cv.tracking(model, tx, unit="W")
    # Periods of 7 days from 2024-01-01: repeat occasions on Jan 10 (week 2) and Jan 20 (week 3).
    assert track["actual_incremental"].tolist() == [0, 1, 1]
    assert track["actual_cumulative"].iloc[-1] == 2
    end = (pd.Timestamp("2024-01-22") - pd.Timestamp("2024-01-01")).days
    expected = model.expected_purchases_new(end / 7) + model.expected_purchases_new((end - 2) / 7)
    assert track["predicted_cumulative"].iloc[-1] == pytest.approx(expected)
    np.testing.assert_allclose(track["predicted_incremental"].cumsum(), track["predicted_cumulative"])


def test_the_same_model_twice_is_numbered_not_overwritten(calhold):
    table = cv.compare_models(calhold, ["bgnbd", cv.models.get("bgnbd", penalizer=0.01)])
    assert sorted(table.index) == ["bgnbd", "bgnbd (2)"]
    assert table.attrs["models"]["bgnbd (2)"].penalizer == 0.01
    assert str(table.attrs["models"]) == "fitted models: " + ", ".join(table.attrs["models"])


def test_auto_choice_fits_its_candidates_with_the_penalizer():
    tx = cv.clean(cv.datasets.load_cdnow(sample=True))
    scored = cv.score(tx, model="auto", spend_model=None, penalizer=0.001)
    choice = cv.fitted_models(scored)["model_choice"]
    assert {m.penalizer for m in choice.attrs["models"].values()} == {0.001}
    assert cv.fitted_models(scored)["model"].penalizer == 0.001


# --- progress -------------------------------------------------------------------------------------------


@pytest.fixture
def bars(monkeypatch):
    """The progress bars compare_models asks for: (label, total items, enabled)."""
    import custvalue.evaluation as evaluation

    asked = []

    def recording(items, label, *, total=None, enabled=None):
        items = list(items)
        asked.append((label, len(items), enabled))
        return items

    monkeypatch.setattr(evaluation, "progress_bar", recording)
    return asked


def test_compare_models_shows_progress_over_the_models_unless_told_not_to(calhold, bars):
    cv.compare_models(calhold, ["bgnbd", "mbgnbd"])
    cv.compare_models(calhold, ["bgnbd"], progress=False)
    cv.compare_models(calhold, ["bgnbd"], progress=True)
    assert bars == [("fitting and checking models", 2, None), ("fitting and checking models", 1, False),
                    ("fitting and checking models", 1, True)]
    with pytest.raises(InvalidParameterError, match="progress='yes'"):
        cv.compare_models(calhold, progress="yes")


def test_the_automatic_choice_passes_progress_on(bars):
    from custvalue.evaluation import AUTO_CANDIDATES, choose_model

    tx = cv.clean(cv.datasets.load_cdnow(sample=True))
    winner, table = choose_model(tx, "W", None, "D", None, progress=False)
    assert bars == [("fitting and checking models", len(AUTO_CANDIDATES), False)] and winner == table.index[0]


def test_no_bar_where_nobody_watches(calhold, capsys):
    cv.compare_models(calhold, ["bgnbd"])  # pytest's stderr is not a terminal: silent
    assert capsys.readouterr().err == ""


def test_a_bar_in_a_terminal(calhold, monkeypatch):
    import io
    import sys

    import custvalue.progress

    pytest.importorskip("tqdm")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(custvalue.progress, "DELAY", 0.0)
    cv.compare_models(calhold, ["bgnbd", "mbgnbd"])
    assert "fitting and checking models:   0%|" in terminal.getvalue() and "0/2" in terminal.getvalue()
    shown = len(terminal.getvalue())
    cv.compare_models(calhold, ["bgnbd", "mbgnbd"], progress=False)
    assert len(terminal.getvalue()) == shown
