"""How a staged Parquet part was written, for the normalize and score tests."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq


def staged_layout(part: str | Path) -> tuple[set[str], set[str]]:
    """The columns of a Parquet part written with a dictionary, and those with statistics."""
    meta = pq.ParquetFile(part).metadata
    dictionary, statistics = set(), set()
    for group in range(meta.num_row_groups):
        for index in range(meta.num_columns):
            column = meta.row_group(group).column(index)
            if column.has_dictionary_page:
                dictionary.add(column.path_in_schema)
            if column.is_stats_set:
                statistics.add(column.path_in_schema)
    return dictionary, statistics
