"""The alive path: P(alive) after each period of one customer's history, against lifetimes and summarize."""

import warnings

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import AbilityError, CustValueError, InvalidParameterError, NotFittedError, SchemaError

TX = cv.datasets.load_cdnow(sample=True)
CALIBRATION_END = "1997-09-30"
# Fader, Hardie & Lee (2005), CDNOW sample, weeks (REFERENCE.md).
BGNBD = cv.models.BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)


@pytest.fixture(scope="module")
def daily_models():
    """BG/NBD, MBG/NBD and Pareto/NBD fitted on the CDNOW sample's calibration period in days."""
    summary = cv.summarize(TX, unit="D", observation_end=CALIBRATION_END)
    return {name: cv.models.get(name).fit(summary) for name in ("bgnbd", "mbgnbd", "paretonbd")}


@pytest.fixture
def lifetimes_alive_path(monkeypatch):
    """lifetimes' calculate_alive_path; it calls fillna(method="ffill"), which pandas 3 removed, so that
    call is given pandas' ffill() for the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import calculate_alive_path
    fillna = pd.Series.fillna

    def fillna_with_method(self, value=None, *, method=None, **kwargs):
        return self.ffill() if method == "ffill" else fillna(self, value, **kwargs)

    monkeypatch.setattr(pd.Series, "fillna", fillna_with_method)
    return calculate_alive_path


@pytest.mark.parametrize("name,fitter", [("bgnbd", "BetaGeoFitter"), ("mbgnbd", "ModifiedBetaGeoFitter"),
                                         ("paretonbd", "ParetoNBDFitter")])
def test_matches_lifetimes_calculate_alive_path(daily_models, lifetimes_alive_path, name, fitter):
    import lifetimes

    model = daily_models[name]
    peer = getattr(lifetimes, fitter)()
    peer.params_ = model.params_.copy()  # the same parameters
    for customer in (1, 6, 11, 3):  # 2, 7, 5 and 0 repeat purchases by 1997-09-30
        path = cv.alive_path(model, TX, customer, unit="D", observation_end=CALIBRATION_END)
        history = TX[(TX["customer_id"] == customer) & (TX["date"] <= CALIBRATION_END)]
        expected = lifetimes_alive_path(peer, history, "date", t=len(path) - 1, freq="D")
        assert len(path) == len(expected) == 273  # 1997-01-01 .. 1997-09-30, first purchase included
        expected = np.hstack(expected.to_list()).astype(float)  # some lifetimes fitters give 1-element arrays
        np.testing.assert_allclose(path["p_alive"].to_numpy(), expected, atol=1e-6, rtol=0)


def test_each_point_is_the_summary_and_p_alive_summarize_and_score_give_then():
    path = cv.alive_path(BGNBD, TX, 6, unit="W", observation_end=CALIBRATION_END)
    first = pd.Timestamp("1997-01-01")
    assert path.index[0] == first and (np.diff(path.index[:-1]) == pd.Timedelta(days=7)).all()
    assert path.index[-1] == pd.Timestamp(CALIBRATION_END)  # inside week 39: a last point at the end
    for date in path.index[[0, 1, 2, 10, 11, 30, -2, -1]]:
        summary = cv.summarize(TX, unit="W", observation_end=date).loc[6]
        row = path.loc[date]
        assert (row["frequency"], row["recency"], row["T"]) == pytest.approx(
            (summary["frequency"], summary["recency"], summary["T"]), abs=1e-12)
        one = summary[["frequency", "recency", "T"]].to_frame().T.astype(float)
        assert row["p_alive"] == pytest.approx(BGNBD.p_alive(one).iloc[0], abs=1e-12)
    scored = cv.score(cv.summarize(TX, observation_end=CALIBRATION_END), model=BGNBD, spend_model=None)
    assert path["p_alive"].iloc[-1] == pytest.approx(scored.loc[6, "p_alive"], abs=1e-12)
    assert path["purchases"].sum() == 8 and path["frequency"].iloc[-1] == 7  # the published summary: x = 7


def test_bgnbd_keeps_one_time_buyers_alive_and_a_purchase_lifts_p_alive():
    path = cv.alive_path(BGNBD, TX, 3, observation_end=CALIBRATION_END)  # one purchase, on 1997-01-02
    assert (path["p_alive"] == 1.0).all() and (path["frequency"] == 0).all()
    path = cv.alive_path(BGNBD, TX, 1, observation_end=CALIBRATION_END)
    after = path.index[path["purchases"] > 0][2]  # the second repeat purchase, 1997-08-06
    before = path.index[path.index.get_loc(after) - 1]
    assert path.loc[after, "p_alive"] > path.loc[before, "p_alive"]
    silent = path.loc[after:]
    assert silent["p_alive"].is_monotonic_decreasing  # no purchase after it: P(alive) only falls


def test_bgbb_counts_whole_periods_as_opportunities():
    model = cv.models.get("bgbb").fit(cv.datasets.load_donations())
    tx = pd.DataFrame({"customer_id": "d1", "amount": 25.0,
                       "date": pd.to_datetime(["2000-03-01", "2000-03-20", "2002-05-01", "2002-06-01"])})
    path = cv.alive_path(model, tx, "d1", unit="Y", observation_end="2006-03-01")
    # Years from the first gift: 2000-03-01..2001-02-28 is opportunity 0 (both March 2000 gifts), 2002-03-01..
    # 2003-02-28 is opportunity 2 (both 2002 gifts: one transaction). A point after each whole year.
    assert path.index.strftime("%Y-%m-%d").tolist() == ["2001-02-28", "2002-02-28", "2003-03-01", "2004-02-29",
                                                        "2005-02-28", "2006-02-28"]
    assert path["periods"].tolist() == [0, 1, 2, 3, 4, 5]
    assert path["frequency"].tolist() == [0, 0, 1, 1, 1, 1] and path["recency"].tolist() == [0, 0, 2, 2, 2, 2]
    assert path["purchases"].tolist() == [2, 0, 2, 0, 0, 0]
    by_hand = pd.DataFrame({"frequency": [0, 0, 1, 1, 1, 1], "recency": [0, 0, 2, 2, 2, 2], "periods": range(6)})
    np.testing.assert_allclose(path["p_alive"], model.p_alive(by_hand), atol=1e-12)
    assert path["p_alive"].iloc[2] == pytest.approx(1.0)  # gave in the last opportunity seen: alive


def test_calendar_months_with_a_monthly_grain():
    path = cv.alive_path(BGNBD, TX, 6, unit="M", grain="M", observation_end="1997-06-30")
    assert path.index.strftime("%Y-%m-%d").tolist()[:4] == ["1997-01-01", "1997-02-01", "1997-03-01", "1997-04-01"]
    days = (path.index - path.index[0]).days.to_numpy()
    np.testing.assert_allclose(path["T"].iloc[:-1], days[:-1] / (365.2425 / 12))


def test_a_model_with_covariates_takes_the_customers_values():
    hyper = {"purchase_covariates": ["email"]}
    model = cv.models.BetaGeo.from_params(hyper, r=0.2426, alpha=4.4136, a=0.7929, b=2.4259,
                                          **{"purchase[email]": 0.8})
    path = cv.alive_path(model, TX, 1, covariates={"email": 1.0}, observation_end=CALIBRATION_END)
    summary = path[["frequency", "recency", "T"]].assign(email=1.0)
    np.testing.assert_allclose(path["p_alive"], model.p_alive(summary), atol=1e-12)
    assert not np.allclose(path["p_alive"], cv.alive_path(BGNBD, TX, 1, observation_end=CALIBRATION_END)["p_alive"])
    with pytest.raises(SchemaError, match=r"covariates=\{'email': 1.0\}"):
        cv.alive_path(model, TX, 1)


def test_neither_the_transactions_nor_the_model_change_and_no_floating_point_exception():
    before, params = TX.copy(), BGNBD.params_.copy()
    old = np.seterr(all="raise")
    try:
        for name in ("bgnbd", "paretonbd", "mbgnbd"):
            model = cv.models.get(name).fit(cv.datasets.load_cdnow_summary())
            path = cv.alive_path(model, TX, 6)
            assert np.isfinite(path["p_alive"]).all() and path["p_alive"].between(0, 1).all()
    finally:
        np.seterr(**old)
    pd.testing.assert_frame_equal(TX, before)
    pd.testing.assert_series_equal(BGNBD.params_, params)


def test_the_model_travels_with_the_path():
    path = cv.alive_path(BGNBD, TX, 6)
    assert path.cv.models["model"] is BGNBD and path.index.name == "date"
    assert list(path.columns) == ["purchases", "frequency", "recency", "T", "p_alive"]


BAD = [
    ("model", lambda: cv.alive_path("bgnbd", TX, 1), InvalidParameterError, "model="),
    ("model", lambda: cv.alive_path(cv.models.get("gammagamma").fit(cv.datasets.load_cdnow_summary()), TX, 1),
     AbilityError, "still alive (the alive path needs it)"),
    ("model", lambda: cv.alive_path(cv.models.get("formula", retention=0.8), TX, 1), AbilityError, "alive path"),
    ("model", lambda: cv.alive_path(cv.models.get("bgnbd"), TX, 1), NotFittedError, "not fitted"),
    ("transactions", lambda: cv.alive_path(BGNBD, [1, 2], 1), TypeError, "transactions"),
    ("transactions", lambda: cv.alive_path(BGNBD, TX.drop(columns="date"), 1), KeyError, "date"),
    ("customer_id", lambda: cv.alive_path(BGNBD, TX, 99999), ValueError, "customer_id=99999"),
    ("customer_id", lambda: cv.alive_path(BGNBD, TX, "1"), ValueError, "customer_id='1'"),
    ("customer_id", lambda: cv.alive_path(BGNBD, TX, [1, 2]), ValueError, "customer_id=[1, 2]"),
    ("customer_id", lambda: cv.alive_path(BGNBD, TX, None), ValueError, "customer_id=None"),
    ("customer_id", lambda: cv.alive_path(BGNBD, TX, np.nan), ValueError, "customer_id=nan"),
    ("unit", lambda: cv.alive_path(BGNBD, TX, 1, unit="week"), ValueError, "unit='week'"),
    ("grain", lambda: cv.alive_path(BGNBD, TX, 1, grain=7), TypeError, "grain=7"),
    ("observation_end", lambda: cv.alive_path(BGNBD, TX, 1, observation_end=19970930), TypeError, "observation_end"),
    ("observation_end", lambda: cv.alive_path(BGNBD, TX, 1, observation_end="1996-12-31"), ValueError,
     "observation_end='1996-12-31'"),
    ("observation_end", lambda: cv.alive_path(cv.models.get("bgbb").fit(cv.datasets.load_donations()), TX, 1,
                                              unit="Y", observation_end="1997-06-30"), ValueError, "observation_end"),
    ("columns", lambda: cv.alive_path(BGNBD, TX, 1, columns={"nope": "date"}), KeyError, "columns="),
    ("covariates", lambda: cv.alive_path(BGNBD, TX, 1, covariates={"email": 1.0}), ValueError, "covariates="),
    ("covariates", lambda: cv.alive_path(BGNBD, TX, 1, covariates=[1.0]), TypeError, "covariates="),
]


@pytest.mark.parametrize("parameter,call,builtin,shown", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_gets_a_custvalue_error_naming_it(parameter, call, builtin, shown):
    with pytest.raises(CustValueError) as caught:
        call()
    assert isinstance(caught.value, builtin)
    assert shown in str(caught.value)


def test_the_fix_for_a_text_id_works():
    tx = TX.assign(customer_id=TX["customer_id"].map("{:04d}".format))
    with pytest.raises(InvalidParameterError, match="'0001'"):
        cv.alive_path(BGNBD, tx, 1)
    assert len(cv.alive_path(BGNBD, tx, "0001", observation_end=CALIBRATION_END)) == 40  # weeks 0..38 and the end
