"""The warehouse: where it is, its schema, and the idempotent load of one day.

The warehouse is the Airflow connection ``sentiment_warehouse`` (PostgreSQL in production) or,
when that is not defined, the SQLite file ``data/warehouse.db``. Everything goes through
SQLAlchemy 2 Core; the schema and the marts are ``.sql`` files in ``sql/``, rendered with Jinja
for the few words the two dialects spell differently.

A day's load is all or nothing, set-based, each statement's cost following the night: the day's
mentions are copied into a temporary stage (COPY on PostgreSQL, batched inserts on SQLite); the
staged posts already stored are found with one primary-key probe each; the day's previous rows
that the new data no longer holds are removed; thread roots are computed on the stage (a
recursive query); the new posts are inserted once, root included, and only the stored posts
this day now owns are updated where a value changed; then the day's rejects are replaced and
its audit row written. Rerunning a day therefore gives the same tables (and writes no mention
when nothing changed); a mention already stored under an earlier day keeps that day. The load
also keeps ``authors`` current: tonight's new posts are merged into their authors' rows, and
only authors whose rows cannot be merged (a rerun, a correction) are recomputed from their
mentions, so its cost follows the night.

Everything a load writes to ``mentions`` and ``authors`` belongs to one platform (a post, its
thread, its author), so on PostgreSQL the night's platforms are split into shares written side
by side, each on its own connection and transaction (one connection inserts every post with its
five index entries on one core). A coordinating transaction holds the warehouse lock, writes the
rejects and the audit once every share has written, and only then do the shares commit: an
error before that rolls every share back. On SQLite, or with one platform, the load is one
transaction.

Schema versions: ``ensure_schema(engine)`` is the one entry point. It applies the numbered files
``sql/migrations/NNNN_name.sql`` that the ``schema_version`` table does not list yet, in order,
each in its own transaction together with its row in ``schema_version``; then it recreates the
views of ``sql/views.sql`` when that file changed. To add a table or a column, add the next file
(``0003_what_it_adds.sql``) - never edit a released one - written with the Jinja words of
``dialect_words`` (``{{ date_type }}``, ``{{ timestamp_type }}``) so it runs on both databases;
list the table in ``DATA_TABLES`` if it holds data, and describe it in ``docs/warehouse.md``.
On PostgreSQL every writer (migrations, loads, flags, marts) takes one transaction-level
advisory lock, so two days loading at once are serialized where they share rows; on SQLite
``BEGIN IMMEDIATE`` does the same.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Connection, Engine

from sentiment_monitor.config import project_root
from sentiment_monitor.processes import worker_count
from sentiment_monitor.records import MENTION_COLUMNS, REJECT_COLUMNS, format_timestamp, read_part

T = TypeVar("T")
R = TypeVar("R")

WAREHOUSE_CONN_ID = "sentiment_warehouse"
DEFAULT_SQLITE_PATH = Path("data/warehouse.db")

#: Where the numbered migrations live, inside ``sql/``; file names are ``NNNN_name.sql``.
MIGRATIONS_DIR = "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
#: The repeatable step after the migrations; its checksum is kept as schema_version 0.
VIEWS_FILE = "views.sql"
#: Key of the PostgreSQL advisory lock every writer of the warehouse takes (any fixed number;
#: this one is "sentimon" in ASCII, unlikely to collide with another application's key).
WAREHOUSE_LOCK_KEY = 0x73656E74696D6F6E
#: The PostgreSQL-only script that creates the analyst and community-manager roles.
ROLES_FILE = "roles.sql"

log = logging.getLogger(__name__)

#: Rows per batch when staging into SQLite.
SQLITE_BATCH = 20_000
#: Rows per CSV chunk handed to PostgreSQL's COPY (50,000 held ~100 MB more at once in the
#: loading process for no speed; below 10,000 nothing is saved).
COPY_BATCH = 10_000
#: The columns of ``mentions`` an ``authors`` row is computed from (:func:`refresh_authors`).
AUTHOR_INPUTS: tuple[str, ...] = ("author", "is_brand", "created_at", "author_followers", "label")


def sql_dir() -> Path:
    """The project's ``sql/`` folder."""
    return project_root() / "sql"


def default_sqlite_url() -> str:
    """``sqlite:///<project>/data/warehouse.db``."""
    return f"sqlite:///{project_root() / DEFAULT_SQLITE_PATH}"


def url_from_connection(
    conn_type: str | None,
    host: str | None = None,
    login: str | None = None,
    password: str | None = None,
    schema: str | None = None,
    port: int | None = None,
) -> str:
    """A SQLAlchemy URL from the fields of an Airflow connection.

    ``postgres``/``postgresql`` connections use psycopg 3 (fast COPY); ``sqlite`` connections keep
    the database path in ``host``, as Airflow's SQLite connections do.
    """
    kind = (conn_type or "").lower()
    if kind in ("postgres", "postgresql"):
        auth = ""
        if login:
            auth = quote(login, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            auth += "@"
        where = host or "localhost"
        if port:
            where += f":{port}"
        return f"postgresql+psycopg://{auth}{where}/{schema or 'postgres'}"
    if kind == "sqlite":
        path = host or schema or str(DEFAULT_SQLITE_PATH)
        if not Path(path).is_absolute():
            path = str(project_root() / path)
        return f"sqlite:///{path}"
    raise ValueError(f"warehouse connection type {conn_type!r} is not supported (postgres, sqlite)")


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    return re.sub(r"^postgres(?:ql)?(?:\+psycopg2)?://", "postgresql+psycopg://", url)


def _switch_to_wal(cursor: Any, attempts: int = 600) -> None:
    """Put the SQLite file in WAL mode, waiting out another connection doing the same.

    Two processes opening a brand-new file at once race to switch its journal mode, and SQLite
    answers the loser "database is locked" at once, without its busy handler; so retry.
    """
    import sqlite3
    import time

    for _ in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA journal_mode=WAL")


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the SQLite file); SQLite is set up for concurrent days."""
    url = normalize_url(url or default_sqlite_url())
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 120})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers (the UI, analysts) read while a night loads; a second day that
            # loads at the same time waits for the lock instead of failing.
            # The sqlite3 driver's own transaction handling is replaced by explicit BEGIN
            # IMMEDIATE so that a day's load takes the write lock up front.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=120000")
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def dialect_words(dialect: str) -> dict[str, str]:
    """The SQL words that differ between the two supported dialects."""
    if dialect == "postgresql":
        return {
            "date_type": "DATE",
            "timestamp_type": "TIMESTAMP WITH TIME ZONE",
            "per_row": PER_ROW,
        }
    return {"date_type": "TEXT", "timestamp_type": "TEXT", "per_row": ""}


#: Ends an ``EXISTS`` subquery that must stay one index probe per outer row on PostgreSQL. A
#: plain ``EXISTS`` in a select list may run "hashed": the planner scans every row the
#: subquery could match (for "the parent is the brand's post": every brand post of the
#: warehouse) when it expects many outer rows, so the cost grows with the warehouse. With
#: an OFFSET the planner cannot rewrite it that way (``simplify_EXISTS_query``). SQLite
#: always probes.
PER_ROW = "OFFSET 0"


def render_sql(name: str, dialect: str, **params: Any) -> list[str]:
    """Render ``sql/<name>`` for ``dialect`` and split it into statements."""
    env = Environment(
        loader=FileSystemLoader(str(sql_dir())), undefined=StrictUndefined, autoescape=False
    )
    text = env.get_template(name).render(dialect=dialect, **dialect_words(dialect), **params)
    return split_statements(text)


def split_statements(text: str) -> list[str]:
    """Split SQL text on ``;`` at line ends, dropping comment-only pieces."""
    statements, current = [], []
    for line in text.splitlines():
        current.append(line)
        if line.rstrip().endswith(";") and not line.lstrip().startswith("--"):
            statements.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if "".join(current).strip():
        statements.append("\n".join(current))
    # Full-line comments are dropped: a ``:name`` in a comment would be taken for a parameter.
    cleaned = [
        "\n".join(line for line in s.splitlines() if not line.lstrip().startswith("--"))
        for s in statements
    ]
    return [s.strip() for s in cleaned if s.strip()]


def lock_warehouse(conn: Connection, *, shared: bool = False) -> None:
    """Serialize this transaction with every other writer of the warehouse until it ends.

    PostgreSQL: a transaction-level advisory lock, released by COMMIT or ROLLBACK. ``shared``
    takes it in shared mode: it waits for and keeps out every exclusive holder (the writers),
    not other shared holders; the flag step's coordinator uses it while its shards write on
    their own connections (see ``flags.flag_day``). SQLite needs nothing: ``make_engine``
    begins every transaction ``IMMEDIATE``, one writer at a time.
    """
    if conn.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        conn.execute(sa.text(f"SELECT {function}(:key)"), {"key": WAREHOUSE_LOCK_KEY})


#: Connections a step runs side by side on PostgreSQL at most (flags by author, marts by platform).
MAX_PARALLEL = 4


def parallel_connections(engine: Engine) -> int:
    """Connections a step may run side by side on ``engine``: one per core of this machine (the
    database's work then spreads over the cores; a step's own process mostly waits), at most
    ``MAX_PARALLEL``, on PostgreSQL; one on SQLite, which has one writer at a time."""
    if engine.dialect.name != "postgresql":
        return 1
    return min(MAX_PARALLEL, worker_count(0))


def migrations() -> list[tuple[int, str]]:
    """The migration files as ``(version, file name)``, in the order they are applied."""
    found = []
    for path in sorted((sql_dir() / MIGRATIONS_DIR).iterdir()):
        match = MIGRATION_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path.name))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migration files share a version number: {found}")
    return found


def latest_version() -> int:
    """The version a warehouse has once ``ensure_schema`` is done."""
    return max(v for v, _ in migrations())


def _checksum(name: str) -> str:
    return hashlib.sha256((sql_dir() / name).read_bytes()).hexdigest()


def _create_version_table(conn: Connection) -> None:
    words = dialect_words(conn.dialect.name)
    conn.exec_driver_sql(
        f"""CREATE TABLE IF NOT EXISTS schema_version (
            version     INTEGER NOT NULL PRIMARY KEY,
            name        VARCHAR(256) NOT NULL,
            checksum    VARCHAR(64) NOT NULL,
            applied_at  {words["timestamp_type"]} NOT NULL
        )"""
    )


def day_param(bind: Engine | Connection, day: str | dt.date) -> Any:
    """A day as a bound parameter: a ``date`` on PostgreSQL, ``YYYY-MM-DD`` text on SQLite."""
    value = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return value if bind.dialect.name == "postgresql" else value.isoformat()


def timestamp_param(bind: Engine | Connection, value: dt.datetime | None = None) -> Any:
    """A UTC timestamp (default: now) as a bound parameter: aware on PostgreSQL, text on SQLite."""
    value = value or dt.datetime.now(dt.UTC)
    return value if bind.dialect.name == "postgresql" else format_timestamp(value)


def applied_versions(engine: Engine) -> dict[int, str]:
    """``{version: checksum}`` of what the warehouse has applied (version 0: the views)."""
    if not sa.inspect(engine).has_table("schema_version"):
        return {}
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version, checksum FROM schema_version")).all()
    return {int(v): str(c) for v, c in rows}


def ensure_schema(engine: Engine, *, upto: int | None = None) -> list[int]:
    """Bring the warehouse to the latest schema; return the versions applied now (idempotent).

    Each pending migration runs in its own transaction with its ``schema_version`` row, under the
    warehouse lock, and is skipped when another process applied it meanwhile: a failure leaves
    the warehouse at the last whole version. Then the views are recreated if ``views.sql``
    changed. ``upto`` stops after that version without touching the views: it builds the
    schema of an earlier release (upgrade tests and rehearsals).
    """
    dialect = engine.dialect.name
    pending = [(v, n) for v, n in migrations() if upto is None or v <= upto]
    views_sum = _checksum(VIEWS_FILE)
    done = applied_versions(engine)
    # The common case - every night, every task - reads one small table and takes no lock.
    if all(v in done for v, _ in pending) and (upto is not None or done.get(0) == views_sum):
        return []
    applied: list[int] = []
    for version, name in pending:
        if version in done:
            if done[version] != _checksum(f"{MIGRATIONS_DIR}/{name}"):
                log.warning("migration %s changed after it was applied; add a new one", name)
            continue
        with engine.begin() as conn:
            lock_warehouse(conn)
            _create_version_table(conn)
            exists = conn.execute(
                sa.text("SELECT 1 FROM schema_version WHERE version = :v"), {"v": version}
            ).first()
            if exists:  # another process got there first, while we waited for the lock
                continue
            for statement in render_sql(f"{MIGRATIONS_DIR}/{name}", dialect):
                conn.exec_driver_sql(statement)
            conn.execute(
                sa.text(
                    "INSERT INTO schema_version (version, name, checksum, applied_at)"
                    " VALUES (:v, :name, :sum, :at)"
                ),
                {
                    "v": version,
                    "name": name,
                    "sum": _checksum(f"{MIGRATIONS_DIR}/{name}"),
                    "at": timestamp_param(conn),
                },
            )
            applied.append(version)
            log.info("warehouse schema: applied migration %s", name)
    if upto is None:
        with engine.begin() as conn:
            lock_warehouse(conn)
            current = conn.execute(
                sa.text("SELECT checksum FROM schema_version WHERE version = 0")
            ).scalar_one_or_none()
            if current != views_sum or applied:
                for statement in render_sql(VIEWS_FILE, dialect):
                    conn.exec_driver_sql(statement)
                conn.execute(sa.text("DELETE FROM schema_version WHERE version = 0"))
                conn.execute(
                    sa.text(
                        "INSERT INTO schema_version (version, name, checksum, applied_at)"
                        " VALUES (0, :name, :sum, :at)"
                    ),
                    {"name": VIEWS_FILE, "sum": views_sum, "at": timestamp_param(conn)},
                )
    return applied


def _role_name(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"role name {name!r}: use lower-case letters, digits and _")
    return name


def apply_roles(
    engine: Engine,
    analyst: str = "sentiment_analyst",
    community_manager: str = "sentiment_community_manager",
) -> None:
    """Create (if missing) and grant the two NOLOGIN roles of ``sql/roles.sql``; PostgreSQL only.

    Idempotent: roles that exist are kept and granted again. Run it as the warehouse's owner
    after ``ensure_schema`` (it grants on what exists, and on what that owner creates later).
    Give people LOGIN users that are members of a role: ``GRANT sentiment_analyst TO alice``.
    """
    names = {"analyst": _role_name(analyst), "community_manager": _role_name(community_manager)}
    if engine.dialect.name != "postgresql":
        raise ValueError("roles exist on PostgreSQL only; a SQLite warehouse is a local file")
    ensure_schema(engine)
    with engine.begin() as conn:
        lock_warehouse(conn)
        database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        for statement in render_sql(
            ROLES_FILE,
            "postgresql",
            **names,
            database='"' + str(database).replace('"', '""') + '"',
        ):
            conn.exec_driver_sql(statement)


@dataclass
class LoadResult:
    """What a day's load stored."""

    day: str
    loaded: int
    rejected: int
    duplicates: int
    known_from_earlier: int
    removed_stale: int
    records_read: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for XCom."""
        return asdict(self)


def _batches(
    parts: Sequence[str], columns: Sequence[str], size: int, platforms: Sequence[str] | None
) -> Iterator[pa.RecordBatch]:
    """The ``columns`` of Parquet ``parts`` in batches of at most ``size`` rows; with
    ``platforms``, only the rows of those platforms."""
    keep = _platform_set(platforms)
    for part in parts:
        parquet = pq.ParquetFile(part)
        for batch in parquet.iter_batches(batch_size=size, columns=list(columns)):
            batch = _of_platforms(batch, keep)
            if batch.num_rows:
                yield batch


def _platform_set(platforms: Sequence[str] | None) -> pa.Array | None:
    """``platforms`` as the value set :func:`_of_platforms` filters by (None: every platform)."""
    return None if platforms is None else pa.array(list(platforms), pa.string())


def _of_platforms(batch: pa.RecordBatch, keep: pa.Array | None) -> pa.RecordBatch:
    """The rows of ``batch`` whose ``platform`` is in ``keep`` (all of them when None)."""
    import pyarrow.compute as pc

    return batch if keep is None else batch.filter(pc.is_in(batch.column("platform"), keep))


def _iter_rows(
    parts: Sequence[str], columns: Sequence[str], platforms: Sequence[str] | None = None
) -> Iterator[tuple[Any, ...]]:
    for batch in _batches(parts, columns, SQLITE_BATCH, platforms):
        yield from zip(*(batch.column(i).to_pylist() for i in range(len(columns))), strict=True)


def _stage(conn: Connection, table: str, columns: Sequence[str], rows: Iterator[tuple]) -> None:
    """Bulk-insert rows into a (temporary) SQLite table in batches of ``SQLITE_BATCH``."""
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= SQLITE_BATCH:
            conn.exec_driver_sql(sql, batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)


#: Staged text forms sent to PostgreSQL as the column's own type (binary COPY takes no text;
#: each batch is cast in C).
_WIRE_TYPES: dict[str, pa.DataType] = {
    "day": pa.date32(),  # YYYY-MM-DD
    "created_at": pa.timestamp("us", tz="UTC"),  # validated: ISO 8601, microseconds, +00:00
}


def _stage_parts(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    parts: Sequence[str],
    platforms: Sequence[str] | None = None,
    batches: Iterator[pa.RecordBatch] | None = None,
) -> None:
    """Bulk-load the ``columns`` of Parquet ``parts`` into ``table`` (with ``platforms``, only
    the rows of those platforms; with ``batches``, those record batches of the parts, already
    read and filtered: :class:`SharedParts`).

    On PostgreSQL, pgpq encodes each Arrow record batch in PostgreSQL's binary COPY format (in
    Rust) and ``COPY ... FORMAT binary`` stores it: no Python object per value, and the server
    parses no text. Against pyarrow's CSV, which this replaces, the server's side of staging
    Bluesky's 523,000 posts of the 1M night went from 1.36-1.48 s to 0.62-0.70 s, encoding from
    0.86-0.91 to 0.69 s; the staged rows are the same (an ``EXCEPT`` both ways: none). Values go
    as they are: NULL stays NULL, an empty string stays empty, the doubles are the scored ones.
    The columns' Arrow types must be those of ``table`` (strings to text columns, int64 to
    BIGINT, :data:`_WIRE_TYPES` for the day and the time). SQLite keeps the row-by-row path.
    """
    if conn.dialect.name != "postgresql":
        _stage(conn, table, columns, _iter_rows(parts, columns, platforms))
        return
    if not parts:
        return
    from pgpq import ArrowToPostgresBinaryEncoder

    stored = pq.read_schema(parts[0])
    schema = pa.schema(
        [stored.field(c).with_type(_WIRE_TYPES.get(c, stored.field(c).type)) for c in columns]
    )
    encoder = ArrowToPostgresBinaryEncoder(schema)
    raw = conn.connection.driver_connection
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(encoder.write_header())
        if batches is None:
            batches = _batches(parts, columns, COPY_BATCH, platforms)
        for batch in batches:
            copy.write(encoder.write_batch(batch.cast(schema)))
        copy.write(encoder.finish())


#: Record batches (of ``COPY_BATCH`` rows) a share's queue of :class:`SharedParts` holds.
SHARED_DEPTH = 4


class PartsReaderStopped(RuntimeError):
    """The reader of :class:`SharedParts` was stopped before a share had all its rows."""


@dataclass(frozen=True)
class _End:
    """The last item of a share's queue: the reader's error, if it failed."""

    error: BaseException | None = None


class SharedParts:
    """The night's Parquet parts read once for every share of a load.

    Each share stages only its platforms' rows, and each used to read and decode every part
    for them: the 1M night's parts twice, about 0.7 s of CPU, in the one Python process whose
    threads feed every share's COPY. One reader thread here decodes each record batch once
    and deals its rows out by platform to a bounded queue per share (``depth`` batches of
    ``COPY_BATCH`` rows, default :data:`SHARED_DEPTH`, so memory stays flat);
    :meth:`batches` is a share's stream of them, and the shares read side by side.
    :meth:`close` stops the reader (a failing share calls it, so that no thread waits on a
    queue nobody reads); a share still reading then gets :class:`PartsReaderStopped`. An error
    of the reader itself reaches every share that had not read all its rows.
    """

    def __init__(
        self,
        parts: Sequence[str],
        columns: Sequence[str],
        shares: Sequence[Share],
        depth: int | None = None,
    ) -> None:
        self._keep = [_platform_set(share.platforms) for share in shares]
        self._queues: list[queue.Queue[pa.RecordBatch | _End]] = [
            queue.Queue(depth or SHARED_DEPTH) for _ in shares
        ]
        self._stopped = threading.Event()
        self._reader = threading.Thread(
            target=self._read, args=(list(parts), list(columns)), name="load-parts", daemon=True
        )
        self._reader.start()

    def _put(self, index: int, item: pa.RecordBatch | _End) -> bool:
        while not self._stopped.is_set():
            try:
                self._queues[index].put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _read(self, parts: list[str], columns: list[str]) -> None:
        end = _End()
        try:
            for batch in _batches(parts, columns, COPY_BATCH, None):
                for index, keep in enumerate(self._keep):
                    mine = _of_platforms(batch, keep)
                    if mine.num_rows and not self._put(index, mine):
                        return
        except BaseException as error:  # handed to the shares, which raise it
            end = _End(error)
        for index in range(len(self._queues)):
            self._put(index, end)

    def batches(self, index: int) -> Iterator[pa.RecordBatch]:
        """Share ``index``'s rows, batch by batch, in the parts' order."""
        while True:
            try:
                item = self._queues[index].get(timeout=0.05)
            except queue.Empty:
                if self._stopped.is_set():
                    raise PartsReaderStopped("the load stopped reading its parts") from None
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def close(self) -> None:
        """Stop the reader and wait for it (idempotent)."""
        self._stopped.set()
        self._reader.join()


def _create_stage(conn: Connection, name: str, like: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {name} (LIKE {like} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
    else:
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} AS SELECT * FROM {like} WHERE 0")


def temp_table(conn: Connection, name: str, columns: str, key: str | None = None) -> None:
    """A temporary table of this transaction. ``key`` is indexed on SQLite only: its planner
    has no hash join, PostgreSQL's hashes these tables (they are ANALYZEd once filled)."""
    words = dialect_words(conn.dialect.name)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    on_commit = " ON COMMIT DROP" if conn.dialect.name == "postgresql" else ""
    conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns.format(**words)}){on_commit}")
    if key and conn.dialect.name != "postgresql":
        conn.exec_driver_sql(f"CREATE INDEX {name}_key ON {name} ({key})")


#: The columns of ``stage_mentions`` the load's statements join, group or filter on.
STAGE_STATISTICS: tuple[str, ...] = (
    "platform",
    "mention_id",
    "in_reply_to_id",
    "author",
    "created_at",
    "author_followers",
)


#: The sample of a temporary table's statistics (:func:`analyze`): PostgreSQL reads 300 rows
#: per unit. What the statements of a night ask of these tables is their size and how many
#: distinct keys they hold, which 9,000 rows tell well enough (the default samples 30,000).
#: ANALYZE of 390,000 qualifying posts (a shard's ``fl_posts`` is about half that) took
#: 0.21-0.25 s at the default target and 0.06-0.09 s at this one (0.24-0.29 s and 0.06-0.07 s
#: for a Bluesky share's stage at 1M). A flag shard analyzes six such tables, a load share up
#: to six. The flag step alone on the 1M night, five runs alternating with the default:
#: 7.9-9.9 s against 8.3-11.2 s (medians 9.0 and 9.2), the same flags.
TEMP_STATISTICS_TARGET = 30


def analyze(conn: Connection, *tables: str) -> None:
    """Statistics for freshly filled temporary tables on PostgreSQL (autovacuum never sees
    them: without them the planner guesses sizes and can pick a nested loop over a million
    rows or a scan of a whole table), on a sample of :data:`TEMP_STATISTICS_TARGET`. A table
    may name its columns (``"t (a, b)"``): only those get statistics. SQLite's planner goes by
    indexes: nothing to do there."""
    if conn.dialect.name == "postgresql":
        _analyze(conn, tables, TEMP_STATISTICS_TARGET)


def _analyze(conn: Connection, tables: Sequence[str], target: int | None) -> None:
    """``ANALYZE`` each of ``tables`` on PostgreSQL, on a sample of ``target`` (None: the
    server's ``default_statistics_target``) for this statement only."""
    setting = "SELECT current_setting('default_statistics_target'),"
    setting += " set_config('default_statistics_target', :target, true)"
    before = None
    if target is not None:
        before = conn.execute(sa.text(setting), {"target": str(target)}).scalar_one()
    for table in tables:
        conn.exec_driver_sql(f"ANALYZE {table}")
    if before is not None:
        conn.execute(sa.text(setting), {"target": before})


#: The columns of each warehouse table whose statistics a night's rows move: the rows of a new
#: day lie outside what the statistics know of these (the planner then takes the night for a
#: handful of rows), and change the others' share of the table only by what the night adds.
NIGHT_STATISTICS: dict[str, tuple[str, ...]] = {
    "mentions": ("day", "created_at"),
    "flags": ("day", "latest_day", "status"),
}
#: A night changing more than this share of a table's rows takes statistics of every column
#: (autovacuum's default ``autovacuum_analyze_scale_factor``).
FULL_STATISTICS_SHARE = 0.1
#: The sample of a night's statistics of :data:`NIGHT_STATISTICS` alone: PostgreSQL reads 300
#: rows per unit, each on its own page of a large table.
NIGHT_STATISTICS_TARGET = 30


def refresh_statistics(conn: Connection, table: str, changed: int) -> str:
    """Bring ``table``'s statistics up to the night that changed ``changed`` of its rows, for
    the steps that read the night next; return what was analyzed (``"all"``, ``"night"``, or
    ``""`` off PostgreSQL).

    A table never analyzed, or one the night changed by more than
    :data:`FULL_STATISTICS_SHARE`, gets statistics of every column. Otherwise only the columns
    of :data:`NIGHT_STATISTICS` are sampled, on :data:`NIGHT_STATISTICS_TARGET`: on ten million
    mentions a full ``ANALYZE`` took 0.4-0.7 s a night (30,000 rows, each read from its own
    page), these 0.07-0.2 s. What the other columns' statistics say of a table a few percent
    larger still holds; their drift over many nights is autovacuum's, which analyzes a table
    once a tenth of it changed (on by default; with it off, run ``ANALYZE`` now and then).
    """
    if conn.dialect.name != "postgresql":
        return ""
    known = conn.execute(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"),
        {"table": table},
    ).scalar_one()
    if known <= 0 or changed > FULL_STATISTICS_SHARE * known:
        _analyze(conn, [table], None)
        return "all"
    _analyze(conn, [f"{table} ({', '.join(NIGHT_STATISTICS[table])})"], NIGHT_STATISTICS_TARGET)
    return "night"


def probe_each(
    conn: Connection, outer: str, table: str, alias: str, columns: str, condition: str
) -> str:
    """``FROM`` text that looks each row of ``outer`` up in ``table`` (as ``alias``) through the
    index that ``condition`` matches, one probe per outer row: the cost follows the outer rows,
    never a scan of ``table`` (which a hash join of a large night would choose, or a loop over
    every pair when the statistics take the night for a handful of rows)."""
    if conn.dialect.name == "postgresql":
        # The OFFSET (PER_ROW) keeps the subquery from being flattened into a join.
        return (
            f"{outer} CROSS JOIN LATERAL (SELECT {columns} FROM {table} {alias}"
            f" WHERE {condition} {PER_ROW}) {alias}"
        )
    # SQLite keeps the left table of a CROSS JOIN as the outer loop.
    return f"{outer} CROSS JOIN {table} {alias} ON {condition}"


def _probe(conn: Connection, outer: str, columns: str) -> str:
    """:func:`probe_each` of ``outer`` (alias o) in ``mentions`` (alias m) by primary key."""
    return probe_each(
        conn,
        outer,
        "mentions",
        "m",
        columns,
        "m.platform = o.platform AND m.mention_id = o.mention_id",
    )


def tune(conn: Connection) -> None:
    """Per-transaction settings for a load: enough memory to hash a night's keys in one go."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        # A load's statements are few and large: JIT compiling them costs more than it saves.
        conn.exec_driver_sql("SET LOCAL jit = off")


@contextlib.contextmanager
def side_by_side(
    engine: Engine, work: Callable[[Connection, T], R], units: Sequence[T]
) -> Iterator[list[concurrent.futures.Future[R]]]:
    """Run ``work(conn, unit)`` for every unit side by side, each on its own connection and in
    its own transaction (:func:`tune`d); yield the futures, so the caller can work on its own
    connection meanwhile. Leaving the block waits for all of them."""

    def one(unit: T) -> R:
        with engine.begin() as conn:
            tune(conn)
            return work(conn, unit)

    with concurrent.futures.ThreadPoolExecutor(len(units)) as pool:
        yield [pool.submit(one, unit) for unit in units]


def link_threads(conn: Connection, day: Any) -> int:
    """Compute ``thread_root_id`` of the staged replies into ``stage_roots``; return how many.

    Set-based, before anything is written to ``mentions``, so each row is written once. A
    reply's root is its parent's root, or the parent itself when the parent starts a thread.
    The parent is looked up as it will be stored: among tonight's rows, else in the warehouse
    (a late reply joins an earlier thread); a parent stored nowhere is taken to be the root. A
    reply that was already stored with a root keeps it. Walks down from the resolved replies
    with a recursive query, so every reply is visited once whatever the depth of its thread;
    replies below a parent that cannot be resolved (a cycle) keep no root.
    """
    temp_table(
        conn,
        "stage_links",
        "platform VARCHAR(32), mention_id VARCHAR(512), parent VARCHAR(512)",
        "platform, parent",
    )
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql("CREATE INDEX stage_links_id ON stage_links (platform, mention_id)")
    # The replies to resolve: tonight's, except those stored with a root already, or owned
    # by an earlier day (left as they are).
    conn.execute(
        sa.text(
            """
            INSERT INTO stage_links (platform, mention_id, parent)
            SELECT s.platform, s.mention_id, s.in_reply_to_id FROM stage_mentions s
            WHERE s.in_reply_to_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM stage_existing e
                WHERE e.platform = s.platform AND e.mention_id = s.mention_id
                  AND (e.thread_root_id IS NOT NULL OR e.day < :day))
            """
        ),
        {"day": day},
    )
    # Parents not among tonight's rows: looked up in the warehouse, one probe each.
    temp_table(
        conn,
        "stage_parents",
        "platform VARCHAR(32), mention_id VARCHAR(512), in_reply_to_id VARCHAR(512),"
        " thread_root_id VARCHAR(512)",
        "platform, mention_id",
    )
    outer = (
        "(SELECT DISTINCT c.platform, c.parent AS mention_id FROM stage_links c"
        " WHERE NOT EXISTS (SELECT 1 FROM stage_mentions p"
        " WHERE p.platform = c.platform AND p.mention_id = c.parent)) o"
    )
    analyze(conn, "stage_links")
    conn.execute(
        sa.text(
            "INSERT INTO stage_parents (platform, mention_id, in_reply_to_id, thread_root_id)"
            " SELECT o.platform, o.mention_id, m.in_reply_to_id, m.thread_root_id FROM "
            + _probe(conn, outer, "m.in_reply_to_id, m.thread_root_id")
        )
    )
    temp_table(
        conn,
        "stage_roots",
        "platform VARCHAR(32), mention_id VARCHAR(512), thread_root_id VARCHAR(512)",
        "platform, mention_id",
    )
    # The parent's root as stored: tonight's row unless an earlier day owns that post.
    return conn.execute(
        sa.text(
            """
            INSERT INTO stage_roots (platform, mention_id, thread_root_id)
            WITH RECURSIVE resolved (platform, mention_id, root) AS (
                SELECT c.platform, c.mention_id,
                       CASE
                           WHEN p.mention_id IS NOT NULL AND e.mention_id IS NULL THEN c.parent
                           WHEN p.mention_id IS NOT NULL THEN
                               CASE WHEN e.thread_root_id IS NOT NULL
                                      OR (e.day < :day AND e.in_reply_to_id IS NULL)
                                      OR (e.day >= :day AND p.in_reply_to_id IS NULL)
                                    THEN COALESCE(e.thread_root_id, c.parent) END
                           WHEN w.mention_id IS NOT NULL THEN
                               CASE WHEN w.in_reply_to_id IS NULL OR w.thread_root_id IS NOT NULL
                                    THEN COALESCE(w.thread_root_id, c.parent) END
                           ELSE c.parent
                       END
                FROM stage_links c
                LEFT JOIN stage_mentions p
                  ON p.platform = c.platform AND p.mention_id = c.parent
                LEFT JOIN stage_existing e
                  ON e.platform = c.platform AND e.mention_id = c.parent
                LEFT JOIN stage_parents w
                  ON w.platform = c.platform AND w.mention_id = c.parent
                WHERE NOT EXISTS (
                    SELECT 1 FROM stage_links x
                    WHERE x.platform = c.platform AND x.mention_id = c.parent)
                UNION ALL
                SELECT c.platform, c.mention_id, r.root
                FROM resolved r
                JOIN stage_links c ON c.platform = r.platform AND c.parent = r.mention_id
                WHERE r.root IS NOT NULL
            )
            SELECT platform, mention_id, root FROM resolved WHERE root IS NOT NULL
            """
        ),
        {"day": day},
    ).rowcount


def _stage_authors(conn: Connection) -> None:
    """``stage_authors``: the authors whose ``authors`` row is recomputed from their mentions."""
    temp_table(conn, "stage_authors", "platform VARCHAR(32), author VARCHAR(512)")


def refresh_authors(conn: Connection) -> int:
    """Recompute the ``authors`` rows of the staged authors from their mentions; return them.

    Only those authors are read (index ``mentions_author``), so the cost follows the night, not
    the warehouse. Recomputing instead of adding to counters keeps reruns and corrections exact;
    an author left without posts (a corrected export) disappears.
    """
    conn.execute(
        sa.text(
            """
            DELETE FROM authors WHERE EXISTS (
                SELECT 1 FROM stage_authors a
                WHERE a.platform = authors.platform AND a.author = authors.author)
            """
        )
    )
    return conn.execute(
        sa.text(
            """
            INSERT INTO authors (platform, author, is_brand, first_seen_at, last_seen_at,
                                 latest_followers, mentions, positive_mentions, negative_mentions)
            SELECT m.platform, m.author,
                   MAX(CASE WHEN m.is_brand THEN 1 ELSE 0 END) = 1,
                   MIN(m.created_at), MAX(m.created_at),
                   (SELECT f.author_followers FROM mentions f
                    WHERE f.platform = m.platform AND f.author = m.author
                      AND f.author_followers IS NOT NULL
                    ORDER BY f.created_at DESC, f.mention_id DESC LIMIT 1),
                   COUNT(*),
                   SUM(CASE WHEN m.label = 'positive' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN m.label = 'negative' THEN 1 ELSE 0 END)
            FROM mentions m
            JOIN (SELECT DISTINCT platform, author FROM stage_authors) a
              ON a.platform = m.platform AND a.author = m.author
            GROUP BY m.platform, m.author
            """
        )
    ).rowcount


def add_new_authors(conn: Connection, new_rows: str) -> None:
    """Add tonight's new posts to ``authors`` without rereading the authors' history.

    Every column of ``authors`` merges: flags or-ed, first/last seen min/max-ed, counts added,
    and the latest follower count is tonight's when tonight has one later than anything stored
    (``last_seen_at``). When tonight's latest follower count is not later than the stored
    posts, it cannot be told which is latest without them: those authors join
    ``stage_authors`` and are recomputed. ``new_rows`` is a ``FROM`` source (alias s) of the
    rows inserted tonight; ``stage_authors`` must hold every author recomputed anyway.
    """
    temp_table(
        conn,
        "stage_author_delta",
        "platform VARCHAR(32), author VARCHAR(512), is_brand INTEGER,"
        " first_seen_at {timestamp_type}, last_seen_at {timestamp_type}, followers BIGINT,"
        " followers_at {timestamp_type}, mentions BIGINT, positive BIGINT, negative BIGINT",
        "platform, author",
    )
    if conn.dialect.name == "postgresql":
        # The latest follower count without sorting the night: the latest time with a count per
        # author (hashed), then the rows at that time (ties broken as refresh_authors does).
        latest = f"""
            SELECT s.platform, s.author, s.author_followers,
                   ROW_NUMBER() OVER (PARTITION BY s.platform, s.author
                                      ORDER BY s.mention_id DESC) AS n
            FROM {new_rows}
            JOIN g ON g.platform = s.platform AND g.author = s.author
                  AND g.followers_at = s.created_at
            WHERE s.author_followers IS NOT NULL"""
    else:
        # SQLite joins the CTE without an index (a nested loop over every author: minutes at
        # 1M); one window sort over the rows with a count picks the same row.
        latest = f"""
            SELECT s.platform, s.author, s.author_followers,
                   ROW_NUMBER() OVER (PARTITION BY s.platform, s.author
                                      ORDER BY s.created_at DESC, s.mention_id DESC) AS n
            FROM {new_rows}
            WHERE s.author_followers IS NOT NULL"""
    conn.execute(
        sa.text(
            f"""
            INSERT INTO stage_author_delta (platform, author, is_brand, first_seen_at,
                last_seen_at, followers, followers_at, mentions, positive, negative)
            WITH g AS (
                SELECT s.platform, s.author,
                       MAX(CASE WHEN s.is_brand THEN 1 ELSE 0 END) AS is_brand,
                       MIN(s.created_at) AS first_seen_at, MAX(s.created_at) AS last_seen_at,
                       MAX(CASE WHEN s.author_followers IS NOT NULL THEN s.created_at END)
                           AS followers_at,
                       COUNT(*) AS mentions,
                       SUM(CASE WHEN s.label = 'positive' THEN 1 ELSE 0 END) AS positive,
                       SUM(CASE WHEN s.label = 'negative' THEN 1 ELSE 0 END) AS negative
                FROM {new_rows}
                GROUP BY s.platform, s.author
            ),
            f AS ({latest})
            SELECT g.platform, g.author, g.is_brand, g.first_seen_at, g.last_seen_at,
                   f.author_followers, g.followers_at, g.mentions, g.positive, g.negative
            FROM g
            LEFT JOIN f ON f.platform = g.platform AND f.author = g.author AND f.n = 1
            """
        )
    )
    analyze(conn, "stage_author_delta", "stage_authors")
    conn.execute(
        sa.text(
            """
            INSERT INTO stage_authors (platform, author)
            SELECT d.platform, d.author FROM stage_author_delta d
            JOIN authors a ON a.platform = d.platform AND a.author = d.author
            WHERE d.followers_at IS NOT NULL AND d.followers_at <= a.last_seen_at
            """
        )
    )
    recomputed = (
        "NOT EXISTS (SELECT 1 FROM stage_authors x"
        " WHERE x.platform = d.platform AND x.author = d.author)"
    )
    conn.execute(
        sa.text(
            f"""
            UPDATE authors SET
                is_brand = (authors.is_brand OR d.is_brand = 1),
                first_seen_at = CASE WHEN d.first_seen_at < authors.first_seen_at
                                     THEN d.first_seen_at ELSE authors.first_seen_at END,
                last_seen_at = CASE WHEN d.last_seen_at > authors.last_seen_at
                                    THEN d.last_seen_at ELSE authors.last_seen_at END,
                latest_followers = CASE WHEN d.followers_at IS NOT NULL
                                        THEN d.followers ELSE authors.latest_followers END,
                mentions = authors.mentions + d.mentions,
                positive_mentions = authors.positive_mentions + d.positive,
                negative_mentions = authors.negative_mentions + d.negative
            FROM stage_author_delta d
            WHERE authors.platform = d.platform AND authors.author = d.author AND {recomputed}
            """
        )
    )
    conn.execute(
        sa.text(
            f"""
            INSERT INTO authors (platform, author, is_brand, first_seen_at, last_seen_at,
                                 latest_followers, mentions, positive_mentions, negative_mentions)
            SELECT d.platform, d.author, d.is_brand = 1, d.first_seen_at, d.last_seen_at,
                   d.followers, d.mentions, d.positive, d.negative
            FROM stage_author_delta d
            WHERE NOT EXISTS (SELECT 1 FROM authors a
                              WHERE a.platform = d.platform AND a.author = d.author)
              AND {recomputed}
            """
        )
    )


def _distinct(conn: Connection, left: str, right: str) -> str:
    """Null-safe "differs" in the dialect's words."""
    if conn.dialect.name == "postgresql":
        return f"{left} IS DISTINCT FROM {right}"
    return f"{left} IS NOT {right}"


def _update_owned(conn: Connection, columns: Sequence[str], day: Any) -> int:
    """Update the staged posts stored before under this day or a later one (this day owns them
    now), only where a value differs. The authors, old and new, of the posts whose
    ``AUTHOR_INPUTS`` differ are recomputed, and no others: a rerun of the same data recomputes
    none (a recompute reads the author's whole history, which grows with the warehouse)."""
    moved = " OR ".join(_distinct(conn, f"e.{c}", f"s.{c}") for c in AUTHOR_INPUTS)
    owned = f"""
        FROM stage_existing e
        JOIN stage_mentions s ON s.platform = e.platform AND s.mention_id = e.mention_id
        WHERE e.day >= :day AND ({moved})
    """
    conn.execute(
        sa.text(
            "INSERT INTO stage_authors (platform, author)"
            f" SELECT e.platform, e.author {owned}"
            f" UNION SELECT s.platform, s.author {owned}"
        ),
        {"day": day},
    )
    values = [c for c in columns if c not in ("platform", "mention_id")]
    changed = [_distinct(conn, f"mentions.{c}", f"u.{c}") for c in values]
    changed.append("(mentions.thread_root_id IS NULL AND u.root IS NOT NULL)")
    return conn.execute(
        sa.text(
            f"""
            UPDATE mentions SET {", ".join(f"{c} = u.{c}" for c in values)},
                thread_root_id = COALESCE(mentions.thread_root_id, u.root)
            FROM (
                SELECT {", ".join("s." + c for c in columns)}, r.thread_root_id AS root
                FROM stage_existing e
                JOIN stage_mentions s ON s.platform = e.platform AND s.mention_id = e.mention_id
                LEFT JOIN stage_roots r ON r.platform = e.platform AND r.mention_id = e.mention_id
                WHERE e.day >= :day
            ) u
            WHERE mentions.platform = u.platform AND mentions.mention_id = u.mention_id
              AND ({" OR ".join(changed)})
            """
        ),
        {"day": day},
    ).rowcount


@dataclass(frozen=True)
class Share:
    """The platforms one connection of a load writes.

    ``platforms`` are staged (None: every platform). The day's stored rows this share may
    delete as stale are those of ``platforms`` when ``owns_listed``, else those of every
    platform but ``others`` (the platforms the other shares own): the first share also owns the
    platforms the night no longer has. One share of everything is ``Share(None, ())``.
    """

    platforms: tuple[str, ...] | None
    others: tuple[str, ...] = ()
    owns_listed: bool = False

    def condition(self, column: str) -> tuple[str, dict[str, Any]]:
        """SQL (`` AND ...`` or empty) that keeps the rows of ``column`` this share owns."""
        if self.owns_listed:
            return f" AND {column} IN :share_platforms", {"share_platforms": self.platforms}
        if self.others:
            return f" AND {column} NOT IN :share_platforms", {"share_platforms": self.others}
        return "", {}


def night_platforms(parts: Sequence[str]) -> dict[str, int]:
    """The rows of each platform in Parquet ``parts`` (one column read)."""
    counts: dict[str, int] = {}
    for part in parts:
        table = read_part(part, ["platform"])
        for item in table.column("platform").value_counts().to_pylist():
            counts[item["values"]] = counts.get(item["values"], 0) + int(item["counts"])
    return counts


def split_shares(counts: dict[str, int], connections: int) -> list[Share]:
    """The night's platforms dealt to at most ``connections`` shares, the largest platform
    first to the share with the fewest rows, so the shares end about together. Everything a
    load writes belongs to one platform (a post, its thread, its author), so shares never write
    the same row. One share (one connection, or one platform) is ``Share(None)``."""
    bins: list[list[str]] = [[] for _ in range(min(connections, len(counts)))]
    sizes = [0] * len(bins)
    for name in sorted(counts, key=lambda p: (-counts[p], p)):
        lightest = sizes.index(min(sizes))
        bins[lightest].append(name)
        sizes[lightest] += counts[name]
    if len(bins) <= 1:
        return [Share(None)]
    listed = [tuple(sorted(b)) for b in bins]
    return [
        Share(mine, tuple(p for other in listed if other is not mine for p in other), index > 0)
        for index, mine in enumerate(listed)
    ]


@dataclass
class _Written:
    """What one share of a load found and wrote, for the day's audit."""

    known_from_earlier: int
    removed: int
    taken: list[tuple[Any, int]]


def _load_share(
    conn: Connection,
    day_value: Any,
    parts: Sequence[str],
    share: Share,
    locked: Callable[[], object],
    batches: Iterator[pa.RecordBatch] | None = None,
) -> _Written:
    """Stage ``share``'s rows of ``parts`` (or ``batches``, those rows already read), call
    ``locked`` (which returns once this load holds the warehouse lock), then write them to
    ``mentions`` and ``authors`` (see :func:`load_day`). Nothing is committed here."""
    columns = list(MENTION_COLUMNS)
    pg = conn.dialect.name == "postgresql"
    _create_stage(conn, "stage_mentions", "mentions")
    _stage_parts(conn, "stage_mentions", columns, parts, share.platforms, batches)
    # Statistics of the columns the load's statements join, group and filter on: the text,
    # URL and score columns took most of the time (Bluesky's 523,000 posts: 0.45-0.47 s for
    # every column, 0.18-0.19 s for the keys).
    analyze(conn, f"stage_mentions ({', '.join(STAGE_STATISTICS)})")
    if not pg:
        conn.exec_driver_sql(
            "CREATE INDEX stage_mentions_key ON stage_mentions (platform, mention_id)"
        )
    # Staging is private to this transaction and runs in parallel with other days; from here
    # on rows other days may share (a re-exported mention, a thread, an author) change.
    locked()
    temp_table(
        conn,
        "stage_existing",
        "platform VARCHAR(32), mention_id VARCHAR(512), day {date_type},"
        " thread_root_id VARCHAR(512), in_reply_to_id VARCHAR(512), author VARCHAR(512),"
        " is_brand BOOLEAN, created_at {timestamp_type}, author_followers BIGINT,"
        " label VARCHAR(16)",
        "platform, mention_id",
    )
    stored = ("day", "thread_root_id", "in_reply_to_id", *AUTHOR_INPUTS)
    probed = ", ".join(f"m.{c}" for c in stored)
    conn.execute(
        sa.text(
            f"INSERT INTO stage_existing (platform, mention_id, {', '.join(stored)})"
            f" SELECT o.platform, o.mention_id, {probed} FROM "
            + _probe(conn, "stage_mentions o", probed)
        )
    )
    counts = conn.execute(
        sa.text(
            """
            SELECT COUNT(*),
                   SUM(CASE WHEN day < :day THEN 1 ELSE 0 END),
                   SUM(CASE WHEN day = :day THEN 1 ELSE 0 END)
            FROM stage_existing
            """
        ),
        {"day": day_value},
    ).one()
    existing, known_from_earlier = int(counts[0]), int(counts[1] or 0)
    if existing:
        analyze(conn, "stage_existing")
    # Posts a later day collected first (a backfill of an earlier day): this day takes them
    # over, so that later day's audit and marts must change as if the days had run in order.
    taken = [
        (later, int(number))
        for later, number in conn.execute(
            sa.text("SELECT day, COUNT(*) FROM stage_existing WHERE day > :day GROUP BY day"),
            {"day": day_value},
        ).all()
    ]
    _stage_authors(conn)
    # Rows of this day that the new data no longer holds (a rerun on corrected exports).
    owned, owned_params = share.condition("m.platform")
    stale = f"""
        FROM mentions m WHERE m.day = :day{owned} AND NOT EXISTS (
            SELECT 1 FROM stage_existing e
            WHERE e.platform = m.platform AND e.mention_id = m.mention_id)
    """
    params = {"day": day_value, **owned_params}
    conn.execute(
        _expanding(
            "INSERT INTO stage_authors (platform, author) SELECT m.platform, m.author" + stale,
            owned_params,
        ),
        params,
    )
    mine, _ = share.condition("mentions.platform")
    removed = conn.execute(
        _expanding(
            f"DELETE FROM mentions WHERE day = :day{mine} AND NOT EXISTS ("
            " SELECT 1 FROM stage_existing e"
            " WHERE e.platform = mentions.platform AND e.mention_id = mentions.mention_id)",
            owned_params,
        ),
        params,
    ).rowcount
    link_threads(conn, day_value)
    analyze(conn, "stage_roots")
    column_list = ", ".join(columns)
    # Posts stored before are not new (on a first load of a day there are none).
    only_new = (
        "WHERE NOT EXISTS (SELECT 1 FROM stage_existing e"
        " WHERE e.platform = s.platform AND e.mention_id = s.mention_id)"
        if existing
        else ""
    )
    key_order = "s.platform, s.mention_id"
    if pg and share.platforms is not None and len(share.platforms) == 1:
        # One platform: the ids alone, compared bytewise. PostgreSQL sorts text in the
        # database's collation by strcoll (no abbreviated keys outside "C"), and led by a
        # platform every row shares, each comparison went on to the id: Bluesky's 523,000 rows
        # of the 1M night sorted in 1.4-1.6 s, 1.0-1.1 s this way. Ids of one platform have the
        # same shape (digits; at:// URIs of one layout), so bytewise order is the index's order.
        key_order = 's.mention_id COLLATE "C"'
    conn.execute(
        sa.text(
            f"""
            INSERT INTO mentions ({column_list}, thread_root_id)
            SELECT {", ".join("s." + c for c in columns)}, r.thread_root_id
            FROM stage_mentions s
            LEFT JOIN stage_roots r
              ON r.platform = s.platform AND r.mention_id = s.mention_id
            {only_new}
            ORDER BY {key_order}
            """
        )
    )
    # The earliest day that collected a mention owns it: a later copy changes nothing.
    if existing > known_from_earlier:
        _update_owned(conn, columns, day_value)
    add_new_authors(conn, f"(SELECT * FROM stage_mentions s {only_new}) s")
    refresh_authors(conn)
    return _Written(known_from_earlier, removed, taken)


def _expanding(statement: str, params: dict[str, Any]) -> sa.TextClause:
    """``statement`` with its list parameters (``params``) bound as ``IN`` lists."""
    text = sa.text(statement)
    if params:
        text = text.bindparams(*(sa.bindparam(name, expanding=True) for name in params))
    return text


def _side_by_side_shares(
    engine: Engine,
    conn: Connection,
    day_value: Any,
    parts: Sequence[str],
    shares: Sequence[Share],
    audit: Callable[[list[_Written]], R],
) -> R:
    """Run every share on its own connection and transaction, side by side, under the
    warehouse lock that ``conn`` (the coordinator's transaction) takes while they stage.

    Once every share has written, ``audit(written)`` runs on the coordinator (it may refuse by
    raising); only then do the shares commit, and its result is returned. Any error before that
    point rolls every share back: nothing of the day is committed, as in one transaction. A share
    whose commit itself fails after another's (a lost connection) raises here; the day's audit
    row is then not written, and a rerun of the day writes the same warehouse as any rerun.
    """
    count = len(shares)
    locked, written_all, decided = (threading.Barrier(count + 1) for _ in range(3))
    barriers = (locked, written_all, decided)
    written: list[_Written | None] = [None] * count
    read = SharedParts(parts, MENTION_COLUMNS, shares)

    def one(index: int) -> None:
        try:
            with engine.begin() as share_conn:
                tune(share_conn)
                written[index] = _load_share(
                    share_conn,
                    day_value,
                    parts,
                    shares[index],
                    locked.wait,
                    batches=read.batches(index),
                )
                written_all.wait()
                decided.wait()
        except BaseException:
            read.close()
            for barrier in barriers:
                barrier.abort()
            raise

    with contextlib.closing(read), concurrent.futures.ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(one, index) for index in range(count)]
        try:
            lock_warehouse(conn)
            locked.wait()
            written_all.wait()
            audited = audit([w for w in written if w is not None])
            decided.wait()
        except BaseException as error:
            read.close()
            for barrier in barriers:
                barrier.abort()
            concurrent.futures.wait(futures)
            # A share's own error, not what the others saw because of it.
            for future in futures:
                cause = future.exception()
                if cause is not None and not isinstance(
                    cause, (threading.BrokenBarrierError, PartsReaderStopped)
                ):
                    raise cause from None
            raise error
        for future in futures:
            future.result()
    return audited


def load_day(
    engine: Engine,
    day: str,
    mention_parts: Sequence[str],
    reject_parts: Sequence[str],
    *,
    records_read: int,
    duplicates: int,
    reposts: int,
    validation: dict[str, Any],
    per_source: dict[str, Any],
    connections: int | None = None,
) -> LoadResult:
    """Load one day into the warehouse, all or nothing; see the module docstring.

    Set-based throughout, each statement's cost following the night: the parts are copied
    into a temporary stage; the staged posts already stored (on any day) are found with one
    primary-key probe each; this day's rows the new data no longer holds are deleted; thread
    roots are computed on the stage; the new posts are inserted once, complete (no upsert, no
    second write for their root); only posts stored before that this day now owns are
    updated, and only where a value changed (a rerun of the same data writes no mention).

    On PostgreSQL the night's platforms are split into shares (:func:`split_shares`, at most
    ``connections``, default :func:`parallel_connections`), each written on its own connection
    side by side (:func:`_side_by_side_shares`): inserting a post costs one entry in each of
    five indexes, which one connection does on one core.
    """
    ensure_schema(engine)
    day_value = day_param(engine, day)
    staged = sum(pq.ParquetFile(part).metadata.num_rows for part in mention_parts)
    shares = [Share(None)]
    if engine.dialect.name == "postgresql":
        wanted = connections or parallel_connections(engine)
        if wanted > 1:
            shares = split_shares(night_platforms(mention_parts), wanted)

    def audit(conn: Connection, written: list[_Written]) -> LoadResult:
        """The day's rejects and audit row, and the later days this day took posts from."""
        known_from_earlier = sum(w.known_from_earlier for w in written)
        taken: dict[Any, int] = {}
        for w in written:
            for later, number in w.taken:
                taken[later] = taken.get(later, 0) + number
        for later, number in sorted(taken.items()):
            conn.execute(
                sa.text(
                    """
                    UPDATE load_audit SET loaded = loaded - :n, duplicates = duplicates + :n,
                        known_from_earlier = known_from_earlier + :n
                    WHERE day = :later
                    """
                ),
                {"n": number, "later": later},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO stale_mart_days (day) SELECT :later WHERE NOT EXISTS ("
                    "SELECT 1 FROM stale_mart_days WHERE day = :later)"
                ),
                {"later": later},
            )
        conn.execute(sa.text("DELETE FROM rejects WHERE day = :day"), {"day": day_value})
        _stage_parts(conn, "rejects", REJECT_COLUMNS, reject_parts)
        rejected = conn.execute(
            sa.text("SELECT COUNT(*) FROM rejects WHERE day = :day"), {"day": day_value}
        ).scalar_one()
        stored = staged - known_from_earlier
        all_duplicates = duplicates + known_from_earlier
        if records_read != stored + rejected + all_duplicates:
            raise AssertionError(
                f"day {day}: records read ({records_read}) != loaded ({stored}) + rejected "
                f"({rejected}) + duplicates ({all_duplicates}); nothing was committed"
            )
        conn.execute(sa.text("DELETE FROM load_audit WHERE day = :day"), {"day": day_value})
        conn.execute(
            sa.text(
                """
                INSERT INTO load_audit (day, records_read, loaded, rejected, duplicates, reposts,
                    known_from_earlier, validation_success, validation_detail, per_source)
                VALUES (:day, :read, :loaded, :rejected, :duplicates, :reposts, :earlier,
                    :success, :detail, :per_source)
                """
            ),
            {
                "day": day_value,
                "read": records_read,
                "loaded": stored,
                "rejected": rejected,
                "duplicates": all_duplicates,
                "reposts": reposts,
                "earlier": known_from_earlier,
                "success": all(s.get("success", True) for s in validation.values()),
                "detail": json.dumps(validation, sort_keys=True),
                "per_source": json.dumps(per_source, sort_keys=True),
            },
        )
        return LoadResult(
            day=day,
            loaded=stored,
            rejected=rejected,
            duplicates=all_duplicates,
            known_from_earlier=known_from_earlier,
            removed_stale=sum(w.removed for w in written),
            records_read=records_read,
        )

    with engine.begin() as conn:
        tune(conn)
        if len(shares) > 1:
            result = _side_by_side_shares(
                engine, conn, day_value, mention_parts, shares, lambda ws: audit(conn, ws)
            )
        else:
            written = [
                _load_share(conn, day_value, mention_parts, shares[0], lambda: lock_warehouse(conn))
            ]
        # The flag and mart steps read this day's rows next. Until ANALYZE, the day is outside
        # the column statistics, so the planner takes it for a handful of rows and probes where
        # it should hash (the flag step at 1M: 15.2 s, 11.5 s after it). Autovacuum would not
        # do it: it analyzes after 10% of a table changed, which one night of a warehouse of
        # weeks never is. With shares it runs once they have committed.
        refresh_statistics(conn, "mentions", staged)
        if len(shares) == 1:
            result = audit(conn, written)
    return result


def record_run(
    engine: Engine, run_id: str, day: str, counts: dict[str, int], durations: dict[str, float]
) -> None:
    """Append this run to ``run_log`` (replacing a row of the same run id and day)."""
    day_value = day_param(engine, day)
    with engine.begin() as conn:
        valid = conn.execute(
            sa.text("SELECT validation_success FROM load_audit WHERE day = :day"),
            {"day": day_value},
        ).scalar_one_or_none()
        conn.execute(
            sa.text("DELETE FROM run_log WHERE run_id = :run_id AND day = :day"),
            {"run_id": run_id, "day": day_value},
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO run_log (run_id, day, finished_at, records_read, loaded, rejected,
                    duplicates, durations, validation_success, total_seconds)
                VALUES (:run_id, :day, :finished_at, :read, :loaded, :rejected, :duplicates,
                    :durations, :valid, :total)
                """
            ),
            {
                "run_id": run_id,
                "day": day_value,
                "finished_at": timestamp_param(engine),
                "read": counts.get("records_read", 0),
                "loaded": counts.get("loaded", 0),
                "rejected": counts.get("rejected", 0),
                "duplicates": counts.get("duplicates", 0),
                "durations": json.dumps(durations, sort_keys=True),
                "valid": None if valid is None else bool(valid),
                "total": round(sum(durations.values()), 3),
            },
        )


def url_from_env(environ: dict[str, str] | None = None) -> str:
    """The warehouse URL outside Airflow tasks: ``AIRFLOW_CONN_SENTIMENT_WAREHOUSE`` or SQLite.

    Accepts Airflow's two environment forms, a URI (``postgresql://user:pw@host:5432/db``) or
    JSON (``{"conn_type": "postgres", "host": ...}``).
    """
    import os

    environ = os.environ if environ is None else environ
    value = environ.get("AIRFLOW_CONN_" + WAREHOUSE_CONN_ID.upper(), "").strip()
    if not value:
        return default_sqlite_url()
    if value.startswith("{"):
        data = json.loads(value)
        return url_from_connection(
            data.get("conn_type"),
            data.get("host"),
            data.get("login"),
            data.get("password"),
            data.get("schema"),
            data.get("port"),
        )
    return normalize_url(value)


#: Tables that hold the data itself (not the run log), in dependency order.
DATA_TABLES: tuple[str, ...] = (
    "mentions",
    "authors",
    "flags",
    "flag_history",
    "rejects",
    "load_audit",
    "daily_sentiment",
    "author_sentiment",
    "response_metrics",
)


def _plain(value: Any) -> Any:
    """One comparable form for a value read from either dialect."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 12)
    if hasattr(value, "is_finite"):  # Decimal
        return round(float(value), 12)
    return value


def snapshot(engine: Engine, tables: Sequence[str] = DATA_TABLES) -> dict[str, list[tuple]]:
    """Every row of ``tables`` in a dialect-neutral, sorted form, to compare warehouses."""
    result: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for table in tables:
            rows = conn.execute(sa.text(f"SELECT * FROM {table}"))
            result[table] = sorted(
                (tuple(_plain(v) for v in row) for row in rows),
                key=lambda row: tuple((v is None, str(v)) for v in row),
            )
    return result
