"""Finance dashboard charts: SQL aggregations drawn as PNG with matplotlib (Agg, no display).

Each chart is one or two GROUP BY queries; Python only lays the aggregated numbers out.
Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so no global figure
manager keeps them alive between requests; rendering is serialised because matplotlib's
settings (fonts) are process-wide.
"""

from __future__ import annotations

import io
import threading
import warnings
from datetime import timedelta

import matplotlib

matplotlib.use("Agg")

from flask_babel import gettext as _  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sqlalchemy import and_, case, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.accounts.models import User  # noqa: E402
from app.booking.rules import local_midnight  # noqa: E402
from app.catalog.models import Venue  # noqa: E402
from app.core.clock import local_today  # noqa: E402
from app.core.i18n import localized  # noqa: E402
from app.ledger.models import JournalEntry, JournalLine  # noqa: E402
from app.vouchers.models import Voucher, VoucherBatch  # noqa: E402

WEEKS = 12
TOP_CREATORS = 20
BATCHES_SHOWN = 20
PREFERRED_FONTS = ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "DejaVu Sans"]
# the order the bars are stacked in, and their colours (app.css status colours where they exist)
BATCH_STATES = [
    ("issued", "#0b57d0"), ("held", "#b76e00"), ("redeemed", "#1f8a4c"), ("settled", "#7cc49a"),
    ("expired", "#9aa5b1"), ("forfeited", "#b3261e"), ("void", "#5f6b7a"),
]
_render_lock = threading.Lock()
_fonts: list[str] = []


def _font_families() -> list[str]:
    """The preferred fonts that are installed; matplotlib's bundled DejaVu Sans otherwise."""
    if not _fonts:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        _fonts.extend([name for name in PREFERRED_FONTS if name in installed] or ["DejaVu Sans"])
    return _fonts


def _png(draw, width: float, height: float) -> bytes:
    """Draw on a fresh figure and return it as PNG bytes."""
    with _render_lock, matplotlib.rc_context({"font.family": "sans-serif",
                                              "font.sans-serif": _font_families(),
                                              "axes.unicode_minus": False}):
        figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
        draw(figure)
        out = io.BytesIO()
        with warnings.catch_warnings():
            # without a CJK font Chinese names show as boxes: ugly, but never an error
            warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
            figure.savefig(out, format="png")
        figure.clear()
    return out.getvalue()


def _empty(axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color="#5f6b7a")
    axes.set_xticks([])
    axes.set_yticks([])


def _rows_from_top(axes, count: int, at_least: int = 5) -> None:
    """Horizontal bars listed top-down, and not swollen when there are only one or two."""
    axes.set_ylim(max(count, at_least) - 0.5, -0.5)


def _yuan(fen: int) -> float:
    return fen / 100


# ---- redemptions per week per venue ---------------------------------------------------------


def weekly_redemptions(session: Session, weeks: int = WEEKS) -> tuple[list, dict[str, list[int]]]:
    """(week starts, {venue: fen per week}) of redeemed vouchers and consumed quota.

    Weeks start on Monday in Asia/Shanghai; the last one is the current week.
    """
    today = local_today()
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    starts = [first + timedelta(days=7 * i) for i in range(weeks)]
    bounds = [local_midnight(day) for day in starts] + [local_midnight(starts[-1] + timedelta(days=7))]
    week = case(*[(JournalEntry.posted_at < bound, index)
                  for index, bound in enumerate(bounds[1:])], else_=weeks)
    lines = (
        select(week.label("week"), JournalEntry.venue_id.label("venue_id"),
               JournalLine.amount_fen.label("amount_fen"))
        .join(JournalLine, and_(JournalLine.entry_id == JournalEntry.id,
                                JournalLine.account.in_(("vouchers_redeemed", "quota_consumed"))))
        .where(JournalEntry.kind.in_(("voucher.redeem", "quota.consume")),
               JournalEntry.posted_at >= bounds[0], JournalEntry.posted_at < bounds[-1])
        .subquery()
    )
    rows = session.execute(
        select(lines.c.week, Venue.name_zh, Venue.name_en, func.sum(lines.c.amount_fen))
        .join(Venue, Venue.id == lines.c.venue_id)
        .group_by(lines.c.week, Venue.id, Venue.name_zh, Venue.name_en)
    ).all()
    series: dict[str, list[int]] = {}
    for index, name_zh, name_en, fen in rows:
        name = localized({"name_zh": name_zh, "name_en": name_en}, "name")
        series.setdefault(name, [0] * weeks)[int(index)] = int(fen or 0)
    return starts, dict(sorted(series.items()))


def redemptions_png(session: Session) -> bytes:
    starts, series = weekly_redemptions(session)

    def draw(figure):
        axes = figure.subplots()
        axes.set_title(_("Redeemed vouchers and consumed quota per week (yuan)"))
        if not series:
            _empty(axes, _("No redemptions in the last %(n)s weeks.", n=len(starts)))
            return
        positions = range(len(starts))
        for name, fen in series.items():
            axes.plot(positions, [_yuan(v) for v in fen], marker="o", label=name)
        axes.set_xticks(list(positions), [day.strftime("%m-%d") for day in starts],
                        rotation=45, ha="right")
        axes.set_xlabel(_("Week starting"))
        axes.set_ylabel(_("Yuan"))
        axes.set_ylim(bottom=0)
        axes.grid(axis="y", alpha=0.3)
        axes.legend(loc="upper left", fontsize="small")

    return _png(draw, 10, 4.5)


# ---- quota use across creators --------------------------------------------------------------


def quota_by_creator(session: Session, year: int, limit: int = TOP_CREATORS) -> list[tuple[str, int, int]]:
    """(masked name, held fen, consumed fen) of the creators using most quota in ``year``."""
    held = func.sum(case((JournalLine.account == "quota_held", JournalLine.amount_fen), else_=0))
    consumed = func.sum(case((JournalLine.account.in_(("quota_consumed", "quota_settled")),
                              JournalLine.amount_fen), else_=0))
    rows = session.execute(
        select(func.substr(User.display_name, 1, 1), held, consumed)
        .join(User, User.id == JournalLine.user_id)
        .where(JournalLine.year == year,
               JournalLine.account.in_(("quota_held", "quota_consumed", "quota_settled")))
        .group_by(User.id, User.display_name)
        .having(func.sum(JournalLine.amount_fen) != 0)
        .order_by(func.sum(JournalLine.amount_fen).desc(), User.id)
        .limit(limit)
    ).all()
    # only the first character leaves the database: finance needs the shape, not the names
    return [(f"{first or '?'}**", int(h or 0), int(c or 0)) for first, h, c in rows]


def quota_png(session: Session) -> bytes:
    year = local_today().year
    rows = quota_by_creator(session, year)

    def draw(figure):
        axes = figure.subplots()
        axes.set_title(_("Annual quota %(year)s: held and consumed per creator (top %(n)s, yuan)",
                         year=year, n=TOP_CREATORS))
        if not rows:
            _empty(axes, _("No quota used in %(year)s.", year=year))
            return
        positions = list(range(len(rows)))
        consumed = [_yuan(c) for _name, _h, c in rows]
        held = [_yuan(h) for _name, h, _c in rows]
        axes.barh(positions, consumed, color="#1f8a4c", label=_("Consumed"))
        axes.barh(positions, held, left=consumed, color="#b76e00", label=_("Held"))
        axes.set_yticks(positions, [name for name, _h, _c in rows])
        _rows_from_top(axes, len(rows))  # the biggest user on top
        axes.set_xlabel(_("Yuan"))
        axes.grid(axis="x", alpha=0.3)
        axes.legend(loc="best", fontsize="small")

    return _png(draw, 10, max(3.5, 1.2 + 0.32 * len(rows)))


# ---- voucher batches' burn-down -------------------------------------------------------------


def batch_burn_down(session: Session, limit: int = BATCHES_SHOWN) -> list[tuple[str, int, dict[str, int]]]:
    """(batch name, vouchers not issued yet, {status: count}) of the newest batches, newest first."""
    batches = session.execute(
        select(VoucherBatch.id, VoucherBatch.name, VoucherBatch.total_count - VoucherBatch.issued_count)
        .order_by(VoucherBatch.id.desc()).limit(limit)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for batch_id, status, count in session.execute(
            select(Voucher.batch_id, Voucher.status, func.count())
            .where(Voucher.batch_id.in_([b.id for b in batches]))
            .group_by(Voucher.batch_id, Voucher.status)):
        counts.setdefault(batch_id, {})[status] = int(count)
    return [(name, int(left), counts.get(batch_id, {})) for batch_id, name, left in batches]


def batches_png(session: Session) -> bytes:
    rows = batch_burn_down(session)
    labels = {"issued": _("Issued"), "held": _("Held"), "redeemed": _("Redeemed"),
              "settled": _("Settled"), "expired": _("Expired"), "forfeited": _("Forfeited"),
              "void": _("Void")}

    def draw(figure):
        axes = figure.subplots()
        axes.set_title(_("Voucher batches: vouchers by state"))
        if not rows:
            _empty(axes, _("No voucher batches yet."))
            return
        positions = list(range(len(rows)))
        left = [0] * len(rows)
        for state, colour in BATCH_STATES:
            widths = [by_state.get(state, 0) for _name, _left, by_state in rows]
            if any(widths):
                axes.barh(positions, widths, left=left, color=colour, label=labels[state])
                left = [a + b for a, b in zip(left, widths, strict=True)]
        not_issued = [remaining for _name, remaining, _by_state in rows]
        if any(not_issued):
            axes.barh(positions, not_issued, left=left, color="#ffffff", edgecolor="#c5ccd6",
                      hatch="//", label=_("Not issued yet"))
        axes.set_yticks(positions, [name for name, _left, _by_state in rows])
        _rows_from_top(axes, len(rows))  # the newest batch on top
        axes.set_xlabel(_("Vouchers"))
        axes.grid(axis="x", alpha=0.3)
        axes.legend(loc="best", fontsize="small")

    return _png(draw, 10, max(3.5, 1.5 + 0.4 * len(rows)))


def program_png(row: dict) -> bytes:
    """One program's month from the district's report: its money by what happened to it."""
    bars = [(_("Vouchers issued"), row["vouchers"]["issued"]["fen"]),
            (_("Vouchers redeemed"), row["vouchers"]["redeemed"]["fen"]),
            (_("Vouchers forfeited"), row["vouchers"]["forfeited"]["fen"]),
            (_("Vouchers expired"), row["vouchers"]["expired"]["fen"]),
            (_("Quota held"), row["quota"]["held_fen"]),
            (_("Quota consumed"), row["quota"]["consumed_fen"]),
            (_("Self-pay due"), row["self_pay"]["due_fen"]),
            (_("Self-pay collected"), row["self_pay"]["paid_fen"])]

    def draw(figure):
        axes = figure.subplots()
        axes.set_title(f"{row['name']} · {row['month']}")
        if not any(fen for _label, fen in bars):
            _empty(axes, _("Nothing happened in this program this month."))
            return
        axes.barh([label for label, _fen in bars], [_yuan(fen) for _label, fen in bars],
                  color="#0b57d0")
        _rows_from_top(axes, len(bars))
        axes.set_xlabel(_("Yuan"))
        axes.grid(axis="x", alpha=0.3)

    return _png(draw, 6.4, 3.2)


CHARTS = {"redemptions": redemptions_png, "quota": quota_png, "batches": batches_png}
