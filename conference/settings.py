"""All settings come from environment variables, read once here (documented in README.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def _secret_key() -> str:
    """A secret from the environment, else one generated once and kept under var/.

    Keeping it on disk means sessions and CSRF tokens survive restarts and are shared by every
    process started from this checkout, without asking a first-time user to invent a key.
    """
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR / "secret_key"
    if not path.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _weight(name: str, default: str) -> float:
    """A share between 0 and 1 (0.3 means 30%)."""
    value = float(os.environ.get(name, default))
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return value


def _count(name: str, default: str) -> int:
    """A small whole number (0–60)."""
    value = int(os.environ.get(name, default))
    if not 0 <= value <= 60:
        raise ValueError(f"{name} must be between 0 and 60, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get("DATABASE_URL", f"sqlite:///{VAR / 'conference.sqlite3'}")
    )
    secret_key: str = field(default_factory=_secret_key)
    base_url: str = field(default_factory=lambda: os.environ.get("BASE_URL", "http://127.0.0.1:8000"))
    time_zone: str = field(default_factory=lambda: os.environ.get("TIME_ZONE", "Asia/Shanghai"))
    smtp_host: str = field(default_factory=lambda: os.environ.get("SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: int(os.environ.get("SMTP_PORT", "25")))
    smtp_user: str = field(default_factory=lambda: os.environ.get("SMTP_USER", ""))
    smtp_password: str = field(default_factory=lambda: os.environ.get("SMTP_PASSWORD", ""))
    smtp_security: str = field(default_factory=lambda: os.environ.get("SMTP_SECURITY", "none"))  # none|starttls|ssl
    mail_from: str = field(default_factory=lambda: os.environ.get("MAIL_FROM", "lxhy-office@example.gov.cn"))
    session_days: int = field(default_factory=lambda: int(os.environ.get("SESSION_DAYS", "7")))
    # Cookies marked Secure only when served over https, so that http://127.0.0.1 works out of the box.
    # How often each server process runs the reminder job (seconds); 0 turns it off.
    reminder_interval: int = field(default_factory=lambda: int(os.environ.get("REMINDER_INTERVAL", "3600")))
    db_pool_size: int = field(default_factory=lambda: int(os.environ.get("DB_POOL_SIZE", "10")))
    # E-mail delivery from the outbox (conference.mail): how often each server process sends (seconds,
    # 0 turns it off), how long temporary failures are retried before a message is dead-lettered
    # (hours; a relay outage over a night or a weekend day must not lose mail), the first retry delay
    # (doubled on every failure; at least 30 s, at most an hour), the SMTP timeout, and where messages
    # go as .eml files when SMTP_HOST is empty.
    mail_interval: int = field(default_factory=lambda: int(os.environ.get("MAIL_INTERVAL", "15")))
    mail_retry_hours: float = field(default_factory=lambda: float(os.environ.get("MAIL_RETRY_HOURS", "24")))
    mail_retry_seconds: int = field(default_factory=lambda: int(os.environ.get("MAIL_RETRY_SECONDS", "60")))
    # A published minutes PDF up to this size travels as an attachment of the distribution e-mail;
    # a larger one as its download link (many mail servers refuse messages over 10-25 MB).
    mail_attachment_max_bytes: int = field(
        default_factory=lambda: int(os.environ.get("MAIL_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))))
    smtp_timeout: float = field(default_factory=lambda: float(os.environ.get("SMTP_TIMEOUT", "30")))
    mail_outbox_dir: str = field(default_factory=lambda: os.environ.get("MAIL_OUTBOX_DIR", ""))
    # Webhooks and group robots (conference.integrations): how often each server process delivers
    # (seconds, 0 turns it off), how long failures are retried before a delivery is dead (hours), the
    # first retry delay (doubled per failure, at most an hour), the HTTP timeout; and, for tests and
    # local trials only, whether http:// on a loopback address (127.0.0.1, ::1) is accepted. Otherwise
    # only https:// to public addresses is ever fetched (no private, loopback or link-local targets).
    webhook_interval: int = field(default_factory=lambda: int(os.environ.get("WEBHOOK_INTERVAL", "15")))
    webhook_retry_hours: float = field(default_factory=lambda: float(os.environ.get("WEBHOOK_RETRY_HOURS", "24")))
    webhook_retry_seconds: float = field(default_factory=lambda: float(os.environ.get("WEBHOOK_RETRY_SECONDS", "30")))
    webhook_timeout: float = field(default_factory=lambda: float(os.environ.get("WEBHOOK_TIMEOUT", "10")))
    webhook_allow_http_loopback: bool = field(
        default_factory=lambda: os.environ.get("WEBHOOK_ALLOW_HTTP_LOOPBACK", "").lower() in ("1", "true", "yes"))
    # The office mailbox where calendar programs send their replies (the ORGANIZER, MAIL_FROM), read
    # over IMAP (conference.mail.inbox): reading is off while IMAP_HOST is empty; IMAP_SSL true means
    # implicit TLS (port 993 by default, else 143); messages with a calendar reply are moved from
    # IMAP_FOLDER to IMAP_PROCESSED_FOLDER; each server process reads every IMAP_INTERVAL seconds (0: off).
    imap_host: str = field(default_factory=lambda: os.environ.get("IMAP_HOST", ""))
    imap_ssl: bool = field(default_factory=lambda: os.environ.get("IMAP_SSL", "true").lower() in ("1", "true", "yes"))
    imap_port: int = field(default_factory=lambda: int(os.environ.get("IMAP_PORT", "0")))
    imap_user: str = field(default_factory=lambda: os.environ.get("IMAP_USER", ""))
    imap_password: str = field(default_factory=lambda: os.environ.get("IMAP_PASSWORD", ""))
    imap_folder: str = field(default_factory=lambda: os.environ.get("IMAP_FOLDER", "INBOX"))
    imap_processed_folder: str = field(default_factory=lambda: os.environ.get("IMAP_PROCESSED_FOLDER", "Processed"))
    imap_interval: int = field(default_factory=lambda: int(os.environ.get("IMAP_INTERVAL", "300")))
    # Share of a unit's annual assessment given by the streets' evaluation (the "five powers"
    # reform: at least 30% for departments, 60% for dispatched agencies); see conference.supervision.
    assessment_weight_department: float = field(
        default_factory=lambda: _weight("ASSESSMENT_WEIGHT_DEPARTMENT", "0.30"))
    assessment_weight_agency: float = field(default_factory=lambda: _weight("ASSESSMENT_WEIGHT_AGENCY", "0.60"))
    # A task is "due soon" (yellow alert, /supervision yellow list) when its deadline is within this
    # many working days; see conference.tasks.services.yellow_until.
    supervision_yellow_workdays: int = field(default_factory=lambda: _count("SUPERVISION_YELLOW_WORKDAYS", "3"))
    # A folder holding the office's licensed fonts (方正小标宋简体, 仿宋_GB2312, 黑体, 楷体_GB2312):
    # every PDF uses them first (conference.minutes.fonts); empty: Debian's Noto CJK stand in.
    fonts_dir: str = field(default_factory=lambda: os.environ.get("FONTS_DIR", ""))

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def __post_init__(self) -> None:
        if not self.imap_port:  # the protocol's port for the chosen transport
            object.__setattr__(self, "imap_port", 993 if self.imap_ssl else 143)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def outbox_dir(self) -> Path:
        """MAIL_OUTBOX_DIR, else outbox/ beside the SQLite file (var/outbox/ by default), else var/outbox/."""
        if self.mail_outbox_dir:
            return Path(self.mail_outbox_dir)
        if not self.is_postgres:
            return self.sqlite_path.parent / "outbox"
        return VAR / "outbox"


_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings()
    return _settings


def reset_settings() -> Settings:
    """Re-read the environment (tests switch databases this way)."""
    global _settings
    _settings = Settings()
    return _settings
