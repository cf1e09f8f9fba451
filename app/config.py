"""Settings read from the environment.

Everything has a default that works on a fresh machine: a SQLite file under ``instance/``,
a secret key generated once into ``instance/secret_key``, and in-memory rate limits.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path


def _instance_secret(instance_path: Path) -> str:
    """Return the key stored in instance/, creating it the first time."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _normalise_database_url(url: str) -> str:
    # Operators paste "postgres://" or "postgresql://" URLs; we speak psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def web_worker_count(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """How many worker processes serve this app, as far as its own start can tell.

    Under gunicorn: ``-w``/``--workers`` on its command line or in ``GUNICORN_CMD_ARGS``, else
    ``WEB_CONCURRENCY``, which gunicorn also reads as its default. One otherwise.
    """
    workers = environ.get("WEB_CONCURRENCY", "1")
    if argv and Path(argv[0]).name == "gunicorn":
        parser = argparse.ArgumentParser(add_help=False)
        parser.add_argument("-w", "--workers")
        for args in (shlex.split(environ.get("GUNICORN_CMD_ARGS", "")), argv[1:]):
            given = parser.parse_known_args(args)[0].workers
            workers = given or workers
    return int(workers) if str(workers).isdigit() else 1


def _secret_text(env, name: str) -> str:
    """A key given inline (``NAME``) or as a file (``NAME_FILE``), as PEM keys usually are."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    return Path(path).read_text() if path else ""


def payment_settings(env) -> dict:
    """Online payment: a provider is offered only when all of its settings are present."""
    return {
        "WECHATPAY_MCHID": env.get("WECHATPAY_MCHID", ""),
        "WECHATPAY_APPID": env.get("WECHATPAY_APPID", ""),
        "WECHATPAY_API_V3_KEY": env.get("WECHATPAY_API_V3_KEY", ""),
        "WECHATPAY_CERT_SERIAL_NO": env.get("WECHATPAY_CERT_SERIAL_NO", ""),
        "WECHATPAY_PRIVATE_KEY": _secret_text(env, "WECHATPAY_PRIVATE_KEY"),
        "WECHATPAY_PUBLIC_KEY": _secret_text(env, "WECHATPAY_PUBLIC_KEY"),
        "WECHATPAY_PUBLIC_KEY_ID": env.get("WECHATPAY_PUBLIC_KEY_ID", ""),
        "WECHATPAY_GATEWAY": env.get("WECHATPAY_GATEWAY", ""),
        "ALIPAY_APPID": env.get("ALIPAY_APPID", ""),
        "ALIPAY_APP_PRIVATE_KEY": _secret_text(env, "ALIPAY_APP_PRIVATE_KEY"),
        "ALIPAY_PUBLIC_KEY": _secret_text(env, "ALIPAY_PUBLIC_KEY"),
        "ALIPAY_GATEWAY": env.get("ALIPAY_GATEWAY", ""),
        "PAYMENT_QUERY_AFTER_MINUTES": int(env.get("PAYMENT_QUERY_AFTER_MINUTES", "5")),
    }


def load_settings(instance_path: Path) -> dict:
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'venuebook.sqlite3'}"
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": _normalise_database_url(database_url),
        # No ping per checkout: a round trip on every request. Connections the server closed are
        # replaced at checkout without one (app.core.db.install_connection_recovery).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "TIMEZONE": env.get("TIMEZONE", "Asia/Shanghai"),
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_Hans_CN", "en"],
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Retry-After is written by the 429 answer itself, from the wait its message states
        "RATELIMIT_HEADER_RETRY_AFTER": "X-RateLimit-Retry-After",
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # failed attempts per account, from any address: what spreading guesses cannot escape
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get("LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes"),
        # reverse proxies in front of the app whose X-Forwarded-* headers are believed
        "TRUSTED_PROXY_HOPS": int(env.get("TRUSTED_PROXY_HOPS", "0")),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_FROM": env.get("MAIL_FROM", "noreply@venuebook.local"),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "PUBLIC_URL": env.get("PUBLIC_URL", ""),
        "LOG_JSON": env.get("LOG_JSON", "1") == "1",
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
        # How long a process may answer the published list without asking which version is
        # current (a version never changes; publishing in this process is seen at once).
        "LIST_VERSION_TTL_SECONDS": float(env.get("LIST_VERSION_TTL_SECONDS", "1")),
        **payment_settings(env),
        # operations (README "Operations")
        "BACKUP_DIR": env.get("BACKUP_DIR") or str(instance_path / "backups"),
        "BACKUP_KEEP": int(env.get("BACKUP_KEEP", "14")),
        "SCHEDULER_HEARTBEAT_MAX_AGE": int(env.get("SCHEDULER_HEARTBEAT_MAX_AGE", "600")),
        "OUTBOX_MAX_LAG": int(env.get("OUTBOX_MAX_LAG", "3600")),
        # personal information (PIPL): how long money records keep a re-identification key,
        # and how long notification texts (which carry names and times) are kept
        "RETENTION_FINANCE_YEARS": int(env.get("RETENTION_FINANCE_YEARS", "30")),
        "RETENTION_NOTIFICATION_DAYS": int(env.get("RETENTION_NOTIFICATION_DAYS", "365")),
    }
