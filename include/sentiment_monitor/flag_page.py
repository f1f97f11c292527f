"""The flags page inside the Airflow UI: a FastAPI app that community managers work flags in.

Served by the Airflow API server as a plugin app under ``/sentiment``: the page ``/flags``, a
flag's page ``/flag`` and a JSON API under ``/api`` (list with filters, one flag with its post,
thread, link, history and the earlier flag it follows, the history alone, and the change of
status, assignee or note through :func:`sentiment_monitor.flags.set_status`, recorded in
``flag_history`` under the Airflow user's name). Airflow does not authenticate plugin apps, so every
request here, whatever its path, first resolves an Airflow user the way the API server does: a
bearer JWT in ``Authorization``, else the UI's session cookie ``_token``, checked by the auth
manager. Without one the API answers 401 and pages redirect to the login page. Changes also need
JSON, a custom header and (when the browser sends one) a same-origin ``Origin``, so another site
cannot make a logged-in browser change flags (CSRF). Post text is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine

from sentiment_monitor.digest import templates
from sentiment_monitor.flags import KINDS, STATUSES, history, set_status

#: The header a state-changing request must carry; browsers cannot add it cross-site without CORS.
CSRF_HEADER = "X-Sentiment-Request"
COOKIE_NAME = "_token"
LIST_LIMIT = 500
#: The resource the auth manager is asked about (custom view permissions).
RESOURCE_NAME = "Sentiment flags"

#: Resolves a token to an Airflow user; raises (any exception) when the token is not valid.
UserResolver = Callable[[str], Awaitable[Any]]


async def airflow_user(token: str) -> Any:
    """The user the Airflow API server's auth manager finds in ``token`` (a JWT)."""
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    return await resolve_user_from_token(token)


def airflow_authorize(user: Any, method: str) -> bool:
    """Whether the auth manager lets ``user`` use this custom view with ``method``.

    The SimpleAuthManager lets every user in; managers with real permissions (FAB, Keycloak)
    decide per role on the resource ``Sentiment flags``.
    """
    from airflow.api_fastapi.app import get_auth_manager

    return bool(
        get_auth_manager().is_authorized_custom_view(
            method=method, resource_name=RESOURCE_NAME, user=user
        )
    )


def airflow_login_url(next_url: str) -> str:
    """The auth manager's login page, coming back to ``next_url``."""
    try:
        from airflow.api_fastapi.app import get_auth_manager

        return get_auth_manager().get_url_login(next_url=next_url)
    except Exception:
        return "/auth/login?" + urlencode({"next": next_url})


def default_engine() -> Engine:
    """The warehouse as the API server sees it: ``sentiment_warehouse``, else the SQLite file.

    The connection is looked up in the environment first, then in Airflow's secrets backends
    and metadata database, which the API server can read (task-side lookups cannot run here).
    """
    import os

    from sentiment_monitor.warehouse import (
        WAREHOUSE_CONN_ID,
        make_engine,
        url_from_connection,
        url_from_env,
    )

    if not os.environ.get("AIRFLOW_CONN_" + WAREHOUSE_CONN_ID.upper()):
        try:
            from airflow.models.connection import Connection

            conn = Connection.get_connection_from_secrets(WAREHOUSE_CONN_ID)
        except Exception:
            conn = None  # not defined anywhere: the embedded SQLite warehouse
        if conn is not None:
            return make_engine(
                url_from_connection(
                    conn.conn_type, conn.host, conn.login, conn.password, conn.schema, conn.port
                )
            )
    return make_engine(url_from_env())


class FlagChange(BaseModel):
    """A change a person makes to a flag (absent fields are left as they are)."""

    model_config = ConfigDict(extra="forbid")

    platform: str
    mention_id: str
    kind: str
    status: str | None = None
    assignee: str | None = None
    note: str | None = None


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in row.items()
    }


#: Most urgent first; the last three columns make the order total (the key).
LIST_ORDER = "f.priority DESC, f.created_at DESC, f.platform, f.mention_id, f.kind"


def list_flags(engine: Engine, **filters: str | None) -> list[dict[str, Any]]:
    """Flags with their post text, most urgent first; ``filters`` are exact column matches.

    The page's rows are chosen among the flags alone and only they are joined with their
    posts: a sort bounded by the limit (no index holds ``priority``: migration 0007), not a
    join and a full sort of every flag (2.2 s on 2.7 million flags; 0.4 s bounded).
    """
    where = []
    params: dict[str, Any] = {"limit": LIST_LIMIT}
    for column in ("kind", "platform", "status", "assignee"):
        value = filters.get(column)
        if value:
            where.append(f"f.{column} = :{column}")
            params[column] = value
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"""
                SELECT f.platform, f.mention_id, f.kind, f.day, f.author, f.created_at,
                       f.compound, f.priority, f.reason, f.status, f.assignee, f.note,
                       f.status_changed_at, f.status_changed_by, f.posts, f.latest_mention_id,
                       f.latest_at, f.previous_mention_id, m.text, m.url
                FROM (SELECT * FROM flags f {clause} ORDER BY {LIST_ORDER} LIMIT :limit) f
                LEFT JOIN mentions m ON m.platform = f.platform AND m.mention_id = f.mention_id
                ORDER BY {LIST_ORDER}
                """
            ),
            params,
        ).mappings()
        return [_plain(dict(r)) for r in rows]


def get_flag(engine: Engine, platform: str, mention_id: str, kind: str) -> dict[str, Any] | None:
    """One flag with its post (text, author, link), its thread (oldest post first), its history
    (oldest change first) and ``previous``: the earlier closed flag of the author it follows."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.text(
                    """
                    SELECT f.*, m.text, m.url
                    FROM flags f LEFT JOIN mentions m
                      ON m.platform = f.platform AND m.mention_id = f.mention_id
                    WHERE f.platform = :platform AND f.mention_id = :mention_id
                      AND f.kind = :kind
                    """
                ),
                {"platform": platform, "mention_id": mention_id, "kind": kind},
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        flag = _plain(dict(row))
        root = flag.get("thread_root_id") or mention_id
        thread = conn.execute(
            sa.text(
                """
                SELECT mention_id, author, created_at, text, url, is_brand FROM mentions
                WHERE platform = :platform
                  AND (thread_root_id = :root OR mention_id = :root)
                ORDER BY created_at, mention_id
                """
            ),
            {"platform": platform, "root": root},
        ).mappings()
        flag["thread"] = [_plain(dict(m)) for m in thread]
        previous = None
        if flag.get("previous_mention_id"):
            found = (
                conn.execute(
                    sa.text(
                        """
                        SELECT platform, mention_id, kind, status, created_at, latest_at, posts,
                               assignee, note
                        FROM flags
                        WHERE platform = :platform AND mention_id = :mention_id AND kind = :kind
                        """
                    ),
                    {"platform": platform, "mention_id": flag["previous_mention_id"], "kind": kind},
                )
                .mappings()
                .first()
            )
            if found is not None:
                previous = _plain(dict(found))
                previous["query"] = urlencode(
                    {k: previous[k] for k in ("platform", "mention_id", "kind")}
                )
        flag["previous"] = previous
    flag["history"] = [_plain(h) for h in history(engine, platform, mention_id, kind)]
    return flag


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin:
        return True  # not a browser, or a same-origin GET-style request that sends none
    return urlsplit(origin).netloc == request.headers.get("host", "")


def create_app(
    engine_factory: Callable[[], Engine] = default_engine,
    resolve_user: UserResolver = airflow_user,
    login_url: Callable[[str], str] = airflow_login_url,
    authorize: Callable[[Any, str], bool] = airflow_authorize,
) -> FastAPI:
    """The app the plugin mounts at ``/sentiment``; tests pass their own engine and resolver."""
    # No /docs or /openapi.json: they would be unauthenticated routes under /sentiment.
    app = FastAPI(title="Sentiment flags", docs_url=None, redoc_url=None, openapi_url=None)
    env = templates()
    page, detail = env.get_template("flags.html"), env.get_template("flag.html")
    engines: list[Engine] = []

    def engine() -> Engine:
        # Made on first use: the API server imports plugins before anyone needs the warehouse.
        if not engines:
            engines.append(engine_factory())
        return engines[0]

    @app.middleware("http")
    async def require_user(request: Request, call_next: Any) -> Response:
        """Refuse every request without an Airflow user; guard changes against CSRF."""
        header = request.headers.get("authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else ""
        token = bearer or request.cookies.get(COOKIE_NAME, "")
        user = None
        if token:
            try:
                user = await resolve_user(token)
            except Exception:
                user = None
        root = request.scope.get("root_path", "")
        is_api = request.url.path.removeprefix(root).startswith("/api")
        if user is None:
            if is_api or request.method != "GET":
                return JSONResponse({"detail": "Not authenticated"}, status_code=401)
            return RedirectResponse(login_url(str(request.url)), status_code=303)
        method = "GET" if request.method in ("GET", "HEAD", "OPTIONS") else "PUT"
        try:
            allowed = authorize(user, method)
        except Exception:
            allowed = False  # an auth manager that cannot answer does not let anyone in
        if not allowed:
            return JSONResponse({"detail": "Forbidden"}, status_code=403)
        if method != "GET" and not bearer:
            # Cookie-authenticated change: must come from our own page's script.
            json_body = request.headers.get("content-type", "").startswith("application/json")
            if not (json_body and request.headers.get(CSRF_HEADER) and _same_origin(request)):
                return JSONResponse({"detail": "Cross-site request refused"}, status_code=403)
        request.state.sentiment_user = user
        return await call_next(request)

    def username(request: Request) -> str:
        user = request.state.sentiment_user
        getter = getattr(user, "get_name", None)
        return str(getter() if callable(getter) else user)

    @app.get("/api/flags")
    def api_flags(
        kind: str | None = None,
        platform: str | None = None,
        status: str | None = None,
        assignee: str | None = None,
    ) -> list[dict[str, Any]]:
        """Flags, most urgent first, filtered by exact kind, platform, status and assignee."""
        return list_flags(engine(), kind=kind, platform=platform, status=status, assignee=assignee)

    @app.get("/api/flag")
    def api_flag(platform: str, mention_id: str, kind: str) -> dict[str, Any]:
        """One flag with its post text, author, link to the original and thread."""
        flag = get_flag(engine(), platform, mention_id, kind)
        if flag is None:
            raise HTTPException(status_code=404, detail="no such flag")
        return flag

    @app.get("/api/flag/history")
    def api_history(platform: str, mention_id: str, kind: str) -> list[dict[str, Any]]:
        """Every change people made to the flag: when, who, which field, old and new value."""
        flag = get_flag(engine(), platform, mention_id, kind)
        if flag is None:
            raise HTTPException(status_code=404, detail="no such flag")
        return flag["history"]

    @app.post("/api/flag")
    def api_change(change: FlagChange, request: Request) -> dict[str, Any]:
        """Change a flag's status, assignee or note, recorded in its history under the user's
        name; the pipeline never overwrites these."""
        if change.status is not None and change.status not in STATUSES:
            raise HTTPException(422, f"status must be one of {', '.join(STATUSES)}")
        found = set_status(
            engine(),
            change.platform,
            change.mention_id,
            change.kind,
            status=change.status,
            assignee=change.assignee,
            note=change.note,
            changed_by=username(request),
        )
        if not found:
            raise HTTPException(status_code=404, detail="no such flag")
        flag = get_flag(engine(), change.platform, change.mention_id, change.kind)
        assert flag is not None
        return flag

    @app.get("/flags", response_class=HTMLResponse)
    def flags_page(
        request: Request,
        kind: str | None = None,
        platform: str | None = None,
        status: str | None = None,
        assignee: str | None = None,
    ) -> str:
        """The table community managers work through."""
        selected = {"kind": kind, "platform": platform, "status": status, "assignee": assignee}
        flags = list_flags(engine(), **selected)
        for flag in flags:
            flag["query"] = urlencode({k: flag[k] for k in ("platform", "mention_id", "kind")})
        platforms = sorted({f["platform"] for f in flags} | ({platform} if platform else set()))
        return page.render(
            base=request.scope.get("root_path", ""),
            user=username(request),
            flags=flags,
            statuses=STATUSES,
            filters=[("kind", KINDS), ("platform", platforms), ("status", STATUSES)],
            selected=selected,
            csrf_header=CSRF_HEADER,
        )

    @app.get("/flag", response_class=HTMLResponse)
    def flag_page(request: Request, platform: str, mention_id: str, kind: str) -> str:
        """One flag: the post, its thread and the link to the original."""
        flag = get_flag(engine(), platform, mention_id, kind)
        if flag is None:
            raise HTTPException(status_code=404, detail="no such flag")
        return detail.render(base=request.scope.get("root_path", ""), flag=flag)

    return app
