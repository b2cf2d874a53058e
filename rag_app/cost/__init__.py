"""What each deployment option costs a month, and once to ingest, from the user's numbers
and a dated price table: `rag-app cost`, or ``estimate(load_scenario(...), load_prices())``."""

from rag_app.cost.lines import Line, OptionEstimate
from rag_app.cost.options import estimate
from rag_app.cost.prices import PriceTable, load_prices
from rag_app.cost.render import as_json, markdown
from rag_app.cost.scenario import Scenario, load_scenario

__all__ = [
    "Line",
    "OptionEstimate",
    "PriceTable",
    "Scenario",
    "as_json",
    "estimate",
    "load_prices",
    "load_scenario",
    "markdown",
]
