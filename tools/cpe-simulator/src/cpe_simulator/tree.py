"""One device's parameter tree: the shared template plus this device's differences.

Thousands of devices share one :class:`DataModel`; each :class:`DeviceTree` stores only what differs
(changed values, notification attributes, added and deleted instances), so a fresh device costs a
few empty dicts. An added instance is an alias of an existing template instance of the same table
(its sub-tree shape and default values), minus that instance's own sub-instances: a new object
starts with empty sub-tables, as on a real CPE.
"""

from __future__ import annotations

from collections.abc import Iterator

from .datamodel import DataModel, Node, parent_path

_EMPTY_OBJECT = Node(True, True)


def is_instance_segment(segment: str) -> bool:
    return segment.isdigit()


def last_segment(path: str) -> str:
    trimmed = path.rstrip(".")
    return trimmed[trimmed.rfind(".") + 1 :]


class DeviceTree:
    """Reads and writes one device's parameters. Paths follow CWMP: objects end with "."."""

    __slots__ = ("model", "base", "values", "attributes", "added", "deleted", "next_instance")

    def __init__(self, model: DataModel, base: dict[str, str] | None = None) -> None:
        self.model = model
        # Values that make this device itself (serial number, URLs, credentials): survive FactoryReset.
        self.base: dict[str, str] = {k: v for k, v in (base or {}).items() if k in model.nodes}
        self.values: dict[str, str] = {}
        self.attributes: dict[str, tuple[int, tuple[str, ...]]] = {}  # path -> (notification, access list)
        self.added: dict[str, str] = {}  # new instance path -> template instance path ("" if none existed)
        self.deleted: set[str] = set()  # template instance paths removed
        self.next_instance: dict[str, int] = {}

    # ------------------------------------------------------------------ resolution
    def _template_path(self, path: str) -> str | None:
        """The template path that describes ``path`` on this device, or None if it does not exist."""
        if self.deleted or self.added:
            prefix = path if path.endswith(".") else path + "."
            while prefix:
                if prefix in self.deleted:
                    return None
                source = self.added.get(prefix)
                if source is not None:
                    rest = path[len(prefix) :]
                    if not rest:
                        return source or prefix
                    if not source or any(is_instance_segment(s) for s in rest.rstrip(".").split(".")):
                        return None  # sub-instances of the source are not copied
                    return source + rest
                prefix = prefix[: prefix.rfind(".", 0, len(prefix) - 1) + 1]
        return path if path in self.model.nodes else None

    def node(self, path: str) -> Node | None:
        template = self._template_path(path)
        if template is None:
            return None
        if template == path and path in self.added:
            return _EMPTY_OBJECT
        return self.model.nodes.get(template)

    def exists(self, path: str) -> bool:
        return self.node(path) is not None

    def get(self, path: str) -> tuple[str, str] | None:
        """(wire text, xsd type) of a parameter, or None when it is missing or an object."""
        node = self.node(path)
        if node is None or node.is_object:
            return None
        value = self.values.get(path)
        if value is None:
            value = self.base.get(path, node.value)
        return value, node.type

    def set(self, path: str, text: str) -> None:
        """Store a value without checks (callers validate); no-op for a missing path."""
        if self.get(path) is not None:
            self.values[path] = text

    # ------------------------------------------------------------------ structure
    def children(self, path: str) -> list[str]:
        """Direct children of an existing object, in dump order, then added instances."""
        template = self._template_path(path)
        if template is None:
            return []
        out: list[str] = []
        if not (path in self.added and not self.added[path]):
            for child in self.model.children.get(template, ()):
                device_child = path + child[len(template) :]
                if self._template_path(device_child) is not None:
                    out.append(device_child)
        if self.added:
            out.extend(p for p in self.added if parent_path(p) == path)
        return out

    def walk(self, path: str) -> Iterator[str]:
        """Every object and parameter under ``path`` (excluded), depth first."""
        stack = list(reversed(self.children(path)))
        while stack:
            p = stack.pop()
            yield p
            if p.endswith("."):
                stack.extend(reversed(self.children(p)))

    def is_table(self, path: str) -> bool:
        """A multi-instance object: its children are instances, or it is writable and empty."""
        node = self.node(path)
        if node is None or not node.is_object or path.rstrip(".").split(".")[-1].isdigit():
            return False
        kids = self.children(path)
        template = self._template_path(path) or path
        template_kids = self.model.children.get(template, ())
        all_kids = kids or list(template_kids)
        if all_kids:
            return all(is_instance_segment(last_segment(k)) for k in all_kids)
        return node.writable

    def add_object(self, table: str) -> int:
        """Create the next instance of ``table`` (caller checked :meth:`is_table`)."""
        number = self.next_instance.get(table)
        if number is None:
            numbers = [int(last_segment(k)) for k in self.children(table)]
            if self._template_path(table) == table:  # numbers of deleted dump instances are not reused
                numbers += [int(last_segment(k)) for k in self.model.children.get(table, ()) if last_segment(k).isdigit()]
            number = max(numbers, default=0) + 1
        self.next_instance[table] = number + 1
        self.added[f"{table}{number}."] = self._instance_source(table)
        return number

    def _instance_source(self, table: str) -> str:
        """A template instance of the same table whose shape the new instance takes."""
        template = self._template_path(table) or table
        for child in self.model.children.get(template, ()):
            if is_instance_segment(last_segment(child)):
                return child
        for other in self.model.find("." + last_segment(table) + "."):  # same table elsewhere in the tree
            for child in self.model.children.get(other, ()):
                if is_instance_segment(last_segment(child)):
                    return child
        return ""

    def delete_object(self, instance: str) -> None:
        """Remove an instance and everything under it."""
        if instance in self.added:
            del self.added[instance]
        else:
            self.deleted.add(instance)
        for p in [p for p in self.added if p.startswith(instance)]:
            del self.added[p]
        for store in (self.values, self.attributes):
            for p in [p for p in store if p.startswith(instance)]:
                del store[p]

    # ------------------------------------------------------------------ attributes
    def notification(self, path: str) -> int:
        return self.attributes.get(path, (0, ()))[0]

    def access_list(self, path: str) -> tuple[str, ...]:
        return self.attributes.get(path, (0, ()))[1]

    def set_attributes(self, path: str, notification: int | None, access_list: list[str] | None) -> None:
        old_n, old_a = self.attributes.get(path, (0, ()))
        new = (old_n if notification is None else notification, old_a if access_list is None else tuple(access_list))
        if new == (0, ()):
            self.attributes.pop(path, None)
        else:
            self.attributes[path] = new

    def notifying(self) -> dict[str, int]:
        """Parameters with notification on, for change tracking."""
        return {p: a[0] for p, a in self.attributes.items() if a[0]}

    # ------------------------------------------------------------------ lifecycle
    def factory_reset(self) -> None:
        """Back to the dump's values; the device's own identity (``base``) stays."""
        self.values.clear()
        self.attributes.clear()
        self.added.clear()
        self.deleted.clear()
        self.next_instance.clear()
