"""The configuration: the default loads, and every bad value stops with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment_monitor.config import ConfigError, load_config, parse_config

BASE = {
    "brand": {"name": "X", "handles": {"mastodon": "@Brand", "bluesky": "brand.bsky.social"}},
    "sources": [{"type": "file", "path": "data/exports"}],
}


def with_(**changes: object) -> dict:
    data = {**BASE}
    data.update(changes)
    return data


def test_the_shipped_default_loads() -> None:
    config = load_config()
    assert config.brand.handles == {"mastodon": "lumencoffee", "bluesky": "lumencoffee.bsky.social"}
    assert config.sources[0]["type"] == "file"
    assert config.staging_path.is_absolute()


def test_environment_variable_selects_the_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(
        "brand: {name: Other, handles: {mastodon: other}}\nsources: [{type: file, path: x}]\n"
    )
    monkeypatch.setenv("SENTIMENT_CONFIG", str(path))
    assert load_config().brand.name == "Other"


def test_handles_are_normalized_and_sources_named() -> None:
    config = parse_config(BASE)
    assert config.brand.handles["mastodon"] == "brand"
    assert config.sources[0]["name"] == "file"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (with_(flags={"detractor_max_compound": 0.3}), "flags.detractor_max_compound"),
        (with_(flags={"promoter_min_compound": 2}), "flags.promoter_min_compound"),
        (with_(flags={"unknown_rule": 1}), "flags.unknown_rule"),
        (with_(scoring={"languages": []}), "scoring.languages"),
        (with_(scoring={"lexicon": {"killer": 9}}), "scoring.lexicon"),
        (with_(brand={"name": "X", "handles": {"myspace": "x"}}), "brand.handles"),
        (with_(sources=[{"type": "telegraph"}]), "[0].type"),
        (with_(sources=[{"type": "file"}]), "[0].path"),
        (with_(sources=[{"type": "file", "path": "a", "mapping": {"txt": "body"}}]), "[0].mapping"),
        (
            with_(sources=[{"type": "file", "path": "a", "assume_timezone": "Mars/Base"}]),
            "assume_timezone",
        ),
        (
            with_(sources=[{"type": "file", "path": "a"}, {"type": "file", "path": "b"}]),
            "duplicate",
        ),
        (with_(sources=[]), "sources"),
        ({"sources": BASE["sources"]}, "brand: Field required"),
    ],
)
def test_bad_values_name_the_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    assert key in str(error.value)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("brand: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(listing)
