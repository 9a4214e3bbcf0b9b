"""`timebank bench` end to end, scaled down, on SQLite: every scenario reports numbers with
verdicts, the signup rush fills exactly its capacity, and the bench cleans up after itself."""

import json
from pathlib import Path

from typer.testing import CliRunner

from entrypoints.cli import app

SCENARIOS = {
    "1 ledger commands",
    "2 over HTTP",
    "3 signup rush",
    "4 projections",
    "5 reads",
    "6 memory",
    "7 integrity",
}


def test_quick_bench_reports_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "--quick", "--scale", "0.1", "--clients", "4"]
    args += ["--database-url", str(tmp_path), "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "verdict" in result.output and "meets" in result.output

    report = json.loads(out.read_text())
    assert report["failures"] == []
    assert report["database"] == "sqlite" and report["quick"] is True
    figures = report["figures"]
    assert {f["scenario"] for f in figures} == SCENARIOS
    assert {f["scenario"] for f in figures if f["budget"]} == SCENARIOS
    for figure in figures:
        assert isinstance(figure["value"], int | float), figure
        for reference in figure["references"]:
            assert isinstance(reference["value"], int | float), figure
        if figure["budget"] is not None:
            verdict = figure["verdict"]
            assert verdict == "meets" or verdict.startswith("misses"), figure

    rush = {f["figure"].split(" (")[0]: f for f in figures if f["scenario"] == "3 signup rush"}
    capacity = rush["accepted"]["budget"]["target"]
    assert rush["accepted"]["value"] == capacity == rush["accepted"]["references"][0]["value"]
    assert rush["waitlisted"]["meets"] and rush["errors"]["value"] == 0
    assert all(f["meets"] for f in figures if f["scenario"] == "7 integrity")

    assert not list(tmp_path.glob("timebank_bench_*")), "the bench database was not dropped"
