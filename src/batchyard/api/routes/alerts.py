"""``/api/alerts``: list and read alerts; acknowledge, silence and resolve them; see the channels."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from batchyard.api.problems import RESPONSES
from batchyard.api.service import Service, service_of
from batchyard.config import parse_duration
from batchyard.errors import BadField, BadSetting, BatchyardError, NotFound, UsageError

router = APIRouter(prefix="/api/alerts", tags=["alerts"], responses=RESPONSES)

ServiceDep = Annotated[Service, Depends(service_of)]
AlertId = Annotated[int, Path(ge=1, le=2**62, description="The alert's id.")]
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Who = Annotated[
    str | None,
    Field(None, min_length=1, max_length=200, pattern=_PRINTABLE, examples=["ana"]),
]


class StatusChoice(StrEnum):
    active = "active"
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"
    all = "all"


class SeverityChoice(StrEnum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


def _moment(value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("z", "Z"))
        except ValueError:
            raise ValueError("give an ISO 8601 date-time, such as 2024-06-01T08:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


Moment = Annotated[datetime, BeforeValidator(_moment)]


class AlertOut(BaseModel):
    """An alert: one per monitor, metric and labels while it is not resolved."""

    id: int
    fingerprint: str = Field(description="sha256 of monitor, metric and labels.")
    title: str = Field(examples=["landing/file_count {bucket=raw}"])
    monitor: str
    metric: str
    labels: dict[str, str]
    status: str = Field(examples=["open"], description="open, acknowledged or resolved.")
    severity: str = Field(examples=["high"])
    cause: str = Field(examples=["fail"], description="What opened it: fail, anomaly or warn.")
    message: str
    value: float | None
    channels: list[str]
    opened_at: datetime
    last_seen_at: datetime = Field(description="The last failing check.")
    failures: int = Field(description="Failing checks while it was open.")
    passes: int = Field(description="Passing checks in a row since the last failing one.")
    notified_at: datetime | None = Field(description="When its channels were last told.")
    reminders: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None
    silenced_until: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None


class NoticeOut(BaseModel):
    """What a channel is to be told: pending until it is sent."""

    id: int
    alert_id: int
    event: str = Field(examples=["opened"], description="opened, reminder or resolved.")
    channel: str
    status: str = Field(examples=["sent"], description="pending, sent or superseded.")
    created_at: datetime
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class DeliveryOut(BaseModel):
    """One attempt at sending a notice."""

    id: int
    alert_id: int
    notice_id: int
    channel: str
    event: str
    attempt: int
    status: str = Field(examples=["failed"], description="ok or failed.")
    error: str | None
    at: datetime
    elapsed_s: float | None


class AlertDetail(AlertOut):
    notices: list[NoticeOut]
    deliveries: list[DeliveryOut] = Field(description="The latest 200 attempts, oldest first.")


class AlertPage(BaseModel):
    alerts: list[AlertOut]
    total: int = Field(description="How many alerts match the filters, on every page.")
    limit: int
    offset: int


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcknowledgeBody(_Body):
    by: Who = None
    note: str | None = Field(None, max_length=2000, examples=["looking into the scraper"])


class SilenceBody(_Body):
    """Give one of ``until`` and ``for``."""

    until: Moment | None = Field(None, description="ISO 8601; UTC if no offset.")
    for_: str | None = Field(None, alias="for", examples=["4h"], description="30m, 4h, 2d, ...")
    by: Who = None

    @model_validator(mode="after")
    def _one(self) -> SilenceBody:
        if (self.until is None) == (self.for_ is None):
            raise ValueError("give one of until (an ISO time) and for (such as 4h)")
        return self


class ResolveBody(_Body):
    by: Who = None


class ChannelOut(BaseModel):
    """A channel of ``[channels]``: its secrets are named (``*_env``), never given."""

    model_config = ConfigDict(extra="allow")
    name: str
    type: str
    min_severity: str
    check: str | None = Field(None, description="ok, or why the channel cannot work now.")


@router.get("", operation_id="listAlerts", response_model=AlertPage, summary="List alerts")
def list_alerts(
    service: ServiceDep,
    status: Annotated[
        list[StatusChoice], Query(description="Repeat for several; default: active.")
    ] = [],  # noqa: B006
    severity: Annotated[list[SeverityChoice], Query(description="Repeat for several.")] = [],  # noqa: B006
    monitor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AlertPage:
    """Alerts newest first, by default those not resolved yet, with the total that match."""
    alerts, total = service.reader.alerts.list(
        status=[s.value for s in status] or ["active"],
        severity=[s.value for s in severity],
        monitor=monitor,
        limit=limit,
        offset=offset,
    )
    return AlertPage(
        alerts=[AlertOut.model_validate(a.to_dict()) for a in alerts],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/channels",
    operation_id="listAlertChannels",
    response_model=list[ChannelOut],
    summary="List alert channels",
)
def list_channels(service: ServiceDep) -> list[ChannelOut]:
    """The channels alerts go to, from ``[channels]`` of ``batchyard.toml``."""
    book = service.reader.alerts
    return [ChannelOut.model_validate(c.describe()) for _, c in sorted(book.channels.items())]


@router.post(
    "/channels/{name}/check",
    operation_id="checkAlertChannel",
    response_model=ChannelOut,
    summary="Check an alert channel",
)
def check_channel(
    name: Annotated[str, Path(min_length=1, max_length=200)], service: ServiceDep
) -> ChannelOut:
    """Check that a channel can work now: its secrets are set and its server answers. A channel
    that cannot answers 400, naming the setting at fault."""
    channel = service.reader.alerts.channels.get(name)
    if channel is None:
        raise NotFound(f"no channel named {name!r} under [channels] in batchyard.toml")
    try:
        channel.check()
    except BatchyardError as exc:
        field = str(exc).split(":", 1)[0]
        raise BadSetting(str(exc), field) from exc
    return ChannelOut.model_validate({**channel.describe(), "check": "ok"})


@router.get(
    "/{alert_id}", operation_id="getAlert", response_model=AlertDetail, summary="Get an alert"
)
def get_alert(alert_id: AlertId, service: ServiceDep) -> AlertDetail:
    """One alert with its notices and its delivery attempts."""
    return AlertDetail.model_validate(service.reader.alerts.show(alert_id))


@router.post(
    "/{alert_id}/acknowledge",
    operation_id="acknowledgeAlert",
    response_model=AlertOut,
    summary="Acknowledge an alert",
)
def acknowledge(
    alert_id: AlertId, service: ServiceDep, body: AcknowledgeBody | None = None
) -> AlertOut:
    """No more reminders; it still resolves (and says so) when its checks pass."""
    body = body or AcknowledgeBody()
    alert = service.app.alerts.acknowledge(alert_id, by=body.by or "api", note=body.note)
    return AlertOut.model_validate(alert.to_dict())


@router.post(
    "/{alert_id}/silence",
    operation_id="silenceAlert",
    response_model=AlertOut,
    summary="Silence an alert",
)
def silence(alert_id: AlertId, body: SilenceBody, service: ServiceDep) -> AlertOut:
    """No reminders until a time (``until``) or for a while (``for``)."""
    book = service.app.alerts
    field = "body.until" if body.until is not None else "body.for"
    try:
        if body.for_ is not None:
            until = book.clock() + parse_duration(body.for_, where="for")
        else:
            assert body.until is not None
            until = body.until
        alert = book.silence(alert_id, until=until, by=body.by or "api")
    except UsageError as exc:
        raise BadField(str(exc), field) from exc
    return AlertOut.model_validate(alert.to_dict())


@router.post(
    "/{alert_id}/resolve",
    operation_id="resolveAlert",
    response_model=AlertOut,
    summary="Resolve an alert",
)
def resolve(alert_id: AlertId, service: ServiceDep, body: ResolveBody | None = None) -> AlertOut:
    """Resolve it now and tell its channels; a later failing check opens a new alert."""
    body = body or ResolveBody()
    alert = service.app.alerts.resolve(alert_id, by=body.by or "api")
    return AlertOut.model_validate(alert.to_dict())
