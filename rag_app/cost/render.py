"""An estimate as Markdown (for people and the README) or JSON (for tools)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from rag_app.cost.lines import Line, OptionEstimate, cents
from rag_app.cost.prices import PriceTable
from rag_app.cost.scenario import Scenario

RECALLED = "†"


def _quantity(q: Decimal) -> str:
    if q == q.to_integral_value():
        return f"{q:,.0f}"
    if q >= 1000:
        return f"{q:,.0f}"
    if q >= Decimal("0.001"):
        return f"{q:.4g}"
    return f"{q:.8f}".rstrip("0")


def _usd(amount: Decimal) -> str:
    return f"{cents(amount):,.2f}"


def _table(heading: str, lines: list[Line], total: Decimal) -> list[str]:
    rows = [f"| {heading} | Quantity | Unit price ($) | $ |", "|---|---|---:|---:|"]
    for x in lines:
        mark = f" {RECALLED}" if x.basis == "recalled" else ""
        item = f"{x.item}: {x.detail}" if x.detail else x.item
        rows.append(
            f"| {item} | {_quantity(x.quantity)} {x.unit} | {x.unit_usd}{mark} | {_usd(x.usd)} |"
        )
    rows.append(f"| **Total** | | | **{_usd(total)}** |")
    return rows


def markdown(estimates: list[OptionEstimate], table: PriceTable, scenario: Scenario) -> str:
    region = table.region(scenario.region)
    out = [
        f"Prices: {scenario.region} ({region.label}), price table of {table.taken} "
        f"(`rag_app/cost/prices.toml`, every price with its source page). {RECALLED} marks a "
        "price recalled from the public pricing page rather than taken from a cited note: "
        "re-check it before deciding.",
        "",
        "| | " + " | ".join(f"Option {e.option}" for e in estimates) + " |",
        "|---|" + "---:|" * len(estimates),
        "| Per month | " + " | ".join(f"${_usd(e.monthly_usd)}" for e in estimates) + " |",
        "| Once, first ingestion | "
        + " | ".join(f"${_usd(e.one_off_usd)}" for e in estimates)
        + " |",
    ]
    for e in estimates:
        out += [
            "",
            f"### Option {e.option}: {e.title}",
            "",
            f"**${_usd(e.monthly_usd)} a month**, plus **${_usd(e.one_off_usd)} once** for the "
            "first ingestion.",
            "",
            *_table("Monthly", e.monthly, e.monthly_usd),
            "",
            *_table("Once", e.one_off, e.one_off_usd),
            "",
            "Assumptions:",
            "",
            *(f"- {a}" for a in e.assumptions),
        ]
    return "\n".join(out)


def _line_json(x: Line) -> dict[str, Any]:
    return {
        "item": x.item,
        "detail": x.detail,
        "quantity": float(x.quantity),
        "unit": x.unit,
        "unit_usd": float(x.unit_usd),
        "usd": float(cents(x.usd)),
        "price_id": x.price_id,
        "basis": x.basis,
    }


def _numbers(value: Any) -> Any:
    """Decimals as JSON numbers (pydantic writes them as strings)."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def as_json(estimates: list[OptionEstimate], table: PriceTable, scenario: Scenario) -> str:
    region = table.region(scenario.region)
    document = {
        "price_table": {
            "taken": table.taken.isoformat(),
            "currency": table.currency,
            "region": scenario.region,
            "label": region.label,
            "hours_per_month": float(table.hours_per_month),
        },
        "inputs": _numbers(scenario.model_dump()),
        "options": [
            {
                "option": e.option,
                "title": e.title,
                "monthly_usd": float(e.monthly_usd),
                "one_off_usd": float(e.one_off_usd),
                "monthly": [_line_json(x) for x in e.monthly],
                "one_off": [_line_json(x) for x in e.one_off],
                "assumptions": e.assumptions,
            }
            for e in estimates
        ],
    }
    return json.dumps(document, indent=2)
