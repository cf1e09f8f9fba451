"""Accounts: creating people, signing them in, tokens, roles, eligibility facts."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta
from functools import cache

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from app.accounts.certifications import current_certifications
from app.accounts.models import (
    ROLES,
    ApiToken,
    Certification,
    Enterprise,
    EnterpriseMember,
    OperatorVenue,
    Residency,
    User,
    UserRole,
)
from app.audit.service import record
from app.catalog.models import Program, ProgramTier, Venue
from app.core.clock import local_today, now
from app.core.db import write_core
from app.core.errors import AppError, Conflict, NotFound, Unauthorized, ValidationFailed
from app.privacy.models import Erasure
from app.quota.service import apply_tier

# Tests lower the work factor; production keeps werkzeug's default (scrypt).
PASSWORD_METHOD = {"method": "scrypt"}
MIN_PASSWORD_LENGTH = 8

# A real hash to compare against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH: dict[str, str] = {}


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD["method"])


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def require_user(session: Session, email: str) -> User:
    user = get_user_by_email(session, email)
    if user is None:
        raise NotFound(message=f"no account {email}")
    return user


def create_user(
    session: Session,
    email: str,
    password: str,
    roles: list[str],
    display_name: str = "",
    phone: str = "",
    venue_ids: list[int] | None = None,
) -> User:
    email = normalise_email(email)
    fields: dict[str, list[str]] = {}
    if "@" not in email or len(email) > 200:
        fields["email"] = ["Not a valid email address."]
    if len(password) < MIN_PASSWORD_LENGTH:
        fields["password"] = [f"At least {MIN_PASSWORD_LENGTH} characters."]
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        fields["roles"] = [f"Roles must be among {', '.join(ROLES)}."]
    if fields:
        raise ValidationFailed(fields)
    if get_user_by_email(session, email) is not None:
        raise Conflict("duplicate", f"an account {email} exists already")
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name or email.split("@")[0],
        phone=phone,
        session_nonce=secrets.token_hex(8),
        calendar_secret=secrets.token_urlsafe(24),
    )
    user.role_rows = [UserRole(role=r) for r in sorted(set(roles))]
    session.add(user)
    session.flush()
    for venue_id in venue_ids or []:
        assign_venue(session, user, venue_id)
    return user


def assign_venue(session: Session, user: User, venue_id: int) -> None:
    if session.get(Venue, venue_id) is None:
        raise NotFound(message=f"no venue {venue_id}")
    if session.get(OperatorVenue, (user.id, venue_id)) is None:
        session.add(OperatorVenue(user_id=user.id, venue_id=venue_id))
        session.flush()
        session.expire(user, ["operated_venues"])


def authenticate(session: Session, email: str, password: str) -> User:
    user = get_user_by_email(session, email)
    if user is None:
        if "hash" not in _DUMMY_HASH:
            _DUMMY_HASH["hash"] = hash_password(secrets.token_hex(8))
        check_password_hash(_DUMMY_HASH["hash"], password)
        raise Unauthorized("invalid_credentials")
    if not check_password_hash(user.password_hash, password):
        raise Unauthorized("invalid_credentials")
    if not user.active:
        # said only to someone who knows the password: they learn why, a guesser learns nothing
        raise Unauthorized("account_inactive")
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, label: str = "") -> str:
    """Create a bearer token; the plain value is returned once and never stored."""
    token = "vb_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_digest(token), label=label[:80]))
    session.flush()
    return token


# Recording every use would add a write to every API call; this resolution is enough to
# see which tokens are alive.
TOKEN_USE_RESOLUTION = timedelta(minutes=10)


@cache
def _token_user():
    """The account and its roles, with the token's id and last use, in one round trip; a
    revoked token finds nothing. Built once, on first use (every model is mapped by then):
    every API call runs it."""
    return (select(User, ApiToken.id, ApiToken.last_used_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None))
            .options(joinedload(User.role_rows)))


# The first request to find the last use stale notes it. Others with the same token at that
# moment (a front desk's scanners) skip the row it holds instead of queuing behind that
# request's whole transaction for the lock (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite has one
# writer at a time anyway).
_TOKEN_USED = update(ApiToken).where(ApiToken.id.in_(
    select(ApiToken.id).where(ApiToken.id == bindparam("token_id"))
    .with_for_update(skip_locked=True).scalar_subquery())).values(
    last_used_at=bindparam("moment"))


def user_for_token(session: Session, token: str) -> User | None:
    found = session.execute(_token_user(), {"digest": _token_digest(token)}).unique().first()
    if found is None or not found[0].active:
        return None
    user, token_id, last_used_at = found
    moment = now()
    if last_used_at is None or moment - last_used_at > TOKEN_USE_RESOLUTION:
        write_core(session, _TOKEN_USED, {"token_id": token_id, "moment": moment})
    return user


def revoke_tokens(session: Session, user: User) -> int:
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = now()
    return len(rows)


def search_users(session: Session, query: str = "", limit: int = 200) -> list[User]:
    """Accounts whose email, name or phone contains ``query`` (all when empty), by id."""
    statement = select(User).order_by(User.id).limit(limit)
    text = query.strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(User.email.ilike(pattern, escape="\\"),
                                        User.display_name.ilike(pattern, escape="\\"),
                                        User.phone.ilike(pattern, escape="\\")))
    return list(session.scalars(statement))


def _not_own_lockout(actor: User, user: User) -> None:
    # an administrator who disables or demotes themselves could leave nobody to undo it
    if actor.id == user.id:
        raise AppError("own_account", status=409)


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    """Disable an account (no sign-in, sessions end, API tokens revoked) or enable it again."""
    if user.active == active:
        return
    _not_own_lockout(actor, user)
    if active and session.scalar(select(Erasure.id).where(Erasure.user_id == user.id)):
        raise AppError("account_erased", status=409)
    user.active = active
    revoked = 0
    if not active:
        user.session_nonce = secrets.token_hex(8)
        revoked = revoke_tokens(session, user)
    session.flush()
    record(session, actor.id, "user.enable" if active else "user.disable", "user", user.id,
           before={"active": not active}, after={"active": active, "tokens_revoked": revoked})


def set_roles(session: Session, actor: User, user: User, roles: list[str]) -> None:
    wanted = sorted(set(roles))
    if not wanted or any(r not in ROLES for r in wanted):
        raise ValidationFailed({"roles": [f"Roles must be among {', '.join(ROLES)}."]})
    before = user.roles
    if wanted == before:
        return
    if actor.id == user.id and "admin" not in wanted:
        raise AppError("own_account", status=409)
    kept = [row for row in user.role_rows if row.role in wanted]
    user.role_rows = kept + [UserRole(role=r) for r in wanted if r not in before]
    session.flush()
    record(session, actor.id, "user.roles", "user", user.id, before={"roles": before},
           after={"roles": wanted})


def _program(session: Session, code: str) -> Program:
    program = session.scalar(select(Program).where(Program.code == code))
    if program is None:
        raise NotFound(message=f"no program {code}")
    return program


def certify(
    session: Session,
    actor_id: int | None,
    user: User,
    program_code: str,
    tier_code: str,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> Certification:
    """Certify a creator for a quota program at a tier; a running certification ends the day before."""
    program = _program(session, program_code)
    if program.eligibility != "certified_creator":
        raise AppError("not_eligible", f"{program_code} is not certified per creator", status=422)
    if not user.has_role("creator"):
        raise AppError("not_eligible", f"{user.email} is not a creator", status=422)
    tier = session.scalar(
        select(ProgramTier).where(ProgramTier.program_id == program.id, ProgramTier.code == tier_code)
    )
    if tier is None:
        raise ValidationFailed({"tier": [f"Unknown tier {tier_code} for {program_code}."]})
    valid_from = valid_from or local_today()
    if valid_until is not None and valid_until < valid_from:
        raise ValidationFailed({"valid_until": ["Must not be before valid_from."]})
    before = None
    for running in current_certifications(session, user.id, program.id, valid_from):
        before = {"tier": running.tier.code, "valid_from": running.valid_from.isoformat()}
        # Ends the day before; one superseded on its own first day keeps that day, and the
        # newer certification wins it (latest start, then latest record).
        running.valid_until = max(running.valid_from, valid_from - timedelta(days=1))
    cert = Certification(
        user_id=user.id,
        program_id=program.id,
        tier_id=tier.id,
        valid_from=valid_from,
        valid_until=valid_until,
        recorded_by_id=actor_id,
    )
    session.add(cert)
    session.flush()
    apply_tier(session, user.id, program.id, valid_from.year, tier.code, tier.cap_fen)
    record(
        session,
        actor_id,
        "certify",
        "user",
        user.id,
        before=before,
        after={"program": program.code, "tier": tier.code, "valid_from": valid_from.isoformat()},
    )
    return cert


def create_enterprise(session: Session, actor_id: int | None, name: str, credit_code: str):
    if session.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code)):
        raise Conflict("duplicate", f"enterprise {credit_code} exists already")
    enterprise = Enterprise(name=name, credit_code=credit_code)
    session.add(enterprise)
    session.flush()
    record(session, actor_id, "enterprise.create", "enterprise", enterprise.id,
           after={"name": name, "credit_code": credit_code})
    return enterprise


def add_member(session: Session, actor_id: int | None, enterprise: Enterprise, user: User):
    if session.get(EnterpriseMember, (enterprise.id, user.id)) is None:
        session.add(EnterpriseMember(enterprise_id=enterprise.id, user_id=user.id,
                                     since=local_today()))
        session.flush()
        record(session, actor_id, "enterprise.add_member", "enterprise", enterprise.id,
               after={"user_id": user.id})


def end_membership(session: Session, actor: User, enterprise: Enterprise, user: User,
                   until: date) -> EnterpriseMember:
    """A member leaves: from the day after ``until`` the enterprise's vouchers no longer pay
    for their bookings (those booked earlier keep theirs until the day they are used).
    Administrators, or the enterprise's own account, may end a membership."""
    member = session.get(EnterpriseMember, (enterprise.id, user.id))
    if member is None:
        raise NotFound()
    if not actor.has_role("admin") and not (
            actor.has_role("enterprise")
            and session.get(EnterpriseMember, (enterprise.id, actor.id)) is not None):
        raise NotFound()
    if until < member.since:
        raise ValidationFailed({"until": ["Must not be before the member joined."]})
    before = member.until.isoformat() if member.until else None
    member.until = until
    session.flush()
    record(session, actor.id, "enterprise.end_member", "enterprise", enterprise.id,
           before={"user_id": user.id, "until": before},
           after={"user_id": user.id, "until": until.isoformat()})
    return member


def record_residency(
    session: Session,
    actor_id: int | None,
    enterprise: Enterprise,
    program_code: str,
    valid_from: date,
    valid_until: date | None = None,
) -> Residency:
    program = _program(session, program_code)
    if program.eligibility != "resident_enterprise":
        raise AppError("not_eligible", f"{program_code} is not for resident enterprises", status=422)
    if valid_until is not None and valid_until < valid_from:
        raise ValidationFailed({"valid_until": ["Must not be before valid_from."]})
    residency = Residency(
        enterprise_id=enterprise.id,
        program_id=program.id,
        valid_from=valid_from,
        valid_until=valid_until,
        recorded_by_id=actor_id,
    )
    session.add(residency)
    session.flush()
    record(session, actor_id, "residency.record", "enterprise", enterprise.id,
           after={"program": program.code, "valid_from": valid_from.isoformat(),
                  "valid_until": valid_until.isoformat() if valid_until else None})
    return residency


def mask_phone(phone: str) -> str:
    """138****1234: enough to recognise, not enough to misuse."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def describe_user(user: User, *, reveal: bool = False) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "phone": user.phone if reveal else mask_phone(user.phone),
        "roles": user.roles,
        "active": user.active,
        "email_verified": user.email_verified,
    }


def describe_certification(cert: Certification) -> dict:
    return {
        "id": cert.id,
        "program": cert.program.code,
        "tier": cert.tier.code,
        "cap_fen": cert.tier.cap_fen,
        "valid_from": cert.valid_from.isoformat(),
        "valid_until": cert.valid_until.isoformat() if cert.valid_until else None,
    }


def certifications_of(session: Session, user_id: int) -> list[Certification]:
    return list(session.scalars(
        select(Certification).where(Certification.user_id == user_id)
        .order_by(Certification.valid_from.desc(), Certification.id.desc())
    ))


def enterprises_of(user: User) -> list[dict]:
    return [
        {
            "id": m.enterprise.id,
            "name": m.enterprise.name,
            "residencies": [
                {"program": r.program.code, "valid_from": r.valid_from.isoformat(),
                 "valid_until": r.valid_until.isoformat() if r.valid_until else None}
                for r in m.enterprise.residencies
            ],
        }
        for m in user.memberships
    ]
