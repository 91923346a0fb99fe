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
import zoneinfo

import pydantic
import yaml

from pager import matchers, models

CHANNELS = ("sms", "email", "console")
INGEST_TYPES = ("alertmanager", "events_v2", "grafana", "generic")
TARGET_KINDS = ("user", "rotation", "schedule")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

MAX_SHIFT = datetime.timedelta(weeks=52)

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_DURATION_UNITS = {
    "ms": datetime.timedelta(milliseconds=1),
    "s": datetime.timedelta(seconds=1),
    "m": datetime.timedelta(minutes=1),
    "h": datetime.timedelta(hours=1),
    "d": datetime.timedelta(days=1),
    "w": datetime.timedelta(weeks=1),
}


class ConfigError(Exception):
    """The file cannot be used; `errors` holds one 'path: message' line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def parse_duration(value: object) -> datetime.timedelta:
    """Prometheus-style durations: `30s`, `5m`, `1h30m`, `1d`, `1w`."""
    if isinstance(value, datetime.timedelta):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a duration such as 30s, 5m, 12h, 1d or 1w, got {value!r}")
    pos, total = 0, datetime.timedelta()
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            break
        try:
            total += int(m[1]) * _DURATION_UNITS[m[2]]
        except OverflowError:
            raise ValueError(f"duration is too large: {value!r}") from None
        pos = m.end()
    if pos != len(value) or total <= datetime.timedelta():
        raise ValueError(f"expected a positive duration such as 30s, 5m, 12h, 1d or 1w, got {value!r}")
    return total


def _parse_time_zone(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected an IANA time zone name such as Europe/Berlin, got {value!r}")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as Europe
        raise ValueError(f"unknown time zone {value!r}: expected an IANA name such as Europe/Berlin") from None
    return value


def _parse_local_time(value: object) -> datetime.datetime:
    """A wall-clock instant without zone; the enclosing rotation's time zone gives it meaning."""
    if isinstance(value, datetime.datetime):  # YAML reads an unquoted timestamp, offset and all
        parsed, shown = value, value.isoformat()
    elif isinstance(value, datetime.date):
        parsed, shown = datetime.datetime.combine(value, datetime.time()), value.isoformat()
    else:
        try:
            parsed, shown = datetime.datetime.fromisoformat(str(value)), str(value)
        except ValueError:
            raise ValueError(f"expected a local date and time such as 2026-01-05T09:00, got {value!r}") from None
    if parsed.tzinfo is not None:
        raise ValueError(f"{shown!r} carries a UTC offset: give local wall-clock time; time_zone says which zone")
    # A year of margin inside datetime's range, for zone offsets and for looking around the instant.
    if not datetime.MINYEAR < parsed.year < datetime.MAXYEAR:
        raise ValueError(
            f"{shown!r} is out of range: give a year from {datetime.MINYEAR + 1} to {datetime.MAXYEAR - 1}"
        )
    return parsed


def _parse_clock_time(value: object) -> datetime.time:
    if isinstance(value, int):  # YAML 1.1 reads 09:00 unquoted as sexagesimal minutes
        return datetime.time(value // 60, value % 60)
    try:
        return datetime.time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"expected a time of day such as 09:00, got {value!r}") from None


def _parse_days(value: object) -> tuple[int, ...]:
    """`[mon, tue]`, `mon-fri` or `[mon-fri, sun]` → weekday numbers (Monday is 0)."""
    items = value if isinstance(value, list) else [value]
    days: list[int] = []
    for item in items:
        text = str(item).strip().lower()
        first, _, last = text.partition("-")
        if first[:3] not in DAYS or (last and last[:3] not in DAYS):
            raise ValueError(f"bad day {item!r}: expected mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri")
        a, b = DAYS.index(first[:3]), DAYS.index((last or first)[:3])
        span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
        days.extend(d for d in span if d not in days)
    return tuple(days)


def _parse_phone(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):  # unquoted +1555…: YAML drops the + and reads a number
        raise ValueError(
            f"expected a phone number in E.164 form such as +15551230001, got the number {value}: "
            f'quote it, as in "+{value}", or YAML reads it as a number'
        )
    text = str(value).replace(" ", "").replace("-", "")
    if not re.fullmatch(r"\+[1-9]\d{6,14}", text):
        raise ValueError(f"expected a phone number in E.164 form such as +15551230001, got {value!r}")
    return text


def _parse_target(value: object) -> str:
    kind, sep, ident = str(value).partition(":")
    if not sep or kind not in TARGET_KINDS or not ident:
        raise ValueError(f"bad target {value!r}: expected user:ID, rotation:ID or schedule:ID")
    return f"{kind}:{ident}"


Duration = typing.Annotated[datetime.timedelta, pydantic.PlainValidator(parse_duration)]
TimeZone = typing.Annotated[str, pydantic.PlainValidator(_parse_time_zone)]
LocalTime = typing.Annotated[datetime.datetime, pydantic.PlainValidator(_parse_local_time)]
ClockTime = typing.Annotated[datetime.time, pydantic.PlainValidator(_parse_clock_time)]
Days = typing.Annotated[tuple[int, ...], pydantic.PlainValidator(_parse_days)]
Phone = typing.Annotated[str, pydantic.PlainValidator(_parse_phone)]
Target = typing.Annotated[str, pydantic.PlainValidator(_parse_target)]
Matcher = typing.Annotated[
    matchers.Matcher,
    pydantic.PlainValidator(lambda v: v if isinstance(v, matchers.Matcher) else matchers.parse(str(v))),
    pydantic.PlainSerializer(str),
]
PriorityKey = typing.Annotated[
    models.Priority,
    pydantic.PlainValidator(lambda v: v if isinstance(v, models.Priority) else models.Priority.parse(str(v))),
    pydantic.PlainSerializer(lambda p: p.name),
]
Ident = typing.Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
EnvName = typing.Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Server(_Model):
    listen: str = "127.0.0.1:8080"
    public_url: str | None = None

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


class Database(_Model):
    url: str | None = None
    url_env: EnvName = "PAGER_DATABASE_URL"
    pool_min: int = pydantic.Field(default=2, ge=0)
    pool_max: int = pydantic.Field(default=10, ge=1)


class User(_Model):
    id: Ident
    name: str | None = None
    phone: Phone | None = None
    email: str | None = pydantic.Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    time_zone: TimeZone = "UTC"

    @property
    def display_name(self) -> str:
        return self.name or self.id

    def address(self, channel: str) -> str | None:
        """Where a page on `channel` goes; None when the user has no such contact."""
        if channel == "sms":
            return self.phone
        if channel == "email":
            return self.email
        return self.id


class Override(_Model):
    """`user` is on call in place of the rotation (or only of `replaces`) from `start` to `end`.

    Later overrides win where they overlap.
    """

    user: Ident
    start: LocalTime
    end: LocalTime
    replaces: Ident | None = None

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> Override:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Rotation(_Model):
    id: Ident
    time_zone: TimeZone = "UTC"
    shift: Duration = datetime.timedelta(weeks=1)
    handoff: LocalTime = datetime.datetime(2026, 1, 5, 9, 0)
    members: list[Ident] = []
    overrides: list[Override] = []

    @pydantic.field_validator("shift")
    @classmethod
    def _shift(cls, v: datetime.timedelta) -> datetime.timedelta:
        if v < datetime.timedelta(minutes=1):
            raise ValueError("a shift must last at least 1m")
        if v > MAX_SHIFT:  # beyond it handoffs are centuries apart and leave datetime's range
            raise ValueError("a shift must last at most 52w")
        return v


class ActiveWindow(_Model):
    """A layer applies on these days between these local times.

    `to` before `from` crosses midnight, and the window belongs to the day it
    opens on; `from` equal to `to` means the whole day.
    """

    days: Days = tuple(range(7))
    start: ClockTime = pydantic.Field(default=datetime.time(0, 0), alias="from")
    end: ClockTime = pydantic.Field(default=datetime.time(0, 0), alias="to")


class Layer(_Model):
    rotation: Ident
    active: list[ActiveWindow] = []


class Schedule(_Model):
    """Rotations stacked as layers; a later layer wins wherever it is active and has someone on call."""

    id: Ident
    time_zone: TimeZone = "UTC"
    layers: list[Layer] = pydantic.Field(min_length=1)
    overrides: list[Override] = []


class Step(_Model):
    targets: list[Target] = pydantic.Field(min_length=1)
    ack_timeout: Duration = datetime.timedelta(minutes=5)


class EscalationPolicy(_Model):
    id: Ident
    repeat: int = pydantic.Field(default=0, ge=0, le=100)
    steps: list[Step] = pydantic.Field(min_length=1)


class Rule(_Model):
    matchers: list[Matcher] = []
    priority: PriorityKey


class PriorityPolicy(_Model):
    channels: list[typing.Literal["sms", "email", "console"]] = ["sms", "email"]
    escalate: bool = True


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


class Service(_Model):
    id: Ident
    name: str | None = None
    escalation_policy: Ident | None = None
    matchers: list[Matcher] = []


class Integration(_Model):
    id: Ident
    type: typing.Literal["alertmanager", "events_v2", "grafana", "generic"]
    token_env: EnvName
    service: Ident


class Sms(_Model):
    account_sid_env: EnvName = "TWILIO_ACCOUNT_SID"
    auth_token_env: EnvName = "TWILIO_AUTH_TOKEN"
    from_number: Phone | None = pydantic.Field(default=None, alias="from")
    messaging_service_sid: str | None = None
    api_base: str = "https://api.twilio.com"

    @pydantic.model_validator(mode="after")
    def _sender(self) -> Sms:
        if not self.from_number and not self.messaging_service_sid:
            raise ValueError("set `from` (a Twilio number) or `messaging_service_sid`")
        return self


class Email(_Model):
    host: str = "localhost"
    port: int = pydantic.Field(default=25, gt=0, lt=65536)
    from_address: str = pydantic.Field(default="pager@localhost", alias="from")
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    starttls: bool = False
    tls: bool = False
    timeout: Duration = datetime.timedelta(seconds=10)


class Console(_Model):
    enabled: bool = True


class Notifiers(_Model):
    sms: Sms | None = None
    email: Email | None = None
    console: Console = Console()


class Config(_Model):
    server: Server = Server()
    database: Database = Database()
    data_dir: pathlib.Path = pathlib.Path("./pager-data")
    api_tokens_env: list[EnvName] = []
    api_read_tokens_env: list[EnvName] = []
    users: list[User] = []
    rotations: list[Rotation] = []
    schedules: list[Schedule] = []
    escalation_policies: list[EscalationPolicy] = []
    classification: list[Rule] = list(DEFAULT_CLASSIFICATION)
    priorities: dict[PriorityKey, PriorityPolicy] = {}
    services: list[Service] = []
    integrations: list[Integration] = []
    notifiers: Notifiers = Notifiers()

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
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    smtp_username: str | None
    smtp_password: str | None
    api_keys: tuple[ApiToken, ...] = ()  # every API token with its name and scope; `api_tokens` holds the writers'


@dataclasses.dataclass(frozen=True)
class Settings:
    config: Config
    secrets: Secrets
    warnings: tuple[str, ...]
    path: pathlib.Path | None = None

    @property
    def sms_enabled(self) -> bool:
        return (
            self.config.notifiers.sms is not None
            and bool(self.secrets.twilio_account_sid)
            and bool(self.secrets.twilio_auth_token)
        )

    @property
    def email_enabled(self) -> bool:
        return self.config.notifiers.email is not None

    def integrations(self, kind: str) -> tuple[tuple[Integration, str], ...]:
        """The integrations of type `kind` that have a token, each with its token, in config order."""
        return self._integrations_by_type.get(kind, ())

    @functools.cached_property
    def _integrations_by_type(self) -> dict[str, tuple[tuple[Integration, str], ...]]:
        """Built once: every webhook request looks its integration up by token."""
        tokens = self.secrets.integration_tokens
        enabled = [(i, tokens[i.id]) for i in self.config.integrations if i.id in tokens]
        return {kind: tuple(p for p in enabled if p[0].type == kind) for kind in INGEST_TYPES}

    def enabled_channels(self) -> tuple[str, ...]:
        channels = []
        if self.sms_enabled:
            channels.append("sms")
        if self.email_enabled:
            channels.append("email")
        if self.config.notifiers.console.enabled:
            channels.append("console")
        return tuple(channels)


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
    users, rotations, schedules, policies, services, _ = (
        _declared(data, name, errors)
        for name in ("users", "rotations", "schedules", "escalation_policies", "services", "integrations")
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
    return errors


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
    for i, integ in enumerate(cfg.integrations):
        token = get(integ.token_env)
        if token is None:
            warnings.append(f"integrations[{i}] ({integ.id}): ${integ.token_env} is not set; integration disabled")
        else:
            tokens[integ.id] = token
    api_keys = []
    for key, read_only in (("api_tokens_env", False), ("api_read_tokens_env", True)):
        for i, name in enumerate(getattr(cfg, key)):
            token = get(name)
            if token is None:
                warnings.append(f"{key}[{i}]: ${name} is not set; that API token is disabled")
            else:
                api_keys.append(ApiToken(name, token, read_only))
    sms = cfg.notifiers.sms
    sid = get(sms.account_sid_env) if sms else None
    auth = get(sms.auth_token_env) if sms else None
    if sms and not (sid and auth):
        missing = [n for n, v in ((sms.account_sid_env, sid), (sms.auth_token_env, auth)) if not v]
        warnings.append(f"notifiers.sms: ${', $'.join(missing)} not set; SMS disabled")
    email = cfg.notifiers.email
    secrets = Secrets(
        database_url=cfg.database.url or get(cfg.database.url_env),
        api_tokens=tuple(k.value for k in api_keys if not k.read_only),
        integration_tokens=tokens,
        twilio_account_sid=sid,
        twilio_auth_token=auth,
        smtp_username=get(email.username_env) if email else None,
        smtp_password=get(email.password_env) if email else None,
        api_keys=tuple(api_keys),
    )
    return Settings(cfg, secrets, tuple(warnings), path)


def load(path: str | os.PathLike[str], env: typing.Mapping[str, str] | None = None) -> Settings:
    p = pathlib.Path(path)
    return resolve(read(p), os.environ if env is None else env, p)
