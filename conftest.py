import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _wide_display():
    # Doctest outputs are written for a wide terminal.
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        yield
