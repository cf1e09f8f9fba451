"""Public list pages and the resources API."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request, send_file

from app.catalog import service
from app.catalog.models import District, Program, Venue
from app.catalog.photos import photo_file, photo_folder, photos_by_resource
from app.catalog.rules import KIND_LABELS, filter_items
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
from app.extensions import db

catalog_pages = Blueprint("catalog_pages", __name__, template_folder="templates")
catalog_api = Blueprint("catalog_api", __name__, url_prefix="/api/v1")


def _version_items(args: dict):
    version = service.get_version(db.session, args.get("version"))
    return version, filter_items(version.snapshot["items"], args)


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
    args = load(ResourceQuerySchema(), source="args")
    version, items = _version_items(args)
    return jsonify(ResourceListSchema().dump(
        {"items": items, "list_version": service.describe_version(version)}
    ))


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
    args = load(ExportQuerySchema(), source="args")
    version, items = _version_items(args)
    stem = f"shared-resources-v{version.number}"
    fmt = args["format"]
    if fmt == "xlsx":
        body = service.export_xlsx(items, version)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "json":
        return jsonify({"items": items, "list_version": service.describe_version(version)})
    else:
        body = service.export_csv(items)
        mimetype = "text/csv"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={stem}.{fmt}"})


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
    resource = service.published_resource(db.session, resource_id)
    return jsonify(ResourceSchema().dump(service.describe_resource(resource)))


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


def _filter_choices():
    return {
        "districts": db.session.scalars(db.select(District).order_by(District.id)).all(),
        "venues": db.session.scalars(db.select(Venue).order_by(Venue.code)).all(),
        "programs": db.session.scalars(db.select(Program).order_by(Program.code)).all(),
        "kinds": list(KIND_LABELS),
    }


def _page_filters() -> dict:
    raw = {k: v for k, v in request.args.items() if v}
    errors = ResourceQuerySchema().validate(raw)
    return {k: v for k, v in raw.items() if k not in errors}


@catalog_pages.get("/")
def index():
    return _render_list(None)


@catalog_pages.get("/list/versions/<int:number>")
def version_page(number: int):
    return _render_list(number)


def _render_list(number: int | None):
    filters = _page_filters()
    version = (service.current_version(db.session) if number is None
               else service.get_version(db.session, number))
    items = filter_items(version.snapshot["items"], filters) if version else []
    latest = service.current_version(db.session)
    return render_template(
        "catalog/index.html",
        version=version,
        is_latest=version is not None and latest is not None and version.number == latest.number,
        items=items,
        photos=photos_by_resource(db.session, [item["id"] for item in items]),
        filters=filters,
        **_filter_choices(),
    )


@catalog_pages.get("/list/versions")
def versions_page():
    return render_template("catalog/versions.html", versions=service.all_versions(db.session))


@catalog_pages.get("/resources/<int:resource_id>")
def resource_page(resource_id: int):
    resource = service.published_resource(db.session, resource_id)
    return render_template("catalog/resource.html", item=service.describe_resource(resource),
                           photos=photos_by_resource(db.session, [resource_id]).get(resource_id, []))


@catalog_pages.get("/resources/<int:resource_id>/photos/<int:photo_id>.jpg")
@catalog_pages.get("/resources/<int:resource_id>/photos/<int:photo_id>-thumb.jpg",
                   endpoint="photo_thumb", defaults={"thumbnail": True})
def photo(resource_id: int, photo_id: int, thumbnail: bool = False):
    # the path comes from the photo's row, never from the request
    path = photo_file(db.session, resource_id, photo_id, photo_folder(), thumbnail)
    if path is None:
        raise NotFound()
    return send_file(path, mimetype="image/jpeg", max_age=86400)
