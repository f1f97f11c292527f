"""Flag: the mentions a person should act on, ranked, in the ``flags`` table.

Three kinds, from the configured rules (``flags:`` in the configuration):

* ``promoter`` - a clearly positive post (compound >= ``promoter_min_compound``): thank them.
* ``detractor`` - a clearly negative post (compound <= ``detractor_max_compound``): resolve it.
* ``question`` - a question to the brand (it names the brand or replies to the brand's post)
  that the brand has not answered.

**One flag per author, thread and kind.** The qualifying posts of one author in one thread
(``thread_root_id``; a post outside any thread is its own thread) form one flag, keyed by its
first post: ``(platform, mention_id, kind)`` with ``mention_id`` the first post, so the key is
stable across reruns. ``posts`` counts them, ``latest_mention_id``/``latest_at``/``latest_day``
name the latest. A new qualifying post in the thread joins the flag while it is open or in
progress and re-ranks it. Once people close it (``resolved`` or ``dismissed``) it is frozen: the
posts up to its latest post stay with it, and a later qualifying post of the author raises a new
flag whose ``previous_mention_id`` names the author's last closed flag of that kind (same
platform and kind; any thread) - the detractor who complains again.

**Priority** (0-100, higher first) = ``round(100 * (0.40 severity + 0.25 reach + 0.20
repetition + 0.15 recency))``:

* severity: the strongest post's ``|compound|`` (questions: 0.6);
* reach: ``log10(followers + 1) / log10(high_reach_followers + 1)``, at most 1;
* repetition: ``(repeats - 1) / 2``, at most 1, where ``repeats`` counts the author's posts of
  the same kind (any thread) in the 7 days up to the flag's latest day: a third complaint this
  week gets the full 0.20, so it outranks a one-off grumble of equal reach and severity;
* recency: ``1 - age / 7``, at least 0, where ``age`` is the days from the flag's latest post
  (its ``latest_day``) to the run day - or to the latest day the warehouse holds, when a backfill
  runs an earlier day, so that a backfill ranks as the nightly runs did. Flags whose recency is
  still above 0 are re-ranked every night, so an old complaint sinks below this morning's. That
  ageing writes only ``recency`` and ``priority``, which no index holds: on PostgreSQL a heap-only
  update in the flag's own page (``flags`` keeps half of each page free for it). Every flag ages,
  open or closed, so one people reopen ranks as if it had never been closed.

People own ``status``, ``assignee`` and ``note`` (changed through :func:`set_status`, which keeps
``flag_history``); the pipeline never writes them. A flag nobody has touched (open, no
assignee, no note, no history) is recomputed from the posts every time a run reaches its thread,
so it is withdrawn when nothing in it qualifies any more (the brand answered the question, the
rules changed) and reruns and backfills in any order converge to the same table.

The step is set-based: temporary tables filled with INSERT ... SELECT and window functions,
then one DELETE, INSERT and UPDATE each on ``flags``; no Python object per candidate.

**Shards.** Everything a flag depends on belongs to one author (the thread's posts, the 7-day
repetition, the closed flag before it), so the authors split into independent shards. On
PostgreSQL the step runs one shard per core (``warehouse.parallel_connections``) side by side,
each on its own connection and in its own transaction: the database does the work on every core
instead of one. A coordinating transaction holds the warehouse lock in shared mode (loads and
marts, which take it exclusively, wait) and the flag lock (``FLAG_LOCK_KEY``: one flag run at a
time) until every shard has finished. Each shard's transaction is all or nothing; if one fails
after another committed, the step fails and its retry recomputes both to the same table, as any
rerun does. SQLite, one writer at a time, runs one shard.

**Ageing first.** The nightly ageing (:func:`_age_flags`) touches every flag still decaying,
whatever its author, so it is not a shard's work: split by author, each shard read the whole
week of flags and dirtied every page of it. On PostgreSQL it runs once, on a connection of its
own, while the shards read what the night reaches; it commits before any shard writes a flag
(each shard waits for it there), so it never waits for a shard's row and no shard waits for one
of its rows while holding its own. Like a shard, it commits on its own: ageing to the reference
day gives the same rank whenever it runs, so a failed night leaves nothing a rerun would not
write the same. The shards then re-rank what they reach with the same formula. In a night
the flags are aged already: the ageing reads no mention of the night, so ``age_flags`` runs it
beside the load (``pipeline.load``), on a connection of its own, and the flag step's own pass
finds nothing left to write.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sentiment_monitor.config import FlagRules
from sentiment_monitor.warehouse import (
    analyze,
    day_param,
    ensure_schema,
    lock_warehouse,
    parallel_connections,
    probe_each,
    refresh_statistics,
    side_by_side,
    temp_table,
    timestamp_param,
    tune,
)

KINDS: tuple[str, ...] = ("promoter", "detractor", "question")
STATUSES: tuple[str, ...] = ("open", "in_progress", "resolved", "dismissed")
OPEN_STATUSES: tuple[str, ...] = ("open", "in_progress")
CLOSED_STATUSES: tuple[str, ...] = ("resolved", "dismissed")
QUESTION_SEVERITY = 0.6
REPEAT_WINDOW_DAYS = 7
#: Days over which recency falls from 1 (latest post on the run day) to 0.
RECENCY_DAYS = 7
#: The weights of the priority's four parts (they sum to 1).
WEIGHTS: dict[str, float] = {"severity": 0.40, "reach": 0.25, "repetition": 0.20, "recency": 0.15}
#: The fields of a flag people change; each change is a row of ``flag_history``.
PEOPLE_FIELDS: tuple[str, ...] = ("status", "assignee", "note")
#: The advisory lock one flag run holds (with the warehouse lock shared) while its shards run.
FLAG_LOCK_KEY = 0x666C616773


@dataclass
class FlagResult:
    """What the flag step did for a day."""

    day: str
    raised: dict[str, int] = field(default_factory=dict)
    withdrawn: int = 0
    reranked: int = 0
    touched_days: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for XCom."""
        return asdict(self)


def recency(age_days: float) -> float:
    """1 for a latest post on the run day, falling linearly to 0 at ``RECENCY_DAYS``."""
    if age_days <= 0:
        return 1.0
    if age_days >= RECENCY_DAYS:
        return 0.0
    return 1.0 - age_days / RECENCY_DAYS


def priority(
    severity: float, followers: int | None, repeats: int, rules: FlagRules, age_days: float = 0
) -> int:
    """Rank a flag 0-100; the same formula as the SQL of :func:`flag_day` (module docstring)."""
    reach = 0.0
    if followers and followers > 0:
        reach = min(1.0, math.log10(followers + 1) / math.log10(rules.high_reach_followers + 1))
    repetition = min(1.0, max(0, repeats - 1) / 2)
    score = (
        WEIGHTS["severity"] * min(1.0, abs(severity))
        + WEIGHTS["reach"] * reach
        + WEIGHTS["repetition"] * repetition
        + WEIGHTS["recency"] * recency(age_days)
    )
    return math.floor(100 * score + 0.5)


# ---- dialect words -------------------------------------------------------------------------


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


#: (index, count): this transaction handles the authors of shard ``index`` of ``count``.
Shard = tuple[int, int]


def _in_shard(column: str, shard: Shard) -> str:
    """SQL to AND to a WHERE: the author ``column`` falls in the shard (nothing for one)."""
    index, count = shard
    if count == 1:
        return ""
    # hashtext is PostgreSQL's (the only database that runs more than one shard).
    return f" AND (hashtext({column}) & 1048575) % {count} = {index}"


def shard_count(engine: Engine) -> int:
    """Shards the flag step runs on ``engine`` (``warehouse.parallel_connections``)."""
    return parallel_connections(engine)


def _minus_days(conn: Connection, expr: str, days: int) -> str:
    return f"({expr} - {days})" if _pg(conn) else f"date({expr}, '-{days} days')"


def _age(conn: Connection, expr: str) -> str:
    """Whole days from ``expr`` (a day column) to the bound ``:ref`` day."""
    if _pg(conn):
        return f"(CAST(:ref AS DATE) - {expr})"
    return f"CAST(julianday(:ref) - julianday({expr}) AS INTEGER)"


def _thousands(conn: Connection, expr: str) -> str:
    if _pg(conn):
        return f"to_char({expr}, 'FM999,999,999,999,999')"
    return f"printf('%,d', {expr})"


def _signed_cents(conn: Connection, expr: str) -> str:
    """``expr`` as ``+0.85`` / ``-0.80``, rounded the same way on both databases."""
    cents = f"CAST(FLOOR(ABS({expr}) * 100 + 0.5) AS INTEGER)"
    two = (
        f"right('0' || CAST({cents} % 100 AS VARCHAR), 2)"
        if _pg(conn)
        else f"substr('0' || CAST({cents} % 100 AS TEXT), -2)"
    )
    text = "VARCHAR" if _pg(conn) else "TEXT"
    return (
        f"(CASE WHEN {expr} < 0 THEN '-' ELSE '+' END || CAST({cents} / 100 AS {text})"
        f" || '.' || {two})"
    )


#: A flag nobody has touched: the pipeline may withdraw or recompute it.
def _untouched(alias: str) -> str:
    return f"""({alias}.status = 'open' AND {alias}.assignee IS NULL AND {alias}.note IS NULL
        AND NOT EXISTS (SELECT 1 FROM flag_history h
                        WHERE h.platform = {alias}.platform AND h.mention_id = {alias}.mention_id
                          AND h.kind = {alias}.kind))"""


_OPEN = "('open', 'in_progress')"
#: The type of every term of a rank: both databases' name for a float8.
_DOUBLE = "DOUBLE PRECISION"


def _decaying(alias: str) -> str:
    """The flags ``alias`` whose rank still decays: a range of ``flags_latest``.

    ``:fresh_after`` is a week before the latest ``latest_day`` of any flag, which is no later
    than the reference day of the run before: every run re-ranks every flag whose recency is
    above 0 to its reference day, so the flags whose recency is still above 0 all have a latest
    day after it. Open or closed: a flag people reopen ranks as if it had never been closed.
    """
    return f"{alias}.latest_day > :fresh_after AND {alias}.recency > 0"


_CLOSED = "('resolved', 'dismissed')"


@contextlib.contextmanager
def _probing(conn: Connection) -> Iterator[None]:
    """Run the statements inside as one ``flags`` index probe per row of the night's side.

    These statements pair the night's groups, threads or ranked flags (temporary tables) with
    the flags people and earlier nights left. Knowing how large both are, PostgreSQL's planner
    prefers to hash every flag of the warehouse (a seq scan of 2.7 million flags per statement
    on the benchmark's 10M-mention history), or, with statistics that do not know the night
    yet, loops over every pair (a rerun: 49 s for one statement). Without hash and merge joins
    it probes the indexes that match each lookup, so the cost follows the night. SQLite always
    probes.
    """
    if not _pg(conn):
        yield
        return
    conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
    conn.exec_driver_sql("SET LOCAL enable_mergejoin = off")
    yield
    # Not in a finally: after an error the transaction is rolled back, settings and all.
    conn.exec_driver_sql("SET LOCAL enable_hashjoin = on")
    conn.exec_driver_sql("SET LOCAL enable_mergejoin = on")


def _recency_sql(conn: Connection, latest_day: str) -> str:
    """Recency (module docstring) of a flag whose latest day is ``latest_day``, at ``:ref``.

    In double precision, as :func:`recency` computes it: PostgreSQL otherwise divides the whole
    days in ``numeric``, which made the nightly ageing of a week's flags (256,000 on the
    benchmark's history) spend 40% of its time in decimal arithmetic (1.1 s against 0.7 s).
    """
    age = _age(conn, latest_day)
    return (
        f"(CASE WHEN {latest_day} IS NULL THEN 0.0 WHEN {age} >= {RECENCY_DAYS} THEN 0.0"
        f" WHEN {age} <= 0 THEN 1.0"
        f" ELSE 1.0 - CAST({age} AS {_DOUBLE}) / {float(RECENCY_DAYS)} END)"
    )


def _priority_sql(a: str, repeats: str, recency: str) -> str:
    """Priority (module docstring) of the flag ``a`` (its columns) with these repeats and
    recency (SQL expressions); :func:`priority` is the same formula in Python, and like it
    every term is a double (no ``numeric`` step on PostgreSQL), in the same order."""
    severity = (
        f"(CASE WHEN {a}.kind = 'question' THEN {QUESTION_SEVERITY}"
        f" WHEN ABS(COALESCE({a}.compound, 0)) > 1 THEN 1.0"
        f" ELSE ABS(COALESCE({a}.compound, 0)) END)"
    )
    ratio = f"LOG10(CAST({a}.author_followers AS DOUBLE PRECISION) + 1) / LOG10(:high_reach + 1)"
    reach = (
        f"(CASE WHEN COALESCE({a}.author_followers, 0) <= 0 THEN 0.0"
        f" WHEN {ratio} > 1 THEN 1.0 ELSE {ratio} END)"
    )
    repetition = (
        f"(CASE WHEN {repeats} >= 3 THEN 1.0 ELSE CAST({repeats} - 1 AS {_DOUBLE}) / 2.0 END)"
    )
    score = (
        f"{WEIGHTS['severity']} * {severity} + {WEIGHTS['reach']} * {reach}"
        f" + {WEIGHTS['repetition']} * {repetition} + {WEIGHTS['recency']} * {recency}"
    )
    return f"CAST(FLOOR(100 * ({score}) + 0.5) AS INTEGER)"


def _rank_sql(conn: Connection, a: str) -> tuple[str, str]:
    """Priority and reason of the flag ``a`` (its columns) ranked by ``fl_score`` r. The reason
    does not hold the recency: the nightly ageing (:func:`_age_flags`) leaves it as it is."""
    priority_sql = _priority_sql(a, "r.repeats", "r.recency")
    text = "VARCHAR" if _pg(conn) else "TEXT"
    posts = f"CAST({a}.posts AS {text})"
    strongest = _signed_cents(conn, f"{a}.compound")
    ordinal = (
        "(CASE WHEN r.repeats % 100 BETWEEN 10 AND 20 THEN 'th' WHEN r.repeats % 10 = 1 THEN 'st'"
        " WHEN r.repeats % 10 = 2 THEN 'nd' WHEN r.repeats % 10 = 3 THEN 'rd' ELSE 'th' END)"
    )
    reason = f"""
        (CASE {a}.kind
            WHEN 'question' THEN
                CASE WHEN {a}.posts > 1
                     THEN {posts} || ' questions to the brand in this thread, not answered'
                     ELSE 'question to the brand, not answered' END
            ELSE
                CASE WHEN {a}.posts > 1
                     THEN {posts}
                          || CASE {a}.kind WHEN 'promoter' THEN ' positive' ELSE ' negative' END
                          || ' posts in this thread (strongest '
                          || COALESCE({strongest}, '?') || ')'
                     ELSE CASE {a}.kind WHEN 'promoter' THEN 'positive' ELSE 'negative' END
                          || ' post (compound ' || COALESCE({strongest}, '?') || ')' END
         END)
        || CASE WHEN COALESCE({a}.author_followers, 0) > 0
                THEN '; author has ' || {_thousands(conn, a + ".author_followers")} || ' followers'
                ELSE '' END
        || CASE WHEN r.repeats > 1
                THEN '; ' || CAST(r.repeats AS {text}) || {ordinal} || ' '
                     || CASE {a}.kind WHEN 'promoter' THEN 'positive post'
                                    WHEN 'detractor' THEN 'complaint' ELSE 'question' END
                     || ' in {REPEAT_WINDOW_DAYS} days'
                ELSE '' END
        || CASE WHEN {a}.previous_mention_id IS NOT NULL
                THEN '; again after an earlier flag was closed' ELSE '' END
    """
    return priority_sql, reason


def _reference_day(conn: Connection, day: str) -> str:
    """The day recency is measured to: the run day, or the latest day loaded when later."""
    latest = conn.execute(sa.text("SELECT MAX(day) FROM mentions")).scalar_one_or_none()
    latest_text = str(latest)[:10] if latest is not None else day
    return max(day, latest_text)


def _fresh_after(conn: Connection, ref: str) -> dt.date:
    """The day after which every flag whose rank still decays has its latest post: a week
    before the latest ``latest_day`` of any flag (one index probe; :func:`_decaying`)."""
    latest = conn.execute(sa.text("SELECT MAX(latest_day) FROM flags")).scalar_one_or_none()
    newest = dt.date.fromisoformat(str(latest)[:10] if latest is not None else ref)
    return newest - dt.timedelta(days=RECENCY_DAYS)


def _params(conn: Connection, day: str, rules: FlagRules) -> dict[str, Any]:
    """The bound parameters of the flag step's statements for ``day``."""
    ref = _reference_day(conn, day)
    return {
        "day": day_param(conn, day),
        "ref": day_param(conn, ref),
        "fresh_after": day_param(conn, _fresh_after(conn, ref)),
        "decay_start": day_param(
            conn, dt.date.fromisoformat(ref) - dt.timedelta(days=RECENCY_DAYS)
        ),
        "promoter": rules.promoter_min_compound,
        "detractor": rules.detractor_max_compound,
        "high_reach": float(rules.high_reach_followers),
    }


def age_flags(engine: Engine, day: str, rules: FlagRules) -> int:
    """Age the flags of earlier nights to ``day``'s reference day, ahead of the flag step;
    return how many changed. PostgreSQL only (0 elsewhere).

    The ageing reads no mention of the night: the reference day is ``day`` or a later day
    already loaded, whether or not the night's load has committed, and only flags of earlier
    nights decay. So it can run while the night is being loaded, which keeps one PostgreSQL
    backend busy for most of a night: on another connection, holding the flag lock (one flag
    run at a time) but not the warehouse lock, which the load holds. The flag step that follows
    then finds these flags ranked to its reference day and writes none of them again. SQLite
    has one writer at a time: its flag step ages the flags in its own transaction.
    """
    if engine.dialect.name != "postgresql":
        return 0
    ensure_schema(engine)  # the first night of a warehouse: the load may be creating it
    with engine.begin() as conn:
        tune(conn)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": FLAG_LOCK_KEY})
        return _age_flags(conn, _params(conn, day, rules))


def flag_day(engine: Engine, day: str, rules: FlagRules, shards: int | None = None) -> FlagResult:
    """Raise, group, re-rank and withdraw the flags the day reaches.

    Only the threads the day reaches are recomputed (its qualifying posts' threads, the threads
    of open flags whose posts span the day, the threads of questions the brand answered today),
    plus the re-rank of flags whose recency still decays: the cost follows the night. The
    authors are split into ``shards`` (default :func:`shard_count`) run side by side, each in
    one transaction (module docstring).
    """
    count = 1 if engine.dialect.name != "postgresql" else max(1, shards or shard_count(engine))
    result = FlagResult(day=day, raised={kind: 0 for kind in KINDS})
    with engine.begin() as conn:
        tune(conn)
        if count == 1:
            # Another day's flag step may re-rank or withdraw the same flags: one at a time.
            lock_warehouse(conn)
        else:
            lock_warehouse(conn, shared=True)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": FLAG_LOCK_KEY})
        params = _params(conn, day, rules)
        if count == 1:
            aged = _age_flags(conn, params)
            shard_results = [_flag_shard(conn, params, (0, 1))]
        else:
            shards_of = [(index, count) for index in range(count)]
            with concurrent.futures.ThreadPoolExecutor(1) as ager:
                ageing = ager.submit(_age_committed, engine, params)

                def shard_work(shard_conn: Connection, shard: Shard) -> ShardResult:
                    return _flag_shard(shard_conn, params, shard, before_writes=ageing.result)

                with side_by_side(engine, shard_work, shards_of) as futures:
                    shard_results = [future.result() for future in futures]
                aged = ageing.result()
        touched: set[str] = set()
        for raised, withdrawn, reranked, days in shard_results:
            for kind, number in raised.items():
                result.raised[kind] += number
            result.withdrawn += withdrawn
            result.reranked += reranked
            touched |= days
        # Statistics that know tonight's flags, for the marts next and for a rerun: planned
        # without them, a rerun's statements took tonight's flags for none (see
        # warehouse.refresh_statistics). The re-ranked flags move no column it samples.
        refresh_statistics(conn, "flags", sum(result.raised.values()) + result.withdrawn)
    result.reranked += aged
    result.touched_days = sorted(touched | {day})
    return result


#: What a shard did: flags raised per kind, withdrawn, re-ranked, and the days they changed.
ShardResult = tuple[dict[str, int], int, int, set[str]]


def _flag_shard(
    conn: Connection,
    params: dict[str, Any],
    shard: Shard,
    before_writes: Callable[[], object] = lambda: None,
) -> ShardResult:
    """The flag step for the authors of ``shard``: return the flags raised per kind, withdrawn
    and re-ranked, and the days whose flags or response numbers changed (those of the posts the
    brand answered today). ``before_writes`` is called between the reads and the first write to
    ``flags`` (the ageing's commit, which it waits for)."""
    answered = _fill_threads(conn, params, shard)
    _fill_posts(conn, params)
    _fill_groups(conn)
    before_writes()
    _drop_untouched(conn)
    _rank(conn, params)
    withdrawn, reranked, days = _write_flags(conn, params)
    days |= answered
    raised = {
        str(kind): int(number)
        for kind, number in conn.execute(
            sa.text("SELECT kind, COUNT(*) FROM fl_groups GROUP BY kind")
        ).all()
    }
    if not _pg(conn):
        for name in (
            "fl_answered",
            "fl_threads",
            "fl_posts",
            "fl_groups",
            "fl_drop",
            "fl_rank",
            "fl_days",
            "fl_score",
        ):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    return raised, withdrawn, reranked, days


def _fill_threads(conn: Connection, params: dict[str, Any], shard: Shard) -> set[str]:
    """``fl_threads``: the (platform, author, thread) the day reaches; return the days of the
    shard's posts the brand answered today, whose response numbers change.

    Those of the day's qualifying posts; of the open flags raised that day or, still decaying
    at the reference day, holding posts of that day (a rerun whose posts no longer qualify must
    reach them); and of the questions the brand answered that day. Each lookup is an index
    range, not a scan. "Still decaying" is told by ``latest_day``, not by the stored
    ``recency``, which the ageing may be rewriting meanwhile on its own connection.
    """
    # The posts the brand answered today (not its own): their threads are reached, and their
    # days' response numbers change (read once here: the marts' days come from the shards).
    temp_table(
        conn,
        "fl_answered",
        "platform VARCHAR(32), author VARCHAR(512), thread_key VARCHAR(512), day {date_type}",
    )
    # Most answered posts are the night's own: the night's brand replies are joined with the
    # night's posts (on PostgreSQL both hashed from one range of the day index each), and only
    # the parents stored on other days are probed, one primary-key probe each. The shard is
    # chosen after the join: its filter is an expression the planner cannot estimate, and with
    # it inside, PostgreSQL took the night's candidate parents for a handful and probed the
    # brand replies for each of 400,000 of them (1.7 s a shard at 1M).
    earlier = probe_each(
        conn,
        "(SELECT DISTINCT platform, parent FROM x WHERE mention_id IS NULL) o",
        "mentions",
        "p",
        "p.platform, p.author, p.thread_root_id, p.mention_id, p.day",
        "p.platform = o.platform AND p.mention_id = o.parent AND NOT p.is_brand"
        + _in_shard("p.author", shard),
    )
    conn.execute(
        sa.text(
            f"""
            INSERT INTO fl_answered (platform, author, thread_key, day)
            WITH x AS MATERIALIZED (
                SELECT r.platform, r.in_reply_to_id AS parent, t.mention_id, t.author,
                       t.thread_root_id, t.is_brand, t.day
                FROM (SELECT platform, in_reply_to_id FROM mentions
                      WHERE day = :day AND is_brand AND in_reply_to_id IS NOT NULL) r
                LEFT JOIN (SELECT platform, mention_id, author, thread_root_id, is_brand, day
                           FROM mentions WHERE day = :day) t
                  ON t.platform = r.platform AND t.mention_id = r.in_reply_to_id
            )
            SELECT platform, author, COALESCE(thread_root_id, mention_id), day FROM x
            WHERE mention_id IS NOT NULL AND NOT is_brand {_in_shard("author", shard)}
            UNION ALL
            SELECT p.platform, p.author, COALESCE(p.thread_root_id, p.mention_id), p.day
            FROM {earlier}
            """
        ),
        params,
    )
    # No key on PostgreSQL: the UNION below makes the rows distinct, and the planner hashes
    # the table (filling a primary key cost each shard 0.6 s at 1M, and the index-only probes
    # it invited were slower than a hash join); SQLite, without hash joins, gets its index.
    temp_table(
        conn,
        "fl_threads",
        "platform VARCHAR(32), author VARCHAR(512), thread_key VARCHAR(512)",
        "platform, thread_key, author",
    )
    conn.execute(
        sa.text(
            f"""
            INSERT INTO fl_threads (platform, author, thread_key)
            SELECT platform, author, COALESCE(thread_root_id, mention_id) FROM mentions
            WHERE day = :day AND NOT is_brand
              AND (compound >= :promoter OR compound <= :detractor OR is_question)
              {_in_shard("author", shard)}
            UNION
            SELECT platform, author, thread_root_id FROM flags
            WHERE day = :day AND status IN {_OPEN} {_in_shard("author", shard)}
            UNION
            SELECT platform, author, thread_root_id FROM flags f
            WHERE f.latest_day > :decay_start AND f.status IN {_OPEN} AND f.latest_day >= :day
              AND f.day <= :day {_in_shard("f.author", shard)}
            UNION
            SELECT platform, author, thread_key FROM fl_answered
            """
        ),
        params,
    )
    analyze(conn, "fl_threads")
    return {
        str(r[0])[:10] for r in conn.execute(sa.text("SELECT DISTINCT day FROM fl_answered")).all()
    }


def _fill_posts(conn: Connection, params: dict[str, Any]) -> None:
    """``fl_posts``: every qualifying post (one row per kind) of those threads and authors,
    except the posts a closed flag already holds."""
    temp_table(
        conn,
        "fl_posts",
        "platform VARCHAR(32), mention_id VARCHAR(512), kind VARCHAR(16), author VARCHAR(512),"
        " thread_key VARCHAR(512), day DATE, created_at TIMESTAMP WITH TIME ZONE,"
        " compound DOUBLE PRECISION, followers BIGINT"
        if _pg(conn)
        else "platform TEXT, mention_id TEXT, kind TEXT, author TEXT, thread_key TEXT,"
        " day TEXT, created_at TEXT, compound REAL, followers INTEGER",
    )
    kinds = " UNION ALL ".join(f"SELECT '{k}' AS kind" for k in KINDS)
    open_question = """
        CASE WHEN m.is_question THEN
            CASE WHEN (m.mentions_brand OR EXISTS (
                          SELECT 1 FROM mentions p
                          WHERE p.platform = m.platform AND p.mention_id = m.in_reply_to_id
                            AND p.is_brand))
                      AND NOT EXISTS (
                          SELECT 1 FROM mentions r
                          WHERE r.platform = m.platform AND r.in_reply_to_id = m.mention_id
                            AND r.is_brand)
                 THEN 1 ELSE 0 END
        ELSE 0 END"""
    # A thread's posts: its root (thread_root_id NULL, mention_id = the key) and its replies.
    in_threads = """
        SELECT m.platform, m.mention_id, m.author, t.thread_key, m.day, m.created_at,
               m.compound, m.author_followers, m.is_question, m.mentions_brand,
               m.in_reply_to_id
        FROM fl_threads t JOIN mentions m
          ON m.platform = t.platform AND m.thread_root_id = t.thread_key AND m.author = t.author
        WHERE NOT m.is_brand
        UNION ALL
        SELECT m.platform, m.mention_id, m.author, t.thread_key, m.day, m.created_at,
               m.compound, m.author_followers, m.is_question, m.mentions_brand,
               m.in_reply_to_id
        FROM fl_threads t JOIN mentions m
          ON m.platform = t.platform AND m.mention_id = t.thread_key AND m.author = t.author
        WHERE m.thread_root_id IS NULL AND NOT m.is_brand
    """
    conn.execute(
        sa.text(
            f"""
            INSERT INTO fl_posts (platform, mention_id, kind, author, thread_key, day,
                                  created_at, compound, followers)
            SELECT q.platform, q.mention_id, k.kind, q.author, q.thread_key, q.day,
                   q.created_at, q.compound, q.author_followers
            FROM (SELECT m.*, {open_question} AS open_question
                  FROM ({in_threads}) m
                  WHERE m.compound >= :promoter OR m.compound <= :detractor OR m.is_question
                 ) q
            JOIN ({kinds}) k
              ON (k.kind = 'promoter' AND q.compound >= :promoter)
              OR (k.kind = 'detractor' AND q.compound <= :detractor)
              OR (k.kind = 'question' AND q.open_question = 1)
            """
        ),
        params,
    )
    analyze(conn, "fl_posts")
    # Posts up to a closed flag's latest post are that flag's, frozen with it.
    with _probing(conn):
        conn.execute(
            sa.text(
                f"""
                DELETE FROM fl_posts WHERE EXISTS (
                    SELECT 1 FROM flags c
                    WHERE c.platform = fl_posts.platform AND c.thread_root_id = fl_posts.thread_key
                      AND c.author = fl_posts.author AND c.kind = fl_posts.kind
                      AND c.status IN {_CLOSED}
                      AND (c.latest_at > fl_posts.created_at
                           OR (c.latest_at = fl_posts.created_at
                               AND c.latest_mention_id >= fl_posts.mention_id)))
                """
            )
        )


def _fill_groups(conn: Connection) -> None:
    """``fl_groups``: one row per flag to hold the posts (author, thread, kind), with the
    touched open flag that already holds them (``holder_id``), if any."""
    pg = _pg(conn)
    temp_table(
        conn,
        "fl_groups",
        (
            "platform VARCHAR(32), author VARCHAR(512), thread_key VARCHAR(512),"
            " kind VARCHAR(16), first_id VARCHAR(512), first_at TIMESTAMP WITH TIME ZONE,"
            " first_day DATE, latest_id VARCHAR(512), latest_at TIMESTAMP WITH TIME ZONE,"
            " latest_day DATE, posts INTEGER, compound DOUBLE PRECISION, followers BIGINT,"
            " holder_id VARCHAR(512), previous_id VARCHAR(512)"
            if pg
            else "platform TEXT, author TEXT, thread_key TEXT, kind TEXT, first_id TEXT,"
            " first_at TEXT, first_day TEXT, latest_id TEXT, latest_at TEXT, latest_day TEXT,"
            " posts INTEGER, compound REAL, followers INTEGER, holder_id TEXT, previous_id TEXT"
        )
        + ", PRIMARY KEY (platform, author, thread_key, kind)",
    )
    # One sort: the first row of each group carries the group's first post, and over the whole
    # partition its last post, count, strongest compound and reach.
    whole = "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
    conn.execute(
        sa.text(
            f"""
            INSERT INTO fl_groups (platform, author, thread_key, kind, first_id, first_at,
                                   first_day, latest_id, latest_at, latest_day, posts,
                                   compound, followers)
            SELECT platform, author, thread_key, kind, mention_id, created_at, day,
                   latest_id, latest_at, latest_day, posts,
                   CASE WHEN kind = 'detractor' THEN low ELSE high END, reach
            FROM (
                SELECT p.*,
                       ROW_NUMBER() OVER w AS rn,
                       LAST_VALUE(mention_id) OVER (w {whole}) AS latest_id,
                       LAST_VALUE(created_at) OVER (w {whole}) AS latest_at,
                       LAST_VALUE(day) OVER (w {whole}) AS latest_day,
                       COUNT(*) OVER (w {whole}) AS posts,
                       MIN(compound) OVER (w {whole}) AS low,
                       MAX(compound) OVER (w {whole}) AS high,
                       MAX(p.followers) OVER (w {whole}) AS reach
                FROM fl_posts p
                WINDOW w AS (PARTITION BY platform, author, thread_key, kind
                             ORDER BY created_at, mention_id)
            ) x
            WHERE rn = 1
            """
        )
    )
    # Statistics of the columns the statements below match on: with the times, counts and ids
    # of every group too, 0.18-0.25 s a shard at 1M; these, 0.11 s. ``holder_id`` is all NULL
    # here (set just below, for the few groups an open flag holds): without it the planner took
    # "holder_id IS NULL" for 0.5% of the groups, and the flags' INSERT probed fl_score once
    # per new flag where it should hash it.
    analyze(conn, "fl_groups (platform, author, thread_key, kind, first_id, first_at, holder_id)")
    # Only the groups that have such flags are written (an UPDATE rewrites every row it sets).
    held = f"""
        FROM flags f
        WHERE f.platform = fl_groups.platform AND f.thread_root_id = fl_groups.thread_key
          AND f.author = fl_groups.author AND f.kind = fl_groups.kind
          AND f.status IN {_OPEN} AND NOT {_untouched("f")}"""
    # A group nobody holds follows the author's last flag of the kind that people closed.
    closed = f"""
        FROM flags c
        WHERE c.platform = fl_groups.platform AND c.author = fl_groups.author
          AND c.kind = fl_groups.kind AND c.status IN {_CLOSED}
          AND c.latest_at < fl_groups.first_at"""
    with _probing(conn):
        conn.execute(
            sa.text(
                f"""
                UPDATE fl_groups SET holder_id = (
                    SELECT f.mention_id {held} ORDER BY f.created_at, f.mention_id LIMIT 1)
                WHERE EXISTS (SELECT 1 {held})
                """
            )
        )
        conn.execute(
            sa.text(
                f"""
                UPDATE fl_groups SET previous_id = (
                    SELECT c.mention_id {closed}
                    ORDER BY c.latest_at DESC, c.mention_id DESC LIMIT 1)
                WHERE holder_id IS NULL AND EXISTS (SELECT 1 {closed})
                """
            )
        )


def _drop_untouched(conn: Connection) -> None:
    """Delete the untouched flags of the threads (kept in ``fl_drop``): recomputed below."""
    temp_table(
        conn,
        "fl_drop",
        "platform VARCHAR(32), mention_id VARCHAR(512), kind VARCHAR(16), day "
        + ("DATE" if _pg(conn) else "TEXT")
        + ", PRIMARY KEY (platform, mention_id, kind)",
    )
    with _probing(conn):
        conn.execute(
            sa.text(
                f"""
                INSERT INTO fl_drop (platform, mention_id, kind, day)
                SELECT f.platform, f.mention_id, f.kind, f.day
                FROM fl_threads t JOIN flags f
                  ON f.platform = t.platform AND f.thread_root_id = t.thread_key
                 AND f.author = t.author
                WHERE {_untouched("f")}
                """
            )
        )
        analyze(conn, "fl_drop")
        conn.execute(
            sa.text(
                """
                DELETE FROM flags WHERE (platform, mention_id, kind) IN (
                    SELECT platform, mention_id, kind FROM fl_drop)
                """
            )
        )


def _rank(conn: Connection, params: dict[str, Any]) -> None:
    """``fl_rank``: the flags the night reaches, to (re-)rank with their repeats and recency.

    ``is_new`` marks the groups nobody holds (inserted next, ranked as they are inserted);
    ``count_repeats`` the flags whose repeats are counted again from the mentions. The other
    flags whose rank still decays are aged in place afterwards (:func:`_age_flags`).
    """
    pg = _pg(conn)
    temp_table(
        conn,
        "fl_rank",
        "platform VARCHAR(32), mention_id VARCHAR(512), kind VARCHAR(16), author VARCHAR(512),"
        + (" latest_day DATE," if pg else " latest_day TEXT,")
        + " repeats INTEGER, recency DOUBLE PRECISION, count_repeats INTEGER, is_new INTEGER,"
        " PRIMARY KEY (platform, mention_id, kind)",
    )
    # The groups of this run: the new flags and the open flags that hold them.
    conn.execute(
        sa.text(
            """
            INSERT INTO fl_rank (platform, mention_id, kind, author, latest_day, count_repeats,
                                 is_new)
            SELECT platform, COALESCE(holder_id, first_id), kind, author, latest_day, 1,
                   CASE WHEN holder_id IS NULL THEN 1 ELSE 0 END
            FROM fl_groups
            """
        )
    )
    # The same authors' other open flags whose 7-day window holds the day (a backfill).
    # One range of flags_author's leading (platform, author) per author, whatever the
    # statistics say: ``latest_day`` is compared as an expression, so no index on it can drive
    # the probe.
    # Statistics that put the day past every flag's latest day made PostgreSQL read the range
    # of ``flags_latest`` from the day on for each author instead, filtering by author: every
    # flag of the later days each time (11.4 million rows for 2,810 authors on the third
    # night of a 30,000-mention day; in a backfill, every later flag of the warehouse).
    window_end = _minus_days(conn, "f.latest_day", REPEAT_WINDOW_DAYS - 1)
    latest = "(f.latest_day + 0)" if _pg(conn) else "f.latest_day"
    open_in_window = f"f.status IN {_OPEN} AND {latest} >= :day AND {window_end} <= :day"
    columns = "f.platform, f.mention_id, f.kind, f.author, f.latest_day"
    source = probe_each(
        conn,
        "(SELECT DISTINCT platform, author FROM fl_groups) a",
        "flags",
        "f",
        columns,
        f"f.platform = a.platform AND f.author = a.author AND {open_in_window}",
    )
    with _probing(conn):
        conn.execute(
            sa.text(
                f"""
                INSERT INTO fl_rank (platform, mention_id, kind, author, latest_day, count_repeats,
                                     is_new)
                SELECT {columns}, 1, 0 FROM {source}
                WHERE NOT EXISTS (
                    SELECT 1 FROM fl_rank r
                    WHERE r.platform = f.platform AND r.mention_id = f.mention_id
                      AND r.kind = f.kind)
                """
            ),
            params,
        )
    analyze(conn, "fl_rank")
    bounds = conn.execute(
        sa.text("SELECT MIN(latest_day), MAX(latest_day) FROM fl_rank WHERE count_repeats = 1")
    ).one()
    temp_table(
        conn,
        "fl_days",
        "platform VARCHAR(32), author VARCHAR(512), day "
        + ("DATE" if pg else "TEXT")
        + ", promoter INTEGER, detractor INTEGER, question INTEGER,"
        " PRIMARY KEY (platform, author, day)",
    )
    if bounds[0] is not None:
        low = dt.date.fromisoformat(str(bounds[0])[:10]) - dt.timedelta(days=REPEAT_WINDOW_DAYS - 1)
        # Same-kind posts per author and day, read only for the authors being ranked. Tonight's
        # posts are joined (most are tonight's on a large night: hashed with the night's rows);
        # on PostgreSQL those of the other days of the window are read by index ranges of
        # (platform, author, day), one per author and side of tonight (warehouse.probe_each;
        # the authors are a subquery in each branch: a shared CTE would be materialized without
        # statistics, and the tonight branch then sorted instead of hashing). One join over the
        # whole window lets a planner that knows the night's size hash every post of the window,
        # which grows with the warehouse (a 200,000-mention night on ten million earlier
        # mentions: 3.3 s); one probe per author over the whole window re-reads the night post
        # by post (1M: +1 s).
        kept = (
            "NOT m.is_brand"
            " AND (m.compound >= :promoter OR m.compound <= :detractor OR m.is_question)"
        )
        values = "m.day, m.compound, m.is_question"
        authors = "(SELECT DISTINCT platform, author FROM fl_rank WHERE count_repeats = 1) a"
        same_author = "m.platform = a.platform AND m.author = a.author"
        joined = f"{authors} JOIN mentions m ON {same_author}"
        if pg:
            tonight, high = str(params["day"])[:10], str(bounds[1])[:10]
            window_days = "m.day >= :low AND m.day <= :high"
            sides = []
            if low.isoformat() < tonight:
                sides.append(f"{window_days} AND m.day < :day")
            if high > tonight:  # days after tonight: only in a backfill
                sides.append(f"{window_days} AND m.day > :day")
            branches = [
                f"SELECT a.platform, a.author, {values} FROM "
                + probe_each(
                    conn, authors, "mentions", "m", values, f"{same_author} AND {days} AND {kept}"
                )
                for days in sides
            ]
            if low.isoformat() <= tonight <= high:
                branches.append(
                    f"SELECT a.platform, a.author, {values} FROM {joined}"
                    f" WHERE m.day = :day AND {kept}"
                )
            window = " UNION ALL ".join(branches)  # never empty: low < high
        else:
            window = f"""SELECT a.platform, a.author, {values} FROM {joined}
                WHERE m.day >= :low AND m.day <= :high AND {kept}"""
        conn.execute(
            sa.text(
                f"""
                INSERT INTO fl_days (platform, author, day, promoter, detractor, question)
                SELECT w.platform, w.author, w.day,
                       SUM(CASE WHEN w.compound >= :promoter THEN 1 ELSE 0 END),
                       SUM(CASE WHEN w.compound <= :detractor THEN 1 ELSE 0 END),
                       SUM(CASE WHEN w.is_question THEN 1 ELSE 0 END)
                FROM ({window}) w
                GROUP BY w.platform, w.author, w.day
                """
            ),
            {**params, "low": day_param(conn, low), "high": bounds[1]},
        )
    # Written once (an INSERT, not UPDATEs of fl_rank): repeats at least 1, recency by age.
    # The outer SELECT names ``counted`` once (two-argument GREATEST; SQLite's MAX): PostgreSQL
    # pulls the inner SELECT up into it, and each mention of ``counted`` there summed the
    # window again (two probes of fl_days a flag; the statement 0.71-0.75 s a shard at 1M).
    temp_table(
        conn,
        "fl_score",
        "platform VARCHAR(32), mention_id VARCHAR(512), kind VARCHAR(16), is_new INTEGER,"
        " repeats INTEGER, recency DOUBLE PRECISION, PRIMARY KEY (platform, mention_id, kind)",
    )
    window_start = _minus_days(conn, "k.latest_day", REPEAT_WINDOW_DAYS - 1)
    conn.execute(
        sa.text(
            f"""
            INSERT INTO fl_score (platform, mention_id, kind, is_new, repeats, recency)
            SELECT platform, mention_id, kind, is_new,
                   {"GREATEST" if pg else "MAX"}(1, COALESCE(counted, 0)), recency
            FROM (
                SELECT k.platform, k.mention_id, k.kind, k.is_new,
                       CASE WHEN k.count_repeats = 1 THEN (
                           SELECT SUM(CASE k.kind WHEN 'promoter' THEN d.promoter
                                                  WHEN 'detractor' THEN d.detractor
                                                  ELSE d.question END)
                           FROM fl_days d
                           WHERE d.platform = k.platform AND d.author = k.author
                             AND d.day >= {window_start} AND d.day <= k.latest_day)
                       ELSE k.repeats END AS counted,
                       {_recency_sql(conn, "k.latest_day")} AS recency
                FROM fl_rank k
            ) x
            """
        ),
        params,
    )
    analyze(conn, "fl_score")


def _write_flags(conn: Connection, params: dict[str, Any]) -> tuple[int, int, set[str]]:
    """Insert the groups nobody holds, ranked; update the holders; re-rank the rest of
    ``fl_rank``. Return the flags withdrawn (dropped and not raised again), the flags re-ranked
    and the days whose flags changed."""
    priority_new, reason_new = _rank_sql(conn, "g")
    # A group nobody holds whose first post keys a flag already (a touched flag left in another
    # thread when its post's thread changed) raises nothing: that flag stays as people left it.
    # ON CONFLICT, not a NOT EXISTS probe: the primary key decides whatever the planner makes
    # of ``flags`` (on a first night's empty, never analyzed table a probe was sometimes planned
    # on (platform, author, kind) matching only platform and kind: quadratic in the night's
    # flags). Inserted in key order, which fills the index and the heap cheapest.
    conn.execute(
        sa.text(
            f"""
            INSERT INTO flags (platform, mention_id, kind, day, author, created_at, compound,
                               priority, reason, status, thread_root_id, posts,
                               latest_mention_id, latest_at, latest_day, author_followers,
                               repeats, recency, previous_mention_id)
            SELECT g.platform, g.mention_id, g.kind, g.day, g.author, g.created_at, g.compound,
                   {priority_new}, {reason_new}, 'open', g.thread_root_id, g.posts,
                   g.latest_mention_id, g.latest_at, g.latest_day, g.author_followers,
                   r.repeats, r.recency, g.previous_mention_id
            FROM (
                SELECT n.platform, n.first_id AS mention_id, n.kind, n.first_day AS day,
                       n.author, n.first_at AS created_at, n.compound,
                       n.thread_key AS thread_root_id, n.posts, n.latest_id AS latest_mention_id,
                       n.latest_at, n.latest_day, n.followers AS author_followers,
                       n.previous_id AS previous_mention_id
                FROM fl_groups n WHERE n.holder_id IS NULL
            ) g
            JOIN fl_score r ON r.platform = g.platform AND r.mention_id = g.mention_id
                           AND r.kind = g.kind
            WHERE r.is_new = 1
            ORDER BY g.platform, g.mention_id, g.kind
            ON CONFLICT (platform, mention_id, kind) DO NOTHING
            """
        ),
        params,
    )
    with _probing(conn):
        # Only the held groups, each by its holder's key: on a first night's never analyzed
        # ``flags``, PostgreSQL probed (platform, author, kind) on its platform and kind alone
        # for every group, reading every flag inserted before it (5.5 s of a 50,000-mention
        # night, quadratic); a first night holds nothing.
        conn.execute(
            sa.text(
                """
                UPDATE flags SET posts = g.posts, latest_mention_id = g.latest_id,
                    latest_at = g.latest_at, latest_day = g.latest_day, compound = g.compound,
                    author_followers = COALESCE(g.followers, flags.author_followers)
                FROM fl_groups g
                WHERE g.holder_id IS NOT NULL AND flags.platform = g.platform
                  AND flags.mention_id = g.holder_id AND flags.kind = g.kind
                """
            )
        )
        priority_sql, reason_sql = _rank_sql(conn, "flags")
        reranked = conn.execute(
            sa.text(
                f"""
                UPDATE flags SET repeats = r.repeats, recency = r.recency,
                    priority = {priority_sql}, reason = {reason_sql}
                FROM fl_score r
                WHERE flags.platform = r.platform AND flags.mention_id = r.mention_id
                  AND flags.kind = r.kind AND r.is_new = 0
                """
            ),
            params,
        ).rowcount
        withdrawn = conn.execute(
            sa.text(
                """
                SELECT COUNT(*) FROM fl_drop d WHERE NOT EXISTS (
                    SELECT 1 FROM flags f
                    WHERE f.platform = d.platform AND f.mention_id = d.mention_id
                      AND f.kind = d.kind)
                """
            )
        ).scalar_one()
    days = conn.execute(
        sa.text(
            """
            SELECT day FROM fl_drop
            UNION SELECT first_day FROM fl_groups WHERE holder_id IS NULL
            """
        )
    ).all()
    return int(withdrawn), int(reranked), {str(r[0])[:10] for r in days}


def _age_committed(engine: Engine, params: dict[str, Any]) -> int:
    """:func:`_age_flags` in a transaction of its own, committed when it returns."""
    with engine.begin() as conn:
        tune(conn)
        return _age_flags(conn, params)


def _age_flags(conn: Connection, params: dict[str, Any]) -> int:
    """Re-rank the flags whose rank still decays: recency to the reference day, priority with
    it; return how many changed.

    A flag already ranked to this reference day is not written again: every flag on a rerun.
    Nothing else changes (the reason does not hold the recency), and no index of ``flags``
    holds ``recency`` or ``priority`` (migration 0007), so on PostgreSQL each is a heap-only
    update on the flag's own page, not a new entry in every index: the nightly ageing of the
    last week's flags costs about 3.4 us a flag instead of 33. It runs before the night's
    flags are written (module docstring), which re-rank what they reach by the same formula
    (``_priority_sql``).
    """
    recency = _recency_sql(conn, "flags.latest_day")
    priority = _priority_sql("flags", "flags.repeats", recency)
    return int(
        conn.execute(
            sa.text(
                f"""
                UPDATE flags SET recency = {recency}, priority = {priority}
                WHERE {_decaying("flags")}
                  AND (flags.recency <> {recency} OR flags.priority <> {priority})
                """
            ),
            params,
        ).rowcount
    )


# ---- what people do ------------------------------------------------------------------------


def set_status(
    engine: Engine,
    platform: str,
    mention_id: str,
    kind: str,
    *,
    status: str | None = None,
    assignee: str | None = None,
    note: str | None = None,
    changed_by: str | None = None,
) -> bool:
    """What a community manager does: change a flag's status, assignee or note.

    Every field that really changes becomes a row of ``flag_history`` with the time and
    ``changed_by`` (the page passes the Airflow user's name); a status change also sets
    ``status_changed_at`` and ``status_changed_by``. An empty assignee or note clears it.
    Returns False when no such flag exists.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    wanted: dict[str, str | None] = {}
    if status is not None:
        wanted["status"] = status
    if assignee is not None:
        wanted["assignee"] = assignee or None
    if note is not None:
        wanted["note"] = note or None
    key = {"platform": platform, "mention_id": mention_id, "kind": kind}
    with engine.begin() as conn:
        lock = " FOR UPDATE" if _pg(conn) else ""
        row = (
            conn.execute(
                sa.text(
                    "SELECT status, assignee, note FROM flags WHERE platform = :platform"
                    f" AND mention_id = :mention_id AND kind = :kind{lock}"
                ),
                key,
            )
            .mappings()
            .first()
        )
        if row is None:
            return False
        changes = {k: v for k, v in wanted.items() if row[k] != v}
        if not changes:
            return True
        now = timestamp_param(conn)
        values: dict[str, Any] = dict(changes)
        if "status" in changes:
            values["status_changed_at"] = now
            values["status_changed_by"] = changed_by
        assignments = ", ".join(f"{k} = :{k}" for k in values)
        conn.execute(
            sa.text(
                f"UPDATE flags SET {assignments} "
                "WHERE platform = :platform AND mention_id = :mention_id AND kind = :kind"
            ),
            {**values, **key},
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO flag_history (platform, mention_id, kind, changed_at, changed_by,
                                          field, old_value, new_value)
                VALUES (:platform, :mention_id, :kind, :at, :by, :field, :old, :new)
                """
            ),
            [
                {**key, "at": now, "by": changed_by, "field": name, "old": row[name], "new": new}
                for name, new in changes.items()
            ],
        )
    return True


def history(engine: Engine, platform: str, mention_id: str, kind: str) -> list[dict[str, Any]]:
    """A flag's ``flag_history``, oldest change first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                """
                SELECT changed_at, changed_by, field, old_value, new_value FROM flag_history
                WHERE platform = :platform AND mention_id = :mention_id AND kind = :kind
                ORDER BY changed_at, change_id
                """
            ),
            {"platform": platform, "mention_id": mention_id, "kind": kind},
        ).mappings()
        return [dict(r) for r in rows]
