"""Load and check the configuration file: the brand, its sources and the rules of the night.

The path comes from ``SENTIMENT_CONFIG``, else ``config/sentiment.yaml`` in the project. The file is
checked as a whole when a run starts; anything wrong stops the run at once with a message naming
the key (``flags.detractor_max_compound: ...``), so a typo never turns into a quiet bad night.
Relative paths in the file are taken from the project root (``SENTIMENT_HOME`` overrides it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sentiment_monitor.records import PLATFORMS

CONFIG_ENV = "SENTIMENT_CONFIG"
HOME_ENV = "SENTIMENT_HOME"


class ConfigError(ValueError):
    """The configuration is missing, unreadable or has a bad value; the message names the key."""


def project_root() -> Path:
    """The folder relative paths are taken from: ``SENTIMENT_HOME`` or this repository's root."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2]


def default_config_path() -> Path:
    """``SENTIMENT_CONFIG`` when set, else ``config/sentiment.yaml`` under the project root."""
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else project_root() / "config" / "sentiment.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Brand(_Strict):
    """The brand being monitored and its own accounts, one handle per platform."""

    name: str = Field(min_length=1)
    handles: dict[str, str] = Field(min_length=1)

    @field_validator("handles")
    @classmethod
    def _known_platforms(cls, handles: dict[str, str]) -> dict[str, str]:
        for platform, handle in handles.items():
            if platform not in PLATFORMS:
                raise ValueError(f"unknown platform {platform!r}; known: {', '.join(PLATFORMS)}")
            if not handle or not handle.strip().lstrip("@"):
                raise ValueError(f"empty handle for {platform}")
        return {p: normalize_handle(h) for p, h in handles.items()}


class Scoring(_Strict):
    """How sentiment is scored and labelled."""

    positive_threshold: float = Field(0.05, gt=0, le=1)
    negative_threshold: float = Field(-0.05, ge=-1, lt=0)
    #: Languages VADER is asked to read; a post in any other declared language is stored unscored.
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    #: Posts longer than this are scored on their first ``max_text_chars`` characters (see README).
    max_text_chars: int = Field(20_000, ge=280)
    #: Rows per scored chunk; bounds memory.
    chunk_rows: int = Field(50_000, ge=1)
    #: Processes used to normalize and to score, per task; 0 means one per core.
    workers: int = Field(0, ge=0)
    #: Mapped score tasks per night, each scoring its share of the parts with its own processes
    #: (spread them over Celery workers); 1 scores everything in one task.
    task_groups: int = Field(1, ge=1, le=64)
    #: The brand's lexicon: word -> valence (-4 to 4) on top of VADER's, e.g. ``killer: 0``.
    lexicon: dict[str, float] = Field(default_factory=dict)

    @field_validator("lexicon")
    @classmethod
    def _valences(cls, lexicon: dict[str, float]) -> dict[str, float]:
        for word, valence in lexicon.items():
            if not word.strip():
                raise ValueError("empty word in lexicon")
            if not -4 <= valence <= 4:
                raise ValueError(f"valence of {word!r} must be between -4 and 4, got {valence}")
        return {word.strip().lower(): float(v) for word, v in lexicon.items()}


class FlagRules(_Strict):
    """When a mention deserves a person's attention."""

    promoter_min_compound: float = Field(0.6, gt=0, le=1)
    detractor_max_compound: float = Field(-0.5, ge=-1, lt=0)
    #: A question counts only if it is at least this long (in characters) - filters "?" noise.
    question_min_chars: int = Field(8, ge=1)
    #: A follower count at or above this gives a flag the full reach bonus.
    high_reach_followers: int = Field(10_000, ge=1)

    @model_validator(mode="after")
    def _thresholds_apart(self) -> FlagRules:
        if self.detractor_max_compound >= self.promoter_min_compound:
            raise ValueError("detractor_max_compound must be below promoter_min_compound")
        return self


class Alerts(_Strict):
    """When a day's negative mentions on a platform count as a spike worth an alert."""

    #: Trailing days the day is compared with (the day itself is not part of it).
    baseline_days: int = Field(14, ge=3, le=90)
    #: Fewer loaded days than this in the baseline: too little history to judge, no alert.
    min_history_days: int = Field(7, ge=2)
    #: Standard scores at or above this fire (the spread is at least the Poisson one, sqrt(mean)).
    z_threshold: float = Field(3.0, gt=0)
    #: The day must also hold at least this multiple of the baseline mean.
    ratio_threshold: float = Field(2.0, ge=1)
    #: And at least this many negative mentions: three complaints on a quiet day are no spike.
    min_count: int = Field(10, ge=1)
    #: Days after an alert during which the same platform raises no new one.
    cooldown_days: int = Field(3, ge=0)

    @model_validator(mode="after")
    def _history_fits(self) -> Alerts:
        if self.min_history_days > self.baseline_days:
            raise ValueError("min_history_days must not exceed baseline_days")
        return self


class Digest(_Strict):
    """The morning digest: always written as HTML, mailed when a recipient and SMTP are set."""

    #: How many detractors, questions and promoters the digest lists.
    top: int = Field(5, ge=1, le=100)
    #: Days the chart covers, up to and including the day.
    chart_days: int = Field(30, ge=2, le=366)
    #: The Airflow SMTP connection the digest is sent through (when it exists).
    smtp_conn_id: str = Field("smtp_default", min_length=1)
    #: Recipients; empty means the digest is only written to the reports folder.
    to: list[str] = Field(default_factory=list)
    #: The sender address; empty uses the SMTP connection's default.
    from_email: str | None = None

    @field_validator("to")
    @classmethod
    def _addresses(cls, to: list[str]) -> list[str]:
        for address in to:
            if "@" not in address:
                raise ValueError(f"not an e-mail address: {address!r}")
        return to


class Config(_Strict):
    """The whole configuration file."""

    brand: Brand
    sources: list[dict[str, Any]] = Field(min_length=1)
    scoring: Scoring = Field(default_factory=Scoring)
    flags: FlagRules = Field(default_factory=FlagRules)
    alerts: Alerts = Field(default_factory=Alerts)
    digest: Digest = Field(default_factory=Digest)
    #: Where raw landing files of API sources are written, one folder per day and source.
    landing_path: Path = Path("data/landing")
    #: Where steps hand each other Parquet files, one folder per day.
    staging_path: Path = Path("data/staging")
    #: Where reports (the demo report, digests) are written.
    reports_path: Path = Path("data/reports")

    @field_validator("landing_path", "staging_path", "reports_path")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path if path.is_absolute() else project_root() / path

    @field_validator("sources")
    @classmethod
    def _sources_known(cls, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from sentiment_monitor.sources import validate_source_options

        names: set[str] = set()
        checked = []
        for index, entry in enumerate(sources):
            options = validate_source_options(entry, index)
            if options["name"] in names:
                raise ValueError(f"[{index}].name: duplicate source name {options['name']!r}")
            names.add(options["name"])
            checked.append(options)
        return checked

    def source(self, name: str) -> dict[str, Any]:
        """The options of the configured source called ``name``."""
        for options in self.sources:
            if options["name"] == name:
                return options
        raise KeyError(f"no source named {name!r} in the configuration")


def normalize_handle(handle: str) -> str:
    """Handles compare without a leading ``@`` and case-insensitively."""
    return handle.strip().lstrip("@").lower()


def _format_error(path: Path, error: ValidationError) -> str:
    lines = [f"configuration {path} is not valid:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if (
            "input" in item
            and item["type"] not in ("missing",)
            and not isinstance(item["input"], (dict, list))
        ):
            message += f" (got {item['input']!r})"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def parse_config(data: Any, path: Path | str = "<config>") -> Config:
    """Check a configuration already read into Python objects; raise ConfigError naming the key."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ConfigError(f"configuration {path} must be a mapping at the top level")
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_error(path, error)) from None


def load_config(path: Path | str | None = None) -> Config:
    """Read and check the configuration file (default: see :func:`default_config_path`)."""
    path = Path(path) if path else default_config_path()
    if not path.is_absolute() and not path.exists():
        path = project_root() / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read configuration {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"configuration {path} is not valid YAML: {error}") from None
    return parse_config(data, path)
