"""An estimate's parts: a line is a quantity times one listed price; an option's estimate is
its monthly lines, its one-off lines and the assumptions behind them. Amounts stay exact
(Decimal) until shown: totals are the rounded sum of the exact lines (as the second worked
example on AWS's S3 Vectors pricing page rounds), so shown lines may differ from the shown
total by a cent."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from rag_app.cost.prices import RegionPrices

CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    item: str  # what is bought, e.g. "Fargate vCPU"
    quantity: Decimal  # in the price's unit
    price_id: str
    unit: str
    unit_usd: Decimal
    basis: str
    detail: str = ""  # how the quantity was reached

    @property
    def usd(self) -> Decimal:
        return self.quantity * self.unit_usd


def line(prices: RegionPrices, price_id: str, item: str, quantity: Decimal, detail: str) -> Line:
    price = prices.price(price_id)
    return Line(item, quantity, price_id, price.unit, price.usd, price.basis, detail)


def total(lines: list[Line]) -> Decimal:
    return cents(sum((x.usd for x in lines), Decimal(0)))


@dataclass(frozen=True)
class OptionEstimate:
    option: str  # "1" or "2"
    title: str
    monthly: list[Line]
    one_off: list[Line]
    assumptions: list[str] = field(default_factory=list)

    @property
    def monthly_usd(self) -> Decimal:
        return total(self.monthly)

    @property
    def one_off_usd(self) -> Decimal:
        return total(self.one_off)
