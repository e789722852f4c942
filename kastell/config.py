"""Configuration: the schema of ``kastell.toml``, its defaults and its loading.

Every option lives here, once, with its default and its type. The file is read
and validated once at start-up; the result is a frozen object that is passed
down. Nothing below the CLI reads the environment.

An unknown key or a value of the wrong type is reported as one line that names
the key (``kastell.toml: listen.imapx: unknown key``), never as a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CONFIG_NAME = "kastell.toml"
DEFAULT_DATA_DIR = "kastell-data"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the reason."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The embedded default of the operator contract: loopback, unprivileged ports.
DEFAULT_LISTEN: dict[str, str] = {
    "smtp": "127.0.0.1:2525",
    "submission": "127.0.0.1:2587",
    "submissions": "127.0.0.1:2465",
    "lmtp": "127.0.0.1:2424",
    "imap": "127.0.0.1:2143",
    "imaps": "127.0.0.1:2993",
    "pop3": "127.0.0.1:2110",
    "pop3s": "127.0.0.1:2995",
    "managesieve": "127.0.0.1:4190",
    "http": "127.0.0.1:8080",
    "https": "127.0.0.1:8443",
}
SERVICES = tuple(DEFAULT_LISTEN)


def parse_endpoint(value: str) -> tuple[str, int] | None:
    """``"HOST:PORT"`` → ``(host, port)``; ``"off"`` → ``None``. ``[::1]:25`` is accepted."""
    value = value.strip()
    if value == "off":
        return None
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"expected HOST:PORT or off, got {value!r}")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


class ServerConfig(_Section):
    hostname: str = Field("localhost", description="the name clients and peers know this server by")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_timeout: float = Field(4.0, gt=0, le=60, description="seconds to finish in-flight work on SIGTERM")


class DatabaseConfig(_Section):
    url: str = Field("", description="SQLAlchemy URL; empty means SQLite at DATA/kastell.db")
    # FULL: a transaction that has committed survives power loss, which is what
    # "acknowledge only what is durable" needs. NORMAL in WAL mode may lose the
    # last commits (never corrupts) on power loss; only for operators who accept that.
    sqlite_synchronous: Literal["full", "normal"] = "full"
    sqlite_busy_timeout_ms: int = Field(15000, ge=0)
    read_pool_size: int = Field(4, ge=1, le=64)


class BlobsConfig(_Section):
    backend: Literal["filesystem"] = "filesystem"
    path: str = Field("", description="directory of the blob store; empty means DATA/blobs")
    gc_grace_seconds: int = Field(3600, ge=0, description="unreferenced blobs younger than this are kept")


class TLSConfig(_Section):
    cert: str = Field("", description="PEM certificate chain; empty means DATA/tls/cert.pem (self-signed)")
    key: str = Field("", description="PEM private key; empty means DATA/tls/key.pem")


class AuthConfig(_Section):
    plaintext_without_tls_from: tuple[str, ...] = Field(
        ("127.0.0.0/8", "::1/128"),
        description="networks allowed to send passwords over unencrypted connections",
    )
    account_failures: int = Field(10, ge=1, description="failed logins per account within the window before throttling")
    ip_failures: int = Field(30, ge=1, description="failed logins per client address within the window")
    failure_window_seconds: int = Field(900, ge=1)
    failure_delay_seconds: float = Field(1.0, ge=0, le=10, description="pause before answering a failed login")
    verified_cache_seconds: int = Field(
        600, ge=0, le=86400, description="how long a successful password check is remembered (0: never)"
    )

    @field_validator("plaintext_without_tls_from")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for net in value:
            ipaddress.ip_network(net, strict=False)
        return value


class DirectoryConfig(_Section):
    subaddress_separator: str = Field("+", max_length=1, description='"user+tag@domain"; empty turns it off')


class StoreConfig(_Section):
    default_quota: str = Field("0", description="quota for new users (e.g. 2G, 500M); 0 means unlimited")
    max_message_size: str = Field("50M")
    tombstone_days: int = Field(
        90, ge=0, description="days a deleted item's trace is kept for syncing clients (0: forever)"
    )

    @field_validator("default_quota", "max_message_size")
    @classmethod
    def _size(cls, value: str) -> str:
        parse_size(value)
        return value


class SmtpConfig(_Section):
    """Inbound SMTP, submission and LMTP (kastell/protocols/smtp, kastell/mail)."""

    max_recipients: int = Field(100, ge=1, le=10000, description="RCPT commands accepted per message")
    max_messages_per_hour: int = Field(300, ge=0, description="messages one user may submit per hour; 0: no limit")
    verify_senders: bool = Field(True, description="check SPF, DKIM and DMARC of inbound mail on the MX")
    apply_dmarc_policy: bool = Field(True, description="DMARC p=reject → 550, p=quarantine → Junk")
    deliver_to_suspended: bool = Field(True, description="a suspended account still receives mail")
    timeout: float = Field(300.0, gt=0, description="seconds an idle SMTP/LMTP session may wait (RFC 5321 4.5.3.2)")
    resolve_cache_seconds: float = Field(
        5.0, ge=0, le=300, description="how long a found recipient's resolution is reused; 0: ask every time"
    )


class DeliveryConfig(_Section):
    """The outbound queue (kastell/mail/queue.py)."""

    smarthost: str = Field("", description='relay all outbound mail through "HOST:PORT"; empty: deliver to MX')
    smarthost_username: str = ""
    smarthost_password: str = ""
    smarthost_tls: Literal["starttls", "implicit", "opportunistic", "none"] = "opportunistic"
    mx_port: int = Field(25, ge=1, le=65535, description="port of remote MX hosts (25; tests change it)")
    queue_lifetime: int = Field(5 * 86400, ge=60, description="seconds before an undeliverable message bounces")
    delay_warning_after: int = Field(4 * 3600, ge=0, description="seconds before a delay DSN; 0: none")
    retry_first: int = Field(300, ge=1, description="seconds before the first retry; doubled each time")
    retry_max: int = Field(4 * 3600, ge=1, description="the longest pause between two attempts")
    concurrency: int = Field(20, ge=1, le=1000, description="deliveries in flight at once")
    per_destination: int = Field(4, ge=1, le=100, description="deliveries in flight to one domain")
    connect_timeout: float = Field(30.0, gt=0)
    dkim_sign: bool = Field(True, description="DKIM-sign submitted mail with the domain's keys")
    mta_sts: bool = Field(True, description="honour recipient domains' MTA-STS policies (RFC 8461)")

    @field_validator("smarthost")
    @classmethod
    def _smarthost(cls, value: str) -> str:
        if value:
            parse_endpoint(value)
        return value


class SieveConfig(_Section):
    max_scripts: int = Field(16, ge=1, le=1000, description="scripts one user may keep (ManageSieve)")
    max_script_size: int = Field(65536, ge=256, le=1 << 20, description="bytes per script")
    max_redirects: int = Field(4, ge=0, le=64, description="redirect actions one message may cause")
    vacation_min_period: int = Field(86400, ge=0, description="seconds; a shorter :days/:seconds is raised to it")
    vacation_max_period: int = Field(30 * 86400, ge=1, description="seconds; a longer period is lowered to it")


class ListenConfig(_Section):
    smtp: str = DEFAULT_LISTEN["smtp"]
    submission: str = DEFAULT_LISTEN["submission"]
    submissions: str = DEFAULT_LISTEN["submissions"]
    lmtp: str = DEFAULT_LISTEN["lmtp"]
    imap: str = DEFAULT_LISTEN["imap"]
    imaps: str = DEFAULT_LISTEN["imaps"]
    pop3: str = DEFAULT_LISTEN["pop3"]
    pop3s: str = DEFAULT_LISTEN["pop3s"]
    managesieve: str = DEFAULT_LISTEN["managesieve"]
    http: str = DEFAULT_LISTEN["http"]
    https: str = DEFAULT_LISTEN["https"]

    @field_validator("*")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        parse_endpoint(value)
        return value

    def endpoint(self, service: str) -> tuple[str, int] | None:
        return parse_endpoint(getattr(self, service))


class Config(_Section):
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    blobs: BlobsConfig = BlobsConfig()
    tls: TLSConfig = TLSConfig()
    auth: AuthConfig = AuthConfig()
    directory: DirectoryConfig = DirectoryConfig()
    store: StoreConfig = StoreConfig()
    smtp: SmtpConfig = SmtpConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    sieve: SieveConfig = SieveConfig()
    listen: ListenConfig = ListenConfig()


class Settings:
    """A loaded configuration bound to its data directory, with derived paths."""

    def __init__(self, data_dir: Path, config: Config) -> None:
        self.data_dir = data_dir
        self.config = config

    @property
    def database_url(self) -> str:
        url = self.config.database.url
        return url or f"sqlite+aiosqlite:///{self.data_dir / 'kastell.db'}"

    @property
    def blob_dir(self) -> Path:
        return Path(self.config.blobs.path) if self.config.blobs.path else self.data_dir / "blobs"

    @property
    def cert_path(self) -> Path:
        return Path(self.config.tls.cert) if self.config.tls.cert else self.data_dir / "tls" / "cert.pem"

    @property
    def key_path(self) -> Path:
        return Path(self.config.tls.key) if self.config.tls.key else self.data_dir / "tls" / "key.pem"

    def with_listen(self, overrides: dict[str, str]) -> Settings:
        """A copy with some listeners replaced (``--listen SERVICE=HOST:PORT|off``)."""
        listen = self.config.listen.model_dump()
        for service, value in overrides.items():
            if service not in listen:
                raise ConfigError(f"--listen: unknown service {service!r} (one of {', '.join(SERVICES)})")
            try:
                parse_endpoint(value)
            except ValueError as exc:
                raise ConfigError(f"--listen {service}: {exc}") from None
            listen[service] = value
        config = self.config.model_copy(update={"listen": ListenConfig(**listen)})
        return Settings(self.data_dir, config)


_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str | int) -> int:
    """``"2G"`` → 2147483648. Accepts K/M/G/T with optional ``B``/``iB``; raises ValueError."""
    if isinstance(text, int):
        if text < 0:
            raise ValueError("size must not be negative")
        return text
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (value[:-1], value[-1]) if value and value[-1] in _UNITS else (value, "")
    try:
        amount = float(number)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (examples: 0, 500M, 2G)") from None
    if amount < 0:
        raise ValueError("size must not be negative")
    return int(amount * _UNITS[unit])


def resolve_data_dir(option: str | None) -> Path:
    """``--data`` wins, then ``KASTELL_DATA``, then ``./kastell-data``."""
    chosen = option or os.environ.get("KASTELL_DATA") or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().absolute()


def _format_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{CONFIG_NAME}: {key}: unknown key"
    message = first["msg"].removeprefix("Value error, ")
    return f"{CONFIG_NAME}: {key}: {message}"


def validate(raw: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None


def load(data_dir: Path) -> Settings:
    """Read ``DATA/kastell.toml`` (missing file → defaults) and validate it."""
    path = data_dir / CONFIG_NAME
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{CONFIG_NAME}: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
    return Settings(data_dir, validate(raw))


def initial_toml(hostname: str) -> str:
    """The commented ``kastell.toml`` written by ``kastell init``."""
    lines = [
        "# Kastell configuration. Every key is optional; the values shown are the defaults.",
        "",
        "[server]",
        f"hostname = {_toml_str(hostname)}",
        '# log_level = "info"',
        "",
        "[database]",
        '# url = "postgresql+asyncpg://kastell@db/kastell"   # default: SQLite in this directory',
        '# sqlite_synchronous = "full"   # "full": committed mail survives power loss',
        "",
        "[blobs]",
        '# path = ""   # default: ./blobs in this directory',
        "",
        "[tls]",
        '# cert = "/etc/ssl/kastell/fullchain.pem"   # default: a self-signed certificate in ./tls',
        '# key = "/etc/ssl/kastell/privkey.pem"',
        "",
        "[listen]",
        '# SERVICE = "HOST:PORT" or "off"; production ports are 25, 587, 465, 24, 143, 993, 110, 995, 4190, 80, 443',
    ]
    lines += [f"# {service} = {_toml_str(endpoint)}" for service, endpoint in DEFAULT_LISTEN.items()]
    return "\n".join(lines) + "\n"


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
