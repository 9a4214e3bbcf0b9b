"""Scenario 6: memory of the API process (`timebank serve`): its peak resident set during
the HTTP load of scenario 2, beside its resident set once started and idle."""

from bench.report import Budget, Figure, Reference, Report

SCENARIO = "6 memory"


def report(report: Report, idle_mb: float | None, peak_mb: float | None) -> None:
    report.add(
        Figure(
            SCENARIO,
            "API process peak RSS under HTTP load",
            peak_mb,
            "MB",
            (Reference("RSS after start, idle", idle_mb, "MB"),),
            Budget("<", 250, "MB"),
            note="VmHWM of the server process (Linux /proc)",
        )
    )
