"""Public list pages and the resources API."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import (
    Blueprint,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
    session,
)
from flask_babel import get_locale

from app.catalog import service
from app.catalog.models import Venue
from app.catalog.photos import photo_file, photo_folder, photos_by_resource
from app.catalog.published import FrozenVersion, Rendering, filter_key, published_lists
from app.catalog.rules import KIND_LABELS
from app.catalog.schemas import (
    ExportQuerySchema,
    ListVersionSchema,
    ResourceListSchema,
    ResourceQuerySchema,
    ResourceSchema,
    VenueListSchema,
)
from app.core.api import load
from app.core.errors import NotFound
from app.core.http import conditional_response
from app.extensions import db

catalog_pages = Blueprint("catalog_pages", __name__, template_folder="templates")
catalog_api = Blueprint("catalog_api", __name__, url_prefix="/api/v1")

# Schema instances are reusable and costly to build (nested fields are copied): build once.
RESOURCE_QUERY = ResourceQuerySchema()
EXPORT_QUERY = ExportQuerySchema()
RESOURCE_LIST = ResourceListSchema()
RESOURCE = ResourceSchema()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _json_bytes(data: Any) -> bytes:
    # exactly what jsonify would send
    return current_app.json.response(data).get_data()


def _send(rendering: Rendering, mimetype: str, headers: dict | None = None):
    return conditional_response(rendering.body, rendering.etag, mimetype, headers)


# ---- API -----------------------------------------------------------------------------------


@catalog_api.get("/resources")
def list_resources():
    """The published resource list, filtered.
    ---
    get:
      tags: [catalog]
      summary: The current (or a past) published list of resources
      parameters:
        - in: query
          schema: ResourceQuerySchema
      responses:
        200:
          content:
            application/json:
              schema: ResourceList
        404: {$ref: "#/components/responses/Error404"}
    """
    args = load(RESOURCE_QUERY, source="args")
    version, _ = published_lists().requested(args.get("version"))
    rendering = version.rendering(("api", filter_key(args)), lambda: _json_bytes(RESOURCE_LIST.dump(
        {"items": version.filtered(args), "list_version": service.describe_version(version)})))
    return _send(rendering, "application/json")


@catalog_api.get("/resources/export")
def export_resources():
    """The published list as a file.
    ---
    get:
      tags: [catalog]
      summary: Export the published list as CSV, XLSX or JSON (Chinese headers, yuan)
      parameters:
        - in: query
          schema: ExportQuerySchema
      responses:
        200:
          description: The file
          content:
            text/csv: {}
            application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
            application/json: {}
        404: {$ref: "#/components/responses/Error404"}
    """
    args = load(EXPORT_QUERY, source="args")
    version, _ = published_lists().requested(args.get("version"))
    fmt = args["format"]
    builders: dict[str, Callable[[], bytes]] = {
        "xlsx": lambda: service.export_xlsx(version.filtered(args), version),
        "json": lambda: _json_bytes({"items": version.filtered(args),
                                     "list_version": service.describe_version(version)}),
        "csv": lambda: service.export_csv(version.filtered(args)),
    }
    rendering = version.rendering((fmt, filter_key(args)), builders[fmt])
    if fmt == "json":
        return _send(rendering, "application/json")
    stem = f"shared-resources-v{version.number}"
    return _send(rendering, XLSX if fmt == "xlsx" else "text/csv",
                 {"Content-Disposition": f"attachment; filename={stem}.{fmt}"})


@catalog_api.get("/resources/<int:resource_id>")
def get_resource(resource_id: int):
    """One resource on the published list.
    ---
    get:
      tags: [catalog]
      summary: A resource with its venue, equipment, rates, rules and programs
      parameters:
        - in: path
          name: resource_id
          required: true
          schema: {type: integer}
      responses:
        200:
          content:
            application/json:
              schema: Resource
    """
    version, item = published_lists().listed_resource(resource_id)
    rendering = version.rendering(("api-resource", resource_id),
                                  lambda: _json_bytes(RESOURCE.dump(item)))
    return _send(rendering, "application/json")


@catalog_api.get("/list-versions")
def list_versions():
    """Every published version of the list, newest first.
    ---
    get:
      tags: [catalog]
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/ListVersion"}}
    """
    versions = service.all_versions(db.session)
    return jsonify({"items": ListVersionSchema(many=True).dump(
        [service.describe_version(v) for v in versions])})


@catalog_api.get("/venues")
def list_venues():
    """Venues and carriers with addresses and opening hours.
    ---
    get:
      tags: [catalog]
      responses:
        200:
          content:
            application/json:
              schema: VenueList
    """
    venues = db.session.scalars(db.select(Venue).where(Venue.active.is_(True)).order_by(Venue.code))
    return jsonify(VenueListSchema().dump({"items": [service.describe_venue(v) for v in venues]}))


# ---- pages ---------------------------------------------------------------------------------


def _filter_choices(version: FrozenVersion) -> dict[str, list]:
    """Districts, venues and programs that appear on this version, as it froze them."""
    districts: dict[str, dict] = {}
    venues: dict[str, dict] = {}
    programs: dict[str, dict] = {}
    for item in version.items:  # listed by district, then venue code
        venue = item["venue"]
        districts.setdefault(venue["district"], {
            "code": venue["district"], "name": venue["district_name"],
            "name_en": venue["district_name_en"]})
        venues.setdefault(venue["code"], {"code": venue["code"], "name": venue["name"],
                                          "name_en": venue["name_en"]})
        for program in item["programs"]:
            programs.setdefault(program["code"], {"code": program["code"], "name": program["name"],
                                                  "name_en": program["name_en"]})
    return {
        "districts": list(districts.values()),
        "venues": [venues[code] for code in sorted(venues)],
        "programs": [programs[code] for code in sorted(programs)],
        "kinds": list(KIND_LABELS),
    }


def _page_filters() -> dict:
    raw = {k: v for k, v in request.args.items() if v}
    errors = RESOURCE_QUERY.validate(raw)
    return {k: v for k, v in raw.items() if k not in errors}


def _anonymous_visit() -> bool:
    """Nobody signed in and nothing waiting in the session (a flash): the page is then the same
    for every such visitor who reads the same language at the same address."""
    return set(session) <= {"lang", "csrf_token"} and \
        current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") not in request.cookies


def _page(version: FrozenVersion, key: Hashable, render: Callable[[], str]):
    """A page of the published list, with a strong ETag; built once for anonymous visitors."""
    if _anonymous_visit():
        rendering = version.rendering(("page", key, str(get_locale()), request.full_path),
                                      lambda: render().encode())
    else:  # the header names the user and carries their CSRF token: render, then compare
        rendering = Rendering(version.number, render().encode())
    response = _send(rendering, "text/html")
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Cookie", "Accept-Language"))
    return response


@catalog_pages.get("/")
def index():
    return _render_list(None)


@catalog_pages.get("/list/versions/<int:number>")
def version_page(number: int):
    return _render_list(number)


def _render_list(number: int | None):
    filters = _page_filters()
    lists = published_lists()
    current = lists.current_number()
    if current is None and number is None:
        return render_template("catalog/index.html", version=None, is_latest=False, items=[],
                               filters=filters)
    version = lists.version(number if number is not None else current)
    if version is None:
        raise NotFound()
    items = version.filtered(filters)
    return _page(version, ("list", current), lambda: render_template(
        "catalog/index.html",
        version=version,
        is_latest=version.number == current,
        items=items,
        photos=photos_by_resource(db.session, [item["id"] for item in items]),
        filters=filters,
        **_filter_choices(version),
    ))



@catalog_pages.get("/list/versions")
def versions_page():
    return render_template("catalog/versions.html", versions=service.all_versions(db.session))


@catalog_pages.get("/resources/<int:resource_id>")
def resource_page(resource_id: int):
    version, item = published_lists().listed_resource(resource_id)
    return _page(version, ("resource", resource_id),
                 lambda: render_template("catalog/resource.html", item=item, photos=photos_by_resource(
                     db.session, [resource_id]).get(resource_id, [])))


@catalog_pages.get("/resources/<int:resource_id>/photos/<int:photo_id>.jpg")
@catalog_pages.get("/resources/<int:resource_id>/photos/<int:photo_id>-thumb.jpg",
                   endpoint="photo_thumb", defaults={"thumbnail": True})
def photo(resource_id: int, photo_id: int, thumbnail: bool = False):
    # the path comes from the photo's row, never from the request
    path = photo_file(db.session, resource_id, photo_id, photo_folder(), thumbnail)
    if path is None:
        raise NotFound()
    return send_file(path, mimetype="image/jpeg", max_age=86400)
