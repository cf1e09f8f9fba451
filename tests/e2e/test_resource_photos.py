"""Resource photos: an administrator uploads, the server checks and re-encodes, the list and the
resource page show thumbnails, and files are served by row id only."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import select

from tests.e2e.test_money_pages import _in_db, _signed_in, _text
from tests.helpers import ADMIN, CREATOR, resource_id


def _png(size=(800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _upload(client, rid: int, data: bytes, name: str = "room.png"):
    return client.post(f"/admin/resources/{rid}/photos",
                       data={"photo": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_admin_uploads_a_photo_shown_on_the_list_and_the_resource_page(api, tmp_path):
    from app.audit.models import AuditEntry
    from app.catalog.models import ResourcePhoto

    api.app.config["PHOTO_DIR"] = str(tmp_path / "photos")
    rid = resource_id(api, "vjc-live-01")
    admin = _signed_in(api.app, ADMIN)
    assert _upload(admin, rid, _png()).status_code == 302
    photo = _in_db(api.app, lambda s: s.scalar(select(ResourcePhoto)))
    assert (photo.width, photo.height) == (800, 600)
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == sorted(
        [photo.file_name, photo.thumb_name])
    anyone = api.app.test_client()
    page = _text(anyone.get(f"/resources/{rid}"))
    thumb = f"/resources/{rid}/photos/{photo.id}-thumb.jpg"
    assert thumb in page and thumb in _text(anyone.get("/"))
    served = anyone.get(thumb)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(served.get_data())).size) == 320
    assert anyone.get(f"/resources/{rid}/photos/{photo.id}.jpg").status_code == 200
    other = resource_id(api, "ftc-live-01")
    assert anyone.get(f"/resources/{other}/photos/{photo.id}.jpg").status_code == 404
    assert _in_db(api.app, lambda s: s.scalar(select(AuditEntry.action).where(
        AuditEntry.action == "resource.photo_add"))) == "resource.photo_add"


def test_uploads_that_are_not_images_or_too_big_are_refused(api, tmp_path):
    from app.catalog.models import ResourcePhoto

    api.app.config["PHOTO_DIR"] = str(tmp_path / "photos")
    rid = resource_id(api, "vjc-live-01")
    admin = _signed_in(api.app, ADMIN)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    refused = admin.post(f"/admin/resources/{rid}/photos",
                         data={"photo": (io.BytesIO(svg), "x.png")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert re.search(r"JPEG, PNG or WebP", _text(refused))
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    _upload(admin, rid, gif.getvalue(), "x.gif")
    too_big = _upload(admin, rid, b"\x89PNG" + b"0" * (5 * 1024 * 1024))
    assert too_big.status_code in (302, 413)
    assert _in_db(api.app, lambda s: s.scalar(select(ResourcePhoto.id))) is None
    assert _upload(_signed_in(api.app, CREATOR), rid, _png()).status_code == 403
    assert api.app.test_client().get(f"/resources/{rid}/photos/../../secret_key").status_code \
        == 404
