"""The morning digest: how the day went and what to act on first, as HTML with a PNG chart.

After the marts, :func:`build_digest` reads the warehouse for the day: volume and net sentiment
against the 7 days before, the top open detractors, unanswered questions and promoters to thank,
the day's spike alerts, and a chart of daily volume and net sentiment over the last
``digest.chart_days`` days. It always writes ``<reports_path>/<day>/digest.html`` and
``chart.png``; :func:`send_digest` then mails them through Airflow's SMTP notifier when
recipients are configured and the SMTP connection exists. Post text is escaped (Jinja2
autoescape): a mention is data, never markup.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine

from sentiment_monitor.config import Config
from sentiment_monitor.warehouse import day_param

log = logging.getLogger(__name__)

COMPARE_DAYS = 7


@dataclass
class Digest:
    """What the digest says and where it was written."""

    day: str
    volume: int
    net_sentiment: float | None
    volume_before: float | None
    net_before: float | None
    detractors: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    promoters: list[dict[str, Any]] = field(default_factory=list)
    spikes: list[dict[str, Any]] = field(default_factory=list)
    html_path: str = ""
    chart_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary for XCom (paths and counts, not the rows)."""
        return {
            "day": self.day,
            "volume": self.volume,
            "net_sentiment": self.net_sentiment,
            "detractors": len(self.detractors),
            "questions": len(self.questions),
            "promoters": len(self.promoters),
            "spikes": len(self.spikes),
            "html_path": self.html_path,
            "chart_path": self.chart_path,
        }


def templates() -> Environment:
    """The package's HTML templates, always autoescaped: post text is data, never markup."""
    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.tests["web_link"] = is_web_link
    return env


def is_web_link(url: Any) -> bool:
    """Only http(s) links are rendered: a post's ``javascript:`` URL must not become a link."""
    return isinstance(url, str) and url.lower().startswith(("https://", "http://"))


def daily_series(
    engine: Engine, start: dt.date, end: dt.date
) -> dict[str, tuple[int, float | None]]:
    """Per day from ``start`` to ``end``: mentions over all platforms and their net sentiment."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                """
                SELECT day, SUM(mentions), SUM(positive), SUM(negative), SUM(scored)
                FROM daily_sentiment WHERE day >= :start AND day <= :end GROUP BY day
                """
            ),
            {"start": day_param(engine, start), "end": day_param(engine, end)},
        ).all()
    series = {}
    for day, mentions, positive, negative, scored in rows:
        scored = int(scored or 0)
        net = (int(positive or 0) - int(negative or 0)) / scored if scored else None
        series[str(day)[:10]] = (int(mentions or 0), net)
    return series


def top_flags(engine: Engine, kind: str, limit: int) -> list[dict[str, Any]]:
    """The open (or in-progress) flags of ``kind``, most urgent first, with the first post's
    text, how many posts of the author in the thread the flag holds, and whether it follows a
    closed flag (``previous_mention_id``). The flags are chosen before they are joined with their
    posts: a sort bounded by the limit, not a join of every open flag."""
    order = "f.priority DESC, f.created_at DESC, f.mention_id"
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"""
                SELECT f.priority, f.platform, f.author, f.status, f.mention_id, f.posts,
                       f.previous_mention_id, m.text, m.url
                FROM (SELECT * FROM flags f
                      WHERE f.kind = :kind AND f.status IN ('open', 'in_progress')
                      ORDER BY {order} LIMIT :limit) f
                JOIN mentions m ON m.platform = f.platform AND m.mention_id = f.mention_id
                ORDER BY {order}
                """
            ),
            {"kind": kind, "limit": limit},
        ).mappings()
        return [dict(r) for r in rows]


def spikes_of(engine: Engine, day: str) -> list[dict[str, Any]]:
    """The day's rows of ``spike_alerts``."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT * FROM spike_alerts WHERE day = :day ORDER BY platform"),
            {"day": day_param(engine, dt.date.fromisoformat(day))},
        ).mappings()
        return [{**dict(r), "day": str(r["day"])[:10]} for r in rows]


def draw_chart(series: dict[str, tuple[int, float | None]], days: list[str], path: Path) -> None:
    """Bars of daily mentions and a line of net sentiment, one point per day, as a PNG."""
    import matplotlib

    # No display on a worker: the Agg backend renders straight to the file.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dates = [dt.date.fromisoformat(d) for d in days]
    volume = [series.get(d, (0, None))[0] for d in days]
    net = [series.get(d, (0, None))[1] for d in days]
    figure, bars = plt.subplots(figsize=(10, 4), dpi=80)
    try:
        bars.bar(dates, volume, color="#9ecae1", label="mentions")
        bars.set_ylabel("mentions")
        line = bars.twinx()
        line.plot(
            dates, [float("nan") if v is None else v for v in net], color="#d62728", marker="o"
        )
        line.set_ylim(-1, 1)
        line.axhline(0, color="#999", linewidth=0.5)
        line.set_ylabel("net sentiment")
        bars.set_title(f"Daily mentions and net sentiment, {days[0]} to {days[-1]}")
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _delta(today: float | None, before: float | None, digits: int) -> str:
    if today is None or before is None:
        return "n/a"
    return f"{today - before:+,.{digits}f}"


def render_html(config: Config, digest: Digest, chart_days: int, chart_src: str) -> str:
    """The digest as an HTML page (autoescaped: post text cannot inject markup)."""
    template = templates().get_template("digest.html")
    return template.render(
        brand=config.brand.name,
        day=digest.day,
        compare_days=COMPARE_DAYS,
        today={"volume": digest.volume, "net": digest.net_sentiment},
        before={"volume": digest.volume_before, "net": digest.net_before},
        spikes=digest.spikes,
        sections=[
            ("Open detractors", digest.detractors),
            ("Unanswered questions", digest.questions),
            ("Promoters to thank", digest.promoters),
        ],
        chart_days=chart_days,
        chart_src=chart_src,
        fmt=_fmt,
        delta=_delta,
    )


def build_digest(config: Config, day: str, engine: Engine) -> Digest:
    """Read the day from the warehouse, write ``digest.html`` and ``chart.png`` for it."""
    the_day = dt.date.fromisoformat(day)
    settings = config.digest
    first = the_day - dt.timedelta(days=max(settings.chart_days, COMPARE_DAYS + 1) - 1)
    series = daily_series(engine, first, the_day)
    volume, net = series.get(day, (0, None))
    before_days = [(the_day - dt.timedelta(days=n)).isoformat() for n in range(1, COMPARE_DAYS + 1)]
    # Only days that were loaded count in the comparison; a missing day is no data, not zero.
    before = [series[d] for d in before_days if d in series]
    nets = [n for _, n in before if n is not None]
    digest = Digest(
        day=day,
        volume=volume,
        net_sentiment=net,
        volume_before=sum(v for v, _ in before) / len(before) if before else None,
        net_before=sum(nets) / len(nets) if nets else None,
        detractors=top_flags(engine, "detractor", settings.top),
        questions=top_flags(engine, "question", settings.top),
        promoters=top_flags(engine, "promoter", settings.top),
        spikes=spikes_of(engine, day),
    )
    folder = config.reports_path / day
    folder.mkdir(parents=True, exist_ok=True)
    chart_days = [
        (the_day - dt.timedelta(days=n)).isoformat() for n in range(settings.chart_days - 1, -1, -1)
    ]
    chart = folder / "chart.png"
    draw_chart(series, chart_days, chart)
    html = folder / "digest.html"
    html.write_text(render_html(config, digest, settings.chart_days, "chart.png"), encoding="utf-8")
    digest.html_path, digest.chart_path = str(html), str(chart)
    return digest


def send_digest(config: Config, digest: dict[str, Any], context: Any = None) -> bool:
    """Mail a written digest through Airflow's SMTP notifier; False when there is nowhere to send.

    Sends only when ``digest.to`` names recipients and the ``digest.smtp_conn_id`` connection
    exists, so a machine without mail set up still gets the files, quietly.
    """
    settings = config.digest
    if not settings.to:
        return False
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        Connection.get(settings.smtp_conn_id)
    except AirflowNotFoundException:
        log.warning("digest not mailed: connection %r is not defined", settings.smtp_conn_id)
        return False
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    html = Path(digest["html_path"]).read_text(encoding="utf-8")
    notifier = SmtpNotifier(
        to=settings.to,
        from_email=settings.from_email,
        smtp_conn_id=settings.smtp_conn_id,
        subject=f"{config.brand.name}: sentiment digest for {digest['day']}",
        html_content=html,
        files=[digest["chart_path"]],
    )
    notifier.notify(context or {})
    return True


def notify(config: Config, day: str, url: str | None = None) -> dict[str, Any]:
    """The DAG's ``notify`` step: judge the day's spikes, then write the digest that shows them."""
    from sentiment_monitor.alerts import detect_spikes
    from sentiment_monitor.warehouse import ensure_schema, make_engine

    engine = make_engine(url)
    # A warehouse made before spike_alerts existed gets the table here.
    ensure_schema(engine)
    spikes = detect_spikes(engine, day, config.alerts)
    digest = build_digest(config, day, engine)
    log.info("digest %s: %s (%d spike alert(s))", day, digest.html_path, len(spikes))
    return digest.to_dict()
