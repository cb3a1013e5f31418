"""Safe YAML loading: PyYAML's C safe loader, aliases refused (no billion laughs), duplicate
keys refused (PyYAML keeps the last one silently: two ``webUrl`` would pick the identity)."""

from __future__ import annotations

import warnings
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

    warnings.warn(
        "PyYAML was built without libyaml: using the pure-Python loader (about 10x slower)",
        RuntimeWarning,
        stacklevel=1,
    )


class AliasRefusedError(yaml.YAMLError):
    """The document reuses a node through an alias; we refuse those outright."""

    def __init__(self, mark: yaml.Mark | None) -> None:
        self.problem_mark = mark
        super().__init__("YAML aliases (*name) are not allowed")


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice (at any depth)."""

    def __init__(self, key: Any, mark: yaml.Mark) -> None:
        self.problem_mark = mark
        self.problem = f"duplicate key {key!r}"
        super().__init__(self.problem)


class NoAliasSafeLoader(_BaseLoader):
    """Safe loader that refuses any node reached twice (what an alias is, once composed).

    Composition leaves an alias as a second reference to the same node; the constructor's
    memo is where that shows. Refusing it keeps the constructed data a tree whose size is
    bounded by the input's, so no alias bomb can blow up later walks or serialisation.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise AliasRefusedError(node.start_mark)
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        explicit = [key for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"]
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if len(mapping) < len(explicit):  # (merged keys may be overridden: not counted)
            seen: set[Any] = set()
            for key_node in explicit:
                key = self.constructed_objects.get(key_node)
                if key in seen:
                    raise DuplicateKeyError(key, key_node.start_mark)
                seen.add(key)
        return mapping


def load_yaml(text: str) -> Any:
    """Load one YAML document safely. Raises ``yaml.YAMLError`` on any problem."""
    loader = NoAliasSafeLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
