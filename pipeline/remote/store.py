"""A remote by URL, opened through obstore (the Python binding of Rust's ``object_store``).

``s3://bucket/prefix`` reads the standard AWS environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``; a plain-http
endpoint when ``AWS_ALLOW_HTTP=true``) and, for what it leaves unset, the shared files
(``~/.aws/credentials``, ``~/.aws/config``, profile ``$AWS_PROFILE``); ``gs://`` and ``az://`` (``abfs://``) read their own
(``GOOGLE_SERVICE_ACCOUNT``, ``AZURE_STORAGE_ACCOUNT_NAME`` ...); ``file:///path`` is a directory (a
shared drive); ``https://host/prefix`` is a static host of pushed snapshots, read only.

Every request has a connect timeout of 3 s, a stall timeout of 8 s per read, and at most two retries
within 6 s, so an unreachable endpoint fails in seconds. :func:`remote_error` turns the store's
exceptions into one :class:`~pipeline.base.errors.UserError` line saying what to check.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.base.errors import UserError

if TYPE_CHECKING:
    from obstore.store import ClientConfig, ObjectStore, RetryConfig, S3Config

SCHEMES = ("s3", "gs", "az", "abfs", "azure", "file", "https", "http")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
CONNECT_TIMEOUT = "3s"
READ_TIMEOUT = "8s"  # a read that stalls this long fails (and is retried)
REQUEST_TIMEOUT = "1h"  # a whole request: a large object on a slow link
MAX_RETRIES = 2
RETRY_WITHIN = dt.timedelta(seconds=6)


def is_remote(text: str) -> bool:
    """Whether a snapshot argument names a remote (``scheme://...``) rather than a local path."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


@dataclass(frozen=True)
class Remote:
    """A remote prefix: its URL without a trailing slash (``s3://bucket/team``)."""

    url: str

    @classmethod
    def parse(cls, text: str) -> Remote:
        if not is_remote(text):
            raise UserError(
                f"{text!r} is not a remote; give s3://bucket/prefix, gs://, az://, file:///path or https://"
            )
        scheme, _, rest = text.partition("://")
        rest = rest.rstrip("/")
        if scheme.lower() != "file" and not rest:
            raise UserError(f"{text!r} names no bucket; give {scheme}://bucket[/prefix]")
        if scheme.lower() == "file" and not rest.startswith("/"):
            raise UserError(f"{text!r}: a file remote needs an absolute path, file:///path/to/dir")
        return cls(f"{scheme.lower()}://{rest}")

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0]

    @property
    def read_only(self) -> bool:
        return self.scheme in {"http", "https"}

    def open(self, *, create: bool = False) -> ObjectStore:
        """The store at this prefix (``create``: make a missing ``file://`` directory)."""
        from obstore.store import from_url

        try:
            if self.scheme == "file":
                path = self.url.removeprefix("file://")
                if not create and not os.path.isdir(path):
                    raise UserError(f"{self.url}: no such directory; check the path or push there first")
                os.makedirs(path, exist_ok=True)
                return from_url(self.url + "/")
            client: ClientConfig = {
                "connect_timeout": CONNECT_TIMEOUT,
                "read_timeout": READ_TIMEOUT,
                "timeout": REQUEST_TIMEOUT,
            }
            if self.scheme == "http" or os.environ.get("AWS_ALLOW_HTTP", "").lower() in {"1", "true", "yes"}:
                client["allow_http"] = True
            retry: RetryConfig = {
                "max_retries": MAX_RETRIES,
                "retry_timeout": RETRY_WITHIN,
                "backoff": {"init_backoff": dt.timedelta(milliseconds=100), "max_backoff": dt.timedelta(seconds=2)},
            }
            if self.scheme == "s3":
                return from_url(self.url, config=aws_shared_config(), client_options=client, retry_config=retry)
            return from_url(self.url, client_options=client, retry_config=retry)
        except UserError:
            raise
        except Exception as exc:  # obstore's configuration errors (an unknown scheme, a bad key, ...)
            raise UserError(f"cannot open {self.url}: {first_line(exc)}") from None

    def ref(self, name: str) -> str:
        return f"{self.url}/{name}"


def aws_shared_config() -> S3Config:
    """What the AWS shared files give (``~/.aws/credentials`` and ``~/.aws/config``, or
    ``$AWS_SHARED_CREDENTIALS_FILE`` / ``$AWS_CONFIG_FILE``; the profile ``$AWS_PROFILE`` or
    ``default``) for the settings the environment leaves unset: obstore reads only the environment."""
    import configparser

    profile = os.environ.get("AWS_PROFILE") or "default"
    home = os.path.expanduser("~")
    sections: dict[str, str] = {}
    for env, default, section in (
        ("AWS_CONFIG_FILE", f"{home}/.aws/config", "default" if profile == "default" else f"profile {profile}"),
        ("AWS_SHARED_CREDENTIALS_FILE", f"{home}/.aws/credentials", profile),
    ):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(os.environ.get(env) or default, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {os.environ.get(env) or default}: {first_line(exc)}") from None
        if parser.has_section(section):
            sections |= dict(parser.items(section))
    config: S3Config = {}
    for key, env_names, option in (
        ("access_key_id", ("AWS_ACCESS_KEY_ID",), "aws_access_key_id"),
        ("secret_access_key", ("AWS_SECRET_ACCESS_KEY",), "aws_secret_access_key"),
        ("session_token", ("AWS_SESSION_TOKEN",), "aws_session_token"),
        ("region", ("AWS_REGION", "AWS_DEFAULT_REGION"), "region"),
        ("endpoint", ("AWS_ENDPOINT_URL", "AWS_ENDPOINT"), "endpoint_url"),
    ):
        if option in sections and not any(os.environ.get(e) for e in env_names):
            config[key] = sections[option]  # type: ignore[literal-required]
    if os.environ.get("AWS_ACCESS_KEY_ID"):  # credentials from the environment: never mixed with a file's
        config.pop("secret_access_key", None)
        config.pop("session_token", None)
    return config


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(
            f"{name!r} is not a snapshot name: use letters, digits, '.', '_' and '-' (starting with a letter or digit)"
        )
    return name


def parse_ref(text: str) -> tuple[Remote, str]:
    """``REMOTE/NAME`` -> (remote, name)."""
    if not is_remote(text):
        raise UserError(f"{text!r} is not a remote snapshot; give REMOTE/NAME, e.g. s3://bucket/team/ai-success-seed42")
    rest = text.partition("://")[2].rstrip("/")
    if "/" not in rest.lstrip("/"):
        raise UserError(f"{text!r} names no snapshot; give REMOTE/NAME (demoseed ls REMOTE lists the names)")
    head, _, name = text.rstrip("/").rpartition("/")
    return Remote.parse(head), check_name(name)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[0].split())[:300] if text else type(exc).__name__


def is_unreachable(exc: BaseException) -> bool:
    """An error of the network (no answer, refused, timed out) rather than of the request."""
    text = str(exc)
    return any(
        s in text
        for s in (
            "error sending request",
            "connection refused",
            "Connection refused",
            "timed out",
            "dns error",
            "tcp connect",
        )
    )


def store_errors() -> tuple[type[Exception], ...]:
    """What obstore raises for a failed request: its own exceptions, and builtin ones for some (a missing
    object is a FileNotFoundError, an operation a store lacks a NotImplementedError)."""
    import obstore.exceptions as oe

    return (oe.BaseError, FileNotFoundError, NotImplementedError, ConnectionError, TimeoutError)


def remote_error(exc: BaseException, remote: Remote, what: str) -> UserError:
    """One line for a failed request on ``remote`` (``what``: the object or operation)."""
    import obstore.exceptions as oe

    text = str(exc)
    if isinstance(exc, oe.PermissionDeniedError | oe.UnauthenticatedError) or " 403 " in text or " 401 " in text:
        return UserError(
            f"{remote.url}: access denied ({what}); check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "or the store's own) and that they may read and write this bucket"
        )
    if "NoSuchBucket" in text or "bucket does not exist" in text.lower():
        return UserError(f"{remote.url}: the bucket does not exist; create it or check the URL")
    if is_unreachable(exc):
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "") if remote.scheme == "s3" else ""
        where = f" (endpoint {endpoint})" if endpoint else ""
        return UserError(f"cannot reach {remote.url}{where}: {first_line(exc)}; check the network and AWS_ENDPOINT_URL")
    return UserError(f"{remote.url}: {what} failed: {first_line(exc)}")
