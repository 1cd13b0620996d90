"""The command line: real files in their own layouts, published values through the commands, and every
mistake reported on one line whose "How to fix" works when followed."""

import inspect
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
import custvalue.cli._commands
from custvalue.cli import main
from custvalue.datasets import data_path
from custvalue.models import resolve

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = str(data_path("CDNOW_sample.txt"))  # the CDNOW sample as distributed: whitespace, no header, CRLF
MASTER = str(data_path("CDNOW_master.txt"))  # the CDNOW master: whitespace, a header line, CRLF
# Column 2 of the sample is the customer id of the papers (1..2357); column 1 the id in the master file.
SAMPLE_LAYOUT = ["--sep", "whitespace", "--no-header", "--names", "orig,customer_id,date,cds,amount"]


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err):
    """The one error line on stderr (the last line; the cleaning report may come before it)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("custvalue: error: ")]
    assert len(lines) == 1, err
    assert err.rstrip().splitlines()[-1] == lines[0]
    return lines[0]


def fails(capsys, *args, code=2):
    """The error line of a command that must fail with ``code``."""
    got, _, err = run(capsys, *args)
    assert got == code, err
    return error_line(err)


def hinted(line):
    """The arguments the "How to fix" of an error line says to pass (up to a parenthesis or question mark)."""
    fix = line.split("How to fix: ", 1)[1]
    start = re.search(r"(?:^|\s)(--?[a-z])", fix)
    assert start, line
    return shlex.split(re.split(r" \(|\?$", fix[start.start(1):])[0])


def follow_hints(capsys, args, steps=4):
    """Run a command; while it fails, pass what its error says. Returns the output and the errors met."""
    errors = []
    for _ in range(steps):
        code, out, err = run(capsys, *args)
        if code == 0:
            return out, err, errors
        assert code == 2
        errors.append(error_line(err))
        args = [*args, *hinted(errors[-1])]
    raise AssertionError(errors)


def library_summary(raw, **options):
    return cv.summarize(cv.clean(raw), **options)  # the command line cleans as the library does by default


def sample_raw():
    return pd.read_csv(SAMPLE, sep=r"\s+", header=None, names=["orig", "customer_id", "date", "cds", "amount"],
                       dtype={"customer_id": str})


# --- real files --------------------------------------------------------------------------------------------


def test_cdnow_sample_as_distributed_reproduces_the_published_summary(tmp_path, capsys):
    # cdnow_customers_summary_with_transactions.csv (Fader, Hardie & Lee 2005, as shipped by lifetimes): x, t_x,
    # T in weeks rounded to 2 decimals, zbar, of the raw sample (its duplicates and zero amounts count, as
    # cleaning keeps them by default) with calibration end 1997-09-30.
    out = tmp_path / "summary.csv"
    code, _, err = run(capsys, "summarize", SAMPLE, *SAMPLE_LAYOUT,
                       "--observation-end", "1997-09-30", "--unit", "W", "-o", out)
    assert code == 0 and "rows in            6,919" in err and "duplicate                      9 kept" in err
    ours = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    assert ours.index[:3].tolist() == ["0001", "0002", "0003"]  # ids as written in the file
    published = cv.datasets.load_cdnow_summary()
    assert (ours.index.astype(int) == published.index).all()
    assert (ours["frequency"].to_numpy() == published["frequency"].to_numpy()).all()
    for column in ["recency", "T", "monetary_value"]:
        np.testing.assert_allclose(ours[column], published[column], atol=0.0051, rtol=0)


def test_score_of_the_cdnow_sample_gives_the_published_predictions(tmp_path, capsys):
    out = tmp_path / "scored.csv"
    code, _, _ = run(capsys, "score", SAMPLE, *SAMPLE_LAYOUT,
                     "--observation-end", "1997-09-30", "--horizon", 39, "-o", out)
    assert code == 0
    scored = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    # BG/NBD, Fader, Hardie & Lee (2005): E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226 (customer 1).
    assert scored.loc["0001", "expected_purchases"] == pytest.approx(1.226, abs=5e-4)
    # Gamma-Gamma, Hardie's spreadsheet (Fader & Hardie 2013): expected spend of the first 10 customers.
    published = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    np.testing.assert_allclose(scored["expected_spend"].iloc[:10], published, atol=0.006)


def test_following_the_hints_reads_the_cdnow_sample(capsys):
    out, err, errors = follow_hints(capsys, ["summarize", SAMPLE, "--observation-end", "1997-09-30"])
    assert len(errors) == 1 and "was read as one column" in errors[0]
    assert "--sep whitespace --no-header --names customer_id,col2,date,col4,amount" in errors[0]
    ours = pd.read_csv(io.StringIO(out), dtype={"customer_id": str}).set_index("customer_id")
    raw = pd.read_csv(SAMPLE, sep=r"\s+", header=None, names=["customer_id", "col2", "date", "col4", "amount"],
                      dtype={"customer_id": str})
    expected = library_summary(raw, observation_end="1997-09-30")
    pd.testing.assert_frame_equal(ours[["frequency", "recency", "T", "monetary_value"]],
                                  expected[["frequency", "recency", "T", "monetary_value"]], check_dtype=False)


def test_following_the_hints_reads_the_cdnow_master_into_parquet(tmp_path, capsys):
    out = tmp_path / "customers.parquet"
    _, err, errors = follow_hints(capsys, ["summarize", MASTER, "-o", out])
    assert [hinted(e) for e in errors] == [["--sep", "whitespace"], ["--amount-col", "dollar_value"]]
    # REFERENCE: 69,659 rows; 255 exact duplicates and 80 zero amounts.
    assert "rows in           69,659" in err
    assert "duplicate                    255 kept" in err and "zero_amount                   80 kept" in err
    ours = pd.read_parquet(out)
    raw = pd.read_csv(MASTER, sep=r"\s+", dtype={"customer_id": str})
    expected = cv.summarize(cv.clean(raw, columns={"dollar_value": "amount"}))
    pd.testing.assert_frame_equal(ours, expected, check_dtype=False, check_index_type=False)


def test_segment_writes_csv_to_standard_output_like_the_library(capsys):
    code, out, err = run(capsys, "segment", SAMPLE, *SAMPLE_LAYOUT, "--method", "rfm", "--horizon", 52)
    assert code == 0 and err.startswith("Cleaning report")
    ours = pd.read_csv(io.StringIO(out), dtype={"customer_id": str}).set_index("customer_id")
    expected = cv.segment(cv.score(cv.clean(sample_raw()), horizon=52), method="rfm")
    assert (ours["segment"] == expected["segment"].astype(str)).all()
    np.testing.assert_allclose(ours["clv"], expected["clv"], rtol=1e-12)


def test_csv_with_its_own_column_names(tmp_path, capsys):
    source = tmp_path / "tx.csv"
    pd.DataFrame({"cust": ["a", "a", "b"], "day": ["2024-01-01", "2024-01-15", "2024-01-08"],
                  "value": [10.0, 30.0, 20.0]}).to_csv(source, index=False)
    line = fails(capsys, "summarize", source, "--observation-end", "2024-01-29")
    assert "no column 'customer_id' (--customer-col)" in line and "columns=" not in line
    assert hinted(line) == ["--customer-col", "cust", "--date-col", "day", "--amount-col", "value"]
    target = tmp_path / "out.csv"
    assert main(["summarize", str(source), "--observation-end", "2024-01-29", "-o", str(target), *hinted(line)]) == 0
    out = pd.read_csv(target, index_col="customer_id")
    # By hand: a bought on days 0 and 14 of 28: one repeat purchase, recency 2 weeks, T 4 weeks, repeat mean 30.
    assert out.loc["a", ["frequency", "recency", "T", "monetary_value"]].tolist() == [1, 2.0, 4.0, 30.0]
    renamed = run(capsys, "summarize", source, "--observation-end", "2024-01-29", "--names", "customer_id,date,amount")
    assert renamed[0] == 0 and renamed[1] == target.read_text()  # --names replaces the header line


def test_parquet_in_and_out_with_the_ids_in_the_index(tmp_path, capsys):
    source = tmp_path / "tx.parquet"
    cv.datasets.load_cdnow(sample=True).set_index("customer_id").to_parquet(source)
    out = tmp_path / "scored.parquet"
    assert run(capsys, "score", source, "--spend-model", "none", "-o", out)[0] == 0
    ours = pd.read_parquet(out)
    expected = cv.score(cv.clean(cv.datasets.load_cdnow(sample=True)), spend_model=None)
    pd.testing.assert_frame_equal(ours, expected, check_dtype=False)


def test_standard_input_tsv_and_compressed_files(tmp_path, capsys, monkeypatch):
    text = "customer_id,date,amount\n1,2024-01-01,5\n1,2024-01-15,7\n2,2024-01-08,3\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, from_stdin, _ = run(capsys, "summarize", "-")
    assert code == 0 and from_stdin.splitlines()[1].startswith("1,1,2.0,2.0,7.0")
    tsv = tmp_path / "tx.tsv"
    tsv.write_text(text.replace(",", "\t"))
    gz = tmp_path / "tx.csv.gz"
    pd.read_csv(io.StringIO(text)).to_csv(gz, index=False)
    assert run(capsys, "summarize", tsv)[1] == from_stdin  # tab-separated by its extension
    assert run(capsys, "summarize", gz)[1] == from_stdin
    assert run(capsys, "summarize", tsv, "-o", tmp_path / "out.tsv")[0] == 0
    assert (tmp_path / "out.tsv").read_text().splitlines()[0].split("\t")[:2] == ["customer_id", "frequency"]


def test_module_runs_as_a_program_into_a_closed_pipe():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "custvalue", "summarize", SAMPLE, *SAMPLE_LAYOUT]
    program = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = program.stdout.readline()
    program.stdout.close()  # like `| head -1`
    err = program.stderr.read().decode()
    assert program.wait() == 0 and "Traceback" not in err
    assert first.decode().startswith("customer_id,frequency")


def test_demo_prints_report_and_summary(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "rows in           69,659" in out
    assert "duplicate                    255 kept" in out
    assert "zero_amount                   80 kept" in out
    assert "Customer summary" in out and "23,570 customers" in out
    assert "BG/NBD purchase model" in out and "Top 10 customers" in out
    assert "RFM segments" in out and "Champions" in out and "Uplift scenario" in out


def test_help_exits_zero(capsys):
    for args in (["--help"], ["score", "--help"]):
        assert main(args) == 0
    assert "--penalizer" in capsys.readouterr().out


# --- models and their options ------------------------------------------------------------------------------


@pytest.fixture
def orders(tmp_path):
    tx = cv.datasets.load_cdnow(sample=True)
    path = tmp_path / "orders.csv"
    tx.to_csv(path, index=False)
    return path, cv.clean(tx)


def test_cleaning_flags_match_the_library(tmp_path, capsys):
    rows = pd.DataFrame({"customer_id": ["a", "a", "a", "a", "b"],
                         "date": ["2024-01-02", "2024-01-02", "2024-02-01", "2024-02-05", "2024-01-10"],
                         "amount": [10.0, 10.0, 30.0, -20.0, 0.0], "order": ["o1", "o1", "o2", "o2", "o3"]})
    path = tmp_path / "orders.csv"
    rows.to_csv(path, index=False)
    out = tmp_path / "summary.csv"
    code, _, err = run(capsys, "summarize", path, "--drop", "duplicate", "--returns", "net", "--net-by", "order",
                       "-o", out)
    assert code == 0 and "duplicate" in err and "netted_return" in err
    expected = cv.summarize(cv.clean(rows, duplicates="drop", negative_amounts="net", net_by="order"))
    ours = pd.read_csv(out).set_index("customer_id")
    np.testing.assert_allclose(ours["monetary_value"], expected["monetary_value"])  # 30 - 20 netted: 10
    assert ours.loc["a", "monetary_value"] == 10.0 and ours.loc["b", "frequency"] == 0


def test_formula_model_takes_its_options(orders, capsys):
    path, tx = orders
    line = fails(capsys, "score", path, "--model", "formula")
    assert "--model-option retention=" in line and "retention= " not in line.replace("option retention=", "")
    code, out, _ = run(capsys, "score", path, "--model", "formula", "--model-option", "retention=0.8")
    assert code == 0
    ours = pd.read_csv(io.StringIO(out), index_col="customer_id")
    expected = cv.score(tx, model=resolve("formula", retention=0.8))
    np.testing.assert_allclose(ours["clv"], expected["clv"], rtol=1e-12)
    line = fails(capsys, "score", path, "--model", "formula", "--model-option", "retension=0.8")
    assert "no such option" in line and "'retention'" in line


def test_penalizer_reaches_the_models(orders, capsys):
    path, tx = orders
    code, out, _ = run(capsys, "score", path, "--penalizer", 0.001)
    assert code == 0
    ours = pd.read_csv(io.StringIO(out), index_col="customer_id")
    if "penalizer" in inspect.signature(cv.score).parameters:
        expected = cv.score(tx, penalizer=0.001)
    else:
        expected = cv.score(tx, model=resolve("bgnbd", penalizer=0.001),
                            spend_model=resolve("gammagamma", penalizer=0.001))
    np.testing.assert_allclose(ours["clv"], expected["clv"], rtol=1e-12)
    assert not np.allclose(ours["clv"], cv.score(tx)["clv"])


def test_intervals_add_bounds(orders, capsys):
    path, _ = orders
    code, out, _ = run(capsys, "score", path, "--intervals", 0.9, "--interval-draws", 20)
    ours = pd.read_csv(io.StringIO(out), index_col="customer_id")
    assert code == 0 and (ours["clv_lower"] <= ours["clv"]).all() and (ours["clv"] <= ours["clv_upper"]).all()


# --- every mistake: one line, exit status 2, a fix that works -----------------------------------------------


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n1,2024-01-01,5\n1,2024-02-01,7\n2,2024-01-03,3\n2,2024-01-20,4\n")
    return path


def test_output_folder_missing(small, tmp_path, capsys):
    target = tmp_path / "new" / "out.csv"
    line = fails(capsys, "summarize", small, "-o", target)
    assert "does not exist" in line
    command = re.search(r"\((mkdir [^)]*)\)", line).group(1)
    subprocess.run(shlex.split(command), check=True)
    assert run(capsys, "summarize", small, "-o", target)[0] == 0 and target.exists()


def test_output_is_a_directory(small, tmp_path, capsys):
    line = fails(capsys, "summarize", small, "-o", tmp_path)
    assert "is a directory" in line
    assert run(capsys, "summarize", small, *hinted(line))[0] == 0
    assert (tmp_path / "customers.csv").exists()


def test_output_extension_unknown(small, tmp_path, capsys):
    line = fails(capsys, "summarize", small, "-o", tmp_path / "out.parquet.gz")
    assert ".parquet.gz is none of" in line and hinted(line) == ["-o", str(tmp_path / "out.csv")]
    assert run(capsys, "summarize", small, *hinted(line))[0] == 0


def test_input_is_a_directory(small, tmp_path, capsys):
    line = fails(capsys, "summarize", tmp_path)
    assert "is a directory" in line
    suggested = re.search(r"such as '([^']+)'", line).group(1)
    assert run(capsys, "summarize", suggested)[0] == 0


def test_input_missing(small, tmp_path, capsys):
    line = fails(capsys, "summarize", tmp_path / "tx.cvs")
    assert "does not exist" in line
    assert run(capsys, "summarize", re.search(r"did you mean '([^']+)'", line).group(1))[0] == 0
    line = fails(capsys, "summarize", tmp_path / "nothing-like-it.csv")
    assert "check the name and the folder" in line


def test_non_utf8_input(tmp_path, capsys):
    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes("customer_id,date,amount\nJosé,2024-01-01,5\nJosé,2024-02-01,7\n".encode("cp1252"))
    line = fails(capsys, "summarize", cp1252)
    assert "is not utf-8 text: it holds the byte 0xe9" in line
    code, out, _ = run(capsys, "summarize", cp1252, *hinted(line))
    assert code == 0 and out.splitlines()[1].startswith("José,1,")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text("customer_id,date,amount\n1,2024-01-01,5\n", encoding="utf-16")
    line = fails(capsys, "summarize", utf16)
    assert hinted(line) == ["--encoding", "utf-16"] and run(capsys, "summarize", utf16, *hinted(line))[0] == 0
    misnamed = tmp_path / "tx.csv"
    cv.datasets.load_cdnow(sample=True).to_parquet(misnamed)
    line = fails(capsys, "summarize", misnamed)
    assert "it is a Parquet file" in line and "name ending in .parquet" in line
    assert run(capsys, "summarize", shutil.copy(misnamed, tmp_path / "tx.parquet"))[0] == 0


def test_unknown_encoding(small, capsys):
    line = fails(capsys, "summarize", small, "--encoding", "utf-9")
    assert "argument --encoding: 'utf-9' is not an encoding" in line


def test_empty_files(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "'" + str(empty) + "' is empty" in fails(capsys, "summarize", empty)
    header = tmp_path / "header.csv"
    header.write_text("customer_id,date,amount\n")
    assert "has column names but no rows" in fails(capsys, "summarize", header)


def test_lines_with_more_fields(tmp_path, capsys):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("customer_id,date,amount\n1,2024-01-01,5\n2,2024-01-01,5,7,8\n")
    assert "Expected 3 fields in line 3, saw 5" in fails(capsys, "summarize", ragged)
    european = tmp_path / "eu.csv"
    european.write_text("client;day;revenue\n1;31/12/2024;12,50\n1;15/01/2025;3,10\n2;02/01/2025;7,00\n")
    out, _, errors = follow_hints(capsys, ["summarize", european])
    assert [hinted(e)[:2] for e in errors] == [["--sep", "semicolon"], ["--customer-col", "client"],
                                               ["--decimal", ","]]
    # By hand: customer 1 bought on 2024-12-31 and 2025-01-15 (15 days), observed to 2025-01-15.
    row = pd.read_csv(io.StringIO(out), index_col="customer_id").loc[1]
    assert row[["frequency", "recency", "T", "monetary_value"]].tolist() == pytest.approx([1, 15 / 7, 15 / 7, 3.1])


def test_headerless_file_needs_names(capsys):
    line = fails(capsys, "summarize", SAMPLE, "--sep", "whitespace")
    assert "looks like data, not column names" in line
    assert hinted(line) == ["--no-header", "--names", "customer_id,col2,date,col4,amount"]
    line = fails(capsys, "summarize", SAMPLE, "--sep", "whitespace", "--no-header")
    assert "--no-header needs --names to name the 5 columns" in line
    assert run(capsys, "summarize", SAMPLE, "--sep", "whitespace", "--no-header", *hinted(line))[0] == 0
    line = fails(capsys, "summarize", SAMPLE, "--sep", "whitespace", "--no-header", "--names", "a,b,c,d")
    assert "--names gives 4 names but" in line and "has 5 columns" in line


def test_unreadable_dates(tmp_path, capsys):
    source = tmp_path / "tx.csv"
    source.write_text("customer_id,date,amount\n1,01/02/2024,5\n1,03/04/2024,7\n2,05/06/2024,3\n")
    line = fails(capsys, "summarize", source, "--date-format", "%Y-%m-%d")
    assert "the column 'date' (--date-col) holds no date that can be read, e.g. '01/02/2024'" in line
    assert "(or --date-format %m/%d/%Y, if that is their order)" in line
    code, out, _ = run(capsys, "summarize", source, *hinted(line))
    assert code == 0 and "2024-02-01" in out  # day first, as the hint says
    line = fails(capsys, "summarize", source, "--date-col", "amount", "--amount-col", "date")
    assert hinted(line) == ["--amount-col", "amount", "--date-col", "date"]
    assert run(capsys, "summarize", source, "--date-col", "amount", "--amount-col", "date", *hinted(line))[0] == 0


def test_unreadable_amounts(tmp_path, capsys):
    source = tmp_path / "tx.csv"
    source.write_text("customer_id,note,date,price\n1,a,2024-01-01,5\n1,b,2024-02-01,7\n2,c,2024-01-03,3\n")
    line = fails(capsys, "summarize", source, "--amount-col", "note")
    assert "holds no number, e.g. 'a', 'b', 'c'" in line and hinted(line) == ["--amount-col", "price"]
    assert run(capsys, "summarize", source, "--amount-col", "note", *hinted(line))[0] == 0


@pytest.mark.parametrize("flags, message", [
    (["--unit", "Q"], "argument --unit: 'Q' is not one of h, D, W, M, Y"),
    (["--grain", "x"], "argument --grain: 'x' is not one of h, D, W, M, Y"),
    (["--observation-end", "1998-13-45"], "argument --observation-end: '1998-13-45' is not a date"),
    (["--names", "a,,b"], "argument --names: 'a,,b' has an empty name"),
    (["--names", "a,a,b"], "argument --names: 'a,a,b' names ['a'] more than once"),
    (["--decimal", ".."], "argument --decimal: '..' is not one character"),
    (["--drop", "duplicates"], "argument --drop: invalid choice: 'duplicates'"),
])
def test_bad_flag_values(small, capsys, flags, message):
    line = fails(capsys, "summarize", small, *flags)
    assert message in line
    assert line.endswith("How to fix: custvalue summarize --help lists the commands and options")
    assert run(capsys, "summarize", "--help")[0] == 0


@pytest.mark.parametrize("flags, message", [
    (["--model", "bgndb"],
     "argument --model: invalid choice: 'bgndb' (choose from 'bgcnbd', 'bgnbd', 'mbgcnbd', 'mbgnbd', 'paretonbd'"),
    (["--spend-model", "gg"], "argument --spend-model: invalid choice: 'gg'"),
    (["--horizon", "abc"], "argument --horizon: 'abc' is not a number"),
    (["--horizon", "nan"], "argument --horizon: 'nan' is not a finite number"),
    (["--interval-draws", "2.5"], "argument --interval-draws: '2.5' is not a whole number"),
])
def test_bad_model_flags(small, capsys, flags, message):
    assert message in fails(capsys, "score", small, *flags)


def test_bad_method_and_command(small, capsys):
    assert "argument --method: invalid choice: 'rmf'" in fails(capsys, "segment", small, "--method", "rmf")
    line = fails(capsys, "sumarize", small)
    assert "invalid choice: 'sumarize'" in line and line.endswith("custvalue --help lists the commands and options")
    assert "arguments are required: COMMAND" in fails(capsys)


def test_unknown_flag_suggests_the_close_one(tmp_path, capsys):
    source = tmp_path / "tx.csv"
    source.write_text("customer_id;date;amount\n1;2024-01-01;5\n1;2024-02-01;7\n")
    line = fails(capsys, "summarize", source, "--sepp", ";")
    assert "unknown argument(s) --sepp ;" in line and hinted(line) == ["--sep"]
    assert run(capsys, "summarize", source, "--sep", ";")[0] == 0


@pytest.mark.parametrize("flags, message", [
    (["--horizon", "-1"], "--horizon -1.0 is not valid: it must lie in [0, inf)"),
    (["--intervals", "1.5"], "--intervals"),
    (["--discount-rate", "-1"], "--discount-rate -1.0 is not valid: it must lie in [0, inf)"),
    (["--margin", "-2"], "--margin -2.0 is not valid: it must lie in [0, 1]"),
    (["--intervals", "0.9", "--interval-draws", "3"], "--interval-draws 3 is not valid: it must be a whole number"),
])
def test_step_errors_name_the_flags(orders, capsys, flags, message):
    line = fails(capsys, "score", orders[0], *flags)
    assert message in line and not re.search(r"\b(horizon t|intervals=|discount_rate|margin=)", line)


def test_permission_denied(small, tmp_path, capsys, monkeypatch):
    root = os.geteuid() == 0  # root may read and write anything: then the system's refusal is simulated
    if root:
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(small))
        monkeypatch.setattr(pd, "read_csv", refuse)
    else:
        small.chmod(0)
    line = fails(capsys, "summarize", small)
    assert f"cannot read '{small}': permission denied" in line
    subprocess.run(shlex.split(re.search(r"\((chmod [^)]*)\)", line).group(1)), check=True)
    monkeypatch.undo()
    assert run(capsys, "summarize", small)[0] == 0
    locked = tmp_path / "locked"
    locked.mkdir()
    if root:
        monkeypatch.setattr(os, "access", lambda path, mode: False)
    else:
        locked.chmod(0o500)
    line = fails(capsys, "summarize", small, "-o", locked / "out.csv")
    assert f"cannot write '{locked / 'out.csv'}': permission denied" in line
    subprocess.run(shlex.split(re.search(r"\((chmod [^)]*)\)", line).group(1)), check=True)
    monkeypatch.undo()
    assert run(capsys, "summarize", small, "-o", locked / "out.csv")[0] == 0


def test_multi_line_error_shows_its_first_and_fix_lines_unless_verbose(orders, capsys):
    path, _ = orders
    with open(path, "a") as extra:  # a customer whose amounts add up to more than a float holds
        extra.write("9999,1997-01-05,1,1e308\n9999,1997-02-05,1,1e308\n")
    args = ["score", path]
    line = fails(capsys, *args)
    assert re.match(r"custvalue: error: column 'amount' breaks the rule 'finite sum per customer' in 1 "
                    r"row\(s\) \(--verbose shows them\)\. How to fix: ", line)
    assert "custvalue.clean" not in line and "rescale" in line
    code, _, err = run(capsys, *args, "--verbose")
    assert code == 2 and "Traceback" not in err and "for example:\n" in err
    assert re.search(r"^\s*9999\s+inf$", err, re.M)  # the offending customer and their total


def test_parquet_refuses_text_options(tmp_path, capsys):
    source = tmp_path / "tx.parquet"
    cv.datasets.load_cdnow(sample=True).to_parquet(source)
    line = fails(capsys, "summarize", source, "--sep", ";")
    assert "--sep describes text files" in line and line.endswith("leave --sep out")
    assert run(capsys, "summarize", source)[0] == 0
    broken = tmp_path / "broken.parquet"
    broken.write_text("customer_id,date,amount\n")
    assert "is not a Parquet file" in fails(capsys, "summarize", broken)


def test_other_refusals(tmp_path, small, capsys):
    summary = tmp_path / "summary.csv"
    cv.datasets.load_cdnow_summary().to_csv(summary)
    assert "holds a customer summary" in fails(capsys, "summarize", summary)
    line = fails(capsys, "summarize", small, "--date-col", "amount")
    assert "--date-col and --amount-col both name the column 'amount'" in line
    line = fails(capsys, "summarize", small, "--observation-end", "2020-01-01")
    assert "every usable transaction" in line and "after --observation-end 2020-01-01" in line
    sheet = tmp_path / "tx.xlsx"
    sheet.write_bytes(b"PK")
    assert "is an Excel workbook" in fails(capsys, "summarize", sheet)
    assert "--model-option sets a hyper-parameter of one model" in fails(
        capsys, "score", small, "--model", "auto", "--model-option", "penalizer=0.1")


def test_keyboard_interrupt(small, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(custvalue.cli._commands, "summarize", interrupted)
    code, _, err = run(capsys, "summarize", small)
    assert code == 130 and err.rstrip().endswith("custvalue: interrupted") and "Traceback" not in err


def test_out_of_memory_is_one_line(small, capsys, monkeypatch):
    def too_big(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(custvalue.cli._commands, "summarize", too_big)
    assert "not enough memory for this file. How to fix:" in fails(capsys, "summarize", small)


def test_internal_error_is_one_line_unless_verbose(small, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr(custvalue.cli._commands, "summarize", broken)
    code, _, err = run(capsys, "summarize", small)
    assert code == 1 and "Traceback" not in err
    assert err.rstrip().endswith("custvalue: internal error: RuntimeError: a bug (--verbose shows where; please "
                                 "report it)")
    code, _, err = run(capsys, "--verbose", "summarize", small)
    assert code == 1 and "Traceback" in err


def test_warnings_of_custvalue_show_as_one_line(small, capsys, monkeypatch):
    summarize = custvalue.cli._commands.summarize

    def warns(*args, **kwargs):
        inside = str(Path(cv.__file__).parent / "score.py")
        warnings.warn_explicit("GammaGamma: q <= 1.\nCheck the spend, or pass penalizer=0.01", RuntimeWarning,
                               inside, 1)
        warnings.warn_explicit("overflow encountered in exp", RuntimeWarning, inside, 2)
        return summarize(*args, **kwargs)
    monkeypatch.setattr(custvalue.cli._commands, "summarize", warns)
    code, _, err = run(capsys, "summarize", small)
    shown = [line for line in err.splitlines() if "warning" in line]
    assert code == 0 and shown == ["custvalue: warning: GammaGamma: q <= 1."]
    code, _, err = run(capsys, "summarize", small, "--verbose")
    assert "pass --penalizer 0.01" in err and "custvalue: warning: overflow encountered in exp" in err


# --- the documentation's examples ---------------------------------------------------------------------------


DOCS = ROOT / "docs" / "cli.md"


def doc_sessions():
    """(command, expected lines) of every ``$ custvalue ...`` line in the console blocks of docs/cli.md."""
    text = DOCS.read_text()
    sessions = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *expected = chunk.rstrip("\n").split("\n")
            while command.endswith("\\"):
                command = command[:-1] + expected.pop(0).strip()
            sessions.append((command, expected))
    return sessions


def doc_files():
    """The files the page shows (``title="name"`` blocks), by name."""
    return dict(re.findall(r'```\w+ title="([^"]+)"\n(.*?)```', DOCS.read_text(), re.S))


def same_line(expected, actual):
    """Equal lines, but for numbers that agree to 9 significant digits (fits differ in the last ones)."""
    left, right = re.split(r"([,\s]+)", expected.rstrip()), re.split(r"([,\s]+)", actual.rstrip())
    if len(left) != len(right):
        return False
    for a, b in zip(left, right):
        if a != b:
            try:
                if not np.isclose(float(a), float(b), rtol=1e-9, atol=0):
                    return False
            except ValueError:
                return False
    return True


def matches(expected, actual):
    """Lines the same (:func:`same_line`), a line ``...`` standing for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and same_line(expected[0], actual[0]) and matches(expected[1:], actual[1:])


def test_docs_examples_run_and_show_what_they_print(tmp_path, capsys, monkeypatch):
    for name, content in doc_files().items():
        (tmp_path / name).write_text(content)
    for name in ("CDNOW_master.txt", "CDNOW_sample.txt"):
        shutil.copy(data_path(name), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    sessions = doc_sessions()
    assert len(sessions) >= 10
    for command, expected in sessions:
        args = shlex.split(command)
        args = args[3:] if args[:3] == ["python", "-m", "custvalue"] else args[1:]
        code, out, err = run(capsys, *args)
        assert code == (2 if any("custvalue: error:" in line for line in expected) else 0), (command, err)
        if expected:
            actual = err.splitlines() + out.splitlines()
            assert matches(expected, actual), f"{command}\n" + "\n".join(actual)


def test_docs_list_every_flag():
    text = DOCS.read_text()
    parser = custvalue.cli.build_parser()
    for name, command in parser.commands.items():
        assert f"### {name}" in text
        for action in command._actions:
            for flag in action.option_strings:
                assert f"`{flag}" in text, flag
