"""Safe YAML loading that remembers where each value came from.

Config and scenario errors must name the file, line and column of the bad
field. PyYAML's composed node tree has those marks; we keep it beside the
plain Python data and look a pydantic error location up in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic_core import ErrorDetails

from forecast.errors import CostcastError

DEFAULT_MAX_BYTES = 1_000_000


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases.

    Aliases let a few hundred bytes expand into gigabytes ("billion laughs");
    none of our files need them, so refusing them is the simplest defence.
    """

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = yaml.parser.Parser.peek_event(self)
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


# Dates stay text: pydantic parses them and, unlike PyYAML, says where a bad one is.
_NoAliasLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class LocatedYaml:
    """Parsed YAML data plus the node tree used to find line numbers."""

    def __init__(self, data: Any, node: yaml.Node | None, source: str) -> None:
        self.data = data
        self.node = node
        self.source = source

    def locate(self, loc: tuple[str | int, ...]) -> tuple[int | None, int | None]:
        """1-based (line, column) of the deepest node on `loc` that exists."""
        node = self.node
        best = node
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                found = None
                for k, v in node.value:
                    if k.value == key:
                        found = v
                        break
                if found is None:
                    break
                node = found
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(node.value):
                    break
                node = node.value[key]
            else:
                break
            best = node
        if best is None:
            return None, None
        return best.start_mark.line + 1, best.start_mark.column + 1


def parse_yaml(
    text: str | bytes,
    source: str,
    *,
    error: type[CostcastError] = CostcastError,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LocatedYaml:
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise error(f"file is {size:,} bytes; the limit is {max_bytes:,}", file=source)
    try:
        loader = _NoAliasLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise error(f"not valid YAML: {exc.problem or exc}", file=source, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML: {exc}", file=source) from None
    except RecursionError:
        raise error("nested too deeply: no costcast file nests more than a few levels",
                    file=source) from None  # fmt: skip
    return LocatedYaml(data, node, source)


def load_yaml(
    path: str | Path,
    *,
    error: type[CostcastError] = CostcastError,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LocatedYaml:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"file is {size:,} bytes; the limit is {max_bytes:,}", file=str(path))
        data = path.read_bytes()
    except OSError as exc:  # missing, a folder, unreadable
        raise error(f"cannot read file: {exc.strerror}", file=str(path)) from None
    return parse_yaml(data, str(path), error=error, max_bytes=max_bytes)


def format_loc(loc: tuple[str | int, ...]) -> str:
    """('changes', 2, 'share') -> 'changes[2].share'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def raise_validation_error(
    errors: Sequence[ErrorDetails], doc: LocatedYaml, error: type[CostcastError] = CostcastError
) -> NoReturn:
    """Turn the first pydantic error (``ValidationError.errors()``) into a located error."""
    first = errors[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    line, column = doc.locate(loc)
    message = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    if isinstance(value, dict | list) or first["type"] == "value_error":
        value = None  # a whole mapping says nothing; our own messages quote the value already
    raise error(
        message, file=doc.source, line=line, column=column, field=format_loc(loc), value=value
    ) from None
