"""The README's example runs and shows what it says."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs():
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    scored, plan = namespace["scored"], namespace["plan"]
    assert scored.cv.report.kept_flagged["duplicate"] == 255
    assert scored.cv.models["model"].name == "bgnbd"
    assert scored["clv"].notna().all() and len(scored) == 23_570
    assert (plan["segment"] == "At Risk").all() and plan.cv.uplift_summary.treated == len(plan)
