"""What every source is: it lands one UTC day of raw records as files and says where they are.

A source never scores, dedupes or writes to the warehouse. It writes (or points at) files of
export records - the format in DESIGN.md, JSONL or CSV - for exactly one UTC day, and returns an
:class:`ExtractResult` small enough for XCom. Adding a network means adding one module with a
:class:`Source` subclass and one line in ``sentiment_monitor.sources.SOURCE_TYPES``.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from sentiment_monitor.config import Brand


class SourceOptions(BaseModel):
    """Options every source entry has; subclasses add their own keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    #: Unique name of this source in the configuration; defaults to its type.
    name: str = Field("", pattern=r"^[A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ConnectionInfo:
    """The parts of an Airflow connection a source needs. Built by the DAG, never logged."""

    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class LandedFile:
    """One file of export records for the day."""

    path: str
    format: str  # "jsonl" or "csv"


@dataclass
class ExtractResult:
    """Where a source put one day of records; travels through XCom, so only paths and counts."""

    source: str
    day: str
    files: list[LandedFile]
    #: Canonical export field -> the column/key name used in these files (identity if absent).
    mapping: dict[str, str] = field(default_factory=dict)
    #: ``strptime`` format of ``created_at`` when the files do not use ISO 8601.
    timestamp_format: str | None = None
    #: Timezone assumed for timestamps that carry no offset (None: such records are rejected).
    assume_timezone: str | None = None
    #: Records the source itself saw (API sources); None when it did not read the files.
    records: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for XCom."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractResult:
        """Rebuild from :meth:`to_dict`."""
        known = {f.name for f in fields(cls)}
        data = {key: value for key, value in data.items() if key in known}
        data["files"] = [LandedFile(**f) for f in data["files"]]
        return cls(**data)


class Source(ABC):
    """A configured source of mentions. Subclasses set ``type`` and ``Options``."""

    type: ClassVar[str]
    Options: ClassVar[type[SourceOptions]] = SourceOptions

    def __init__(
        self,
        options: dict[str, Any],
        brand: Brand,
        landing_path: Path,
        connection: ConnectionInfo | None = None,
    ) -> None:
        self.options = self.Options.model_validate(options)
        self.name = self.options.name or self.type
        self.brand = brand
        self.landing_path = Path(landing_path)
        self.connection = connection

    def landing_dir(self, day: dt.date) -> Path:
        """This source's landing folder for ``day``: ``<landing_path>/<day>/<source name>/``."""
        return self.landing_path / day.isoformat() / self.name

    @abstractmethod
    def extract(self, day: dt.date) -> ExtractResult:
        """Land every record of UTC ``day`` (and only those) and say where they are."""


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The half-open UTC interval ``[start, end)`` of ``day``."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)
