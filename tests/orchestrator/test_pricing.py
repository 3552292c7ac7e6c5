"""Cost comes from usage and a price table the user can extend."""

import warnings

import pytest

from orchestrator import Price, PriceTable, Usage
from orchestrator.sim import get_profile


def test_sim_models_are_priced_from_their_profiles():
    profile = get_profile("atlas-pro")
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert PriceTable().cost("sim:atlas-pro", usage) == pytest.approx(
        profile.input_price + profile.output_price
    )


def test_lookup_strips_instance_digests_and_uses_wildcards():
    table = PriceTable({"acme:*": Price(input=1, output=1), "acme:big": Price(input=5, output=5)})
    assert table.price("acme:big@12ab34cd").input == 5
    assert table.price("acme:small").input == 1
    assert table.price("ollama:llama3.2").input == 0


def test_cached_input_is_discounted():
    price = Price(input=2.0, output=4.0, cached_input=0.5)
    usage = Usage(input_tokens=1000, output_tokens=100, cache_read_tokens=400)
    assert price.cost(usage) == pytest.approx((600 * 2 + 400 * 0.5 + 100 * 4) / 1e6)


def test_missing_prices_warn_once_error_or_stay_silent():
    usage = Usage(input_tokens=10, output_tokens=10)
    table = PriceTable()
    with pytest.warns(UserWarning, match="no price for model 'acme:x'"):
        assert table.cost("acme:x", usage) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table.cost("acme:x", usage)  # warned already
        PriceTable(on_missing="zero").cost("acme:y", usage)
    with pytest.raises(KeyError, match="no price"):
        PriceTable(on_missing="error").cost("acme:z", usage)


def test_with_prices_copies_and_register_extends():
    table = PriceTable()
    extended = table.with_prices({"acme:q": (1.0, 2.0)})
    assert extended.price("acme:q") == Price(input=1.0, output=2.0)
    assert table.price("acme:q") is None
    table.register("acme:q", Price(input=3, output=3))
    assert table.price("acme:q").input == 3
