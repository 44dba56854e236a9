"""Configuration from the environment (`HELSEGRAF_*`), with CLI flags layered on top."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from helsegraf.authz.tokens import AuthSettings
from helsegraf.registers import REGISTERS, STORES, parse_registers

HOME_FOLDER = ".helsegraf"


def default_home() -> Path:
    """Return where helsegraf keeps its files when HELSEGRAF_HOME is not set: `~/.helsegraf`."""
    return Path.home() / HOME_FOLDER


def home_from_env(env: Mapping[str, str]) -> Path:
    """Return HELSEGRAF_HOME (`~` expanded, made absolute), else `~/.helsegraf`.

    The home holds the development signing key, the embedded database and the federation's work
    files, so that `helsegraf token`, `demo` and `serve` agree whichever folder they run in.
    """
    raw = (env.get("HELSEGRAF_HOME") or "").strip()
    return Path(raw).expanduser().absolute() if raw else default_home()


def legacy_home_notice(env: Mapping[str, str], cwd: Path | None = None) -> str | None:
    """Say what to do when `./.helsegraf` (the folder older versions used) exists but is not the home.

    Older versions kept the key and the embedded database in `.helsegraf` under the current folder.
    That folder is no longer read unless HELSEGRAF_HOME points at it; nothing is moved or deleted.
    """
    legacy = (cwd or Path.cwd()) / HOME_FOLDER
    home = home_from_env(env)
    if env.get("HELSEGRAF_HOME") or not legacy.is_dir() or legacy.resolve() == home.resolve():
        return None
    return (f"{legacy} is from an older helsegraf, which kept its key and database in the current folder; "
            f"helsegraf now uses {home}. To keep using the old files: export HELSEGRAF_HOME={legacy} "
            f"(or move them: mv {legacy} {home}).")  # fmt: skip


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def normalize_url(url: str) -> str:
    """Return a SQLAlchemy URL with an explicit driver: psycopg 3 for PostgreSQL, pysqlite for SQLite."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    if url.startswith("sqlite+aiosqlite:"):
        return "sqlite:" + url.removeprefix("sqlite+aiosqlite:")
    return url


SUPPORTED_SCHEMES = ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite", "postgres", "postgresql", "postgresql+psycopg")


def check_database_url(url: str, name: str = "the database URL") -> None:
    """Raise ValueError unless `url` is a SQLite or PostgreSQL URL helsegraf can use."""
    scheme, separator, _rest = url.partition("://")
    if not separator or scheme.lower() not in SUPPORTED_SCHEMES:
        shown = redact_url(url)[:80]
        msg = (f"{name} must be sqlite:///path.db or postgresql://user@host/db "
               f"(helsegraf runs on SQLite and PostgreSQL), got {shown!r}")  # fmt: skip
        raise ValueError(msg)


def async_url(url: str) -> str:
    """Return the async-driver form of a normalised URL (aiosqlite for SQLite, psycopg as is)."""
    url = normalize_url(url)
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
    return url


def redact_url(url: str) -> str:
    """Hide the password of a database URL for printing."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}" if ":" in creds else url


def _int(env: Mapping[str, str], name: str, default: int, *, zero_means_off: bool = False) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        msg = f"{name} must be a whole number, got {raw!r}"
        raise ValueError(msg) from None
    if value < 0 or (value == 0 and not zero_means_off):
        msg = f"{name} must be {'0 (off) or more' if zero_means_off else 'positive'}, got {value}"
        raise ValueError(msg)
    return value


def _days_or_off(env: Mapping[str, str], name: str, default: int) -> int | None:
    raw = (env.get(name) or "").strip()
    if raw.lower() == "off":
        return None
    if raw.isdigit() or raw == "":
        return int(raw) if raw else default
    msg = f"{name} must be a number of days (0 or more) or off, got {raw!r}"
    raise ValueError(msg)


DEADLINE_MARGIN_S = 5.0
DEFAULT_DEADLINE_S = 60.0


@dataclass(frozen=True)
class HttpSettings:
    """The HTTP layer: limits, trusted documents, browser access, timeouts."""

    max_tokens: int = 10_000
    max_depth: int = 15
    max_aliases: int = 30
    max_cost: int = 50_000
    max_body_bytes: int = 1_000_000
    parse_cache_bytes: int = 32 * 1024 * 1024
    max_header_bytes: int = 32 * 1024  # request line and headers (`helsegraf serve`; 431 over it)
    max_headers: int = 100  # header lines (431 over it)
    request_timeout_s: float = 30.0  # to receive a whole request, head and body (408 past it)
    refusal_delay_ms: int = 0  # a QUERY_TOO_COMPLEX refusal is answered after this (0: at once)
    request_deadline_s: float | None = None  # to answer one; None: the statement timeout plus a margin (503)
    statement_timeout_ms: int = 10_000
    pool_timeout_s: float = 3.0
    trusted_documents: str | None = None
    introspection: bool = True
    graphiql: bool = True
    cors_origins: tuple[str, ...] = ()
    log_format: str = "json"
    # /readyz: a synced register more than `max_lag_s` behind is "degraded"; ready or not while so.
    max_lag_s: int = 300
    ready_while_lagging: bool = True

    @property
    def deadline_s(self) -> float:
        """Return the time a request may take to be answered: the setting, else the statement timeout plus 5 s.

        With the statement timeout off (0), 60 s.
        """
        if self.request_deadline_s is not None:
            return self.request_deadline_s
        if not self.statement_timeout_ms:
            return DEFAULT_DEADLINE_S
        return self.statement_timeout_ms / 1000 + DEADLINE_MARGIN_S

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HttpSettings:
        """Read HELSEGRAF_* variables of the HTTP layer."""
        origins = tuple(o.strip() for o in env.get("HELSEGRAF_CORS_ORIGINS", "").split(",") if o.strip())
        return cls(
            max_tokens=_int(env, "HELSEGRAF_MAX_TOKENS", cls.max_tokens),
            max_depth=_int(env, "HELSEGRAF_MAX_DEPTH", cls.max_depth),
            max_aliases=_int(env, "HELSEGRAF_MAX_ALIASES", cls.max_aliases),
            max_cost=_int(env, "HELSEGRAF_MAX_COST", cls.max_cost),
            max_body_bytes=_int(env, "HELSEGRAF_MAX_BODY_BYTES", cls.max_body_bytes),
            parse_cache_bytes=_int(env, "HELSEGRAF_PARSE_CACHE_BYTES", cls.parse_cache_bytes, zero_means_off=True),
            statement_timeout_ms=_int(
                env, "HELSEGRAF_STATEMENT_TIMEOUT_MS", cls.statement_timeout_ms, zero_means_off=True
            ),
            pool_timeout_s=_seconds(env, "HELSEGRAF_POOL_TIMEOUT_S", cls.pool_timeout_s),
            max_header_bytes=_int(env, "HELSEGRAF_MAX_HEADER_BYTES", cls.max_header_bytes),
            max_headers=_int(env, "HELSEGRAF_MAX_HEADERS", cls.max_headers),
            request_timeout_s=_seconds(env, "HELSEGRAF_REQUEST_TIMEOUT_S", cls.request_timeout_s),
            request_deadline_s=_seconds(env, "HELSEGRAF_REQUEST_DEADLINE_S", None),
            refusal_delay_ms=_int(env, "HELSEGRAF_REFUSAL_DELAY_MS", cls.refusal_delay_ms, zero_means_off=True),
            trusted_documents=env.get("HELSEGRAF_TRUSTED_DOCUMENTS") or None,
            introspection=not _off(env.get("HELSEGRAF_INTROSPECTION")),
            graphiql=not _off(env.get("HELSEGRAF_GRAPHIQL")),
            cors_origins=origins,
            log_format=env.get("HELSEGRAF_LOG_FORMAT", "json"),
            max_lag_s=_int(env, "HELSEGRAF_READY_MAX_LAG_S", cls.max_lag_s),
            ready_while_lagging=not _off(env.get("HELSEGRAF_READY_WHILE_LAGGING")),
        )


def _seconds(env: Mapping[str, str], name: str, default: float | None) -> Any:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_SECONDS:
        msg = f"{name} must be a number of seconds above 0 and at most {MAX_SECONDS:g}, got {raw[:40]!r}"
        raise ValueError(msg)
    return value


MAX_SECONDS = 3600.0


def _off(value: str | None) -> bool:
    return (value or "").strip().lower() in {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Everything helsegraf reads from its environment."""

    home: Path = field(default_factory=default_home)
    database_url: str = ""
    register_urls: Mapping[str, str] = field(default_factory=dict)
    debug: bool = False
    registers: frozenset[str] = frozenset(REGISTERS)
    auth: AuthSettings = field(default_factory=AuthSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    id_secret: str | None = None  # seals ids and cursors (authz/opaque.py); else a file under `home`
    fast_paths: bool = True  # the preloader and the executor's shortcuts (execution/); off answers the same, slower
    # Months of the access log a running server keeps (whole months before them are removed daily);
    # None keeps it all. `helsegraf prune-access-log --keep-months N` does the same once.
    access_log_retention_months: int | None = None
    # Days after a quarter end from which a server serving `statistics` publishes it by itself (checked at
    # start and hourly), so that no analyst's first table of it waits for the scan; None: only when asked.
    stats_publish_after_days: int | None = 7

    def url_for(self, store: str) -> str:
        """Return the database URL of a register or store (its own, else the shared one)."""
        return normalize_url(self.register_urls.get(store) or self.effective_database_url)

    @property
    def effective_database_url(self) -> str:
        """Return the shared database URL, defaulting to a SQLite file under `home`."""
        if self.database_url:
            return normalize_url(self.database_url)
        return f"sqlite:///{(self.home / 'helsegraf.db').as_posix()}"

    def with_database_url(self, url: str | None) -> Settings:
        """Return a copy whose shared URL is `url` (register-specific URLs still win); raise ValueError if unusable."""
        if not url:
            return self
        check_database_url(url, "--database-url")
        return replace(self, database_url=url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `environ` (default: the process environment)."""
        env = os.environ if environ is None else environ
        register_urls = {
            store: env[f"HELSEGRAF_{store.upper()}_DATABASE_URL"]
            for store in STORES
            if env.get(f"HELSEGRAF_{store.upper()}_DATABASE_URL")
        }
        for store, url in register_urls.items():
            check_database_url(url, f"HELSEGRAF_{store.upper()}_DATABASE_URL")
        if env.get("HELSEGRAF_DATABASE_URL"):
            check_database_url(env["HELSEGRAF_DATABASE_URL"], "HELSEGRAF_DATABASE_URL")
        return cls(
            home=home_from_env(env),
            database_url=env.get("HELSEGRAF_DATABASE_URL", ""),
            register_urls=register_urls,
            debug=_flag(env.get("HELSEGRAF_DEBUG")),
            registers=parse_registers(env.get("HELSEGRAF_REGISTERS")),
            auth=AuthSettings.from_env(env),
            http=HttpSettings.from_env(env),
            id_secret=env.get("HELSEGRAF_ID_SECRET") or None,
            fast_paths=not _off(env.get("HELSEGRAF_FAST_PATHS")),
            access_log_retention_months=(
                _int(env, "HELSEGRAF_ACCESS_LOG_RETENTION_MONTHS", 0, zero_means_off=True) or None
            ),
            stats_publish_after_days=_days_or_off(env, "HELSEGRAF_STATS_PUBLISH_AFTER_DAYS", 7),
        )
