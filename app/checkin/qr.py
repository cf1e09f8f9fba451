"""QR images of check-in codes, sized for phone cameras and USB scanners reading a screen."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage

# four modules of quiet zone (the standard) and medium error correction: a cracked phone
# screen or glare still reads; 10-pixel modules keep a ~110-character code sharp on screens
BORDER = 4
BOX = 10


def _qr(code: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=BOX, border=BORDER)
    qr.add_data(code)
    qr.make(fit=True)
    return qr


def png(code: str) -> bytes:
    out = io.BytesIO()
    _qr(code).make_image(fill_color="black", back_color="white").save(out, format="PNG")
    return out.getvalue()


def svg(code: str) -> bytes:
    out = io.BytesIO()
    _qr(code).make_image(image_factory=SvgPathImage).save(out)
    return out.getvalue()
