"""Scenario 6: memory of an API worker (`timebank serve`): the largest peak resident set of
its HTTP processes during the HTTP load of scenario 2, beside the resident set once started
and idle. With several workers (PostgreSQL), the serving process that runs the projections
and the sweeper is not an API worker and is not counted."""

from bench.report import Budget, Figure, Reference, Report

SCENARIO = "6 memory"


def report(report: Report, idle_mb: float | None, peak_mb: float | None) -> None:
    report.add(
        Figure(
            SCENARIO,
            "API worker peak RSS under HTTP load",
            peak_mb,
            "MB",
            (Reference("RSS after start, idle", idle_mb, "MB"),),
            Budget("<", 250, "MB"),
            note="the largest VmHWM of the HTTP worker processes (Linux /proc)",
        )
    )
