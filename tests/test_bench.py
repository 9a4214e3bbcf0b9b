"""`timebank bench` end to end, scaled down, on SQLite: every scenario reports numbers with
verdicts, the signup rush fills exactly its capacity, sealing's cost is shown beside the plain
mapper's figures, and the bench cleans up after itself (its scratch stores too)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from entrypoints.cli import app

SEALING = "8 sealing personal data"  # SPEC.md sets it no budget: figures beside references
SCENARIOS = {
    "1 ledger commands",
    "2 over HTTP",
    "3 signup rush",
    "4 projections",
    "5 reads",
    "6 memory",
    "7 integrity",
    SEALING,
    "9 log",
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
    assert {f["scenario"] for f in figures if f["budget"]} == SCENARIOS - {SEALING}
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

    sealing = {f["figure"]: f for f in figures if f["scenario"] == SEALING}
    for name in ("registrations, sealed", "volunteer loads, cold key", "volunteer loads, warm key"):
        assert sealing[name]["value"] > 0, sealing[name]
        plain = sealing[name]["references"]
        assert plain[0]["name"] == "plain mapper" and plain[0]["value"] > 0, sealing[name]
    for name in ("registration p99", "load, cold key, p99", "load, warm key, p99"):
        assert sealing[name]["unit"] == "ms" and sealing[name]["value"] > 0, sealing[name]
    assert "µs to a registration" in sealing["sealing per registration (p50)"]["note"]

    log = {f["figure"].split(",")[0]: f for f in figures if f["scenario"] == "9 log"}
    for name in ("tree append", "inclusion proof p99", "audit", "verify a certificate bundle"):
        assert log[name]["value"] > 0 and log[name]["references"][0]["value"] > 0, log[name]
    # --scale 0.1: a certificate of 10 services, each with its credit as evidence
    verified = log["verify a certificate bundle"]
    assert verified["figure"].startswith("verify a certificate bundle, 10 services")
    assert verified["note"].startswith("10 services, 10 evidence events"), verified
    assert verified["note"].endswith("every check passed") and verified["budget"], verified

    assert not list(tmp_path.glob("timebank_bench_*")), "the bench database was not dropped"
