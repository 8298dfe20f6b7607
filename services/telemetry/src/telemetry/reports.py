"""TR-232 / TR-157 Bulk Data HTTP reports to KPI samples.

A report is one POST; its ``BBF-Report-Format`` header (and Content-Type) says how it is encoded:

* JSON ``NameValuePair``: ``{"Report": [{"CollectionTime": 1364529149, "Device.X.Y": 15, ...}, ...]}``
* JSON ``ObjectHierarchy``: ``{"Report": [{"CollectionTime": ..., "Device": {"X": {"Y": 15}}}, ...]}``
  (instances as objects keyed by number, or as arrays);
* CSV ``ParameterPerRow``: a header ``[ReportTimestamp,]ParameterName,ParameterValue,ParameterType``,
  then one parameter per row;
* CSV ``ParameterPerColumn``: a header ``[ReportTimestamp,]<name>,<name>...``, then one collection per row.

``CollectionTime`` / ``ReportTimestamp`` is Unix-Epoch seconds or ISO-8601, or absent (``None``: the
time of receipt). The CSV field separator is whatever follows the header's first field, as the
profile's ``CSVEncoding.FieldSeparator`` chose; rows end with CRLF or LF; the escape character is ``"``.
Gzip (``Content-Encoding: gzip``, the profile's ``HTTP.Compression = GZIP``) is undone first.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from datetime import datetime
from typing import Any

import orjson

JSON_FORMATS = ("NameValuePair", "ObjectHierarchy")
CSV_FORMATS = ("ParameterPerRow", "ParameterPerColumn")
TIME_FIELDS = ("CollectionTime", "ReportTimestamp")
_YEAR_10000 = 253402300800.0
MAX_STRING = 256  # longer string values are cut: history is for KPIs, not blobs

Sample = dict[str, Any]  # {"name", "value", "t"}


class ReportError(ValueError):
    """A report that cannot be read; the message says why (the CPE gets it with a 400)."""


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """The body with its Content-Encoding undone, refused past ``limit`` bytes decompressed."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        data = body
    elif encoding in ("gzip", "x-gzip", "deflate"):
        d = zlib.decompressobj(wbits=47 if encoding != "deflate" else 15)  # 47: gzip or zlib header
        try:
            data = d.decompress(body, limit + 1)
        except zlib.error as e:
            raise ReportError(f"bad {encoding} body: {e}") from None
    else:
        raise ReportError(f"unsupported Content-Encoding {encoding!r} (identity or gzip)")
    if len(data) > limit:
        raise ReportError(f"report larger than {limit} bytes")
    return data


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=5)


def parse_time(raw: Any, default: float) -> float:
    """Unix-Epoch (number or digits) or ISO-8601 to unix seconds; empty or None: ``default``.
    A time before 1970 or past the year 9999 (or not a number at all) is refused."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise ReportError(f"bad timestamp {raw!r}")
    t: float | None = None
    if isinstance(raw, (int, float)):
        t = float(raw)
    else:
        text = str(raw).strip()
        try:
            t = float(text)
        except ValueError:
            try:
                t = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
            except ValueError:
                pass
    if t is None or not math.isfinite(t) or not 0 <= t < _YEAR_10000:
        raise ReportError(f"bad timestamp {raw!r} (Unix-Epoch or ISO-8601)")
    return t


def typed(value: Any, xsd: str = "") -> Any:
    """A JSON-ready sample value: numbers and booleans as such, strings cut to MAX_STRING.
    ``xsd`` (a CSV ParameterType, with or without ``xsd:``) types a text value; untyped text that
    reads as a number becomes one."""
    if isinstance(value, (bool, int, float)):
        return value
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()[:MAX_STRING]
    text = str(value)
    t = xsd.removeprefix("xsd:").strip().lower()
    if t == "boolean":
        return text.strip().lower() in ("1", "true")
    if t in ("int", "unsignedint", "long", "unsignedlong", "decimal", "double", "float", "") and text.strip():
        s = text.strip()
        try:
            return int(s)
        except ValueError:
            try:
                return float(s)
            except ValueError:
                if t:
                    raise ReportError(f"{text!r} is not a {xsd}") from None
    return text[:MAX_STRING]


def _flatten(prefix: str, node: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
        for i, v in enumerate(node, 1):  # instances as an array: numbered from 1
            _flatten(f"{prefix}.{i}", v, out)
    else:
        out.append((prefix, node))


def parse_json(data: bytes, fmt: str, received: float) -> list[Sample]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise ReportError(f"not JSON: {e}") from None
    reports = doc.get("Report") if isinstance(doc, dict) else None
    if not isinstance(reports, list):
        raise ReportError('a JSON report is {"Report": [ {...}, ... ]}')
    samples: list[Sample] = []
    for report in reports:
        if not isinstance(report, dict):
            raise ReportError("each Report entry must be an object")
        t = received
        pairs: list[tuple[str, Any]] = []
        for key, value in report.items():
            if key in TIME_FIELDS:
                t = parse_time(value, received)
            elif fmt == "ObjectHierarchy" or isinstance(value, dict):
                _flatten(key, value, pairs)
            else:
                pairs.append((key, value))
        samples.extend({"name": n, "value": typed(v), "t": t} for n, v in pairs)
    return samples


def _csv_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReportError("CSV report is not UTF-8") from None
    first = text.split("\n", 1)[0].rstrip("\r")
    start = next((first.index(f) + len(f) for f in ("ReportTimestamp", "ParameterName") if first.startswith(f)), None)
    if start is None:
        raise ReportError("CSV report must start with its header (ReportTimestamp or ParameterName first)")
    sep = first[start : start + 1] or ","
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"') if r]
    return rows[0], rows[1:]


def parse_csv(data: bytes, fmt: str, received: float) -> list[Sample]:
    header, rows = _csv_rows(data)
    stamped = header[0] == "ReportTimestamp"
    samples: list[Sample] = []
    if fmt == "ParameterPerRow" or "ParameterName" in header:
        try:
            i_name, i_value = header.index("ParameterName"), header.index("ParameterValue")
        except ValueError:
            raise ReportError("ParameterPerRow header needs ParameterName and ParameterValue") from None
        i_type = header.index("ParameterType") if "ParameterType" in header else None
        for n, row in enumerate(rows, 2):
            if len(row) != len(header):
                raise ReportError(f"CSV row {n} has {len(row)} fields, the header {len(header)}")
            t = parse_time(row[0], received) if stamped else received
            xsd = row[i_type] if i_type is not None else ""
            samples.append({"name": row[i_name], "value": typed(row[i_value], xsd), "t": t})
        return samples
    names = header[1:] if stamped else header
    for n, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise ReportError(f"CSV row {n} has {len(row)} fields, the header {len(header)}")
        t = parse_time(row[0], received) if stamped else received
        values = row[1:] if stamped else row
        samples.extend({"name": name, "value": typed(v), "t": t} for name, v in zip(names, values, strict=True) if v != "")
    return samples


def report_format(header: str, content_type: str) -> str:
    """The report's format: the BBF-Report-Format header, else guessed from Content-Type."""
    fmt = header.strip()
    if fmt:
        if fmt not in JSON_FORMATS + CSV_FORMATS:
            raise ReportError(f"unknown BBF-Report-Format {fmt!r} (one of {', '.join(JSON_FORMATS + CSV_FORMATS)})")
        return fmt
    ct = content_type.split(";")[0].strip().lower()
    if ct.endswith("json"):
        return "NameValuePair"
    if ct in ("text/csv", "application/csv"):
        return "ParameterPerRow"
    raise ReportError("no BBF-Report-Format header and a Content-Type that is neither JSON nor CSV")


def parse_report(data: bytes, fmt: str, received: float) -> list[Sample]:
    """Every sample of a (decompressed) report; names with an empty value or name are dropped."""
    samples = parse_json(data, fmt, received) if fmt in JSON_FORMATS else parse_csv(data, fmt, received)
    return [s for s in samples if s["name"] and s["value"] is not None]
