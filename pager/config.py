"""YAML → frozen, validated, cross-referenced configuration.

Every error names its YAML path (`escalation_policies[0].steps[1].ack_timeout: ...`)
and all of them are reported at once, so one run of `pager check-config` shows
everything to fix. Secrets never live in the file: `*_env` keys name
environment variables, read by `load` into `Settings.secrets`.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
import pathlib
import re
import sys
import typing

import pydantic
import yaml

from pager import channels, matchers, models, values

INGEST_TYPES = ("alertmanager", "events_v2", "grafana", "generic")
GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
ChannelName = channels.Name


class ConfigError(Exception):
    """The file cannot be used; `errors` holds one 'path: message' line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class Server(values.Model):
    listen: str = "127.0.0.1:8080"
    public_url: str | None = None
    # The web UI behind an authenticating proxy: the header that names the user (id or email).
    trusted_user_header: str | None = pydantic.Field(default=None, pattern=r"^[A-Za-z0-9-]+$")

    @pydantic.field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"expected host:port such as 127.0.0.1:8080, got {v!r}")
        return v

    @pydantic.field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"expected an http(s) URL such as https://pager.example.com, got {v!r}")
        return v.rstrip("/") if v else v

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]") or "0.0.0.0"

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    def base_url(self) -> str:
        return self.public_url or f"http://{self.listen}"


class Database(values.Model):
    url: str | None = None
    url_env: values.EnvName = "PAGER_DATABASE_URL"
    pool_min: int = pydantic.Field(default=2, ge=0)
    pool_max: int = pydantic.Field(default=10, ge=1)


class User(values.Model):
    id: values.Ident
    name: str | None = None
    phone: values.Phone | None = None
    email: str | None = pydantic.Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    time_zone: values.TimeZone = "UTC"
    slack_id: str | None = pydantic.Field(default=None, pattern=r"^[UW][A-Z0-9]{2,}$")  # who presses Slack buttons

    @property
    def display_name(self) -> str:
        return self.name or self.id

    def address(self, channel: str) -> str | None:
        """Where a page on `channel` goes; None when the user has no such contact."""
        spec = channels.REGISTRY.get(channel)
        return spec.address(self) if spec else None


class Override(values.Model):
    """`user` is on call in place of the rotation (or only of `replaces`) from `start` to `end`.

    Later overrides win where they overlap.
    """

    user: values.Ident
    start: values.LocalTime
    end: values.LocalTime
    replaces: values.Ident | None = None

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> Override:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Rotation(values.Model):
    id: values.Ident
    time_zone: values.TimeZone = "UTC"
    shift: values.Duration = datetime.timedelta(weeks=1)
    handoff: values.LocalTime = datetime.datetime(2026, 1, 5, 9, 0)
    members: list[values.Ident] = []
    overrides: list[Override] = []

    @pydantic.field_validator("shift")
    @classmethod
    def _shift(cls, v: datetime.timedelta) -> datetime.timedelta:
        if v < datetime.timedelta(minutes=1):
            raise ValueError("a shift must last at least 1m")
        if v > values.MAX_SHIFT:  # beyond it handoffs are centuries apart and leave datetime's range
            raise ValueError("a shift must last at most 52w")
        return v


class ActiveWindow(values.Model):
    """A layer applies on these days between these local times.

    `to` before `from` crosses midnight, and the window belongs to the day it
    opens on; `from` equal to `to` means the whole day.
    """

    days: values.Days = tuple(range(7))
    start: values.ClockTime = pydantic.Field(default=datetime.time(0, 0), alias="from")
    end: values.ClockTime = pydantic.Field(default=datetime.time(0, 0), alias="to")


class Layer(values.Model):
    rotation: values.Ident
    active: list[ActiveWindow] = []


class Schedule(values.Model):
    """Rotations stacked as layers; a later layer wins wherever it is active and has someone on call."""

    id: values.Ident
    time_zone: values.TimeZone = "UTC"
    layers: list[Layer] = pydantic.Field(min_length=1)
    overrides: list[Override] = []


class Step(values.Model):
    targets: list[values.Target] = pydantic.Field(min_length=1)
    ack_timeout: values.Duration = datetime.timedelta(minutes=5)


class EscalationPolicy(values.Model):
    id: values.Ident
    repeat: int = pydantic.Field(default=0, ge=0, le=100)
    steps: list[Step] = pydantic.Field(min_length=1)


class Rule(values.Model):
    matchers: list[values.Matcher] = []
    priority: values.PriorityKey
    min_firing: int | None = pydantic.Field(default=None, ge=1, le=100_000)
    """Blast radius: the rule ranks an incident once this many of its firing alerts match it (one alert alone: never)."""


class PriorityPolicy(values.Model):
    channels: list[ChannelName] = ["sms", "email"]
    escalate: bool = True
    ack_within: values.Duration | None = None  # response targets: a breach is on the timeline and counted
    resolve_within: values.Duration | None = None
    update_every: values.Duration | None = None  # status-update cadence: overdue → the commander is reminded
    stable_for: values.Duration | None = None  # alerts cleared → stabilizing this long before it resolves
    ack_expires: values.Duration | None = None  # acknowledged and unresolved this long -> triggered again


DEFAULT_CLASSIFICATION = (
    Rule(matchers=[matchers.parse('severity="critical"')], priority=models.Priority.P0),
    Rule(matchers=[matchers.parse('severity=~"error|major"')], priority=models.Priority.P1),
    Rule(matchers=[matchers.parse('severity="warning"')], priority=models.Priority.P2),
    Rule(priority=models.Priority.P3),
)
DEFAULT_PRIORITIES = {
    models.Priority.P0: PriorityPolicy(channels=["sms", "email"]),
    models.Priority.P1: PriorityPolicy(channels=["sms", "email"]),
    models.Priority.P2: PriorityPolicy(channels=["email"]),
    models.Priority.P3: PriorityPolicy(channels=["email"], escalate=False),
}


class Service(values.Model):
    id: values.Ident
    name: str | None = None
    escalation_policy: values.Ident | None = None
    matchers: list[values.Matcher] = []
    time_zone: values.TimeZone | None = None  # reports and post-mortems show local time here too (else UTC)
    slack_channel: str | None = pydantic.Field(
        default=None, min_length=2
    )  # "#ops" or "C0123ABCD": one message per incident


WEBHOOK_EVENTS = ("triggered", "acknowledged", "resolved", "status_update")


class Webhook(values.Model):
    """An outgoing webhook: the incident's news POSTed to a URL, signed `X-Pager-Signature: sha256=<hex>`.

    `format: slack` is Slack's and Mattermost's incoming-webhook body (`text`, `attachments`).
    """

    id: values.Ident
    url_env: values.EnvName
    events: list[typing.Literal[WEBHOOK_EVENTS]] = list(WEBHOOK_EVENTS)  # type: ignore[valid-type]
    secret_env: values.EnvName | None = None
    format: typing.Literal["json", "slack"] = "json"
    services: list[values.Ident] = []  # empty: every service


class Stakeholder(values.Model):
    """People told about incidents by email, never paged: declared, every status update, the all clear."""

    id: values.Ident
    emails: list[values.Email] = pydantic.Field(min_length=1)
    priorities: list[values.PriorityKey] = list(models.Priority)
    services: list[values.Ident] = []  # none: every service

    def wants(self, service: str, priority: models.Priority) -> bool:
        return priority in self.priorities and (not self.services or service in self.services)


class StatusPage(values.Model):
    """The public page at /status: these services, with the open incidents' status updates and nothing else."""

    title: str = "Status"
    services: list[values.Ident] = []


class GenericFields(values.Model):
    """Where a generic integration finds each field in the body, in JSONPath; `summary` is required."""

    summary: values.JSONPath
    dedup_key: values.JSONPath | None = None
    severity: values.JSONPath | None = None
    status: values.JSONPath | None = None
    resolved_when: list[str] = []  # values of `status` that mean resolved (compared without case)

    @pydantic.field_validator("resolved_when", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, (str, int, float, bool)) else v

    @pydantic.field_validator("resolved_when", mode="after")
    @classmethod
    def _as_text(cls, v: list[str]) -> list[str]:
        return [str(item) for item in v]

    @pydantic.model_validator(mode="after")
    def _status_needs_values(self) -> GenericFields:
        if (self.status is None) != (not self.resolved_when):
            raise ValueError("status and resolved_when go together: which values of status mean resolved")
        return self


class Integration(values.Model):
    """`token_env` is the Bearer token (and the Events v2 routing key); a grafana integration may instead
    (or also) verify Grafana's HMAC-SHA256 body signature with the secret in `signing_secret_env`."""

    id: values.Ident
    type: typing.Literal[INGEST_TYPES]  # type: ignore[valid-type]
    token_env: values.EnvName | None = None
    service: values.Ident
    signing_secret_env: values.EnvName | None = None
    signature_header: str = GRAFANA_SIGNATURE_HEADER
    signature_timestamp_header: str | None = None
    fields: GenericFields | None = None

    @pydantic.field_validator("signature_header", "signature_timestamp_header")
    @classmethod
    def _header(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", v):
            raise ValueError(f"expected an HTTP header name such as {GRAFANA_SIGNATURE_HEADER}, got {v!r}")
        return v


class Heartbeat(values.Model):
    """Silence is not health: no beat for `interval + grace` opens an incident on `service`.

    Beats come over HTTP (`POST|GET /v1/heartbeats/{id}` with the token of `token_env`) or from an
    alert that always fires, such as Alertmanager's Watchdog (`alert` matchers).
    """

    id: values.Ident
    service: values.Ident
    interval: values.Seconds
    grace: values.Seconds | None = None
    priority: values.PriorityKey = models.Priority.P1
    token_env: values.EnvName | None = None
    alert: list[values.Matcher] = []

    @property
    def allowed(self) -> datetime.timedelta:
        """How long after a beat the next one must come."""
        return self.interval + (self.grace or datetime.timedelta())


# Learning from incidents: post-mortems and action items, scheduled drills, the report digest.


class Postmortems(values.Model):
    """A post-mortem of these priorities is due `due_after` its incident resolves; reminders repeat while overdue."""

    due_after: values.Duration = datetime.timedelta(hours=48)
    priorities: list[values.PriorityKey] = [models.Priority.P0, models.Priority.P1]
    remind_every: values.Duration | None = datetime.timedelta(days=1)  # null: remind once
    action_remind_every: values.Duration | None = datetime.timedelta(days=7)


class DrillSchedule(values.Model):
    """A drill of `service` at `priority` every `every`; the first at `first` (local, the service's zone) or
    `every` after the daemon first arms it."""

    service: values.Ident
    priority: values.PriorityKey = models.Priority.P1
    every: values.Duration
    first: values.LocalTime | None = None
    summary: str = pydantic.Field(default="Scheduled drill", min_length=1, max_length=200)


class Digest(values.Model):
    """The incident report mailed every `every` (covering the `since` before it, default `every`)."""

    every: values.Duration = datetime.timedelta(days=30)
    since: values.Duration | None = None
    emails: list[typing.Annotated[str, pydantic.StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]] = pydantic.Field(
        min_length=1
    )
    service: values.Ident | None = None


class Reports(values.Model):
    digest: Digest | None = None


Notifiers = pydantic.create_model(
    "Notifiers",
    __base__=values.Model,
    **{name: (spec.settings | None, None) for name, spec in channels.REGISTRY.items()},  # type: ignore[call-overload]
)
"""`notifiers:`, one optional section per channel of the registry."""


class Config(values.Model):
    server: Server = Server()
    database: Database = Database()
    data_dir: pathlib.Path = pathlib.Path("./pager-data")
    api_tokens_env: list[values.EnvName] = []
    api_read_tokens_env: list[values.EnvName] = []
    users: list[User] = []
    rotations: list[Rotation] = []
    schedules: list[Schedule] = []
    escalation_policies: list[EscalationPolicy] = []
    classification: list[Rule] = list(DEFAULT_CLASSIFICATION)
    priorities: dict[values.PriorityKey, PriorityPolicy] = {}
    services: list[Service] = []
    integrations: list[Integration] = []
    heartbeats: list[Heartbeat] = []
    notifiers: Notifiers = Notifiers()
    stakeholders: list[Stakeholder] = []
    status_page: StatusPage = StatusPage()
    postmortems: Postmortems = Postmortems()
    drills: list[DrillSchedule] = []
    reports: Reports = Reports()
    webhooks: list[Webhook] = []

    def priority_policy(self, priority: models.Priority) -> PriorityPolicy:
        return self.priorities.get(priority) or DEFAULT_PRIORITIES[priority]

    def user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def service(self, service_id: str) -> Service | None:
        return self._services.get(service_id)

    def policy(self, policy_id: str) -> EscalationPolicy | None:
        return self._policies.get(policy_id)

    def rotation(self, rotation_id: str) -> Rotation | None:
        return self._rotations.get(rotation_id)

    def schedule(self, schedule_id: str) -> Schedule | None:
        return self._schedules.get(schedule_id)

    def heartbeat(self, heartbeat_id: str) -> Heartbeat | None:
        return self._heartbeats.get(heartbeat_id)

    @functools.cached_property
    def _heartbeats(self) -> dict[str, Heartbeat]:
        return _index(self.heartbeats)

    @functools.cached_property
    def _users(self) -> dict[str, User]:
        return _index(self.users)

    @functools.cached_property
    def _services(self) -> dict[str, Service]:
        return _index(self.services)

    @functools.cached_property
    def _policies(self) -> dict[str, EscalationPolicy]:
        return _index(self.escalation_policies)

    @functools.cached_property
    def _rotations(self) -> dict[str, Rotation]:
        return _index(self.rotations)

    @functools.cached_property
    def _schedules(self) -> dict[str, Schedule]:
        return _index(self.schedules)


def _index(items: typing.Sequence[typing.Any]) -> dict[str, typing.Any]:
    """Id → item, cached once per Config: ids are looked up per alert on ingest and per page in the engine."""
    return {item.id: item for item in items}


@dataclasses.dataclass(frozen=True)
class ApiToken:
    """A bearer token for /api/v1, named by the environment variable it came from (never by its value)."""

    name: str
    value: str
    read_only: bool


@dataclasses.dataclass(frozen=True)
class Secrets:
    """Values read from the environment at load time; never logged."""

    database_url: str | None
    api_tokens: tuple[str, ...]
    integration_tokens: dict[str, str]  # integration id → token
    channels: dict[str, dict[str, typing.Any]] = dataclasses.field(default_factory=dict)
    """Per enabled channel, its `*_env` secrets that are set, keyed by the field less `_env` (sms: account_sid, ...)."""
    webhooks: dict[str, tuple[str, str | None]] = dataclasses.field(default_factory=dict)
    """Per enabled webhook id, its (url, signing secret or None)."""
    signing_secrets: dict[str, str] = dataclasses.field(default_factory=dict)  # grafana integration id → secret
    heartbeat_tokens: dict[str, str] = dataclasses.field(default_factory=dict)  # heartbeat id → token
    api_keys: tuple[ApiToken, ...] = ()  # every API token with its name and scope; `api_tokens` holds the writers'


@dataclasses.dataclass(frozen=True)
class Settings:
    config: Config
    secrets: Secrets
    warnings: tuple[str, ...]
    path: pathlib.Path | None = None

    def integrations(self, kind: str) -> tuple[tuple[Integration, str], ...]:
        """The integrations of type `kind` that have a token, each with its token, in config order."""
        return self._integrations_by_type.get(kind, ())

    @functools.cached_property
    def _integrations_by_type(self) -> dict[str, tuple[tuple[Integration, str], ...]]:
        """Built once: every webhook request looks its integration up by token."""
        tokens = self.secrets.integration_tokens
        enabled = [(i, tokens[i.id]) for i in self.config.integrations if i.id in tokens]
        return {kind: tuple(p for p in enabled if p[0].type == kind) for kind in INGEST_TYPES}

    def signed_integrations(self, kind: str) -> tuple[tuple[Integration, str], ...]:
        """The integrations of type `kind` with a signing secret, each with its secret, in config order."""
        secrets = self.secrets.signing_secrets
        return tuple((i, secrets[i.id]) for i in self.config.integrations if i.type == kind and i.id in secrets)

    def heartbeats(self) -> tuple[Heartbeat, ...]:
        """The heartbeats that can beat: with their token set, or fed by an alert."""
        tokens = self.secrets.heartbeat_tokens
        return tuple(h for h in self.config.heartbeats if h.id in tokens or h.alert)

    def enabled_channels(self) -> tuple[str, ...]:
        """Channels configured with every secret they need, in the registry's order."""
        return tuple(self.secrets.channels)

    def enabled(self, channel: str) -> bool:
        return channel in self.secrets.channels

    def webhooks(self) -> tuple[tuple[Webhook, str, str | None], ...]:
        """The enabled outgoing webhooks, each with its URL and signing secret, in config order."""
        found = self.secrets.webhooks
        return tuple((w, *found[w.id]) for w in self.config.webhooks if w.id in found)

    def channel(self, name: str) -> tuple[typing.Any, dict[str, typing.Any]] | None:
        """An enabled channel's settings section and secrets; None when it is off."""
        if name not in self.secrets.channels:
            return None
        return channels.spec(name).section(self.config.notifiers), self.secrets.channels[name]


_Loc = tuple[int | str, ...]
_Error = tuple[_Loc, str]


def _path(loc: _Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(top level)"


def _pydantic_errors(exc: pydantic.ValidationError) -> list[_Error]:
    errors = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        # pydantic's tags for union and function branches are not YAML keys
        loc = tuple(p for p in err["loc"] if isinstance(p, int) or not ("[" in p or "," in p))
        errors.append((loc, msg))
    return errors


def _items(node: object, key: str) -> list[tuple[int, typing.Any]]:
    """The entries of list `node[key]`; nothing when the data is not shaped so (the schema reports that)."""
    items = node.get(key, []) if isinstance(node, dict) else []
    return list(enumerate(items)) if isinstance(items, list) else []


def _mappings(node: object, key: str) -> list[tuple[int, dict[typing.Any, typing.Any]]]:
    return [(i, item) for i, item in _items(node, key) if isinstance(item, dict)]


def _declared(data: dict[str, typing.Any], section: str, errors: list[_Error]) -> dict[str, int] | None:
    """Ids of `section` → first index, or None if an entry without a readable id makes the set unknown."""
    if not isinstance(data.get(section, []), list):
        return None
    seen: dict[str, int] = {}
    complete = True
    for i, item in _items(data, section):
        ident = item.get("id") if isinstance(item, dict) else None
        if not isinstance(ident, str):
            complete = False
            continue
        if ident in seen:
            errors.append(((section, i, "id"), f"duplicate id {ident!r} (first at {section}[{seen[ident]}])"))
        seen.setdefault(ident, i)
    return seen if complete else None


def _cross_reference(data: dict[str, typing.Any]) -> list[_Error]:
    """Unknown and duplicate ids, read from the raw YAML so they show even beside schema errors.

    Whatever cannot be read (a section that is not a list, an id that is not a
    string) is skipped: the schema errors already name it.
    """
    errors: list[_Error] = []
    users, rotations, schedules, policies, services, _, _, _ = (
        _declared(data, name, errors)
        for name in (
            "users",
            "rotations",
            "schedules",
            "escalation_policies",
            "services",
            "integrations",
            "stakeholders",
            "heartbeats",
        )
    )

    def need(kind: str, ident: object, table: dict[str, int] | None, loc: _Loc) -> None:
        if isinstance(ident, str) and table is not None and ident not in table:
            errors.append((loc, f"unknown {kind} {ident!r}"))

    for section in ("rotations", "schedules"):
        for i, item in _mappings(data, section):
            for j, member in _items(item, "members"):
                need("user", member, users, (section, i, "members", j))
            for j, layer in _mappings(item, "layers"):
                need("rotation", layer.get("rotation"), rotations, (section, i, "layers", j, "rotation"))
            for j, o in _mappings(item, "overrides"):
                for key in ("user", "replaces"):
                    need("user", o.get(key), users, (section, i, "overrides", j, key))
    tables = {"user": users, "rotation": rotations, "schedule": schedules}
    for i, p in _mappings(data, "escalation_policies"):
        for j, step in _mappings(p, "steps"):
            for k, target in _items(step, "targets"):
                kind, _, ident = target.partition(":") if isinstance(target, str) else ("", "", "")
                if kind in tables and ident:
                    need(kind, ident, tables[kind], ("escalation_policies", i, "steps", j, "targets", k))
    for i, svc in _mappings(data, "services"):
        need("escalation policy", svc.get("escalation_policy"), policies, ("services", i, "escalation_policy"))
    for i, integ in _mappings(data, "integrations"):
        need("service", integ.get("service"), services, ("integrations", i, "service"))
    for i, holder in _mappings(data, "stakeholders"):
        for j, svc in _items(holder, "services"):
            need("service", svc, services, ("stakeholders", i, "services", j))
    page = data.get("status_page")
    for j, svc in _items(page, "services"):
        need("service", svc, services, ("status_page", "services", j))
    for i, drill in _mappings(data, "drills"):
        need("service", drill.get("service"), services, ("drills", i, "service"))
    reports = data.get("reports")
    digest = reports.get("digest") if isinstance(reports, dict) else None
    if isinstance(digest, dict):
        need("service", digest.get("service"), services, ("reports", "digest", "service"))
    _declared(data, "webhooks", errors)
    for i, hook in _mappings(data, "webhooks"):
        for j, svc in _items(hook, "services"):
            need("service", svc, services, ("webhooks", i, "services", j))
    for i, beat in _mappings(data, "heartbeats"):
        need("service", beat.get("service"), services, ("heartbeats", i, "service"))
    return errors + _integration_keys(data) + _heartbeat_feeds(data)


_SIGNED = "grafana"
_MAPPED = "generic"


def _integration_keys(data: dict[str, typing.Any]) -> list[_Error]:
    """Keys that belong to one integration type only, and what each type needs to authenticate."""
    errors: list[_Error] = []
    for i, integ in _mappings(data, "integrations"):
        kind = integ.get("type")
        if kind not in INGEST_TYPES:
            continue  # the schema names it
        if kind == _SIGNED:
            if "token_env" not in integ and "signing_secret_env" not in integ:
                errors.append(
                    (("integrations", i), "a grafana integration needs token_env, signing_secret_env or both")
                )
        elif "token_env" not in integ:
            errors.append((("integrations", i, "token_env"), "required key is missing"))
        if kind != _SIGNED:
            for key in ("signing_secret_env", "signature_header", "signature_timestamp_header"):
                if key in integ:
                    errors.append((("integrations", i, key), f"only a grafana integration is signed, not {kind}"))
        if kind == _MAPPED and "fields" not in integ:
            errors.append((("integrations", i, "fields"), "required key is missing: a generic integration maps fields"))
        if kind != _MAPPED and "fields" in integ:
            errors.append((("integrations", i, "fields"), f"only a generic integration maps fields, not {kind}"))
    return errors


def _heartbeat_feeds(data: dict[str, typing.Any]) -> list[_Error]:
    return [
        (("heartbeats", i), "a heartbeat needs token_env (beats over HTTP), alert (an always-firing alert), or both")
        for i, beat in _mappings(data, "heartbeats")
        if "token_env" not in beat and not beat.get("alert")
    ]


def _position(data: object, loc: _Loc) -> tuple[int, ...]:
    """Where `loc` sits in the file, so errors read top to bottom; a key the file lacks sorts last."""
    out, node = [], data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        else:
            out.append(sys.maxsize)
            node = None
    return tuple(out)


def parse(data: object) -> Config:
    """Validate already-loaded YAML data; ConfigError lists every problem, in file order."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"(top level): expected a mapping of sections, got {type(data).__name__}"])
    cfg: Config | None
    try:
        cfg = Config.model_validate(data)
    except pydantic.ValidationError as exc:
        cfg, errors = None, _pydantic_errors(exc)
    else:
        errors = []
    errors += _cross_reference(data)
    if cfg is None or errors:
        errors.sort(key=lambda e: _position(data, e[0]))
        raise ConfigError([f"{_path(loc)}: {msg}" for loc, msg in errors])
    return cfg


def read(path: str | os.PathLike[str]) -> Config:
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown position)"
        raise ConfigError([f"{path}: {where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    return parse(data)


def resolve(cfg: Config, env: typing.Mapping[str, str], path: pathlib.Path | None = None) -> Settings:
    """Read secrets from `env`; a missing secret disables what needs it, with a warning."""
    warnings: list[str] = []

    def get(name: str | None) -> str | None:
        return (env.get(name) or None) if name else None

    tokens: dict[str, str] = {}
    signing: dict[str, str] = {}
    for i, integ in enumerate(cfg.integrations):
        token, secret = get(integ.token_env), get(integ.signing_secret_env)
        if token is not None:
            tokens[integ.id] = token
        if secret is not None:
            signing[integ.id] = secret
        unset = [f"${name}" for name in (integ.token_env, integ.signing_secret_env) if name and get(name) is None]
        verb = "is" if len(unset) == 1 else "are"
        if token is None and secret is None:
            warnings.append(
                f"integrations[{i}] ({integ.id}): {' and '.join(unset)} {verb} not set; integration disabled"
            )
        elif unset:
            only = "signed requests" if token is None else "requests with its bearer token"
            warnings.append(
                f"integrations[{i}] ({integ.id}): {' and '.join(unset)} {verb} not set; only {only} are accepted"
            )
    beat_tokens: dict[str, str] = {}
    for i, beat in enumerate(cfg.heartbeats):
        token = get(beat.token_env)
        if token is not None:
            beat_tokens[beat.id] = token
        elif beat.token_env and beat.alert:
            warnings.append(f"heartbeats[{i}] ({beat.id}): ${beat.token_env} is not set; only its alert beats it")
        elif beat.token_env:
            warnings.append(f"heartbeats[{i}] ({beat.id}): ${beat.token_env} is not set; heartbeat disabled")
    api_keys = []
    for key, read_only in (("api_tokens_env", False), ("api_read_tokens_env", True)):
        for i, name in enumerate(getattr(cfg, key)):
            token = get(name)
            if token is None:
                warnings.append(f"{key}[{i}]: ${name} is not set; that API token is disabled")
            else:
                api_keys.append(ApiToken(name, token, read_only))
    enabled: dict[str, dict[str, str]] = {}
    for name, spec in channels.REGISTRY.items():
        section = spec.section(cfg.notifiers)
        if not spec.active(section):
            continue
        assert section is not None
        found = channels.secrets_of(section, env)
        lacking = [f for f in spec.required if f.removesuffix("_env") not in found]
        unnamed = [f for f in lacking if getattr(section, f) is None]  # neither this section nor `inherits` names one
        if unnamed:
            also = f" (nor notifiers.{spec.inherits})" if spec.inherits else ""
            warnings.append(f"notifiers.{name}: {', '.join(unnamed)} not configured{also}; {spec.label} disabled")
            continue
        if lacking:
            missing = [getattr(section, f) for f in lacking]
            warnings.append(f"notifiers.{name}: ${', $'.join(missing)} not set; {spec.label} disabled")
            continue
        if name == "voice" and not getattr(section, "from_number", None):
            warnings.append("notifiers.voice: no `from` number (nor notifiers.sms.from) to call from; voice disabled")
            continue
        enabled[name] = found
    hooks: dict[str, tuple[str, str | None]] = {}
    for i, hook in enumerate(cfg.webhooks):
        unset = [n for n in (hook.url_env, hook.secret_env) if n and not get(n)]
        if unset:
            warnings.append(f"webhooks[{i}] ({hook.id}): ${', $'.join(unset)} not set; webhook disabled")
            continue
        url = get(hook.url_env)
        assert url is not None
        if not url.lower().startswith(("https://", "http://")):
            warnings.append(f"webhooks[{i}] ({hook.id}): ${hook.url_env} is not an http(s) URL; webhook disabled")
            continue
        hooks[hook.id] = (url, get(hook.secret_env))
    secrets = Secrets(
        database_url=cfg.database.url or get(cfg.database.url_env),
        api_tokens=tuple(k.value for k in api_keys if not k.read_only),
        integration_tokens=tokens,
        channels=enabled,
        webhooks=hooks,
        signing_secrets=signing,
        heartbeat_tokens=beat_tokens,
        api_keys=tuple(api_keys),
    )
    return Settings(cfg, secrets, tuple(warnings), path)


def load(path: str | os.PathLike[str], env: typing.Mapping[str, str] | None = None) -> Settings:
    p = pathlib.Path(path)
    return resolve(read(p), os.environ if env is None else env, p)
