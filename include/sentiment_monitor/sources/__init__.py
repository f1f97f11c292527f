"""The registry of sources: ``type:`` in the configuration -> the class that extracts it.

Modules are imported only when their type is used, so a night that reads file exports never
imports an HTTP client.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sentiment_monitor.config import Brand
from sentiment_monitor.sources.base import ConnectionInfo, ExtractResult, Source

#: type -> "module:Class"; adding a network means adding a module and a line here.
SOURCE_TYPES: dict[str, str] = {
    "file": "sentiment_monitor.sources.files:FileSource",
    "mastodon": "sentiment_monitor.sources.mastodon:MastodonSource",
    "bluesky": "sentiment_monitor.sources.bluesky:BlueskySource",
}


def source_class(type_name: str) -> type[Source]:
    """The Source subclass registered for ``type_name``."""
    try:
        target = SOURCE_TYPES[type_name]
    except KeyError:
        known = ", ".join(sorted(SOURCE_TYPES))
        raise ValueError(f"unknown source type {type_name!r}; known: {known}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def validate_source_options(entry: Any, index: int) -> dict[str, Any]:
    """Check one ``sources`` entry against its type's options; messages name ``[index].key``."""
    if not isinstance(entry, dict):
        raise ValueError(f"[{index}]: each source must be a mapping with a 'type'")
    if "type" not in entry:
        raise ValueError(f"[{index}].type: missing")
    try:
        cls = source_class(str(entry["type"]))
    except ValueError as error:
        raise ValueError(f"[{index}].type: {error}") from None
    try:
        options = cls.Options.model_validate(entry)
    except ValidationError as error:
        problems = "; ".join(
            f"[{index}].{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise ValueError(problems) from None
    data = options.model_dump(mode="json")
    data["name"] = data.get("name") or cls.type
    return data


def build_source(
    options: dict[str, Any],
    brand: Brand,
    landing_path: Path,
    connection: ConnectionInfo | None = None,
) -> Source:
    """Instantiate the configured source ``options`` (one entry of ``Config.sources``)."""
    return source_class(options["type"])(options, brand, landing_path, connection)


__all__ = [
    "SOURCE_TYPES",
    "ConnectionInfo",
    "ExtractResult",
    "Source",
    "build_source",
    "source_class",
    "validate_source_options",
]
