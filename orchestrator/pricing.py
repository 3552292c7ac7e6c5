"""Turning token usage into dollars with a price table the user can extend."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.trace import Usage

__all__ = ["Price", "PriceTable", "default_prices"]


class Price(BaseModel):
    """A model's list price in USD per million tokens."""

    model_config = ConfigDict(frozen=True)

    input: float = Field(ge=0, description="USD per 1M input tokens.")
    output: float = Field(ge=0, description="USD per 1M output tokens (reasoning included).")
    cached_input: float | None = Field(
        default=None, ge=0, description="USD per 1M cache-read input tokens, if discounted."
    )

    def cost(self, usage: Usage) -> float:
        """Dollar cost of ``usage`` at this price."""
        cached = min(usage.cache_read_tokens, usage.input_tokens) if self.cached_input else 0
        fresh = usage.input_tokens - cached
        dollars = fresh * self.input + usage.output_tokens * self.output
        if cached:
            dollars += cached * (self.cached_input or 0.0)
        return dollars / 1_000_000


# Published list prices at the time of writing; check your provider's page before
# relying on them, and override with PriceTable.with_prices().
_KNOWN: dict[str, Price] = {
    "openai:gpt-4o-mini": Price(input=0.15, output=0.60, cached_input=0.075),
    "openai:gpt-4o": Price(input=2.50, output=10.00, cached_input=1.25),
    "openai:gpt-4.1-mini": Price(input=0.40, output=1.60, cached_input=0.10),
    "openai:gpt-4.1-nano": Price(input=0.10, output=0.40, cached_input=0.025),
    "anthropic:claude-3-5-haiku-latest": Price(input=0.80, output=4.00, cached_input=0.08),
    "anthropic:claude-sonnet-4-0": Price(input=3.00, output=15.00, cached_input=0.30),
    "ollama:*": Price(input=0.0, output=0.0),
}


class PriceTable:
    """Prices by model reference, with ``*`` wildcards and the simulated profiles built in.

    Lookup tries the exact reference, then the reference without an instance
    digest (``openai:gpt-4o@ab12cd34`` -> ``openai:gpt-4o``), then the longest
    matching wildcard (``ollama:*``). ``sim:`` models are priced from their
    profiles.

    Example:
        >>> table = PriceTable({"openai:my-finetune": Price(input=1.0, output=2.0)})
        >>> table.cost("openai:my-finetune", Usage(input_tokens=1000, output_tokens=500))
        0.002
    """

    def __init__(
        self,
        prices: Mapping[str, Price | tuple[float, float]] | None = None,
        *,
        on_missing: str = "warn",
    ) -> None:
        """Create a table.

        Args:
            prices: Extra or overriding prices; a tuple means ``(input, output)``.
            on_missing: What an unpriced model does: ``"warn"`` once and cost $0,
                ``"zero"`` silently, or ``"error"``.
        """
        if on_missing not in {"warn", "zero", "error"}:
            raise ValueError("on_missing must be 'warn', 'zero' or 'error'")
        self._prices: dict[str, Price] = dict(_KNOWN)
        for name, price in (prices or {}).items():
            self._prices[name] = _as_price(price)
        self.on_missing = on_missing
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def with_prices(self, prices: Mapping[str, Price | tuple[float, float]]) -> PriceTable:
        """A copy of this table with ``prices`` added or replaced."""
        table = PriceTable(on_missing=self.on_missing)
        table._prices = {**self._prices, **{k: _as_price(v) for k, v in prices.items()}}
        return table

    def register(self, model: str, price: Price | tuple[float, float]) -> None:
        """Add or replace one price in place (``model`` may end with ``*``)."""
        with self._lock:
            self._prices[model] = _as_price(price)

    def price(self, model: str) -> Price | None:
        """The price of ``model``, or ``None`` if the table has none."""
        if model in self._prices:
            return self._prices[model]
        base = model.split("@", 1)[0]
        if base in self._prices:
            return self._prices[base]
        if base.startswith("sim:"):
            from orchestrator.sim.profiles import get_profile

            try:
                profile = get_profile(base[4:])
            except Exception:
                return None
            return Price(input=profile.input_price, output=profile.output_price)
        wildcards = [k for k in self._prices if k.endswith("*") and base.startswith(k[:-1])]
        if wildcards:
            return self._prices[max(wildcards, key=len)]
        return None

    def cost(self, model: str | None, usage: Usage) -> float:
        """Dollar cost of ``usage`` on ``model``."""
        if model is None:
            return 0.0
        price = self.price(model)
        if price is None:
            self._missing(model)
            return 0.0
        return price.cost(usage)

    def _missing(self, model: str) -> None:
        if self.on_missing == "error":
            raise KeyError(f"no price for model {model!r}; add it with PriceTable.with_prices()")
        if self.on_missing == "warn":
            with self._lock:
                if model in self._warned:
                    return
                self._warned.add(model)
            warnings.warn(
                f"no price for model {model!r}: its calls count as $0 and dollar budgets "
                "cannot limit them. Add it with PriceTable.with_prices().",
                stacklevel=3,
            )

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """The explicit prices, for display or export."""
        return {name: price.model_dump() for name, price in sorted(self._prices.items())}


def _as_price(value: Price | tuple[float, float]) -> Price:
    if isinstance(value, Price):
        return value
    inp, out = value
    return Price(input=inp, output=out)


_DEFAULT = PriceTable()


def default_prices() -> PriceTable:
    """The process-wide default table; :meth:`PriceTable.register` adds to it."""
    return _DEFAULT
