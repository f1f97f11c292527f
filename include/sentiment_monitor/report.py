"""The run report: what the warehouse holds, in a few plain-text tables a person reads at once.

Shown at the end of ``make demo`` and ``make run``: mentions per day and platform, the sentiment
mix, the accounting of every record (read = loaded + rejected + duplicates), the top open flags
and the latest rejects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.3f}"
        text = str(value).replace("\n", " ")
        return text if len(text) <= 60 else text[:57] + "..."

    cells = [[cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def _where_day(day: str | None) -> tuple[str, dict[str, Any]]:
    return ("WHERE day = :day", {"day": day}) if day else ("", {})


def build_report(engine: Engine, day: str | None = None, top: int = 10) -> str:
    """The report for one day, or for everything in the warehouse when ``day`` is None."""
    where, params = _where_day(day)
    if day:
        from sentiment_monitor.warehouse import day_param

        params = {"day": day_param(engine, day)}
    sections: list[str] = []
    with engine.connect() as conn:

        def query(sql: str) -> list[Sequence[Any]]:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]

        scope = f"day {day}" if day else "all days"
        sections.append(f"Social sentiment monitor - warehouse report ({scope})")
        sections.append(
            "Mentions per day and platform (daily_sentiment)\n"
            + _table(
                [
                    "day",
                    "platform",
                    "mentions",
                    "brand",
                    "pos",
                    "neu",
                    "neg",
                    "unscored",
                    "net",
                    "flags",
                    "answered",
                ],
                query(
                    f"""SELECT day, platform, mentions, brand_posts, positive, neutral, negative,
                           unscored, net_sentiment, flags_raised, answered_share
                    FROM daily_sentiment {where} ORDER BY day, platform"""
                ),
            )
        )
        sections.append(
            "Sentiment mix (mentions by label)\n"
            + _table(
                ["label", "mentions", "share"],
                query(
                    f"""SELECT label, COUNT(*),
                           CAST(COUNT(*) AS DOUBLE PRECISION) / SUM(COUNT(*)) OVER ()
                    FROM mentions {where} GROUP BY label ORDER BY COUNT(*) DESC"""
                ),
            )
        )
        audit = query(
            f"""SELECT day, records_read, loaded, rejected, duplicates, reposts,
                       known_from_earlier, validation_success
                FROM load_audit {where} ORDER BY day"""
        )
        totals = [sum(int(r[i]) for r in audit) for i in (1, 2, 3, 4)]
        balanced = totals[0] == totals[1] + totals[2] + totals[3]
        sections.append(
            "Every record accounted for (load_audit): read = loaded + rejected + duplicates\n"
            + _table(
                ["day", "read", "loaded", "rejected", "duplicates", "reposts", "earlier", "valid"],
                audit,
            )
            + f"\ntotal: {totals[0]} read = {totals[1]} loaded + {totals[2]} rejected + "
            + f"{totals[3]} duplicates  [{'balanced' if balanced else 'NOT BALANCED'}]"
        )
        flag_where = "AND day = :day" if day else ""
        sections.append(
            f"Top {top} open flags (open_flags view)\n"
            + _table(
                ["priority", "kind", "platform", "author", "text"],
                query(
                    f"""SELECT priority, kind, platform, author, text FROM open_flags
                    WHERE status = 'open' {flag_where}
                    ORDER BY priority DESC, created_at LIMIT {int(top)}"""
                ),
            )
        )
        sections.append(
            "Flags by kind and status\n"
            + _table(
                ["kind", "status", "flags"],
                query(
                    f"""SELECT kind, status, COUNT(*) FROM flags {where}
                    GROUP BY kind, status ORDER BY kind, status"""
                ),
            )
        )
        sections.append(
            f"Rejects (latest {top}, of "
            + str(query(f"SELECT COUNT(*) FROM rejects {where}")[0][0])
            + ")\n"
            + _table(
                ["day", "stage", "file", "record", "reason"],
                query(
                    f"""SELECT day, stage, file, record_no, reason FROM rejects {where}
                    ORDER BY day DESC, file, record_no LIMIT {int(top)}"""
                ),
            )
        )
    return "\n\n".join(sections) + "\n"
