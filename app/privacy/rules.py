"""Pure rules for personal information: the notice's versions, pseudonyms, retention dates."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

# The privacy notice, by version. A new version is a new entry (the old text stays: a consent
# is to the words that were shown), and CURRENT_NOTICE points at it.
NOTICES: dict[str, dict[str, str]] = {
    "2026-11": {
        "zh": (
            "我们为办理场地预约、直播券与共享服务额度、到场核验和与场地结算，处理您的姓名、手机号、"
            "电子邮箱、所属企业、认定信息、预约与核验记录。个人信息只用于上述目的，不向无关第三方提供；"
            "结算单仅显示脱敏的姓名与手机号。您可以随时下载我们保存的您的个人信息，也可以申请删除："
            "删除后您的姓名、手机号和邮箱被匿名化，财政资金相关记录依法以假名保存至保存期满。"
            "工作人员查看您的个人信息会被记录。"
        ),
        "en": (
            "We process your name, phone number, email, enterprise, certifications, bookings and "
            "check-ins to book venues, apply vouchers and annual quota, check you in and settle "
            "with venues. Personal information is used for these purposes only and not given to "
            "unrelated third parties; statements show your name and phone masked. You can "
            "download what we hold about you at any time and ask for deletion: your name, phone "
            "and email are then anonymised, and records of public money are kept under a "
            "pseudonym until the retention period the law requires ends. Staff views of your "
            "personal data are recorded."
        ),
    },
}
CURRENT_NOTICE = "2026-11"


def pseudonym_for(random_hex: str) -> str:
    """The name money records keep after erasure: P + 10 hex digits, nothing about the person."""
    return "P" + random_hex[:10].upper()


def identity_digest(secret: str, email: str, phone: str) -> str:
    """Lets finance confirm a former identity during retention without storing it."""
    message = f"{email.strip().lower()}|{phone.strip()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def retain_until(erased_on: date, years: int) -> date:
    """The end of the retention period: the same day ``years`` later (28 Feb for 29 Feb)."""
    try:
        return erased_on.replace(year=erased_on.year + years)
    except ValueError:
        return erased_on.replace(year=erased_on.year + years, day=28)
