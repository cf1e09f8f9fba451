"""Resource photos: an administrator uploads, the server checks it is an image, stores a
re-encoded copy and a thumbnail under the instance folder, and serves them by row id.

Re-encoding with Pillow means what is stored is always a plain JPEG we produced (no script in
an SVG, no metadata such as GPS positions), whatever the upload claimed to be.
"""

from __future__ import annotations

import secrets
from io import BytesIO
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.catalog.models import Resource, ResourcePhoto
from app.core.errors import ValidationFailed

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_BYTES = 4 * 1024 * 1024        # the request limit too (MAX_CONTENT_LENGTH)
MAX_PIXELS = 40_000_000            # a decompression bomb is refused before it is decoded
LARGEST_SIDE = 1600
THUMB_SIDE = 320


def photo_folder() -> Path:
    """Where photos are kept: ``PHOTO_DIR`` if set, else ``instance/photos``."""
    configured = current_app.config.get("PHOTO_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "photos"


def _problem(text) -> ValidationFailed:
    return ValidationFailed({"photo": [text]})


def _read_image(stream: IO[bytes]) -> Image.Image:
    data = stream.read(MAX_BYTES + 1)
    if not data:
        raise _problem(_l("Choose a photo to upload."))
    if len(data) > MAX_BYTES:
        raise _problem(_l("The photo is larger than 4 MB."))
    try:
        with Image.open(BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise _problem(_l("Upload a JPEG, PNG or WebP image."))
            if probe.width * probe.height > MAX_PIXELS:
                raise _problem(_l("The photo has too many pixels."))
            probe.verify()
        image = Image.open(BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise _problem(_l("Upload a JPEG, PNG or WebP image.")) from err
    return image.convert("RGB")


def add_photo(session: Session, actor_id: int | None, resource: Resource, stream: IO[bytes],
              folder: Path) -> ResourcePhoto:
    image = _read_image(stream)
    folder.mkdir(parents=True, exist_ok=True)
    stem = secrets.token_hex(16)
    full, thumb = image.copy(), image.copy()
    full.thumbnail((LARGEST_SIDE, LARGEST_SIDE))
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    full.save(folder / f"{stem}.jpg", "JPEG", quality=85)
    thumb.save(folder / f"{stem}-thumb.jpg", "JPEG", quality=80)
    photo = ResourcePhoto(resource_id=resource.id, file_name=f"{stem}.jpg",
                          thumb_name=f"{stem}-thumb.jpg", width=full.width, height=full.height,
                          uploaded_by_id=actor_id)
    session.add(photo)
    session.flush()
    record(session, actor_id, "resource.photo_add", "resource", resource.code,
           after={"photo_id": photo.id, "width": photo.width, "height": photo.height})
    return photo


def photos_by_resource(session: Session, resource_ids: list[int]) -> dict[int, list[int]]:
    """Photo ids per resource, oldest first (one query for a whole list page)."""
    found: dict[int, list[int]] = {}
    for resource_id, photo_id in session.execute(
            select(ResourcePhoto.resource_id, ResourcePhoto.id)
            .where(ResourcePhoto.resource_id.in_(resource_ids)).order_by(ResourcePhoto.id)):
        found.setdefault(resource_id, []).append(photo_id)
    return found


def photo_file(session: Session, resource_id: int, photo_id: int, folder: Path,
               thumbnail: bool) -> Path | None:
    """The stored file for a photo of that resource; the name comes from the row only."""
    photo = session.get(ResourcePhoto, photo_id)
    if photo is None or photo.resource_id != resource_id:
        return None
    path = folder / (photo.thumb_name if thumbnail else photo.file_name)
    return path if path.is_file() else None
