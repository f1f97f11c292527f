"""Flag: the mentions a person should act on, ranked, in the ``flags`` table.

Three kinds, from the configured rules (``flags:`` in the configuration):

* ``promoter`` - a clearly positive post (compound >= ``promoter_min_compound``): thank them.
* ``detractor`` - a clearly negative post (compound <= ``detractor_max_compound``): resolve it.
* ``question`` - a question to the brand (it names the brand or replies to the brand's post)
  that the brand has not answered.

Priority (0-100, higher first) weighs severity (how strong the sentiment is), reach (the
author's followers, on a log scale up to ``high_reach_followers``) and repetition (how many
posts of the same kind the author made in the 7 days up to the day): a third complaint
outranks a one-off grumble of equal reach.

People own ``status``, ``assignee`` and ``note``: the pipeline never writes them after the flag
is raised. A flag nobody has touched is withdrawn when its mention no longer qualifies (the
brand answered the question, the rules changed), so reruns converge to the same table.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sentiment_monitor.config import FlagRules
from sentiment_monitor.warehouse import day_param, lock_warehouse, timestamp_param

KINDS: tuple[str, ...] = ("promoter", "detractor", "question")
STATUSES: tuple[str, ...] = ("open", "in_progress", "resolved", "dismissed")
QUESTION_SEVERITY = 0.6
REPEAT_WINDOW_DAYS = 7


@dataclass
class FlagResult:
    """What the flag step did for a day."""

    day: str
    raised: dict[str, int] = field(default_factory=dict)
    withdrawn: int = 0
    touched_days: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for XCom."""
        return asdict(self)


def priority(severity: float, followers: int | None, repeats: int, rules: FlagRules) -> int:
    """Rank a flag 0-100 from severity (0-1), the author's reach and repeated posts (>= 1)."""
    reach = 0.0
    if followers and followers > 0:
        reach = min(1.0, math.log10(followers + 1) / math.log10(rules.high_reach_followers + 1))
    repetition = min(1.0, max(0, repeats - 1) / 2)
    return round(100 * (0.5 * min(1.0, abs(severity)) + 0.3 * reach + 0.2 * repetition))


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _reason(kind: str, compound: float | None, followers: int | None, repeats: int) -> str:
    if kind == "question":
        text = "question to the brand, not answered"
    else:
        feeling = "positive" if kind == "promoter" else "negative"
        text = f"{feeling} post (compound {compound:+.2f})"
    if followers:
        text += f"; author has {followers:,} followers"
    if repeats > 1:
        noun = {"promoter": "positive post", "detractor": "complaint", "question": "question"}[kind]
        text += f"; {_ordinal(repeats)} {noun} in {REPEAT_WINDOW_DAYS} days"
    return text


def candidates(conn: Connection, day: str, rules: FlagRules) -> list[dict[str, Any]]:
    """The flags the rules raise for the mentions of ``day``, with priority and reason."""
    day_value = day_param(conn, day)
    start = dt.date.fromisoformat(day) - dt.timedelta(days=REPEAT_WINDOW_DAYS - 1)
    start_value = day_param(conn, start)
    rows = conn.execute(
        sa.text(
            """
            SELECT m.platform, m.mention_id, m.day, m.author, m.author_followers, m.created_at,
                   m.compound, m.is_question, m.mentions_brand,
                   CASE WHEN EXISTS (
                       SELECT 1 FROM mentions p
                       WHERE p.platform = m.platform AND p.mention_id = m.in_reply_to_id
                         AND p.is_brand) THEN 1 ELSE 0 END AS replies_to_brand,
                   CASE WHEN EXISTS (
                       SELECT 1 FROM mentions r
                       WHERE r.platform = m.platform AND r.in_reply_to_id = m.mention_id
                         AND r.is_brand) THEN 1 ELSE 0 END AS answered
            FROM mentions m
            WHERE m.day = :day AND NOT m.is_brand
              AND (m.compound >= :promoter OR m.compound <= :detractor OR m.is_question)
            ORDER BY m.platform, m.mention_id
            """
        ),
        {
            "day": day_value,
            "promoter": rules.promoter_min_compound,
            "detractor": rules.detractor_max_compound,
        },
    ).mappings()
    raised: list[dict[str, Any]] = []
    for row in rows:
        kinds = []
        compound = row["compound"]
        if compound is not None and compound >= rules.promoter_min_compound:
            kinds.append("promoter")
        if compound is not None and compound <= rules.detractor_max_compound:
            kinds.append("detractor")
        asks_brand = bool(row["mentions_brand"]) or bool(row["replies_to_brand"])
        if row["is_question"] and asks_brand and not row["answered"]:
            kinds.append("question")
        for kind in kinds:
            raised.append({**dict(row), "kind": kind})
    if not raised:
        return []
    # Repetition: the author's posts of the same kind in the window up to this day.
    counted = conn.execute(
        sa.text(
            """
            SELECT platform, author,
                   SUM(CASE WHEN compound >= :promoter THEN 1 ELSE 0 END) AS promoter,
                   SUM(CASE WHEN compound <= :detractor THEN 1 ELSE 0 END) AS detractor,
                   SUM(CASE WHEN is_question THEN 1 ELSE 0 END) AS question
            FROM mentions
            WHERE day >= :start AND day <= :day AND NOT is_brand
              AND (compound >= :promoter OR compound <= :detractor OR is_question)
            GROUP BY platform, author
            """
        ),
        {
            "day": day_value,
            "start": start_value,
            "promoter": rules.promoter_min_compound,
            "detractor": rules.detractor_max_compound,
        },
    ).mappings()
    repeats: dict[tuple[str, str, str], int] = {}
    for row in counted:
        for kind in KINDS:
            repeats[(row["platform"], row["author"], kind)] = int(row[kind] or 0)
    for flag in raised:
        count = int(repeats.get((flag["platform"], flag["author"], flag["kind"])) or 1)
        severity = QUESTION_SEVERITY if flag["kind"] == "question" else flag["compound"]
        flag["priority"] = priority(severity, flag["author_followers"], count, rules)
        flag["reason"] = _reason(flag["kind"], flag["compound"], flag["author_followers"], count)
    return raised


def flag_day(engine: Engine, day: str, rules: FlagRules) -> FlagResult:
    """Raise, re-rank and withdraw the flags for ``day`` in one transaction."""
    result = FlagResult(day=day, raised={kind: 0 for kind in KINDS})
    with engine.begin() as conn:
        # Another day's flag step may withdraw or re-rank the same flags: one writer at a time.
        lock_warehouse(conn)
        day_value = day_param(conn, day)
        flags = candidates(conn, day, rules)
        conn.exec_driver_sql("DROP TABLE IF EXISTS stage_flags")
        # The key makes the withdrawal's NOT EXISTS an index probe whatever the planner guesses:
        # right after a bulk load ``flags`` has no statistics, PostgreSQL expects one row and
        # picks a nested loop; over an unindexed stage that took minutes at 50,000 flags.
        conn.exec_driver_sql(
            "CREATE TEMP TABLE stage_flags (platform VARCHAR(32), mention_id VARCHAR(512),"
            " kind VARCHAR(16), PRIMARY KEY (platform, mention_id, kind))"
        )
        if flags:
            conn.execute(
                sa.text("INSERT INTO stage_flags VALUES (:platform, :mention_id, :kind)"),
                [{k: f[k] for k in ("platform", "mention_id", "kind")} for f in flags],
            )
            conn.execute(
                sa.text(
                    """
                    INSERT INTO flags (platform, mention_id, kind, day, author, created_at,
                                       compound, priority, reason, status)
                    VALUES (:platform, :mention_id, :kind, :day, :author, :created_at,
                            :compound, :priority, :reason, 'open')
                    ON CONFLICT (platform, mention_id, kind) DO UPDATE SET
                        day = excluded.day, author = excluded.author,
                        created_at = excluded.created_at, compound = excluded.compound,
                        priority = excluded.priority, reason = excluded.reason
                    """
                ),
                [
                    {
                        k: f[k]
                        for k in (
                            "platform",
                            "mention_id",
                            "kind",
                            "day",
                            "author",
                            "created_at",
                            "compound",
                            "priority",
                            "reason",
                        )
                    }
                    for f in flags
                ],
            )
        for flag in flags:
            result.raised[flag["kind"]] += 1
        untouched = "status = 'open' AND assignee IS NULL AND note IS NULL"
        touched = {
            str(r[0])
            for r in conn.execute(
                sa.text(
                    f"""
                    SELECT DISTINCT day FROM flags
                    WHERE kind = 'question' AND {untouched} AND EXISTS (
                        SELECT 1 FROM mentions r
                        WHERE r.platform = flags.platform AND r.in_reply_to_id = flags.mention_id
                          AND r.is_brand)
                    """
                )
            )
        }
        withdrawn = conn.execute(
            sa.text(
                f"""
                DELETE FROM flags WHERE day = :day AND {untouched} AND NOT EXISTS (
                    SELECT 1 FROM stage_flags s
                    WHERE s.platform = flags.platform AND s.mention_id = flags.mention_id
                      AND s.kind = flags.kind)
                """
            ),
            {"day": day_value},
        ).rowcount
        # Questions of earlier days that the brand has since answered drop off the list.
        withdrawn += conn.execute(
            sa.text(
                f"""
                DELETE FROM flags
                WHERE kind = 'question' AND {untouched} AND EXISTS (
                    SELECT 1 FROM mentions r
                    WHERE r.platform = flags.platform AND r.in_reply_to_id = flags.mention_id
                      AND r.is_brand)
                """
            )
        ).rowcount
        # Days whose response numbers changed: questions answered by the brand's posts of today.
        touched |= {
            str(r[0])
            for r in conn.execute(
                sa.text(
                    """
                    SELECT DISTINCT p.day FROM mentions r
                    JOIN mentions p ON p.platform = r.platform AND p.mention_id = r.in_reply_to_id
                    WHERE r.day = :day AND r.is_brand
                    """
                ),
                {"day": day_value},
            )
        }
        conn.exec_driver_sql("DROP TABLE IF EXISTS stage_flags")
    result.withdrawn = withdrawn
    result.touched_days = sorted(touched | {day})
    return result


def set_status(
    engine: Engine,
    platform: str,
    mention_id: str,
    kind: str,
    *,
    status: str | None = None,
    assignee: str | None = None,
    note: str | None = None,
) -> bool:
    """What a community manager does: change a flag's status, assignee or note.

    Returns False when no such flag exists. The change time is recorded when the status changes.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = status
        changes["status_changed_at"] = timestamp_param(engine)
    if assignee is not None:
        changes["assignee"] = assignee or None
    if note is not None:
        changes["note"] = note or None
    if not changes:
        return True
    assignments = ", ".join(f"{k} = :{k}" for k in changes)
    with engine.begin() as conn:
        updated = conn.execute(
            sa.text(
                f"UPDATE flags SET {assignments} "
                "WHERE platform = :platform AND mention_id = :mention_id AND kind = :kind"
            ),
            {**changes, "platform": platform, "mention_id": mention_id, "kind": kind},
        ).rowcount
    return bool(updated)
