"""Figures beside their references and budget lines: the printed table and the JSON."""

from dataclasses import dataclass, field
from typing import Any, Literal

Op = Literal[">=", "<", "=="]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        text = f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    elif unit == "s":
        text = f"{value:,.1f}"
    elif unit == "x":
        return f"{value:,.2f}x"
    elif value == int(value) or abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.1f}"
    return f"{text} {unit}".strip()


@dataclass(frozen=True)
class Budget:
    op: Op
    target: float
    unit: str

    def text(self) -> str:
        return f"{self.op} {fmt(self.target, self.unit)}"

    def meets(self, value: float) -> bool:
        if self.op == ">=":
            return value >= self.target
        if self.op == "<":
            return value < self.target
        return value == self.target

    def shortfall_percent(self, value: float) -> float | None:
        """How far the value is from the budget, in percent of the budget (None: meets)."""
        if self.meets(value) or self.target == 0:
            return None
        return abs(value - self.target) / abs(self.target) * 100

    def verdict(self, value: float | None) -> str:
        if value is None:
            return "not measured"
        if self.meets(value):
            return "meets"
        percent = self.shortfall_percent(value)
        if percent is None:
            return f"misses (got {fmt(value, self.unit)})"
        return f"misses by {percent:,.1f}%" if percent < 10 else f"misses by {percent:,.0f}%"


@dataclass(frozen=True)
class Reference:
    name: str
    value: float | None
    unit: str

    def text(self) -> str:
        return f"{self.name}: {fmt(self.value, self.unit)}"


@dataclass(frozen=True)
class Figure:
    scenario: str
    name: str
    value: float | None
    unit: str
    references: tuple[Reference, ...] = ()
    budget: Budget | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        return self.budget.verdict(self.value) if self.budget else ""

    def to_json(self) -> dict[str, Any]:
        budget = self.budget
        return {
            "scenario": self.scenario,
            "figure": self.name,
            "value": self.value,
            "unit": self.unit,
            "references": [
                {"name": r.name, "value": r.value, "unit": r.unit} for r in self.references
            ],
            "budget": None
            if budget is None
            else {"op": budget.op, "target": budget.target, "unit": budget.unit},
            "budget_line": budget.text() if budget else None,
            "meets": None if budget is None or self.value is None else budget.meets(self.value),
            "misses_by_percent": None
            if budget is None or self.value is None
            else budget.shortfall_percent(self.value),
            "verdict": self.verdict or None,
            "note": self.note or None,
        }


HEADERS = ("scenario", "figure", "value", "reference (same run)", "budget", "verdict")


@dataclass
class Report:
    meta: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # scenarios that could not run

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def ordered(self) -> list[Figure]:
        """By scenario (they are numbered), in the order measured within one."""
        return sorted(self.figures, key=lambda f: f.scenario)

    def rows(self) -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = []
        shown = ""
        for f in self.ordered():
            refs = [r.text() for r in f.references] or [""]
            budget = f.budget.text() if f.budget else ""
            scenario = f.scenario if f.scenario != shown else ""
            shown = f.scenario
            rows.append((scenario, f.name, fmt(f.value, f.unit), refs[0], budget, f.verdict))
            rows.extend(("", "", "", ref, "", "") for ref in refs[1:])
        return rows

    def table(self) -> str:
        rows = self.rows()
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(HEADERS)]

        def line(cells: tuple[str, ...]) -> str:
            padded = [
                c.rjust(w) if i == 2 else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(padded).rstrip()

        out = [line(HEADERS), "  ".join("-" * w for w in widths)]
        for n, row in enumerate(rows):
            if row[0] and n:
                out.append("")
            out.append(line(row))
        details = [f"{f.scenario}, {f.name}: {f.note}" for f in self.ordered() if f.note]
        notes = [
            *(f"- {d}" for d in details),
            *(f"note: {n}" for n in self.notes),
            *(f"FAILED: {f}" for f in self.failures),
        ]
        if notes:
            out.extend(["", *notes])
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.meta,
            "figures": [f.to_json() for f in self.ordered()],
            "notes": self.notes,
            "failures": self.failures,
        }
