"""Returns netted against the purchases they undo: the vectorised netting against a plain stack, by hand,
and through clean() with its report."""

import re

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import InvalidParameterError, MissingColumnError, SchemaError
from custvalue.returns import NETTED, REDUCED, REMOVED, UNMATCHED, UNTOUCHED, net_returns


def stack_netting(group, time, amount):
    """Netting the slow, obvious way: per group in time order, each return takes from the latest purchase left."""
    status = np.full(len(amount), UNTOUCHED)
    left = np.where(amount < 0, 0.0, amount).astype(float)
    rows = sorted((i for i in range(len(amount)) if group[i] >= 0 and amount[i] != 0),
                  key=lambda i: (group[i], time[i], amount[i] < 0, i))
    stacks: dict = {}
    for i in rows:
        stack = stacks.setdefault(group[i], [])
        if amount[i] > 0:
            stack.append(i)
            continue
        wanted = -amount[i]
        while wanted > 1e-9 and stack:
            j = stack[-1]
            taken = min(wanted, left[j])
            left[j] -= taken
            wanted -= taken
            if left[j] <= 1e-9:
                left[j] = 0.0
                stack.pop()
        left[i] = wanted if wanted > 1e-9 else 0.0
        status[i] = UNMATCHED if wanted > 1e-9 else NETTED
    for i in rows:
        if amount[i] > 0 and left[i] < amount[i]:
            status[i] = REMOVED if left[i] == 0 else REDUCED
    return status, left


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_netting_equals_a_stack_of_purchases(seed):
    rng = np.random.default_rng(seed)
    for _ in range(400):
        n = int(rng.integers(1, 40))
        group = rng.integers(-1, 4, n)
        time = rng.integers(0, 10, n)
        amount = rng.choice([-1.0, 1.0, 1.0], n) * rng.integers(0, 6, n) * 2.5 + rng.choice([0.0, 0.01], n)
        want_status, want_left = stack_netting(group, time, amount)
        got = net_returns(group, time, amount)
        np.testing.assert_array_equal(got.status, want_status)
        np.testing.assert_allclose(got.amount, want_left, atol=1e-9)


def test_by_hand():
    # Day 1 buys 10, day 2 buys 20, day 3 returns 25: day 2's purchase is gone, day 1's keeps 5.
    # Day 4 returns 8: 5 are netted (day 1's rest), 3 find nothing.
    out = net_returns(np.zeros(4, dtype=int), np.array([1, 2, 3, 4]), np.array([10.0, 20.0, -25.0, -8.0]))
    assert out.status.tolist() == [REMOVED, REMOVED, NETTED, UNMATCHED]
    assert out.amount.tolist() == [0.0, 0.0, 0.0, 3.0]
    # A return on the day of its purchase nets against it; a purchase after a return does not.
    out = net_returns(np.zeros(3, dtype=int), np.array([5, 5, 6]), np.array([-4.0, 10.0, 7.0]))
    assert out.status.tolist() == [NETTED, REDUCED, UNTOUCHED] and out.amount.tolist() == [0.0, 6.0, 7.0]


def test_amounts_that_do_not_add_up_exactly_in_binary_still_net_to_zero():
    # 0.1 + 0.2 - 0.3 is 5.6e-17 in floating point; the purchases are still returned in full.
    out = net_returns(np.zeros(3, dtype=int), np.array([1, 1, 2]), np.array([0.1, 0.2, -0.3]))
    assert out.status.tolist() == [REMOVED, REMOVED, NETTED] and out.amount.tolist() == [0.0, 0.0, 0.0]


def orders():
    return pd.DataFrame({
        "customer": ["a", "a", "a", "a", "b", "b", "c"],
        "order_id": ["o1", "o2", "o1", "o3", "o4", "o5", "o6"],
        "sku": ["x", "y", "x", "x", "z", "z", "w"],
        "day": ["2024-01-02", "2024-01-05", "2024-01-09", "2024-01-12", "2024-02-01", "2024-02-03", "2024-03-01"],
        "value": [30.0, 20.0, -30.0, -5.0, 12.0, -12.0, -9.0],
    })


MAPPING = {"customer": "customer_id", "day": "date", "value": "amount"}


def test_clean_nets_last_purchase_first_and_accounts_for_every_row():
    raw = orders()
    out = cv.clean(raw, columns=MAPPING, negative_amounts="net")
    report = cv.cleaning_report(out)
    # Customer a: the return of 30 (Jan 9) takes o2's 20 then 10 of o1; the return of 5 takes 5 more of o1.
    # Customer b: o5 returns o4 in full. Customer c returns what was never bought here.
    assert out["amount"].to_dict() == {0: 15.0}
    assert report.rows_in == report.rows_kept + report.rows_dropped == 7
    assert {k: v for k, v in report.dropped.items() if v} == {
        "returned_purchase": 2, "netted_return": 3, "unmatched_return": 1}
    assert report.kept_flagged == {"reduced_purchase": 1}
    assert raw.index[report.positions["returned_purchase"]].tolist() == [1, 4]
    assert raw.index[report.positions["unmatched_return"]].tolist() == [6]
    assert report.netting == {"returned": 56.0, "netted": 47.0, "removed": 32.0, "reduced": 15.0, "unmatched": 9.0}
    assert "Returns worth 56.00: 47.00 netted" in str(report) and "Returns worth" in report._repr_html_()


def test_net_by_matches_returns_to_their_order_or_product():
    raw = orders()
    by_order = cv.clean(raw, columns=MAPPING, negative_amounts="net", net_by="order_id")
    # The return on o1 removes o1 whatever was bought since; those on o3, o5 and o6 have no purchase to undo.
    assert by_order["order_id"].tolist() == ["o2", "o4"] and by_order["amount"].tolist() == [20.0, 12.0]
    report = cv.cleaning_report(by_order)
    assert report.dropped["unmatched_return"] == 3 and report.netting["unmatched"] == 5.0 + 12.0 + 9.0
    by_product = cv.clean(raw, columns=MAPPING, negative_amounts="net", net_by=["sku"])
    assert by_product["sku"].tolist() == ["y"]  # both x returns net against the one x purchase
    assert cv.cleaning_report(by_product).netting["unmatched"] == 5.0 + 9.0


def test_a_missing_key_matches_nothing():
    raw = orders().assign(order_id=[None, "o2", None, "o3", "o4", "o5", "o6"])
    out = cv.clean(raw, columns=MAPPING, negative_amounts="net", net_by="order_id")
    assert out["amount"].tolist() == [30.0, 20.0, 12.0]  # o1's purchase stays: its return has no order id to match
    assert cv.cleaning_report(out).dropped["unmatched_return"] == 4


def test_netting_is_the_same_whatever_the_row_order():
    raw = orders()
    base = cv.clean(raw, columns=MAPPING, negative_amounts="net")
    shuffled = cv.clean(raw.sample(frac=1.0, random_state=3), columns=MAPPING, negative_amounts="net")
    pd.testing.assert_frame_equal(shuffled.sort_index(), base)
    assert cv.cleaning_report(shuffled).netting == cv.cleaning_report(base).netting


def test_unmatched_returns_can_stop_the_clean():
    with pytest.raises(SchemaError, match=r"(?s)unmatched_return.*unmatched_returns='drop'") as caught:
        cv.clean(orders(), columns=MAPPING, negative_amounts="net", unmatched_returns="raise")
    assert caught.value.failure_cases["index"].tolist() == [6]


def test_other_rules_come_first_and_rows_after_the_end_are_not_netted():
    raw = pd.concat([orders(), pd.DataFrame({"customer": ["b"], "order_id": ["o4"], "sku": ["z"],
                                              "day": ["2024-06-01"], "value": [-1.0]})], ignore_index=True)
    out = cv.clean(raw, columns=MAPPING, negative_amounts="net", observation_end="2024-04-01")
    report = cv.cleaning_report(out)
    assert report.dropped["after_observation_end"] == 1 and report.netting["returned"] == 56.0


def test_netted_transactions_summarize_and_the_summarize_hint_works():
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 2], "amount": [10.0, 25.0, -25.0, 8.0],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-10", "2024-01-03"])})
    with pytest.raises(SchemaError) as caught:
        cv.summarize(tx)
    for call in re.findall(r"custvalue\.clean\([^)]*\)", str(caught.value)):
        cv.summarize(eval(call, {"custvalue": cv, "tx": tx}))  # each call the message names works
    netted = cv.summarize(cv.clean(tx, negative_amounts="net"), unit="D")
    assert netted.loc[1, ["frequency", "total_value"]].tolist() == [0, 10.0]  # the returned order is gone


def test_bad_arguments_name_the_parameter():
    raw = orders()
    with pytest.raises(InvalidParameterError, match=r"net_by='order_id' is not valid: .*negative_amounts='net'"):
        cv.clean(raw, columns=MAPPING, net_by="order_id")
    with pytest.raises(MissingColumnError, match=r"net_by='order' .* did you mean 'order_id'\?"):
        cv.clean(raw, columns=MAPPING, negative_amounts="net", net_by="order")
    with pytest.raises(InvalidParameterError, match=r"net_by='value' is not valid: it is the amount column"):
        cv.clean(raw, columns=MAPPING, negative_amounts="net", net_by="value")
    with pytest.raises(InvalidParameterError, match=r"negative_amounts='netted' is not valid"):
        cv.clean(raw, columns=MAPPING, negative_amounts="netted")
    with pytest.raises(InvalidParameterError, match=r"unmatched_returns='keep' is not valid"):
        cv.clean(raw, columns=MAPPING, negative_amounts="net", unmatched_returns="keep")


def test_input_is_not_changed_and_no_floating_point_error_escapes():
    raw = orders()
    before = raw.copy(deep=True)
    with np.errstate(all="raise"):
        cv.clean(raw, columns=MAPPING, negative_amounts="net", net_by="sku")
    pd.testing.assert_frame_equal(raw, before)


def test_netting_is_refused_on_dask_with_the_way_out():
    dd = pytest.importorskip("dask.dataframe")
    import custvalue.dask  # noqa: F401

    with pytest.raises(InvalidParameterError, match="not available on Dask"):
        cv.clean(dd.from_pandas(orders(), npartitions=2), columns=MAPPING, negative_amounts="net")
