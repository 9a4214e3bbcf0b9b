"""Scenario 7: correctness at speed, on the data the bench produced: the trial balance is
zero, no volunteer account is below its limit, and every acknowledged transfer is in the
read model built from the log."""

from bench.report import Budget, Figure, Reference, Report
from bench.world import World

SCENARIO = "7 integrity"
CHUNK = 500


def check(world: World, report: Report) -> bool:
    """Returns whether every check passed."""
    rt = world.rt
    rt.runner.catch_up()
    limit = rt.settings.rules.credit_limit_minutes
    acked = sorted(set(world.acked_postings))
    with rt.db.read() as cur:
        cur.execute("SELECT COALESCE(SUM(balance), 0), COUNT(*) FROM tb_accounts")
        total, accounts = cur.fetchone()
        cur.execute(
            "SELECT COUNT(*) FROM tb_accounts WHERE kind = 'volunteer' AND balance - reserved < %s",
            (-limit,),
        )
        (below,) = cur.fetchone()
        found = 0
        for start in range(0, len(acked), CHUNK):
            chunk = acked[start : start + CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cur.execute(f"SELECT COUNT(*) FROM tb_postings WHERE id IN ({marks})", chunk)
            found += int(cur.fetchone()[0])
    missing = len(acked) - found
    figures = (
        Figure(
            SCENARIO,
            "trial balance",
            int(total),
            "minutes",
            (Reference("accounts", int(accounts), ""),),
            Budget("==", 0, "minutes"),
        ),
        Figure(
            SCENARIO,
            "volunteer accounts below their limit",
            int(below),
            "",
            (Reference("credit limit", limit, "minutes"),),
            Budget("==", 0, ""),
        ),
        Figure(
            SCENARIO,
            "acknowledged transfers missing from the log",
            missing,
            "",
            (Reference("acknowledged transfers", len(acked), ""),),
            Budget("==", 0, ""),
        ),
    )
    for figure in figures:
        report.add(figure)
    return all(f.budget is None or f.value is None or f.budget.meets(f.value) for f in figures)
