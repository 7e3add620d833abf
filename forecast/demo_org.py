"""The demo's organisation: its models and their providers, its thirty features (team,
volume, models, tokens per request, caching, business hours, growth), and which of them
carry the injected events (see ``forecast.demo``)."""

from __future__ import annotations

from dataclasses import dataclass

MODELS = {
    "gpt-4.1": "openai",
    "gpt-4.1-mini": "openai",
    "gpt-4o-mini": "openai",
    "o4-mini": "openai",
    "claude-sonnet-4": "anthropic",
    "claude-3-5-haiku": "anthropic",
    "gemini-2.5-flash": "google",
    "gemini-2.5-pro": "google",
}


@dataclass(frozen=True)
class Feature:
    team: str
    name: str
    daily_requests: float
    models: tuple[tuple[str, float], ...]  # (model, share of requests)
    input_tokens: float  # per request
    output_tokens: float
    cached_share: float = 0.0  # of input tokens read from the prompt cache
    business: bool = True  # office-hours and weekday pattern, quiet on holidays
    monthly_growth: float = 0.02


# fmt: off
FEATURES = (
    Feature("search", "semantic-search", 9000, (("gpt-4.1-mini", 1.0),), 1800, 220, 0.3, False, 0.03),
    Feature("search", "query-rewrite", 14000, (("gpt-4o-mini", 1.0),), 400, 60, 0.0, False, 0.03),
    Feature("search", "answer-synthesis", 3500, (("gpt-4.1", 0.7), ("claude-sonnet-4", 0.3)), 4200, 450, 0.4, False, 0.04),
    Feature("search", "result-rerank", 6000, (("gemini-2.5-flash", 1.0),), 2500, 40, 0.0, False, 0.02),
    Feature("support", "ticket-triage", 2600, (("claude-3-5-haiku", 1.0),), 1500, 120, 0.2),
    Feature("support", "reply-drafts", 1800, (("claude-sonnet-4", 1.0),), 3200, 600, 0.5),
    Feature("support", "kb-answers", 2200, (("gpt-4.1-mini", 1.0),), 2800, 350, 0.3, False),
    Feature("support", "sentiment-tags", 4000, (("gemini-2.5-flash", 1.0),), 700, 20),
    Feature("sales", "lead-scoring", 900, (("gpt-4.1", 1.0),), 2400, 300),
    Feature("sales", "email-writer", 1200, (("claude-sonnet-4", 1.0),), 1600, 700, 0.1),
    Feature("sales", "call-summaries", 500, (("gemini-2.5-pro", 1.0),), 9000, 900),
    Feature("sales", "crm-enrichment", 1500, (("gpt-4o-mini", 1.0),), 1100, 150),
    Feature("marketing", "ad-copy", 700, (("gpt-4.1", 0.5), ("claude-sonnet-4", 0.5)), 900, 500),
    Feature("marketing", "seo-briefs", 300, (("gemini-2.5-pro", 1.0),), 5000, 1500),
    Feature("marketing", "image-captions", 2000, (("gpt-4.1-mini", 1.0),), 1200, 80),
    Feature("engineering", "code-review", 1400, (("o4-mini", 0.6), ("claude-sonnet-4", 0.4)), 7000, 1100, 0.3),
    Feature("engineering", "test-generation", 600, (("o4-mini", 1.0),), 5000, 2000),
    Feature("engineering", "incident-summaries", 150, (("gpt-4.1", 1.0),), 12000, 800),
    Feature("engineering", "docs-chat", 1000, (("gpt-4.1-mini", 1.0),), 3500, 400, 0.4),
    Feature("data", "sql-assistant", 350, (("gpt-4.1", 1.0),), 3000, 350, 0.2),
    Feature("data", "pipeline-doc", 120, (("gemini-2.5-pro", 1.0),), 8000, 1200),
    Feature("data", "classification-batch", 9000, (("gpt-4o-mini", 1.0),), 600, 15, 0.0, False, 0.05),
    Feature("data", "entity-extraction", 5000, (("gemini-2.5-flash", 1.0),), 1400, 180, 0.0, False),
    Feature("legal", "contract-review", 180, (("claude-sonnet-4", 1.0),), 15000, 1500, 0.2),
    Feature("legal", "clause-search", 400, (("gpt-4.1-mini", 1.0),), 2000, 150),
    Feature("finance", "invoice-parsing", 1100, (("gemini-2.5-flash", 1.0),), 2200, 250),
    Feature("finance", "expense-audit", 250, (("o4-mini", 1.0),), 3500, 900),
    Feature("finance", "forecast-notes", 60, (("claude-sonnet-4", 1.0),), 6000, 1000),
    Feature("people", "hr-helpdesk", 500, (("claude-3-5-haiku", 1.0),), 1800, 300, 0.3),
    Feature("support", "support-copilot", 8000, (("claude-sonnet-4", 1.0),), 2600, 420, 0.4),
)
# fmt: on
LAUNCHED = "support-copilot"
INCIDENT = "ticket-triage"
PROMPT_GROWTH = "contract-review"
PRICE_CUT_MODEL = "gemini-2.5-flash"
USER_FEATURE = "sql-assistant"
BASE_ERROR_RATE = 0.012
# Volumes above are per day at the start; this scales the whole organisation
# to a mid-size company's spend (tens of thousands of dollars a month).
VOLUME_SCALE = 4.0
