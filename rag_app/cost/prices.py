"""The price table (``prices.toml`` beside this file): dated, per region, every price with its
unit and source page. A region or price the table does not hold is an error, never a guess."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from rag_app.errors import InvalidInputError

PRICES_FILE = Path(__file__).with_name("prices.toml")
# Inference profiles (us.amazon.nova-lite-v1:0) are priced as the model they route to.
_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "global.")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(_Frozen):
    usd: Decimal = Field(ge=0)
    unit: str
    source: HttpUrl
    basis: Literal["reference", "recalled"]
    note: str = ""
    up_to_vectors: int | None = Field(default=None, ge=1)  # the end of a query-processing tier
    vcpu: int | None = Field(default=None, ge=1)  # an EC2 instance type's size
    memory_gib: Decimal | None = Field(default=None, gt=0)
    # A monthly allowance billed at nothing (a free tier that does not expire): only the
    # quantity beyond it is charged, where the estimate applies it (Cognito's MAUs).
    free_per_month: int | None = Field(default=None, ge=1)


class RegionPrices(_Frozen):
    region: str = ""
    label: str
    prices: dict[str, Price]

    def price(self, price_id: str) -> Price:
        """The price named ``price_id``; InvalidInputError naming the region if absent."""
        try:
            return self.prices[price_id]
        except KeyError:
            raise InvalidInputError(
                f"the price table has no {price_id!r} for {self.region}"
            ) from None

    def options(self, prefix: str, suffix: str = "") -> list[str]:
        """The names between ``prefix`` and ``suffix`` of the prices that have both (the
        instance types, architectures or models this region's table can price)."""
        return sorted(
            name[len(prefix) : len(name) - len(suffix)]
            for name in self.prices
            if name.startswith(prefix) and name.endswith(suffix)
        )

    def instance_type(self, name: str) -> tuple[Decimal, Decimal]:
        """An EC2 instance type's vCPUs and GiB; InvalidInputError listing the priced types
        if the table lacks it (or its size)."""
        node = self.prices.get(f"ec2.{name}")
        if node is None or node.vcpu is None or node.memory_gib is None:
            known = ", ".join(self.options("ec2."))
            raise InvalidInputError(
                f"the price table has no EC2 price for {name!r} in {self.region}; priced: {known}"
            )
        return Decimal(node.vcpu), node.memory_gib

    def model_price(self, model_id: str, direction: Literal["input", "output"]) -> Price:
        """A Bedrock model's per-million-token price; an inference profile id is priced as
        its model. InvalidInputError listing the priced models if the table lacks it."""
        for candidate in (model_id, *_profile_targets(model_id)):
            found = self.prices.get(f"bedrock.{candidate}.{direction}")
            if found is not None:
                return found
        known = ", ".join(self.options("bedrock.", f".{direction}"))
        raise InvalidInputError(
            f"the price table has no {direction} token price for Bedrock model {model_id!r} "
            f"in {self.region}; priced models: {known}"
        )


def _profile_targets(model_id: str) -> list[str]:
    return [model_id.removeprefix(p) for p in _PROFILE_PREFIXES if model_id.startswith(p)]


class PriceTable(_Frozen):
    taken: date
    currency: Literal["USD"]
    hours_per_month: Decimal = Field(gt=0)
    regions: dict[str, RegionPrices]

    def region(self, region: str) -> RegionPrices:
        """The prices of ``region``; InvalidInputError naming the regions the table has."""
        try:
            return self.regions[region].model_copy(update={"region": region})
        except KeyError:
            raise InvalidInputError(
                f"the price table ({self.taken}) has no prices for region {region!r}; "
                f"it has: {', '.join(sorted(self.regions))}. Add the region's prices, with "
                "their sources, to rag_app/cost/prices.toml rather than reusing another's"
            ) from None


def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    """Read and validate a price table; InvalidInputError saying what is wrong with it."""
    try:
        with path.open("rb") as f:
            return PriceTable.model_validate(tomllib.load(f))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidInputError(f"cannot read the price table {path}: {e}") from None
    except ValidationError as e:
        raise InvalidInputError(f"invalid price table {path}:\n{e}") from None
