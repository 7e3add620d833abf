"""Import LiteLLM's ``model_prices_and_context_window.json`` (USD per token) into book entries."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from forecast.errors import ConfigError
from forecast.pricing.book import PriceEntry, Tier

# LiteLLM field suffix for each tier it prices; standard has none.
_TIER_SUFFIX: dict[Tier, str] = {
    "standard": "", "batch": "_batches", "flex": "_flex", "priority": "_priority"
}  # fmt: skip
_PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "azure": "azure",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
}


def load_litellm_map(path: str | Path, effective: dt.date) -> list[PriceEntry]:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(
            f"cannot read LiteLLM price map: {exc.strerror}", file=str(path)
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
    if not isinstance(data, dict):
        raise ConfigError("a LiteLLM price map is a JSON object keyed by model", file=str(path))
    entries = []
    for name, spec in data.items():
        if name == "sample_spec" or not isinstance(spec, dict):
            continue
        provider = spec.get("litellm_provider", "")
        if provider.startswith("vertex_ai"):
            provider = "google"
        for tier, suffix in _TIER_SUFFIX.items():
            inp = spec.get(f"input_cost_per_token{suffix}")
            out = spec.get(f"output_cost_per_token{suffix}")
            if inp is None or out is None:
                continue
            cached = spec.get(f"cache_read_input_token_cost{suffix}")
            write = spec.get(f"cache_creation_input_token_cost{suffix}")
            try:
                entries.append(
                    PriceEntry(
                        model=name,
                        provider=_PROVIDERS.get(provider, provider or None),
                        tier=tier,
                        effective=effective,
                        input=_per_million(inp),
                        cached_input=None if cached is None else _per_million(cached),
                        cache_write=None if write is None else _per_million(write),
                        output=_per_million(out),
                        source=f"LiteLLM price map {path.name}",
                    )
                )
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"model {name!r}: bad price: {exc}", file=str(path), field=name
                ) from None
    return entries


def _per_million(per_token: float) -> float:
    # round() keeps 2.5e-06 * 1e6 from printing as 2.4999999999999996
    return round(float(per_token) * 1_000_000, 9)
