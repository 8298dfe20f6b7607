"""One settings style for every service: pydantic-settings models read from the environment.

Each field names its environment variable (``Field(validation_alias="GATEWAY_PORT")``, the
names of docs/configuration.md), pydantic converts and validates it, and a bad value stops the
service at start with a message that names the variable. Two ways to build settings:

* ``Settings.from_env(environ=None)``: the process environment (or the given mapping, for tests);
  only that mapping, so a test's own environment never leaks in;
* ``Settings(field=...)``: defaults plus what is given, nothing read (tests, the devstack);
  ``settings.model_copy(update={...})`` derives one from another.

The shared ``ACS_*`` variables are defined once here (``CommonSettings``, ``KafkaSettings``) and
every service's settings class inherits them. Secrets are plain ``str``/``bytes`` fields with
``repr=False`` (not ``SecretStr``, which every caller would have to unwrap): they stay out of a
logged or printed settings object.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, get_args, get_origin

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _switch(v: Any) -> Any:
    """``on``/``off``, ``true``/``false``, ``yes``/``no``, ``1``/``0`` in any case; others are refused."""
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise ValueError(f"expected on/off, true/false, yes/no or 1/0, not {v!r}")
    return v


def _lower(v: Any) -> Any:
    return v.strip().lower() if isinstance(v, str) else v


def _utf8(v: Any) -> Any:
    return v.encode() if isinstance(v, str) else v


def _empty_is(default: Any) -> BeforeValidator:
    """An empty variable means unset: its ``default`` (where the old readers used ``or``)."""
    return BeforeValidator(lambda v: default if v == "" else v)


Switch = Annotated[bool, BeforeValidator(_switch)]
"""A boolean variable spelled on/off, true/false, yes/no or 1/0."""
Lower = BeforeValidator(_lower)
"""Enumerations compare case-insensitively (``GATEWAY_CPE_AUTH=Digest``)."""
Utf8Bytes = Annotated[bytes, BeforeValidator(_utf8)]
"""A secret given as text and used as key bytes (HMAC keys)."""
EmptyIs = _empty_is


def env(name: str, default: Any = ..., **kw: Any) -> Any:
    """A field read from the environment variable ``name`` (and settable by its field name)."""
    return Field(default, validation_alias=name, **kw)


class EnvSettings(BaseSettings):
    """Base of every settings class: frozen, names exact (case-sensitive), by variable or field name."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=True, validate_by_name=True,
                                      validate_by_alias=True, extra="ignore", enable_decoding=False,
                                      hide_input_in_errors=True)  # a bad secret is not printed

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # ``Settings(...)`` reads nothing; ``from_env`` reads the environment

    @classmethod
    def env_values(cls, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The variables of this class found in ``environ`` (default ``os.environ``), by variable name."""
        e = os.environ if environ is None else environ
        # Every field names its variable (``env``); the values go to validation as the text they
        # are (enable_decoding=False: no JSON guessing), exactly as pydantic-settings' own source
        # would pass them, without reaching into its private loader.
        aliases = (f.validation_alias for f in cls.model_fields.values())
        return {a: e[a] for a in aliases if isinstance(a, str) and a in e}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings from ``environ`` (default ``os.environ``); a bad value raises
        ``pydantic.ValidationError`` (a ``ValueError``) naming the variable."""
        e = os.environ if environ is None else environ
        return cls(**cls.env_values(e), **cls.nested_from_env(e))

    @classmethod
    def nested_from_env(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        """Nested settings (``kafka``, ``security``), each read from the same environment."""
        return {}

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Every environment variable this class reads -> its field (dotted for nested settings)."""
        names: dict[str, str] = {}
        for name, f in cls.model_fields.items():
            if isinstance(f.validation_alias, str):
                names[f.validation_alias] = name
            for t in (f.annotation, *get_args(f.annotation)):
                if isinstance(t, type) and issubclass(t, EnvSettings):
                    names.update({var: f"{name}.{sub}" for var, sub in t.variables().items()})
        return names

    @classmethod
    def typed_variables(cls) -> set[str]:
        """The variables whose value can be wrong: numbers, switches, enumerations (text never is)."""
        found: set[str] = set()
        for f in cls.model_fields.values():
            if isinstance(f.validation_alias, str):
                t = f.annotation
                if t in (int, float, bool) or get_origin(t) is Literal or int in get_args(t):
                    found.add(f.validation_alias)
            for t in (f.annotation, *get_args(f.annotation)):
                if isinstance(t, type) and issubclass(t, EnvSettings):
                    found |= t.typed_variables()
        return found


def documented(markdown: str, section: str) -> set[str]:
    """The variables the table of ``## <section>`` in docs/configuration.md lists (first column)."""
    m = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## )", markdown, re.S | re.M)
    if m is None:
        raise KeyError(f"no section {section!r}")
    rows = [line.split("|")[1] for line in m.group(1).splitlines() if line.startswith("| `")]
    return {v for cell in rows for v in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}


class KafkaSettings(EnvSettings):
    """``ACS_KAFKA_*``: how every service reaches Kafka (acs_contracts.kafka_client)."""

    bootstrap: str = env("ACS_KAFKA_BOOTSTRAP", "")  # empty: 127.0.0.1:9092 (the inventory: no audit log on Kafka)
    security_protocol: Annotated[str, BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)] = env(
        "ACS_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    ssl_cafile: str = env("ACS_KAFKA_SSL_CAFILE", "")
    sasl_mechanism: str = env("ACS_KAFKA_SASL_MECHANISM", "PLAIN")
    sasl_username: str = env("ACS_KAFKA_SASL_USERNAME", "")
    sasl_password: str = env("ACS_KAFKA_SASL_PASSWORD", "", repr=False)
    idempotence: Switch = env("ACS_KAFKA_IDEMPOTENCE", True)
    replication_factor: Annotated[int, EmptyIs(0)] = env("ACS_KAFKA_REPLICATION_FACTOR", 0)  # 0: brokers, up to 3
    min_insync_replicas: Annotated[int, EmptyIs(0)] = env("ACS_KAFKA_MIN_INSYNC_REPLICAS", 0)  # 0: the broker's


class CommonSettings(EnvSettings):
    """The shared ``ACS_*`` variables (docs/configuration.md, "Shared"), inherited by every service.

    ``ACS_CREDENTIALS_KEYS`` and ``ACS_GC_GEN0_THRESHOLD`` are read where they are used, once, in
    this package (``cpe_secrets``, ``gc_tuning``), also by tools that have no service settings."""

    mongodb_uri: str = env("ACS_MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true")
    mongodb_database: str = env("ACS_MONGODB_DATABASE", "acs")
    log_level: str = env("ACS_LOG_LEVEL", "INFO")
    session_events_partitions: int = env("ACS_SESSION_EVENTS_PARTITIONS", 12)
    kafka: KafkaSettings | None = None  # from_env sets it; None: the process environment's, when a client starts

    @classmethod
    def nested_from_env(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        return {"kafka": KafkaSettings.from_env(environ)}


__all__ = ["CommonSettings", "EmptyIs", "EnvSettings", "KafkaSettings", "Lower",
           "Switch", "Utf8Bytes", "documented", "env"]
