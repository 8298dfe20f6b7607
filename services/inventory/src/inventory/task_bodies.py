"""The bodies of POST /devices/<id>/tasks as pydantic models: one per GenieACS task name.

``TaskBody`` is a union discriminated by ``name``; each model holds a task's arguments as the
wire carries them (GenieACS's names and shapes) and refuses unknown ones. What a body alone can
tell is checked here; what needs the device or the file store (a value's type on this device,
the file of a download) is checked by ``inventory.tasks``. ``parse_task`` turns a refusal into
the NBI's 400 with the first problem spelt out, and ``OPENAPI_SCHEMA`` describes the bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args

from device_query.paths import valid_path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from cwmp import values
from cwmp.errors import EncodeError

from . import bodies
from .errors import ApiError, bad_request

# --- TR-069 value types ---------------------------------------------------------------------------

Xsd = Literal[
    "xsd:string", "xsd:int", "xsd:unsignedInt", "xsd:long", "xsd:unsignedLong", "xsd:boolean",
    "xsd:dateTime", "xsd:base64", "xsd:hexBinary", "xsd:byte", "xsd:unsignedByte", "xsd:short",
    "xsd:unsignedShort", "xsd:decimal", "xsd:double", "xsd:float", "xsd:integer",
]
XSD_TYPES = set(get_args(Xsd))  # cwmp.values.SCHEMA_TYPES, spelt out for the schema
WINDOW_MODES = ("1 At Any Time", "2 Immediately", "3 When Idle", "4 Confirmation Needed")
UINT32 = 2**32 - 1


def value_fits(value: Any, xsd: str) -> bool:
    """Whether a setParameterValues value can be sent as ``xsd`` (strings may spell numbers).

    The lexical rules are cwmp.values' (what the scheduler's codec will write): integers and
    their ranges, booleans, dateTime, base64 and hexBinary; JSON numbers are taken where a
    number fits, and any scalar for xsd:string and types the codec sends as text."""
    if isinstance(value, (dict, list)) or value is None:
        return False
    fits = _FITS.get(xsd)
    return fits(value, xsd) if fits is not None else isinstance(value, (str, int, float, bool))


def _fits_integer(value: Any, xsd: str) -> bool:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return False
    n = values.parse_int(value) if isinstance(value, str) else int(value)
    lo, hi = values.SCHEMA_INT_RANGES[xsd]
    return n is not None and lo <= n <= hi


def _fits_boolean(value: Any, xsd: str) -> bool:
    if isinstance(value, float):  # a JSON 1.0 or 0.0
        return value in (0, 1)
    return _encodes(value, xsd)


def _fits_number(value: Any, xsd: str) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
        return True
    except ValueError:
        return False


def _fits_text(value: Any, xsd: str) -> bool:
    """dateTime, base64 and hexBinary: a string in the type's lexical form."""
    return isinstance(value, str) and _encodes(value, xsd)


def _encodes(value: Any, xsd: str) -> bool:
    try:
        values.encode_value(value, xsd)
    except EncodeError:
        return False
    return True


_FITS: dict[str, Callable[[Any, str], bool]] = {
    **dict.fromkeys(values.SCHEMA_INT_RANGES, _fits_integer), values.BOOLEAN: _fits_boolean,
    **dict.fromkeys(("xsd:decimal", "xsd:double", "xsd:float"), _fits_number),
    **dict.fromkeys((values.DATETIME, values.BASE64, values.HEX_BINARY), _fits_text),
}


# --- argument types -------------------------------------------------------------------------------

def _path_check(*, partial: bool = True, allow_empty: bool = False) -> AfterValidator:
    def check(v: str) -> str:
        if not valid_path(v, partial=partial, allow_empty=allow_empty):
            raise ValueError(f"invalid parameter path {v!r}")
        return v

    return AfterValidator(check)


Path = Annotated[StrictStr, _path_check()]  # a parameter or an object path ("A.B." allowed)
ParamPath = Annotated[StrictStr, _path_check(partial=False)]  # a parameter, not an object
PathOrRoot = Annotated[StrictStr, _path_check(allow_empty=True)]  # "" is the whole tree


def _one_as_list(v: Any) -> Any:
    return [v] if isinstance(v, str) else v  # GenieACS accepts one name as a string


PathList = Annotated[list[Path], BeforeValidator(_one_as_list), Field(min_length=1)]
CommandKey = Annotated[StrictStr, Field(max_length=32)]
Text = Annotated[StrictStr, Field(max_length=1024)]
UInt32 = Annotated[StrictInt, Field(ge=0, le=UINT32)]


Scalar = Annotated[StrictBool | StrictInt | StrictFloat | StrictStr, bodies.worded("must be a string, number or boolean")]


def _pad(v: Any) -> Any:
    return [*v, None] if isinstance(v, list) and len(v) == 2 else v


# [name, value] or [name, value, type]: GenieACS's setParameterValues entry (type None when not given)
ValueEntry = Annotated[
    tuple[ParamPath, Scalar, Xsd | None], BeforeValidator(_pad),
    WithJsonSchema({"type": "array", "minItems": 2, "maxItems": 3, "description": "[name, value, type?]",
                    "prefixItems": [{"type": "string"}, {"type": ["string", "number", "boolean"]},
                                    {"enum": sorted(XSD_TYPES)}]}),
]
FileType = Annotated[StrictStr, Field(max_length=64, pattern=r"^(?:[1-9][0-9]* .+|X [0-9A-Fa-f]{6} .+)$",
                                      examples=["1 Firmware Upgrade Image"])]


class _Body(BaseModel):
    """A task body: its arguments, plus what every task may carry (device, expiry).

    An optional argument defaults to None but refuses null: the models dump only the arguments
    given (``exclude_unset``), as GenieACS stores them.
    """

    model_config = ConfigDict(extra="forbid")

    device: Any = Field(None, description="the device's id; when given, it must be the URL's")
    expiry: Annotated[float, Strict(), Field(gt=0, le=UINT32)] | None = Field(
        None, description="seconds until the task expires")

    def arguments(self) -> dict[str, Any]:
        """The task's arguments as stored."""
        return self.model_dump(exclude={"name", "device", "expiry"}, exclude_unset=True)


class _WithCommandKey(_Body):
    commandKey: CommandKey = bodies.absent()


class GetParameterValues(_Body):
    name: Literal["getParameterValues"]
    parameterNames: PathList


class SetParameterValues(_Body):
    """Each value's type is checked against the device's record by ``inventory.tasks``."""

    name: Literal["setParameterValues"]
    parameterValues: Annotated[list[ValueEntry], Field(min_length=1)]
    parameterKey: CommandKey = bodies.absent()


class RefreshObject(_Body):
    name: Literal["refreshObject"]
    objectName: PathOrRoot


class AddObject(_Body):
    name: Literal["addObject"]
    objectName: Path
    # names relative to the new instance, whose number is unknown: types are checked by name only
    parameterValues: Annotated[list[ValueEntry], Field(min_length=1)] = bodies.absent()


def _instance(v: str) -> str:
    if not v.rstrip(".").rsplit(".", 1)[-1].isdigit():
        raise ValueError("deleteObject needs an instance path ending with its number")
    return v


class DeleteObject(_Body):
    name: Literal["deleteObject"]
    objectName: Annotated[Path, AfterValidator(_instance)]


class Reboot(_WithCommandKey):
    name: Literal["reboot"]


class FactoryReset(_Body):
    name: Literal["factoryReset"]


class GetAllQueuedTransfers(_Body):
    name: Literal["getAllQueuedTransfers"]


class GetQueuedTransfers(_Body):
    name: Literal["getQueuedTransfers"]


class GetRPCMethods(_Body):
    name: Literal["getRPCMethods"]


FileName = Annotated[StrictStr, Field(max_length=256)]


class _Transfer(_WithCommandKey):
    """A file sent to the CPE; ``fileType`` defaults to the stored file's (``inventory.tasks`` looks it up)."""

    fileType: FileType = bodies.absent()
    targetFileName: FileName = bodies.absent()

    @property
    def file_name(self) -> str:
        raise NotImplementedError


class Download(_Transfer):
    name: Literal["download"]
    fileName: FileName = bodies.absent()
    file: FileName = bodies.absent(description="another name for fileName (GenieACS's documented example uses it)")

    @model_validator(mode="after")
    def _named(self) -> Download:
        if self.fileName is None and self.file is None:
            raise ValueError("missing argument fileName")
        return self

    @property
    def file_name(self) -> str:
        return self.fileName if self.fileName is not None else self.file

    def arguments(self) -> dict[str, Any]:
        out = super().arguments()
        out.pop("file", None)
        return {**out, "fileName": self.file_name}


class TimeWindow(BaseModel):
    """A ScheduleDownload window (TR-069 A.4.1.8), in seconds from the RPC's arrival."""

    model_config = ConfigDict(extra="forbid")

    windowStart: UInt32
    windowEnd: UInt32
    windowMode: StrictStr = Field(description="one of " + ", ".join(WINDOW_MODES) + ", or a vendor's \"X ...\"")
    userMessage: Annotated[StrictStr, Field(max_length=256)] = ""
    maxRetries: Annotated[StrictInt, Field(ge=-1, le=2**31 - 1)] = 0

    @model_validator(mode="after")
    def _consistent(self) -> TimeWindow:
        if self.windowEnd < self.windowStart:
            raise ValueError("windowEnd is before windowStart")
        if self.windowMode not in WINDOW_MODES and not self.windowMode.startswith("X "):
            raise ValueError("windowMode must be one of " + ", ".join(WINDOW_MODES))
        return self


class ScheduleDownload(_Transfer):
    name: Literal["scheduleDownload"]
    fileName: FileName
    timeWindows: Annotated[list[TimeWindow], Field(min_length=1, max_length=2)]

    @property
    def file_name(self) -> str:
        return self.fileName

    def arguments(self) -> dict[str, Any]:  # the windows with their defaults filled
        return {**super().arguments(), "timeWindows": [w.model_dump() for w in self.timeWindows]}


class GetParameterNames(_Body):
    name: Literal["getParameterNames"]
    parameterPath: PathOrRoot = ""
    nextLevel: StrictBool = False

    def arguments(self) -> dict[str, Any]:
        return {"parameterPath": self.parameterPath, "nextLevel": self.nextLevel}


class GetParameterAttributes(_Body):
    name: Literal["getParameterAttributes"]
    parameterNames: PathList


class ParameterAttribute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Path
    notification: Annotated[StrictInt, Field(ge=0, le=6)] = bodies.absent()
    accessList: list[StrictStr] = bodies.absent()

    @model_validator(mode="after")
    def _changes_something(self) -> ParameterAttribute:
        if self.notification is None and self.accessList is None:
            raise ValueError("a parameterAttributes entry needs notification or accessList")
        return self


class SetParameterAttributes(_Body):
    name: Literal["setParameterAttributes"]
    parameterAttributes: Annotated[list[ParameterAttribute], Field(min_length=1)]


class Upload(_WithCommandKey):
    name: Literal["upload"]
    fileType: FileType


class ScheduleInform(_WithCommandKey):
    name: Literal["scheduleInform"]
    delaySeconds: Annotated[StrictInt, Field(ge=1, le=UINT32)]


class CancelTransfer(_Body):
    name: Literal["cancelTransfer"]
    commandKey: CommandKey


class _DuOperation(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DuInstall(_DuOperation):
    type: Literal["install"]
    url: Text
    uuid: Text = bodies.absent()
    username: Text = bodies.absent()
    password: Text = bodies.absent()
    executionEnvRef: Text = bodies.absent()


class DuUpdate(_DuOperation):
    type: Literal["update"]
    uuid: Text = bodies.absent()
    version: Text = bodies.absent()
    url: Text = bodies.absent()
    username: Text = bodies.absent()
    password: Text = bodies.absent()


class DuUninstall(_DuOperation):
    type: Literal["uninstall"]
    uuid: Text
    version: Text = bodies.absent()
    executionEnvRef: Text = bodies.absent()


DuOperation = Annotated[DuInstall | DuUpdate | DuUninstall, Field(discriminator="type")]


class ChangeDUState(_Body):
    name: Literal["changeDUState"]
    operations: Annotated[list[DuOperation], Field(min_length=1)]


# --- diagnostics (TR-143 style; run by the scheduler's diagnostics tasks) ---------------------------

def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be empty")
    return v


def _url(v: str) -> str:
    if not v.lower().startswith(("http://", "https://", "ftp://")):
        raise ValueError("must be an http, https or ftp URL")
    return v


Host = Annotated[Text, AfterValidator(_not_blank)]
Url = Annotated[Text, AfterValidator(_not_blank), AfterValidator(_url)]


class _Diagnostics(_Body):
    """``inventory.tasks`` adds ``dataModel`` (the device's root), so the scheduler needs no RPC to find it."""

    interface: Text = bodies.absent()
    dscp: UInt32 = bodies.absent()


class _HostDiagnostics(_Diagnostics):
    """What IPPing and TraceRoute share (TR-098/TR-181: Host, Timeout, DataBlockSize)."""

    host: Host
    timeout: UInt32 = bodies.absent()
    dataBlockSize: UInt32 = bodies.absent()


class IpPing(_HostDiagnostics):
    name: Literal["ipPing"]
    numberOfRepetitions: UInt32 = bodies.absent()


class TraceRoute(_HostDiagnostics):
    name: Literal["traceRoute"]
    numberOfTries: UInt32 = bodies.absent()
    maxHopCount: UInt32 = bodies.absent()


class DownloadDiagnostics(_Diagnostics):
    name: Literal["downloadDiagnostics"]
    downloadURL: Url
    ethernetPriority: UInt32 = bodies.absent()


class UploadDiagnostics(_Diagnostics):
    name: Literal["uploadDiagnostics"]
    uploadURL: Url
    testFileLength: UInt32
    ethernetPriority: UInt32 = bodies.absent()


DIAGNOSTICS = ("ipPing", "traceRoute", "downloadDiagnostics", "uploadDiagnostics")

_MODELS: tuple[type[_Body], ...] = (
    GetParameterValues, SetParameterValues, RefreshObject, AddObject, DeleteObject, Reboot, FactoryReset,
    Download, GetParameterNames, GetParameterAttributes, SetParameterAttributes, Upload, ScheduleInform,
    ScheduleDownload, CancelTransfer, GetAllQueuedTransfers, GetQueuedTransfers, GetRPCMethods, ChangeDUState,
    IpPing, TraceRoute, DownloadDiagnostics, UploadDiagnostics,
)
TASK_NAMES = sorted(m.model_fields["name"].annotation.__args__[0] for m in _MODELS)  # type: ignore[union-attr]
TaskBody = Annotated[Union[_MODELS], Field(discriminator="name")]  # type: ignore[valid-type]  # noqa: UP007 - built from _MODELS
_ADAPTER: TypeAdapter[Any] = TypeAdapter(TaskBody)


# --- refusals ---------------------------------------------------------------------------------------

def _refusal(body: Any, e: ValidationError) -> ApiError:
    """The NBI's 400 for a refused body: the first problem as the error, all of them as detail."""
    errors = e.errors(include_url=False, include_context=False)
    detail = bodies.details(errors, skip=1)
    first = errors[0]
    kind, loc = first["type"], tuple(first["loc"][1:])  # loc[0] is the task name (the union's tag)
    if kind in ("union_tag_invalid", "union_tag_not_found") and len(first["loc"]) <= 1:
        return bad_request(f"unknown task name {body.get('name')!r}", TASK_NAMES)
    if kind == "model_attributes_type":
        return bad_request("task must be a JSON object", body)
    name = first["loc"][0]
    extra = [err["loc"][1] for err in errors if err["type"] == "extra_forbidden" and len(err["loc"]) == 2]
    if extra:
        return bad_request(f"unknown arguments for {name}: {sorted(map(str, extra))}", detail)
    if kind == "missing":
        return bad_request(f"missing argument {bodies.where(loc)}", detail)
    return bad_request(bodies.message(first, loc), detail)


def parse_task(body: Any) -> Any:
    """The body as its task's model, or ApiError(400) saying what is wrong with it."""
    if not isinstance(body, dict):
        raise bad_request("task must be a JSON object", body)
    try:
        return _ADAPTER.validate_python(body)
    except ValidationError as e:
        raise _refusal(body, e) from None


# --- OpenAPI ------------------------------------------------------------------------------------------

OPENAPI_SCHEMA = bodies.json_schema(_ADAPTER)
