"""File exports: a folder with one sub-folder per UTC day holding ``*.jsonl`` and ``*.csv`` files.

The files are read in place (they already are the raw landing); this source only finds the day's
files and passes on how to read them: a column mapping for another tool's export, its timestamp
format and the timezone to assume when timestamps carry no offset.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, field_validator

from sentiment_monitor.records import EXPORT_FIELDS
from sentiment_monitor.sources.base import ExtractResult, LandedFile, Source, SourceOptions


class FileSourceOptions(SourceOptions):
    """``{type: file, path: ..., mapping: {field: column}, timestamp_format: ..., ...}``."""

    path: Path
    #: Canonical export field -> this export's column or key name.
    mapping: dict[str, str] = Field(default_factory=dict)
    #: ``strptime`` format of the timestamp column when it is not ISO 8601.
    timestamp_format: str | None = None
    #: Timezone (IANA name) for timestamps without an offset; unset means such records are rejected.
    assume_timezone: str | None = None

    @field_validator("mapping")
    @classmethod
    def _known_fields(cls, mapping: dict[str, str]) -> dict[str, str]:
        for key in mapping:
            if key not in EXPORT_FIELDS:
                raise ValueError(f"unknown export field {key!r}; known: {', '.join(EXPORT_FIELDS)}")
        return mapping

    @field_validator("assume_timezone")
    @classmethod
    def _known_zone(cls, zone: str | None) -> str | None:
        if zone is not None:
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(zone)
            except Exception:
                raise ValueError(f"unknown timezone {zone!r}") from None
        return zone


class FileSource(Source):
    """Reads ``<path>/<YYYY-MM-DD>/*.jsonl|*.csv``; a missing day folder is an empty day."""

    type = "file"
    Options = FileSourceOptions

    def folder(self) -> Path:
        """The export folder, relative paths taken from the project root."""
        from sentiment_monitor.config import project_root

        path = self.options.path
        return path if path.is_absolute() else project_root() / path

    def extract(self, day: dt.date) -> ExtractResult:
        """List the day's export files, sorted so that 'first seen' is stable across reruns."""
        day_dir = self.folder() / day.isoformat()
        files: list[LandedFile] = []
        if day_dir.is_dir():
            for path in sorted(day_dir.iterdir()):
                suffix = path.suffix.lower()
                if path.is_file() and suffix in (".jsonl", ".csv"):
                    files.append(LandedFile(str(path), suffix.lstrip(".")))
        return ExtractResult(
            source=self.name,
            day=day.isoformat(),
            files=files,
            mapping=dict(self.options.mapping),
            timestamp_format=self.options.timestamp_format,
            assume_timezone=self.options.assume_timezone,
        )
