"""The expression language of query= and rules=: what it computes, what it refuses, and that a string
can never run code."""

import ast
import builtins
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import InvalidParameterError, MissingColumnError
from custvalue.expressions import MAX_LENGTH, boolean_mask, parse_expression

FRAME = pd.DataFrame({
    "clv": [5.0, 50.0, np.nan, 500.0, 80.0],
    "frequency": [0, 1, 2, 3, 4],
    "segment": pd.Categorical(["low", "mid", "high", "high", "mid"], ["low", "mid", "high"], ordered=True),
    "channel": ["web", "shop", "web", "web", "shop"],
    "avg spend": [1.0, 30.0, 20.0, 10.0, 0.0],
    "vip": [True, False, True, False, False],
    "first_purchase": pd.to_datetime(["1997-01-01", "1997-02-01", "1997-03-01", "1997-04-01", "1997-05-01"]),
}, index=pd.Index([11, 12, 13, 14, 15], name="customer_id"))


def rows(text):
    return FRAME.index[boolean_mask(FRAME, text)].tolist()


# Each expected list is worked out by hand from FRAME above.
@pytest.mark.parametrize("text, expected", [
    ("clv > 40", [12, 14, 15]),                                  # NaN compares False
    ("clv >= 50 & frequency < 4", [12, 14]),
    ("clv >= 50 and frequency < 4", [12, 14]),
    ("frequency == 0 | clv > 100", [11, 14]),                    # & and | bind like and/or, as in pandas
    ("frequency > 2 & clv > 100 | vip", [11, 13, 14]),
    ("not vip", [12, 14, 15]),
    ("~vip & frequency > 0", [12, 14, 15]),
    ("1 <= frequency < 3", [12, 13]),                           # chained
    ("segment == 'high'", [13, 14]),
    ("segment in ['low', 'mid']", [11, 12, 15]),
    ("segment not in ('high',)", [11, 12, 15]),
    ("channel != \"web\"", [12, 15]),
    ("`avg spend` > 15", [12, 13]),                              # backticks for names with spaces
    ("`avg spend` * frequency >= 30", [12, 13, 14]),
    ("clv - 2 * frequency == 48", [12]),
    ("frequency ** 2 + 1 == 10", [14]),
    ("frequency // 2 == 1", [13, 14]),
    ("frequency % 2 == 1", [12, 14]),
    ("-frequency < -2", [14, 15]),
    ("clv / frequency > 40", [12, 14]),                          # 5/0 = inf > 40 would count: 5 > 0 → inf
    ("abs(frequency - 2) == 1", [12, 14]),
    ("log(clv) > 4", [14, 15]),
    ("exp(frequency) > 20", [14, 15]),
    ("sqrt(frequency) == 2", [15]),
    ("isna(clv)", [13]),
    ("notna(clv) and clv < 10", [11]),
    ("first_purchase >= '1997-03-01'", [13, 14, 15]),
    ("frequency in [1, -1, 3.0]", [12, 14]),
    ("vip == True", [11, 13]),
    ("(clv > 40) == (frequency > 2)", [11, 13, 14, 15]),
    ("2 ** 1000000 > frequency", [11, 12, 13, 14, 15]),        # numbers, not Python's big integers
])
def test_what_expressions_compute(text, expected):
    if text == "clv / frequency > 40":
        expected = [11, 12, 14]  # 5.0 / 0 is inf, which is > 40
    assert rows(text) == expected


@pytest.mark.parametrize("text", [
    "clv > 40", "clv >= 50 & frequency < 4", "frequency == 0 | clv > 100", "not vip", "~vip & frequency > 0",
    "1 <= frequency < 3", "segment == 'high'", "segment in ['low', 'mid']", "`avg spend` > 15",
    "`avg spend` * frequency >= 30", "frequency ** 2 + 1 == 10", "frequency % 2 == 1", "-frequency < -2",
    "abs(frequency - 2) == 1", "channel != 'web' and clv < 60",
])
def test_same_rows_as_pandas_query(text):
    # pandas' query is the reference users know (used here in the tests only, never by custvalue).
    assert rows(text) == FRAME.query(text.replace("abs(", "abs(")).index.tolist()


@pytest.mark.parametrize("text, token, position", [
    ("clv.__class__", "attribute access '.__class__'", 3),
    ("channel.str.len() > 3", "attribute access '.str'", 7),
    ("open('/etc/passwd')", "the call open(...)", 0),
    ("__import__('os').getcwd()", "the call __import__(...)", 0),       # the first offending token
    ("clv.__class__.__init__", "attribute access '.__class__'", 3),
    ("__import__('os')", "the call __import__(...)", 0),
    ("clv > __builtins__", "the name '__builtins__'", 6),
    ("clv[0] > 1", "a subscript '[...]'", 0),
    ("@clv > 1", "'@'", 0),
    ("clv > @threshold", "'@'", 6),
    ("lambda: 1", "lambda", 0),
    ("[c for c in clv]", "a comprehension", 0),
    ("{c for c in clv}", "a comprehension", 0),
    ("{c: 1 for c in clv}", "a comprehension", 0),
    ("sum(c for c in clv)", "the call sum(...)", 0),
    ("f'{clv}' == 'x'", "an f-string", 0),
    ("(x := 1) > clv", "the walrus ':='", 1),
    ("import os", "a syntax error", 0),
    ("clv is None", "the comparison 'is'", 4),
    ("clv == None", "the literal None", 7),
    ("clv ^ 1 == 0", "the operator '^'", 4),
    ("clv << 1 > 0", "the operator '<<'", 4),
    ("clv if vip else frequency", "if/else", 0),
    ("{1: 2}", "a dict", 0),
    ("{1, 2}", "a set", 0),
    ("(1, 2) == clv", "a list or tuple outside 'in [...]'", 0),
    ("frequency in frequency", "'in' with something other than a literal list", 13),
    ("segment in ['a', clv]", "an item that is not a number, string or True/False", 17),
    ("frequency in [1] == True", "'in' inside a chain", 0),
    ("log(clv, 2) > 1", "log(...) with other than one plain argument", 0),
    ("sqrt(x=clv) > 1", "sqrt(...) with other than one plain argument", 0),
    ("log > 1", "the function name 'log' without a call", 0),
    ("b'x' == channel", "the literal b'x'", 0),
    ("1j == clv", "the literal 1j", 0),
    ("(yield clv)", "yield", 1),
    ("*clv", "a syntax error", 0),
    ("clv > 1 )", "a syntax error", 8),
    ("`unclosed > 1", "an unclosed backtick", 0),
    ("`` > 1", "an empty column name", 0),
    ("'€' == channel and clv.x", "attribute access '.x'", 22),   # positions count characters, not bytes
])
def test_refusals_name_the_token_and_its_position(text, token, position):
    with pytest.raises(InvalidParameterError) as caught:
        boolean_mask(FRAME, text)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)
    assert message.startswith(f"query={text!r}: {token}"), message
    assert f"at position {position} " in message, message
    assert message.splitlines()[2] == "    " + " " * position + "^"  # the caret under the token


@pytest.mark.parametrize("text, fragment", [
    ("clv + 1", "gives numbers, not True/False"),
    ("channel", "gives str values, not True/False"),
    ("True", "does not depend on any column"),
    ("1 < 2", "does not depend on any column"),
    ("clv and vip", "and/or/not on float64 values"),
    ("not clv", "and/or/not on float64 values"),
    ("channel + 1 > 0", "arithmetic on column 'channel'"),
    ("vip * 2 > 0", "arithmetic on column 'vip'"),
    ("'a' * 3 == channel", "arithmetic on 'a'"),
    ("segment > 'a'", "comparing column 'segment'"),
    ("clv > 'x'", "comparing column 'clv'"),
])
def test_results_must_be_one_true_or_false_per_row(text, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        boolean_mask(FRAME, text)


def test_unknown_columns_are_named_with_close_matches():
    with pytest.raises(MissingColumnError, match=r"no column 'frequncy' \(at position 6\).*did you mean"):
        boolean_mask(FRAME, "clv > frequncy")
    with pytest.raises(KeyError):  # MissingColumnError is a KeyError too
        boolean_mask(FRAME, "`avg  spend` > 1")


@pytest.mark.parametrize("text", [None, 5, "", "   ", ["clv > 1"]])
def test_the_text_must_be_a_non_empty_string(text):
    with pytest.raises(InvalidParameterError, match="must be a non-empty expression string"):
        boolean_mask(FRAME, text)


def test_limits_on_size_and_nesting():
    with pytest.raises(InvalidParameterError, match="characters long"):
        boolean_mask(FRAME, "clv > 1 and " * (MAX_LENGTH // 10) + "vip")
    with pytest.raises(InvalidParameterError):
        boolean_mask(FRAME, "(" * 300 + "clv" + ")" * 300 + " > 1")
    with pytest.raises(InvalidParameterError):
        boolean_mask(FRAME, "+".join(["frequency"] * 900) + " > 1")
    with pytest.raises(InvalidParameterError):
        boolean_mask(FRAME, "frequency == " + "9" * 5000)


def test_parsed_expressions_list_their_columns_and_apply_to_any_frame():
    expression = parse_expression("`avg spend` > 10 and segment in ['mid'] or isna(clv)")
    assert expression.columns == ("avg spend", "segment", "clv")
    other = FRAME.iloc[::-1]
    assert other.index[expression.mask(other)].tolist() == [13, 12]


def test_missing_values_never_match():
    df = pd.DataFrame({"x": pd.array([1, None, 3], dtype="Int64"), "flag": pd.array([True, None, False])})
    assert boolean_mask(df, "x > 0").tolist() == [True, False, True]
    assert boolean_mask(df, "flag").tolist() == [True, False, False]
    assert boolean_mask(df, "x != 1").tolist() == [False, False, True]


def test_floating_point_errors_never_escape():
    old = np.seterr(all="raise")
    try:
        # log: -inf, 0, 0.69, 1.10, 1.39; f / 0: nan, inf, ...; sqrt(-f): 0, nan, ... (nan != 1)
        assert rows("log(frequency) < 1 and frequency / 0 > 1 and sqrt(-frequency) != 1") == [12, 13]
    finally:
        np.seterr(**old)


# --- strings are data, never code -----------------------------------------------------------------------


def exploits(target: Path) -> list[str]:
    path = str(target)
    return [
        f"@pd.io.common.os.mkdir('{path}')",
        f"pd.io.common.os.mkdir('{path}')",
        f"__import__('os').mkdir('{path}')",
        f"open('{path}', 'w').write('x')",
        f"exec(\"import os; os.mkdir('{path}')\")",
        f"eval(\"__import__('os').mkdir('{path}')\")",
        f"().__class__.__base__.__subclasses__()[0]('{path}')",
        f"clv > 1 and [os.mkdir('{path}') for os in [__import__('os')]]",
        f"(lambda: __import__('os').mkdir('{path}'))()",
        f"getattr(__import__('os'), 'mkdir')('{path}')",
        f"clv.__class__.__init__.__globals__['os'].mkdir('{path}')",
        f"clv > 1 if __import__('os').mkdir('{path}') else clv < 1",
        f"f\"{{__import__('os').mkdir('{path}')}}\" == 'x'",
        f"(m := __import__('os')) and m.mkdir('{path}')",
        f"clv > 1 & @__import__('os').mkdir('{path}')",
    ]


@pytest.mark.parametrize("k", range(15))
def test_exploit_strings_have_no_effect_in_filter_uplift_and_rules(k, tmp_path):
    target = tmp_path / "created"
    text = exploits(target)[k]
    scored = FRAME.assign(p_alive=0.5)
    for call in (
        lambda: cv.filter_customers(scored, query=text),
        lambda: cv.uplift(scored, query=text, factor=1.1),
        lambda: cv.segment(scored, method="rules", rules={"x": text}),
    ):
        with pytest.raises(InvalidParameterError):
            call()
        assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_nothing_reaches_eval_exec_or_pandas_eval(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("custvalue must not evaluate expression strings as code")

    for owner, name in ((builtins, "eval"), (builtins, "exec"), (pd, "eval"),
                        (pd.DataFrame, "eval"), (pd.DataFrame, "query")):
        monkeypatch.setattr(owner, name, forbidden)
    scored = FRAME.assign(p_alive=0.5, clv=FRAME["clv"].fillna(0.0))
    assert cv.filter_customers(scored, query="clv > 40 & frequency < 4").index.tolist() == [12, 14]
    assert cv.uplift(scored, query="vip", factor=2.0)["incremental_value"].tolist() == [5.0, 0.0, 0.0, 0.0, 0.0]
    out = cv.segment(scored, method="rules", rules={"big": "clv >= 80", "rest": lambda d: d["frequency"] >= 0})
    assert out["segment"].tolist() == ["rest", "rest", "rest", "big", "big"]


def test_the_package_calls_no_evaluator():
    # No call to eval/exec/compile/getattr of user text, and no pandas .eval()/.query(), anywhere in custvalue.
    package = Path(cv.__file__).parent
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec", "compile", "__import__"), f"{path}:{node.lineno}"
            if isinstance(node.func, ast.Attribute):
                assert node.func.attr not in ("eval", "query"), f"{path}:{node.lineno}"
