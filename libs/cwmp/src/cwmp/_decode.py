"""Element tree -> message dataclasses, driven by ``_layout``.

Children are matched by local name, so any prefix and namespace-qualified children are
accepted; SOAP-ENC arrays are read by their children, never by their arrayType count.
A missing required element raises ``InvalidArguments``; a malformed optional value is
replaced by the field's default and reported in ``warnings`` (kept in Envelope.extra).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree

from . import messages as m
from ._layout import (
    ARRAY,
    BOOL,
    EVENT,
    INT,
    LAYOUTS,
    OPERATION_TYPES,
    OPERATIONS,
    REPEAT,
    STR,
    STRUCT,
    TIME,
    VALUES,
    Field,
)
from .errors import InvalidArguments
from .events import EventCode
from .values import BOOLEAN, STRING, TYPE_SPELLINGS, UNSIGNED_INT, decode_value, parse_datetime, parse_int
from .values import INT as INT_TYPE
from .xmlsafe import XSI

_XSI_TYPE = f"{{{XSI}}}type"
_SKIP = object()  # "use the field's default"
_BOOLEAN_TEXT = {"1": True, "0": False, "true": True, "false": False}

Warnings = list[str]
Decoder = Callable[[etree._Element, Field, str, Warnings], Any]


def local_name(tag: str) -> str:
    return tag[tag.index("}") + 1 :] if tag[0] == "{" else tag


def _text(el: etree._Element) -> str:
    text = el.text
    return "" if text is None else text


def _bad_value(f: Field, path: str, text: str, what: str, warnings: Warnings) -> object:
    where = f"{path}.{f.tag}"
    if f.required:
        raise InvalidArguments(f"{where}: {text[:64]!r} is not {what}")
    warnings.append(f"{where}: {text[:64]!r} is not {what}; default used")
    return _SKIP


def _dec_str(el: etree._Element, f: Field, path: str, warnings: Warnings) -> object:
    text = el.text
    return "" if text is None else text


def _dec_event(el: etree._Element, f: Field, path: str, warnings: Warnings) -> object:
    return EventCode(_text(el))


def _dec_int(el: etree._Element, f: Field, path: str, warnings: Warnings) -> object:
    text = el.text
    if text is None:
        text = ""
    elif text.isdigit() and len(text) < 20 and text.isascii():
        return int(text)
    value = parse_int(text)
    if value is None:
        return _bad_value(f, path, text.strip(), "an integer", warnings)
    return value


def _dec_bool(el: etree._Element, f: Field, path: str, warnings: Warnings) -> object:
    s = _text(el).strip().lower()
    if s == "1" or s == "true":
        return True
    if s == "0" or s == "false":
        return False
    number = parse_int(s)
    if number is not None:  # seen in the field: <Writable>30</Writable>
        warnings.append(f"{path}.{f.tag}: {s!r} is not a boolean; read as {number != 0}")
        return number != 0
    return _bad_value(f, path, s, "a boolean", warnings)


def _dec_time(el: etree._Element, f: Field, path: str, warnings: Warnings) -> object:
    s = _text(el).strip()
    if not s:
        return None
    value = parse_datetime(s)
    if value is None:
        warnings.append(f"{path}.{f.tag}: {s[:64]!r} is not a valid dateTime; read as unknown time")
        return None
    if value.year == 1 and value.month == 1 and value.day == 1 and not (value.hour or value.minute or value.second):
        return None  # 0001-01-01T00:00:00Z: the protocol's "unknown time"
    return value


def _dec_struct(el: etree._Element, f: Field, path: str, warnings: Warnings) -> object:
    return decode_struct(el, f.item, f"{path}.{f.tag}", warnings)


def _dec_array(el: etree._Element, f: Field, path: str, warnings: Warnings) -> object:
    if f.item is STR:
        return [_text(item) for item in el]
    base = f"{path}.{f.tag}"
    cls = f.item
    if _PLANS[cls].flat:
        mark = len(warnings)
        fast = _flat_items_in_usual_shape(el, cls, base, warnings)
        if fast is not None:
            return fast
        del warnings[mark:]  # read again below
    return [decode_struct(item, cls, f"{base}[{i}]", warnings) for i, item in enumerate(el)]


def _flat_items_in_usual_shape(el: etree._Element, cls: type, base: str, warnings: Warnings) -> list[Any] | None:
    """Arrays of structs with only scalar fields (ParameterInfoStruct, EventStruct ...),
    read in one pre-order walk when every item has exactly its fields, in order, as
    childless elements; None as soon as one does not."""
    fields = _PLANS[cls].fields
    count = len(fields)
    walk = el.iter()
    next(walk)  # el itself
    out = []
    for i in range(len(el)):
        item = next(walk, None)
        if item is None or len(item) != count:
            return None
        values = []
        skipped = False
        for f, decoder in fields:
            child = next(walk, None)
            if child is None or child.tag != f.tag or len(child):
                return None
            if decoder is _dec_str:
                text = child.text
                values.append("" if text is None else text)
            else:
                value = decoder(child, f, f"{base}[{i}]", warnings)
                skipped = skipped or value is _SKIP
                values.append(value)
        out.append(_construct(cls, fields, values, skipped))
    return out


def _xsi_type(attrs: list[str], value_el: etree._Element) -> str | None:
    """The xsi:type of a <Value> whose attribute values are ``attrs``. ``.values()`` is
    several times cheaper than ``.get("{xsi}type")``; a lone attribute spelled like a
    standard type is the xsi:type, anything else is looked up properly."""
    if not attrs:
        return None
    if len(attrs) == 1 and attrs[0] in TYPE_SPELLINGS:
        return attrs[0]
    return value_el.get(_XSI_TYPE)


def _value_struct(name: str, text: str | None, xsi_type: str | None) -> m.ParameterValueStruct:
    """A ParameterValueStruct from its Name text, Value text and xsi:type."""
    if xsi_type is None or xsi_type == STRING:
        return m.ParameterValueStruct(name, "" if text is None else text, STRING)
    if text is not None and len(text) < 10 and text.isascii():  # < 10 digits: within range
        if xsi_type == UNSIGNED_INT:
            if text.isdigit():
                return m.ParameterValueStruct(name, int(text), UNSIGNED_INT)
        elif xsi_type == INT_TYPE:
            if text.isdigit() or (text[:1] == "-" and text[1:].isdigit()):
                return m.ParameterValueStruct(name, int(text), INT_TYPE)
        elif xsi_type == BOOLEAN and text in _BOOLEAN_TEXT:
            return m.ParameterValueStruct(name, _BOOLEAN_TEXT[text], BOOLEAN)
    value, typ = decode_value(text, xsi_type)
    return m.ParameterValueStruct(name, value, typ)


_STRING_ATTRS = [STRING]  # .values() of <Value xsi:type="xsd:string">
_UNSIGNED_INT_ATTRS = [UNSIGNED_INT]


def _dec_values(el: etree._Element, f: Field, path: str, warnings: Warnings) -> object:
    """ParameterValueStruct arrays read from the tree (``read_value_list`` reads the usual
    large ones from the text instead).

    The usual shape (<Name> then <Value>, unqualified) costs a handful of lxml calls per
    item, and the two commonest types are converted inline; anything else goes through
    ``_dec_value_struct``.
    """
    out: list[m.ParameterValueStruct] = []
    append = out.append
    pvs = m.ParameterValueStruct
    string, uint = STRING, UNSIGNED_INT
    string_attrs, uint_attrs = _STRING_ATTRS, _UNSIGNED_INT_ATTRS
    for item in el:
        # Indexing is cheaper than unpacking or iterating (no iterator object per item).
        if len(item) == 2:
            name_el = item[0]
            value_el = item[1]
            if name_el.tag == "Name" and value_el.tag == "Value":
                name = name_el.text
                if name is None:
                    name = ""
                text = value_el.text
                attrs = value_el.values()
                if attrs == string_attrs:
                    append(pvs(name, "" if text is None else text, string))
                elif attrs == uint_attrs and text is not None and len(text) < 10 and text.isdigit() and text.isascii():
                    append(pvs(name, int(text), uint))
                else:
                    append(_value_struct(name, text, _xsi_type(attrs, value_el)))
                continue
        append(_dec_value_struct(item, f"{path}.{f.tag}[{len(out)}]", warnings))
    return out


def _dec_value_struct(item: etree._Element, path: str, warnings: Warnings) -> m.ParameterValueStruct:
    """One ParameterValueStruct in any shape: qualified children, other order, extras."""
    name = value_el = None
    for child in item:
        tag = local_name(child.tag)
        if tag == "Name" and name is None:
            name = _text(child)
        elif tag == "Value" and value_el is None:
            value_el = child
    if name is None:
        raise InvalidArguments(f"{path}: missing Name")
    if value_el is None:
        warnings.append(f"{path}: missing Value; read as empty string")
        return m.ParameterValueStruct(name, "", STRING)
    return _value_struct(name, value_el.text, _xsi_type(value_el.values(), value_el))


# ---------------------------------------------------------------- value lists read from text
# A large ParameterValueStruct array is most of an Inform or GetParameterValuesResponse, and
# building and reading an lxml element per Name and Value is most of what parse() costs.
# ``read_value_list`` reads such an array from the document's text instead, when every item
# is in the usual shape: fixed tags, text without markup between them.
_VALUE_ITEM = re.compile(
    r"<ParameterValueStruct>[^<]*+"
    r"<Name>([^<]*+)</Name>[^<]*+"
    r"<(Value[^>]*+)>(?:(?<=/>)|(?<!/>)([^<]*+)</Value>)[^<]*+"  # no text group: <Value .../>
    r"</ParameterValueStruct>"
)
# The inside of a <Value> start tag: no attribute or one, whose prefix libxml2 checks.
_VALUE_HEAD = re.compile(
    r"Value(?:[ \t\n]+([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)[ \t\n]*=[ \t\n]*(?:\"([^\"]*)\"|'([^']*)'))?[ \t\n]*/?",
    re.ASCII,
)
_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9A-Fa-f]{1,6}));")  # longer: read as a tree
_PREDEFINED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_value_heads: dict[str, tuple[str | None, str | None] | None] = {}


def _value_head(head: str) -> tuple[str | None, str | None] | None:
    """(xsi:type, attribute name) of a <Value> start tag, or None when its type cannot be
    told without the namespaces in scope. As in ``_xsi_type``, a lone attribute spelled like
    a standard type is the xsi:type whatever its name."""
    if head in _value_heads:
        return _value_heads[head]
    if len(head) > 80:  # longer than any usual spelling; kept out of the cache
        return None
    known: tuple[str | None, str | None] | None = None
    match = _VALUE_HEAD.fullmatch(head)
    if match is not None:
        name, double, single = match.groups()
        value = double if double is not None else single
        if name is None:
            known = (None, None)
        elif value in TYPE_SPELLINGS and name != "xmlns" and not name.startswith("xmlns:"):
            known = (value, name)
    if len(_value_heads) < 256:  # bounded: start tags come from untrusted input
        _value_heads[head] = known
    return known


def _is_xml_char(code: int) -> bool:
    return 0x20 <= code <= 0xD7FF or code in (0x9, 0xA, 0xD) or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _referenced(ref: re.Match[str]) -> str:
    name, decimal, hexadecimal = ref.groups()
    return _PREDEFINED[name] if name else chr(int(decimal) if decimal else int(hexadecimal, 16))


def _references_are_valid(text: str) -> bool:
    """Every "&" starts a predefined entity or a character reference to an XML character."""
    refs = _REFERENCE.findall(text)
    if len(refs) != text.count("&"):
        return False
    return all(_is_xml_char(int(dec) if dec else int(hx, 16)) for name, dec, hx in refs if not name)


def read_value_list(text: str) -> tuple[list[m.ParameterValueStruct], set[str]] | None:
    """The ParameterValueStructs in ``text``, the decoded content of a ParameterList element,
    and the attribute names used on <Value>. None unless ``text`` is well-formed XML content
    made of <ParameterValueStruct><Name>..</Name><Value ..>..</Value></ParameterValueStruct>
    items (at most one attribute on Value) and text between them, provided that all its
    characters are XML characters and those attribute names are bound to namespaces, which
    the caller must have libxml2 check."""
    if "\r" in text:  # XML end-of-line handling, as the parser does it
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "]" in text and "]]>" in text:  # not allowed in character data
        return None
    parts = _VALUE_ITEM.split(text)
    if "<" in "".join(parts[::4]):  # markup outside the usual items
        return None
    names, heads, texts = parts[1::4], parts[2::4], parts[3::4]
    heads_read = _value_heads_read(set(heads))
    if heads_read is None:
        return None
    types, attribute_names = heads_read
    if "&" in text:
        if not _references_are_valid(text):
            return None
        names = [_REFERENCE.sub(_referenced, name) if "&" in name else name for name in names]
        texts = [_REFERENCE.sub(_referenced, t) if t is not None and "&" in t else t for t in texts]
    if None in texts:  # <Value .../> reads as "", like the tree's None
        texts = ["" if t is None else t for t in texts]
    return _value_structs(names, map(types.__getitem__, heads), texts), attribute_names


def _value_heads_read(heads: set[str]) -> tuple[dict[str, str | None], set[str]] | None:
    """The xsi:type of each distinct <Value> start tag, and the attribute names they use; None
    when one cannot be told from the text."""
    types: dict[str, str | None] = {}
    attribute_names: set[str] = set()
    for head in heads:
        known = _value_head(head)
        if known is None:
            return None
        types[head] = known[0]
        if known[1] is not None:
            attribute_names.add(known[1])
    return types, attribute_names


def _value_structs(names: list[str], xsi_types: Iterable[str | None], texts: list[str]) -> list[m.ParameterValueStruct]:
    """The items, the usual types (string, small unsignedInt, boolean) decoded inline."""
    out: list[m.ParameterValueStruct] = []
    append = out.append
    pvs = m.ParameterValueStruct
    string, uint, boolean, booleans = STRING, UNSIGNED_INT, BOOLEAN, _BOOLEAN_TEXT
    for name, xsi_type, value in zip(names, xsi_types, texts, strict=True):
        if xsi_type == string:
            append(pvs(name, value, string))
        elif xsi_type == uint and len(value) < 10 and value.isdigit() and value.isascii():
            append(pvs(name, int(value), uint))  # < 10 digits: within range
        elif xsi_type == boolean and value in booleans:
            append(pvs(name, booleans[value], boolean))
        else:
            append(_value_struct(name, value, xsi_type))
    return out


def _dec_repeat(elements: list[etree._Element], f: Field, path: str, warnings: Warnings) -> object:
    base = f"{path}.{f.tag}"
    return [decode_struct(el, f.item, f"{base}[{i}]", warnings) for i, el in enumerate(elements)]


def _dec_operations(elements: list[etree._Element], f: Field, path: str, warnings: Warnings) -> object:
    out = []
    for i, el in enumerate(elements):
        xsi_type = el.get(_XSI_TYPE)
        cls = OPERATION_TYPES.get(xsi_type.rpartition(":")[2]) if xsi_type else None
        if cls is None:
            raise InvalidArguments(f"{path}.{f.tag}[{i}]: xsi:type {xsi_type!r} is not an operation type")
        out.append(decode_struct(el, cls, f"{path}.{f.tag}[{i}]", warnings))
    return out


_DECODERS: dict[str, Decoder] = {
    STR: _dec_str,
    INT: _dec_int,
    BOOL: _dec_bool,
    TIME: _dec_time,
    EVENT: _dec_event,
    STRUCT: _dec_struct,
    ARRAY: _dec_array,
    VALUES: _dec_values,
    REPEAT: _dec_repeat,
    OPERATIONS: _dec_operations,
}
_MULTI = (REPEAT, OPERATIONS)
_SCALARS = (STR, INT, BOOL, TIME, EVENT)


class _Plan:
    __slots__ = ("fields", "multi_tags", "simple", "flat")

    def __init__(self, cls: type, fields: tuple[Field, ...]) -> None:
        init = [f.name for f in dataclasses.fields(cls) if f.init]
        if [f.attr for f in fields] != init[: len(fields)]:  # _construct passes them by position
            raise AssertionError(f"{cls.__name__}: layout order differs from the dataclass")
        self.fields = tuple((f, _DECODERS[f.kind]) for f in fields)
        self.multi_tags = frozenset(f.tag for f in fields if f.kind in _MULTI)
        # One element per field, none optional on the wire: eligible for the fast path.
        self.simple = not self.multi_tags and not any(f.omit_empty for f in fields)
        # ... and every field a scalar: whole arrays of it can be read in one walk.
        self.flat = self.simple and all(f.kind in _SCALARS for f in fields)


_PLANS: dict[type, _Plan] = {cls: _Plan(cls, fields) for cls, fields in LAYOUTS.items()}


def _construct(cls: type, fields: tuple[tuple[Field, Decoder], ...], values: list[Any], skipped: bool) -> Any:
    """``cls`` from one value per field, in layout order; _SKIP leaves a field at its default.
    By position when possible: keyword calls cost more."""
    if skipped:
        return cls(**{f.attr: value for (f, _), value in zip(fields, values, strict=True) if value is not _SKIP})
    return cls(*values)


def decode_struct(el: etree._Element, cls: type, path: str, warnings: Warnings) -> Any:
    """Read one element into ``cls`` using its layout."""
    plan = _PLANS[cls]
    fields = plan.fields
    if plan.simple and len(el) == len(fields):
        # Fast path: exactly the schema's children, unqualified, in schema order.
        mark = len(warnings)
        values = []
        skipped = False
        for (f, decoder), child in zip(fields, el.getchildren(), strict=True):
            if child.tag != f.tag:
                break
            if decoder is _dec_str:
                text = child.text
                values.append("" if text is None else text)
            else:
                value = decoder(child, f, path, warnings)
                skipped = skipped or value is _SKIP
                values.append(value)
        else:
            return _construct(cls, fields, values, skipped)
        del warnings[mark:]  # the general path below reports them again
    return _decode_struct_any_shape(el, cls, plan, path, warnings)


def _decode_struct_any_shape(el: etree._Element, cls: type, plan: "_Plan", path: str, warnings: Warnings) -> Any:
    children: dict[str, Any] = {}
    multi = plan.multi_tags
    for child in el:
        tag = child.tag
        if tag[0] == "{":
            tag = tag[tag.index("}") + 1 :]
        if multi and tag in multi:
            children.setdefault(tag, []).append(child)
        elif tag not in children:
            children[tag] = child
    kwargs: dict[str, Any] = {}
    for f, decoder in plan.fields:
        child = children.get(f.tag)
        if child is None:
            if f.kind in _MULTI:
                kwargs[f.attr] = []  # a repeated element that occurs zero times
            elif f.kind == TIME:
                kwargs[f.attr] = None  # unknown time
            elif f.required:
                raise InvalidArguments(f"{path}: missing {f.tag}")
            continue
        value = decoder(child, f, path, warnings)
        if value is not _SKIP:
            kwargs[f.attr] = value
    return cls(**kwargs)


def decode_fault(el: etree._Element, warnings: Warnings) -> tuple[m.Fault, str | None]:
    """A SOAP Fault (or a bare cwmp:Fault) -> messages.Fault, plus the cwmp:Fault's namespace."""
    faultcode = faultstring = None
    detail_fault = None
    if any(local_name(child.tag) == "FaultCode" for child in el):
        detail_fault = el  # a bare cwmp:Fault straight in the Body
    else:
        for child in el:
            name = local_name(child.tag).lower()
            if name == "faultcode":
                faultcode = _text(child).strip()
            elif name == "faultstring":
                faultstring = _text(child)
            elif name == "detail":
                for d in child:
                    if local_name(d.tag) == "Fault":
                        detail_fault = d
                        break
    fault = m.Fault(fault_code=0)
    if faultcode is not None:
        fault.faultcode = faultcode.rpartition(":")[2]
    if faultstring is not None:
        fault.faultstring = faultstring
    if detail_fault is None:
        warnings.append("Fault: no cwmp:Fault detail; fault_code is 0")
        fault.fault_string = fault.faultstring
        return fault, None
    code_text = None
    spv: list[m.SetParameterValuesFault] = []
    for child in detail_fault:
        name = local_name(child.tag)
        if name == "FaultCode":
            code_text = _text(child).strip()
        elif name == "FaultString":
            fault.fault_string = _text(child)
        elif name == "SetParameterValuesFault":
            spv.append(decode_struct(child, m.SetParameterValuesFault, f"Fault.SetParameterValuesFault[{len(spv)}]", warnings))
    code = parse_int(code_text) if code_text is not None else None
    if code is not None:
        fault.fault_code = code
    else:
        warnings.append(f"Fault.FaultCode: {code_text!r} is not an integer; fault_code is 0")
    fault.set_parameter_values_faults = spv
    ns = detail_fault.tag[1 : detail_fault.tag.index("}")] if detail_fault.tag[0] == "{" else None
    return fault, ns
