"""Who may call which API endpoint: every /api/v1 route × every role, on real objects.

The table below has one row per (method, rule) of the app's url_map under /api/v1. A route
added without a row fails ``test_every_api_endpoint_has_a_row``, so nobody ships an endpoint
whose access rules were never written down.

Each row names, per role, the status the call must answer:
  401 anonymous on a protected endpoint; 403 a role without the permission; 404 an object that
  belongs to someone else and that the API does not even confirm exists; 2xx, or a business
  4xx (409/422) that proves the call got past authorization, for the roles that may call it.

Roles are called in ROLE_ORDER against one world per row; the owner comes last so that their
writes (cancel, reschedule) never change what the others are answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import base_config
from tests.helpers import (
    ADMIN,
    CREATOR,
    FINANCE,
    HP_CREATOR,
    OP_FTC,
    OP_VJC,
    PASSWORD,
    assert_error,
    at,
    book,
    resource_id,
)

MONTH = "2026-12"
ROOM = "vjc-live-01"

# role → the demo account that plays it (None: no credentials at all)
ROLES: dict[str, str | None] = {
    "anonymous": None,
    "creator": CREATOR,               # owns the bookings below
    "other_creator": HP_CREATOR,      # another creator, on the first creator's objects
    "venue_operator": OP_VJC,         # operates V聚场, where the bookings are
    "other_operator": OP_FTC,         # operates 外滩FTC only
    "finance": FINANCE,
    "admin": ADMIN,
}
ROLE_ORDER = ["anonymous", "other_creator", "other_operator", "finance", "venue_operator",
              "admin", "creator"]

PUBLIC = {role: 200 for role in ROLES}


def signed_in(status, **overrides) -> dict:
    """Every signed-in role gets ``status``; anonymous 401."""
    return {**{role: status for role in ROLES}, "anonymous": 401, **overrides}


def only(allowed: dict, *, hidden: tuple = ()) -> dict:
    """The roles in ``allowed`` get their status, ``hidden`` ones 404, other roles 403."""
    table = {role: 403 for role in ROLES}
    table.update({role: 404 for role in hidden})
    table.update(allowed)
    table["anonymous"] = 401
    return table


# The owner's booking: others see 404, staff who may see it but not act on it 403.
OWNER_ONLY = dict(hidden=("other_creator", "other_operator"))


@dataclass
class World:
    api: object
    ids: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.ids[key]


@dataclass
class Row:
    path: str                  # with {placeholders} from World.ids
    expect: dict               # role → status (int) or statuses (tuple)
    request: Callable[[World, str], dict] | None = None  # extra client.open kwargs per role


def _json(body: dict | Callable[[World], dict]):
    return lambda world, role: {"json": body(world) if callable(body) else body}


def _own_token_request(world: World, role: str) -> dict:
    email = ROLES[role] or CREATOR
    return {"json": {"email": email, "password": PASSWORD, "label": f"matrix-{role}"}}


# A free slot per creator, so both creators' bookings succeed.
NEW_SLOT = {"creator": ("10:00", "11:00"), "other_creator": ("14:00", "15:00")}


def _new_booking_request(world: World, role: str) -> dict:
    start, end = NEW_SLOT.get(role, ("16:00", "17:00"))
    return {"json": {"resource_id": world["resource"], "start": at("2026-12-05", start),
                     "end": at("2026-12-05", end)}}


def _walk_in_request(world: World, role: str) -> dict:
    start, end = {"admin": ("18:00", "19:00")}.get(role, ("20:00", "21:00"))
    return {"json": {"creator_id": world["yp_user"], "resource_id": world["resource"],
                     "start": at("2026-12-04", start), "end": at("2026-12-04", end)}}


def _qr_frame_request(world: World, role: str) -> dict:
    return {"data": world["qr_png"], "content_type": "image/png"}


MATRIX: dict[tuple[str, str], Row] = {
    # ---- public ----------------------------------------------------------------------------
    ("GET", "/api/v1/openapi.json"): Row("/api/v1/openapi.json", PUBLIC),
    ("POST", "/api/v1/auth/tokens"): Row("/api/v1/auth/tokens", {r: 201 for r in ROLES},
                                         _own_token_request),
    ("GET", "/api/v1/resources"): Row("/api/v1/resources", PUBLIC),
    ("GET", "/api/v1/resources/export"): Row("/api/v1/resources/export?format=csv", PUBLIC),
    ("GET", "/api/v1/resources/<int:resource_id>"): Row("/api/v1/resources/{resource}", PUBLIC),
    ("GET", "/api/v1/resources/<int:resource_id>/availability"): Row(
        "/api/v1/resources/{resource}/availability?from=2026-12-01&days=2", PUBLIC),
    ("GET", "/api/v1/list-versions"): Row("/api/v1/list-versions", PUBLIC),
    ("GET", "/api/v1/venues"): Row("/api/v1/venues", PUBLIC),
    ("GET", "/api/v1/programs"): Row("/api/v1/programs", PUBLIC),
    ("GET", "/api/v1/districts"): Row("/api/v1/districts", PUBLIC),
    ("GET", "/api/v1/checkin/keys"): Row("/api/v1/checkin/keys", PUBLIC),
    # ---- any signed-in account -------------------------------------------------------------
    ("GET", "/api/v1/me"): Row("/api/v1/me", signed_in(200)),
    ("GET", "/api/v1/me/notifications"): Row("/api/v1/me/notifications", signed_in(200)),
    ("GET", "/api/v1/bookings"): Row("/api/v1/bookings", signed_in(200)),
    # ---- bookings: owner, operator of the venue, finance, admin ----------------------------
    ("GET", "/api/v1/bookings/<int:booking_id>"): Row(
        "/api/v1/bookings/{booking}",
        only({"creator": 200, "venue_operator": 200, "finance": 200, "admin": 200}, **OWNER_ONLY)),
    ("POST", "/api/v1/bookings/<int:booking_id>/cancel"): Row(
        "/api/v1/bookings/{booking}/cancel", only({"creator": 200}, **OWNER_ONLY), _json({})),
    ("POST", "/api/v1/bookings/<int:booking_id>/reschedule"): Row(
        "/api/v1/bookings/{booking}/reschedule", only({"creator": 200}, **OWNER_ONLY),
        _json({"start": at("2026-12-03", "18:00"), "end": at("2026-12-03", "20:00")})),
    ("GET", "/api/v1/bookings/<int:booking_id>/qr.png"): Row(
        "/api/v1/bookings/{booking}/qr.png", only({"creator": 200}, **OWNER_ONLY)),
    ("GET", "/api/v1/bookings/<int:booking_id>/qr.svg"): Row(
        "/api/v1/bookings/{booking}/qr.svg", only({"creator": 200}, **OWNER_ONLY)),
    # ---- creators ----------------------------------------------------------------------------
    ("POST", "/api/v1/bookings"): Row(
        "/api/v1/bookings", only({"creator": 201, "other_creator": 201}), _new_booking_request),
    ("POST", "/api/v1/bookings/quote"): Row(
        "/api/v1/bookings/quote", only({"creator": 200, "other_creator": 200}),
        _new_booking_request),
    # ---- front desk: operators (own venue decides the answer) and administrators -------------
    ("POST", "/api/v1/checkins"): Row(
        # a code of a booking two days ahead: too_early at V聚场, wrong_venue at 外滩FTC
        "/api/v1/checkins",
        only({"venue_operator": 200, "other_operator": 200, "admin": 200}),
        _json(lambda w: {"code": w["code"], "device": "matrix"})),
    ("GET", "/api/v1/checkin/manifest"): Row(
        "/api/v1/checkin/manifest",
        only({"venue_operator": 200, "other_operator": 200, "admin": 200})),
    ("POST", "/api/v1/checkins/sync"): Row(
        "/api/v1/checkins/sync",
        only({"venue_operator": 200, "other_operator": 200, "admin": 200}),
        _json(lambda w: {"device_id": "matrix-desk", "scans": [
            {"scan_id": "1", "code": w["code"], "scanned_at": at("2026-12-01", "09:00")}]})),
    ("GET", "/api/v1/desk/creators"): Row(
        f"/api/v1/desk/creators?q={CREATOR}",
        only({"venue_operator": 200, "other_operator": 200, "admin": 200})),
    ("POST", "/api/v1/desk/confirmations"): Row(
        "/api/v1/desk/confirmations",
        only({"venue_operator": 201, "other_operator": 201, "admin": 201}),
        _json(lambda w: {"creator_id": w["yp_user"]})),
    ("POST", "/api/v1/desk/bookings"): Row(
        # another venue's operator is not told the room exists
        "/api/v1/desk/bookings",
        only({"venue_operator": 201, "admin": 201}, hidden=("other_operator",)),
        _walk_in_request),
    ("POST", "/api/v1/checkins/decode"): Row(
        "/api/v1/checkins/decode",
        only({"venue_operator": 200, "other_operator": 200, "admin": 200}), _qr_frame_request),
    ("POST", "/api/v1/bookings/<int:booking_id>/checkout"): Row(
        # the venue's operator checks out first; the administrator then finds it completed;
        # another venue's operator is not told the booking exists
        "/api/v1/bookings/{checked_in}/checkout",
        only({"venue_operator": 200, "admin": 409}, hidden=("other_operator",))),
    # ---- self-pay: the venue's desk and finance record; finance refunds ---------------------
    ("GET", "/api/v1/bookings/<int:booking_id>/payments"): Row(
        "/api/v1/bookings/{checked_in}/payments",
        only({"creator": 200, "venue_operator": 200, "finance": 200, "admin": 200}, **OWNER_ONLY)),
    ("POST", "/api/v1/bookings/<int:booking_id>/payments"): Row(
        "/api/v1/bookings/{checked_in}/payments",
        only({"venue_operator": 201, "finance": 201, "admin": 201}, hidden=("other_operator",)),
        _json({"method": "cash", "amount_fen": 100})),
    ("POST", "/api/v1/payments/<int:payment_id>/refund"): Row(
        "/api/v1/payments/{payment}/refund", only({"finance": 201, "admin": 201}),
        _json({"amount_fen": 100, "note": "matrix"})),
    ("POST", "/api/v1/enterprises/<int:enterprise_id>/members/<int:user_id>/end"): Row(
        "/api/v1/enterprises/{enterprise}/members/{yp_user}/end", only({"admin": 200}),
        _json({"until": "2026-12-31"})),
    ("GET", "/api/v1/operator/venues"): Row(
        "/api/v1/operator/venues",
        only({"venue_operator": 200, "other_operator": 200, "admin": 200})),
    ("GET", "/api/v1/operator/venues/<int:venue_id>"): Row(
        "/api/v1/operator/venues/{venue}",
        only({"venue_operator": 200, "finance": 200, "admin": 200})),
    # ---- finance (administrators may read) -------------------------------------------------
    ("GET", "/api/v1/finance/statements"): Row(
        f"/api/v1/finance/statements?month={MONTH}", only({"finance": 200, "admin": 200})),
    ("POST", "/api/v1/finance/statements"): Row(
        "/api/v1/finance/statements", only({"finance": 201}),
        _json(lambda w: {"venue_id": w["venue"], "month": MONTH})),
    ("GET", "/api/v1/finance/statements/<int:statement_id>"): Row(
        "/api/v1/finance/statements/{statement}", only({"finance": 200, "admin": 200})),
    ("GET", "/api/v1/finance/statements/<int:statement_id>/export"): Row(
        "/api/v1/finance/statements/{statement}/export?format=csv",
        only({"finance": 200, "admin": 200})),
    ("POST", "/api/v1/finance/statements/<int:statement_id>/issue"): Row(
        # December has not ended: finance passes authorization and is told month_not_closed
        "/api/v1/finance/statements/{statement}/issue", only({"finance": 409})),
    ("POST", "/api/v1/finance/statements/<int:statement_id>/settle"): Row(
        # the statement is a draft: finance passes authorization and is told not_issued
        "/api/v1/finance/statements/{statement}/settle", only({"finance": 422}),
        _json({"payment_reference": "ZF-MATRIX", "payment_date": "2027-01-05"})),
    ("GET", "/api/v1/finance/programs/report"): Row(
        f"/api/v1/finance/programs/report?month={MONTH}", only({"finance": 200, "admin": 200})),
    ("GET", "/api/v1/finance/reconciliation"): Row(
        f"/api/v1/finance/reconciliation?month={MONTH}", only({"finance": 200, "admin": 200})),
    ("POST", "/api/v1/finance/periods/<month>/close"): Row(
        "/api/v1/finance/periods/2026-11/close", only({"finance": 200})),
    ("GET", "/api/v1/audit"): Row("/api/v1/audit", only({"finance": 200, "admin": 200})),
    # ---- administration --------------------------------------------------------------------
    ("GET", "/api/v1/admin/users"): Row("/api/v1/admin/users?q=demo", only({"admin": 200})),
    ("PATCH", "/api/v1/admin/users/<int:user_id>"): Row(
        "/api/v1/admin/users/{hp_user}", only({"admin": 200}), _json({"active": True})),
    ("POST", "/api/v1/admin/users/<int:user_id>/password-reset"): Row(
        "/api/v1/admin/users/{hp_user}/password-reset", only({"admin": 202})),
    ("POST", "/api/v1/admin/users/<int:user_id>/certifications"): Row(
        "/api/v1/admin/users/{hp_user}/certifications", only({"admin": 201}),
        _json({"program": "huangpu-shared-service", "tier": "B"})),
    ("PATCH", "/api/v1/admin/resources/<int:resource_id>"): Row(
        "/api/v1/admin/resources/{resource}", only({"admin": 200}), _json({"capacity": 4})),
    ("POST", "/api/v1/admin/resources/<int:resource_id>/closures"): Row(
        "/api/v1/admin/resources/{resource}/closures", only({"admin": 201}),
        _json({"start": at("2026-12-20", "09:00"), "end": at("2026-12-20", "12:00"),
               "reason": "matrix"})),
    ("POST", "/api/v1/admin/list-versions"): Row(
        "/api/v1/admin/list-versions", only({"admin": 201}), _json({"note": "matrix"})),
    ("POST", "/api/v1/admin/programs"): Row(
        "/api/v1/admin/programs", only({"admin": 201}),
        _json({"code": "matrix-program", "name_zh": "矩阵测试", "funding": "quota",
               "eligibility": "certified_creator", "resource_kinds": ["recording_studio"],
               "tiers": [{"code": "A", "name_zh": "A档", "cap_fen": 100_00}]})),
    ("PATCH", "/api/v1/admin/programs/<code>"): Row(
        "/api/v1/admin/programs/huangpu-shared-service", only({"admin": 200}),
        _json({"description_zh": "示例规则，可由管理员修改"})),
    ("POST", "/api/v1/admin/programs/<code>/close"): Row(
        "/api/v1/admin/programs/huangpu-shared-service/close", only({"admin": 200})),
    ("POST", "/api/v1/admin/programs/<code>/reopen"): Row(
        "/api/v1/admin/programs/huangpu-shared-service/reopen", only({"admin": 200})),
    ("POST", "/api/v1/admin/districts"): Row(
        "/api/v1/admin/districts", only({"admin": 201}),
        _json({"code": "matrix-district", "name_zh": "矩阵区"})),
    ("GET", "/api/v1/admin/voucher-batches"): Row(
        "/api/v1/admin/voucher-batches", only({"finance": 200, "admin": 200})),
    ("POST", "/api/v1/admin/voucher-batches"): Row(
        "/api/v1/admin/voucher-batches", only({"admin": 201}),
        _json({"program": "yangpu-livestream-voucher", "name": "矩阵测试券",
               "face_value_fen": 100, "total_count": 1, "total_budget_fen": 100,
               "valid_from": "2026-12-01", "valid_until": "2026-12-31"})),
    ("POST", "/api/v1/admin/voucher-batches/<int:batch_id>/issue"): Row(
        "/api/v1/admin/voucher-batches/{batch}/issue", only({"admin": 201}),
        _json(lambda w: {"enterprise_id": w["enterprise"], "count": 1})),
    ("GET", "/api/v1/admin/vouchers"): Row(
        "/api/v1/admin/vouchers", only({"finance": 200, "admin": 200})),
    ("POST", "/api/v1/admin/vouchers/<code>/void"): Row(
        "/api/v1/admin/vouchers/{spare_voucher}/void", only({"admin": 200}),
        _json({"reason": "matrix"})),
    ("POST", "/api/v1/admin/enterprises/<int:enterprise_id>/residencies"): Row(
        "/api/v1/admin/enterprises/{enterprise}/residencies", only({"admin": 201}),
        _json({"program": "yangpu-livestream-voucher", "valid_from": "2027-01-01"})),
    # ---- self-pay online: the owner ----------------------------------------------------------
    # no provider is configured here: the owner gets as far as 409 (or 422: nothing due)
    ("POST", "/api/v1/bookings/<int:booking_id>/payments/online"): Row(
        "/api/v1/bookings/{booking}/payments/online",
        only({"creator": (409, 422)}, **OWNER_ONLY), _json({"provider": "wechat"})),
    ("POST", "/api/v1/bookings/<int:booking_id>/payments/online/check"): Row(
        "/api/v1/bookings/{booking}/payments/online/check", only({"creator": 200}, **OWNER_ONLY)),
    # the providers' notifications carry no account: signed by the provider instead
    ("POST", "/api/v1/payments/notify/<any(wechat, alipay):provider>"): Row(
        "/api/v1/payments/notify/wechat", {role: 409 for role in ROLES}),
}


def api_routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule)
            for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_api_endpoint_has_a_row(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'routes.sqlite3'}", tmp_path))
    routes = api_routes(app)
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"API endpoints without a row in the authorization matrix: {missing}"
    assert not stale, f"rows for endpoints that no longer exist: {stale}"
    for key, row in MATRIX.items():
        assert set(row.expect) == set(ROLES), f"{key} must name every role"


@pytest.fixture
def world(api) -> World:
    """yp.creator's booking two days ahead and a checked-in one today, both with vouchers;
    the December draft statement of V聚场; ids of everything the paths need."""
    from app.checkin import qr
    from app.checkin.service import code_for

    w = World(api)
    me = api.get("/api/v1/me", CREATOR).get_json()
    codes = [v["code"] for v in me["vouchers"]]
    assert len(codes) >= 3, me
    today = book(api, ROOM, "2026-12-01", "10:00", "12:00", voucher_code=codes[0])
    assert today.status_code == 201, today.get_json()
    checked = api.post("/api/v1/checkins", OP_VJC, json={"booking_id": today.get_json()["id"]})
    assert checked.get_json()["result"] == "ok"
    ahead = book(api, ROOM, "2026-12-03", "14:00", "16:00", voucher_code=codes[1])
    assert ahead.status_code == 201, ahead.get_json()

    venues = {v["code"]: v["id"] for v in api.get("/api/v1/venues").get_json()["items"]}
    statement = api.post("/api/v1/finance/statements", FINANCE,
                         json={"venue_id": venues["vjc-chuangzhi"], "month": MONTH})
    assert statement.status_code == 201, statement.get_json()
    batches = api.get("/api/v1/admin/voucher-batches", ADMIN).get_json()["items"]
    users = {u["email"]: u["id"] for u in api.get("/api/v1/admin/users", ADMIN).get_json()["items"]}
    with api.app.app_context():
        from app.booking.models import Booking

        booking = db.session.get(Booking, ahead.get_json()["id"])
        code = code_for(db.session, booking, api.app.config["SECRET_KEY"])
        db.session.commit()
    paid = api.post(f"/api/v1/bookings/{today.get_json()['id']}/payments", OP_VJC,
                    json={"method": "cash", "amount_fen": 1000})
    assert paid.status_code == 201, paid.get_json()
    w.ids.update(
        payment=paid.get_json()["items"][0]["id"], yp_user=users[CREATOR],
        booking=ahead.get_json()["id"], checked_in=today.get_json()["id"],
        resource=resource_id(api, ROOM), venue=venues["vjc-chuangzhi"],
        statement=statement.get_json()["id"], batch=batches[0]["id"],
        enterprise=me["enterprises"][0]["id"], hp_user=users[HP_CREATOR],
        spare_voucher=codes[-1], code=code, qr_png=qr.png(code),
    )
    return w


def _call(world: World, method: str, row: Row, role: str):
    path = row.path.format(**{k: v for k, v in world.ids.items() if isinstance(v, int | str)})
    kwargs = row.request(world, role) if row.request else {}
    response = world.api.call(method, path, ROLES[role], **kwargs)
    response.get_data()  # a streamed export is read to its end before the next request
    response.close()
    return path, response


@pytest.mark.parametrize("key", list(MATRIX), ids=[f"{m} {r}" for m, r in MATRIX])
def test_authorization_matrix(world, key):
    method, rule = key
    row = MATRIX[key]
    adapter = world.api.app.url_map.bind("localhost")
    failures = []
    for role in ROLE_ORDER:
        path, response = _call(world, method, row, role)
        matched, _ = adapter.match(path.split("?")[0], method=method, return_rule=True)
        assert matched.rule == rule, f"{path} is not {rule}"
        expected = row.expect[role]
        wanted = expected if isinstance(expected, tuple) else (expected,)
        if response.status_code not in wanted:
            failures.append(f"{role}: {method} {path} answered {response.status_code}, "
                            f"expected {expected}: {response.get_data(as_text=True)[:300]}")
            continue
        if response.status_code in (401, 403, 404):
            code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}[response.status_code]
            assert_error(response, response.status_code, code)
    assert not failures, "\n".join(failures)


def test_each_role_lists_only_the_bookings_it_may_see(world):
    for role, sees in (("creator", True), ("venue_operator", True), ("finance", True),
                       ("admin", True), ("other_creator", False), ("other_operator", False)):
        items = world.api.get("/api/v1/bookings", ROLES[role]).get_json()["items"]
        ids = {b["id"] for b in items}
        assert (world["booking"] in ids) is sees, role
        assert (world["checked_in"] in ids) is sees, role
    # asking for another venue's bookings is refused, not answered with an empty list
    assert_error(world.api.get(f"/api/v1/bookings?venue={world['venue']}", OP_FTC),
                 403, "forbidden")


def test_the_scan_answer_depends_on_the_operators_venue(world):
    api = world.api
    other = api.post("/api/v1/checkins", OP_FTC, json={"code": world["code"]}).get_json()
    assert other["result"] == "wrong_venue"
    assert other["booking"] is None  # another venue learns nothing about the booking
    mine = api.post("/api/v1/checkins", OP_VJC, json={"code": world["code"]}).get_json()
    assert mine["result"] == "too_early" and mine["booking"]["id"] == world["booking"]
    assert "13800001234" not in str(mine)  # the operator sees a masked phone
    # by hand, another venue's booking is not even confirmed to exist
    assert_error(api.post("/api/v1/checkins", OP_FTC, json={"booking_id": world["booking"]}),
                 404, "not_found")


def test_a_wrong_token_is_401_everywhere_a_session_is_needed(world):
    bad = {"Authorization": "Bearer vb_not-a-token"}
    for (method, _rule), row in MATRIX.items():
        if row.expect["anonymous"] != 401:
            continue
        path = row.path.format(**{k: v for k, v in world.ids.items() if isinstance(v, int | str)})
        kwargs = row.request(world, "anonymous") if row.request else {}
        response = world.api.client.open(path, method=method, headers=dict(bad), **kwargs)
        assert_error(response, 401, "invalid_token")
