"""segment, segment_summary, filter_customers, kpis, cohort_retention: hand-calculated expectations."""

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.segment import RFM_SEGMENTS, rank_scores, score_segments

# REFERENCE.md, "RFM named segments": the standard RF grid, cell by cell (R row, F column).
EXPECTED_GRID = {
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"],
    3: ["About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
}


@pytest.fixture(scope="module")
def scored():
    return cv.score(cv.datasets.load_cdnow_summary(), horizon=39)


def test_rf_grid_cell_by_cell():
    cells = pd.DataFrame([(r, f) for r in range(1, 6) for f in range(1, 6)], columns=["r_score", "f_score"])
    names = score_segments(cells, RFM_SEGMENTS)
    for (r, f), name in zip(cells.itertuples(index=False), names):
        assert name == EXPECTED_GRID[r][f - 1], (r, f)
    assert list(names.cat.categories) == [*RFM_SEGMENTS, "Other"] and names.cat.ordered


def test_rfm_scores_use_time_since_last_purchase_and_ties_deterministically():
    df = pd.DataFrame({
        "frequency": [0, 0, 3, 5, 1, 2, 8, 0, 4, 6],
        "recency": [0.0, 0.0, 30.0, 38.0, 2.0, 10.0, 35.0, 0.0, 20.0, 39.0],
        "T": [39.0, 5.0, 39.0, 39.0, 39.0, 39.0, 39.0, 1.0, 30.0, 39.0],
        "monetary_value": [0.0, 0.0, 20.0, 50.0, 10.0, 15.0, 40.0, 0.0, 30.0, 45.0],
    })
    out = cv.segment(df, "rfm")
    idle = df["T"] - df["recency"]  # 39, 5, 9, 1, 37, 29, 4, 1, 10, 0
    # Least idle scores 5: customer 9 (idle 0); customers 3 and 7 tie on idle 1 and share a score.
    assert out.loc[9, "r_score"] == 5 and out.loc[3, "r_score"] == out.loc[7, "r_score"]
    assert out.loc[0, "r_score"] == 1  # 39 units since the last purchase
    np.testing.assert_array_equal(out["r_score"], rank_scores(-idle))
    assert out.loc[3, "rfm_score"] == f"{out.loc[3, 'r_score']}{out.loc[3, 'f_score']}{out.loc[3, 'm_score']}"
    shuffled = cv.segment(df.sample(frac=1.0, random_state=3), "rfm").loc[df.index]
    pd.testing.assert_series_equal(shuffled["rfm_score"], out["rfm_score"])
    custom = cv.segment(df, "rfm", rules={"VIP": {"r": (4, 5), "m": (4, 5)}})
    assert set(custom["segment"].unique()) <= {"VIP", "Other"}
    vip = (out["r_score"] >= 4) & (out["m_score"] >= 4)
    assert (custom["segment"] == "VIP").equals(vip)
    with pytest.raises(InvalidParameterError, match=r"rules\['bad'\]\['r'\]=\(0, 9\) is not valid: .* in \[1, 5\]"):
        cv.segment(df, "rfm", rules={"bad": {"r": (0, 9)}})


def test_value_tiers_quantiles_bins_labels_and_ties():
    df = pd.DataFrame({"clv": [1.0, 2.0, 2.0, 3.0, 10.0, 20.0]})
    tiers = cv.segment(df, "value_tiers")["segment"]
    assert tiers.tolist() == ["low", "mid", "mid", "mid", "high", "high"]  # the two 2.0s share a tier
    assert list(tiers.cat.categories) == ["low", "mid", "high"] and tiers.cat.ordered
    binned = cv.segment(df, "value_tiers", bins=[2.5, 15], labels=["S", "M", "L"])["segment"]
    assert binned.tolist() == ["S", "S", "S", "M", "M", "L"]
    halves = cv.segment(df, "value_tiers", quantiles=[0.5], labels=["bottom", "top"])["segment"]
    assert halves.tolist() == ["bottom", "bottom", "bottom", "top", "top", "top"]
    historic = cv.segment(pd.DataFrame({"total_value": [1.0, 5.0, 9.0]}), "value_tiers")["segment"]
    assert historic.tolist() == ["low", "mid", "high"]


def test_segmenting_by_value_without_value_says_what_to_run():
    with pytest.raises(SchemaError, match="run custvalue.score first"):
        cv.segment(pd.DataFrame({"frequency": [1]}), "value_tiers")


def test_lifecycle_stages_with_and_without_p_alive():
    df = pd.DataFrame({
        "frequency": [0, 0, 1, 2, 6, 3, 2],
        "recency": [0.0, 0.0, 10.0, 20.0, 30.0, 5.0, 30.0],
        "T": [2.0, 30.0, 31.0, 32.0, 31.0, 50.0, 70.0],
        "n_transactions": [1, 1, 2, 3, 7, 4, 3],
    })
    # gap = median(recency / frequency) over repeat buyers = median(10, 10, 5, 1.67, 15) = 10, so new
    # within 20, at risk when idle > 20, churned when idle > 40; loyal from the 75th percentile of
    # repeat frequencies (1, 2, 2, 3, 6) = 3. Idle (T - recency): 2, 30, 21, 12, 1, 45, 40.
    stages = cv.segment(df, "lifecycle")["segment"].tolist()
    assert stages == ["new", "at risk", "at risk", "active", "loyal", "churned", "at risk"]
    with_alive = cv.segment(df.assign(p_alive=[0.9, 0.2, 0.05, 0.7, 0.95, 0.6, 0.6]), "lifecycle")["segment"]
    assert with_alive.tolist() == ["new", "at risk", "churned", "active", "loyal", "loyal", "active"]
    prospects = cv.segment(df.assign(n_transactions=[0, 1, 2, 3, 7, 4, 3]), "lifecycle")["segment"]
    assert prospects.iloc[0] == "prospect"
    custom = cv.segment(df, "lifecycle", thresholds={"loyal_frequency": 2})["segment"]
    assert custom.iloc[3] == "loyal"
    with pytest.raises(InvalidParameterError, match=r"thresholds=.*unknown threshold\(s\) \['soon'\]"):
        cv.segment(df, "lifecycle", thresholds={"soon": 1})


def test_kmeans_is_reproducible_ordered_by_value_and_picks_k():
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [10, 10], [20, 0]])
    points = np.vstack([c + rng.normal(0, 0.5, (100, 2)) for c in centers])
    df = pd.DataFrame(points, columns=["a", "b"]).assign(clv=np.repeat([5.0, 50.0, 500.0], 100))
    out = cv.segment(df, "kmeans", features=["a", "b"], seed=1)
    assert list(out["segment"].cat.categories) == ["C1", "C2", "C3"]  # silhouette picks 3
    assert out.groupby("segment", observed=True)["clv"].mean().is_monotonic_increasing
    again = cv.segment(df, "kmeans", features=["a", "b"], seed=1)
    assert out["segment"].equals(again["segment"])
    two = cv.segment(df, "kmeans", features=["a", "b"], k=2)
    assert two["segment"].nunique() == 2


def test_rules_first_match_wins_and_bad_rules_are_named():
    df = pd.DataFrame({"clv": [5.0, 150.0, 50.0], "frequency": [0, 5, 2]})
    out = cv.segment(df, "rules", rules={"whale": "clv > 100", "regular": lambda d: d["frequency"] >= 2})
    assert out["segment"].tolist() == ["Other", "whale", "regular"]
    with pytest.raises(KeyError, match=r"rules\['oops'\]=.*no column 'no_such_column'"):
        cv.segment(df, "rules", rules={"oops": "no_such_column > 1"})


def test_segment_keeps_columns_models_and_input(scored):
    before = scored.copy()
    out = cv.segment(scored, "rfm")
    pd.testing.assert_frame_equal(scored, before)
    assert set(scored.columns) < set(out.columns)
    assert cv.fitted_models(out)["model"] is cv.fitted_models(scored)["model"]
    with pytest.raises(InvalidParameterError, match="method='magic' is not valid"):
        cv.segment(scored, "magic")


def test_segment_summary_by_hand(scored):
    out = cv.segment(scored, "value_tiers")
    table = cv.segment_summary(out)
    assert table["customers"].sum() == len(scored)
    assert table["value_share"].sum() == pytest.approx(1.0)
    high = out[out["segment"] == "high"]
    assert table.loc["high", "mean_value"] == pytest.approx(high["clv"].mean())
    assert table.loc["high", "mean_p_alive"] == pytest.approx(high["p_alive"].mean())
    with pytest.raises(SchemaError, match="run custvalue.segment first"):
        cv.segment_summary(scored)


def test_filter_by_everything(scored):
    seg = cv.segment(scored, "rfm")
    at_risk = cv.filter_customers(seg, segment="At Risk")
    assert (at_risk["segment"] == "At Risk").all() and len(at_risk) == (seg["segment"] == "At Risk").sum()
    both = cv.filter_customers(seg, segment=["Champions", "At Risk"], p_alive=(0.5, 1.0), min_value=10)
    assert both["segment"].isin(["Champions", "At Risk"]).all() and (both["p_alive"] >= 0.5).all()
    assert (both["clv"] >= 10).all()
    top = cv.filter_customers(seg, top=5, by="expected_purchases")
    assert top["expected_purchases"].tolist() == sorted(seg["expected_purchases"].nlargest(5).tolist(), reverse=True)
    share = cv.filter_customers(seg, top_share=0.1)
    assert len(share) == int(np.ceil(0.1 * len(seg))) and share["clv"].min() >= seg["clv"].quantile(0.89)
    queried = seg.cv.filter(query="frequency >= 10")
    assert (queried["frequency"] >= 10).all()
    assert cv.fitted_models(queried)["model"] is cv.fitted_models(scored)["model"]  # still chains
    with pytest.raises(InvalidParameterError, match="unknown segment"):
        cv.filter_customers(seg, segment="VIPs")
    with pytest.raises(SchemaError, match="run custvalue.segment first"):
        cv.filter_customers(scored, segment="Champions")


def test_kpis_on_scored_segmented_customers(scored):
    seg = cv.segment(scored, "value_tiers")
    k = cv.kpis(seg, costs=1000.0)["value"]
    assert k["customers"] == len(scored)
    assert k["total_clv"] == pytest.approx(scored["clv"].sum())
    shares = [k[f"clv_share: {name}"] for name in ("low", "mid", "high")]
    assert sum(shares) == pytest.approx(1.0)
    assert k["romi"] == pytest.approx((scored["clv"].sum() - 1000) / 1000)
    assert cv.kpis.__module__ == "custvalue.kpis"


def test_gini_and_top_share_by_hand():
    from custvalue.kpis import gini, top_share

    # Gini of (1, 2, 3, 4): sum |xi - xj| / (2 n^2 mean) = 20 / (2 * 16 * 2.5) = 0.25.
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert top_share(np.arange(1, 11), share=0.2) == pytest.approx((10 + 9) / 55)


def test_cohort_retention_on_cdnow():
    tx = cv.clean(cv.datasets.load_cdnow())
    matrix = cv.cohort_retention(tx, "M")
    assert (matrix[0] == 1.0).all()
    january = tx[tx["customer_id"].isin(tx.groupby("customer_id")["date"].min().loc[lambda d: d < "1997-02-01"].index)]
    active_feb = january[(january["date"] >= "1997-02-01") & (january["date"] < "1997-03-01")]["customer_id"].nunique()
    assert matrix.loc[pd.Period("1997-01", "M"), 1] == pytest.approx(active_feb / january["customer_id"].nunique())
    assert sum(matrix.attrs["cohort_size"].values()) == tx["customer_id"].nunique()
    with pytest.raises(InvalidParameterError, match="period=.* is not valid"):
        cv.cohort_retention(tx, "fortnight")


def test_kpis_on_cdnow_transactions_against_pandas():
    tx = cv.clean(cv.datasets.load_cdnow())
    k = cv.kpis(tx, "1998-01-01", "1998-06-30")["value"]
    period = tx[(tx["date"] >= "1998-01-01") & (tx["date"] <= "1998-06-30")]
    assert k["active_customers"] == period["customer_id"].nunique()
    assert k["customers"] == tx["customer_id"].nunique()
    assert k["revenue"] == pytest.approx(period["amount"].sum())
    assert k["average_order_value"] == pytest.approx(period["amount"].mean())
    days = period.groupby("customer_id")["date"].nunique()
    assert k["repeat_purchase_rate"] == pytest.approx((days >= 2).mean())
    previous = tx[(tx["date"] >= pd.Timestamp("1998-01-01") - pd.Timedelta(days=181)) & (tx["date"] < "1998-01-01")]
    kept = len(set(previous["customer_id"]) & set(period["customer_id"])) / previous["customer_id"].nunique()
    assert k["retention_rate"] == pytest.approx(kept) and k["churn_rate"] == pytest.approx(1 - kept)
    with pytest.raises(InvalidParameterError, match="before start"):
        cv.kpis(tx, "1998-06-30", "1998-01-01")


def test_segment_summary_leaves_empty_segments_out_and_undefined_shares_missing(scored):
    segmented = cv.segment(scored, "rfm", rules={"Nobody": {"r": (5, 5), "f": (1, 1)}, "All": {"r": (1, 5)}})
    segmented = segmented[segmented["segment"] != "Nobody"]
    table = cv.segment_summary(segmented)
    assert table.index.tolist() == ["All"]  # "Nobody" (and "Other") have no customers: left out
    assert list(segmented["segment"].cat.categories) == ["Nobody", "All", "Other"]  # still listed there
    assert table.loc["All", "customers"] == len(segmented) and table["mean_value"].notna().all()
    zero = cv.segment_summary(segmented.assign(clv=0.0))
    assert zero["value_share"].isna().all() and zero["value_share"].dtype == "Float64"
    assert "n/a" in cv.segment_summary(segmented.assign(clv=0.0), styled=True).text()


def test_kpis_read_yyyymmdd_integers_and_refuse_missing_rows():
    tx = pd.DataFrame({"customer_id": [1, 1, 2], "date": [20240102, 20240213, 20240301], "amount": [1.0, 2.0, 3.0]})
    by_int = cv.kpis(tx)["value"]
    by_date = cv.kpis(tx.assign(date=pd.to_datetime(tx["date"].astype(str))))["value"]
    pd.testing.assert_series_equal(by_int, by_date)
    assert by_int["revenue"] == 6.0 and by_int["orders"] == 3.0 and by_int["customers"] == 2.0
    with pytest.raises(cv.SchemaError, match="amount"):
        cv.kpis(tx.assign(amount=[1.0, np.nan, 3.0]))


def test_kpis_compare_dates_of_several_time_zones_in_utc():
    tx = pd.DataFrame({"customer_id": [1, 2, 2], "amount": [1.0, 2.0, 3.0],
                       "date": [pd.Timestamp("2024-01-01 23:30", tz="UTC"),
                                pd.Timestamp("2024-01-02 08:00", tz="US/Eastern"),
                                pd.Timestamp("2024-01-05 08:00", tz="Asia/Tokyo")]})
    k = cv.kpis(tx, "2024-01-01", "2024-01-03")["value"]
    # In UTC the three orders fall on 1, 2 and 4 January: two in the period.
    assert k["orders"] == 2.0 and k["revenue"] == 3.0


# --- rank scores: the RFM tie rule ---------------------------------------------------------------------


def test_rank_scores_use_every_score_when_most_customers_tie():
    # 11 customers, 7 with frequency 0. Scoring ties by their lowest rank, 1 + floor(5·(rank − 1)/11), gives
    # the zeros 1 and then 4, 4, 5, 5: scores 2 and 3 unused. By rank with the tie rule: score 1 takes the
    # zeros (equal values share a score), and the four values left must each take a score of their own.
    x = pd.Series([0, 0, 4, 0, 1, 0, 2, 0, 0, 3, 0])
    assert rank_scores(x).tolist() == [1, 1, 5, 1, 2, 1, 3, 1, 1, 4, 1]
    # Six distinct values: 0 (7 customers) scores 1; of the 5 left, score 2 takes 1 customer (an equal share
    # would be 5/4 = 1.25; two would be 0.75 over), score 3 one (share 4/3), score 4 one (share 1.5: one and
    # two are as far, so it stops early), and score 5 the last two values.
    assert rank_scores(pd.Series([0] * 7 + [1, 2, 3, 4, 9])).tolist() == [1] * 7 + [2, 3, 4, 5, 5]


def test_rank_scores_are_equal_fifths_without_ties_and_ignore_row_order():
    rng = np.random.default_rng(0)
    values = pd.Series(rng.permutation(1000).astype(float))
    scores = rank_scores(values)
    np.testing.assert_array_equal(np.bincount(scores)[1:], [200] * 5)
    assert (scores == 1 + values.to_numpy() // 200).all()  # 0..199 score 1, ..., 800..999 score 5
    tied = pd.Series(rng.integers(0, 8, 500))
    order = rng.permutation(500)
    np.testing.assert_array_equal(rank_scores(tied.iloc[order]), rank_scores(tied)[order])
    for value in tied.unique():  # equal values share a score
        assert len(set(rank_scores(tied)[tied.to_numpy() == value])) == 1


def test_rank_scores_spread_fewer_distinct_values_over_the_scale():
    assert rank_scores(pd.Series([0, 0, 0, 3])).tolist() == [1, 1, 1, 5]
    assert rank_scores(pd.Series([1, 2, 3, 1])).tolist() == [1, 3, 5, 1]
    assert rank_scores(pd.Series([1, 2, 3, 4])).tolist() == [1, 2, 4, 5]  # 1 + round(4·j/3)
    assert rank_scores(pd.Series([7.0, 7.0])).tolist() == [1, 1]


def test_rfm_on_cdnow_uses_every_f_score_and_keeps_the_rf_grid(scored):
    out = cv.segment(scored, "rfm")
    # 1,411 of the 2,357 CDNOW sample customers made no repeat purchase by 1997-09-30 (the published summary).
    assert (scored["frequency"] == 0).sum() == 1411
    assert ((out["f_score"] == 1) == (out["frequency"] == 0)).all()  # exactly the one-time buyers score 1
    assert sorted(out["f_score"].unique()) == [1, 2, 3, 4, 5] and sorted(out["r_score"].unique()) == [1, 2, 3, 4, 5]
    by_f = out.groupby("f_score")["frequency"]
    assert (by_f.max().to_numpy()[:-1] < by_f.min().to_numpy()[1:]).all()  # scores follow frequency, no overlap
    for (r, f), names in out.groupby(["r_score", "f_score"])["segment"]:
        assert set(names) == {EXPECTED_GRID[r][f - 1]}


# --- segment_summary for reading -----------------------------------------------------------------------


def test_styled_summary_shows_percentages_and_keeps_the_numbers(scored):
    segmented = cv.segment(scored, "value_tiers")
    table = cv.segment_summary(segmented)
    styled = cv.segment_summary(segmented, styled=True)
    pd.testing.assert_frame_equal(styled.data, table)
    lines = styled.text().splitlines()
    assert lines[0].split() == ["customers", "%", "of", "customers", "total", "clv", "mean", "clv", "%", "of", "clv",
                                "mean", "P(alive)", "mean", "frequency", "mean", "recency"]
    high = next(line for line in lines if line.startswith("high"))
    share = table.loc["high", "customer_share"]
    assert f"{share:.1%}" in high and f"{table.loc['high', 'value_share']:.1%}" in high
    assert f"{table.loc['high', 'customers']:,}" in high and f"{table.loc['high', 'mean_value']:,.2f}" in high
    assert "e-0" not in styled.text() and "NaN" not in styled.text()
    assert f"{share:.1%}" in styled._repr_html_() and f"{share:.1%}" in styled.style().to_html()
    assert str(styled) == styled.text()


def test_styled_summary_marks_tiny_shares_and_aligns_columns():
    frame = pd.DataFrame({"total_value": [1.0] * 2001, "segment": ["big"] * 2000 + ["one"]})
    text = cv.segment_summary(frame, styled=True).text()
    one = next(line for line in text.splitlines() if line.startswith("one"))
    assert one.split()[1:] == ["1", "<0.1%", "1", "1.00", "<0.1%"]  # 1/2001 = 0.05%: not "0.0%"
    widths = {len(line) for line in text.splitlines() if line and not line.startswith("segment")}
    assert len(widths) == 1  # every row as wide as the header: aligned


def test_the_note_explains_p_alive_of_one_time_buyers_under_bgnbd_only(scored):
    notes = cv.segment_summary(cv.segment(scored, "rfm")).attrs["notes"]
    one_time = int((scored["frequency"] == 0).sum())
    assert len(notes) == 1 and f"P(alive) is 1 for the {one_time:,} customers" in notes[0]
    assert "drop out only right after a purchase" in notes[0] and "'Hibernating'" in notes[0]
    assert (scored.loc[scored["frequency"] == 0, "p_alive"] == 1.0).all()  # what the note says
    assert "Note: P(alive) is 1" in cv.segment_summary(cv.segment(scored, "rfm"), styled=True).text()
    pareto = cv.score(cv.datasets.load_cdnow_summary(), model="paretonbd", horizon=39)
    assert (pareto.loc[pareto["frequency"] == 0, "p_alive"] < 1).all()
    assert cv.segment_summary(cv.segment(pareto, "rfm")).attrs["notes"] == []


def test_styled_must_be_true_or_false(scored):
    with pytest.raises(InvalidParameterError, match="styled='yes'"):
        cv.segment_summary(cv.segment(scored, "value_tiers"), styled="yes")



def test_the_note_counts_one_customer_in_the_singular():
    one = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 3.0], "T": [5.0, 5.0], "clv": [1.0, 4.0],
                        "p_alive": [1.0, 0.8], "segment": ["a", "b"]})
    assert cv.segment_summary(one).attrs["notes"][0].startswith(
        "P(alive) is 1 for the 1 customer (50%) without a repeat purchase; they make up most of 'a'.")


def test_the_demo_reads_cleanly(capsys):
    import re

    from custvalue.cli import main

    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert not re.search(r"\d\.\d+e[-+]\d", out), "scientific notation"
    assert "NaN" not in out and "<NA>" not in out
    assert "New Customers" not in out  # no customer in it: left out of the table
    assert re.search(r"\nChampions +\d{1,3},\d{3} +\d+\.\d%", out)  # counts with separators, shares in percent
    summary = cv.summarize(cv.clean(cv.datasets.load_cdnow()), observation_end="1998-06-30")
    one_time = (summary["frequency"] == 0).sum()
    assert f"Note: P(alive) is 1 for the {one_time:,} customers ({one_time / len(summary):.0%}) without" in out
    assert "return on the cost" in out and "break-even cost per customer" in out


def test_rank_scores_refuse_what_is_not_finite_numbers():
    with pytest.raises(InvalidParameterError, match="values=.*finite numbers"):
        rank_scores(pd.Series([1.0, np.nan]))
    with pytest.raises(InvalidParameterError, match="values=.*must be numbers"):
        rank_scores(["a", "b"])
    with pytest.raises(InvalidParameterError, match="n_scores=0"):
        rank_scores([1.0, 2.0], n_scores=0)
    assert rank_scores([3.0, 1.0, 2.0], n_scores=3).tolist() == [3, 1, 2]


def test_kpis_end_given_as_a_day_includes_that_whole_day():
    tx = pd.DataFrame({"customer_id": [1, 2, 3], "amount": [10.0, 20.0, 40.0],
                       "date": pd.to_datetime(["2024-03-01 09:00", "2024-03-31 00:00", "2024-03-31 18:30"])})
    by_day = cv.kpis(tx, "2024-03-01", "2024-03-31")["value"]
    assert by_day["revenue"] == 70.0 and by_day["customers"] == 3.0  # the 18:30 purchase counts, as in summarize
    by_time = cv.kpis(tx, "2024-03-01", "2024-03-31 12:00")["value"]
    assert by_time["revenue"] == 30.0  # an end with a time of day is that instant
