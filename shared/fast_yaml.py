"""A fast path for front-matter YAML that gives PyYAML's exact result or declines.

PyYAML's C safe loader (``yaml_loader.load_yaml``) is the reference and the fallback. It
spends ~120 µs on a typical 2.6 KB front matter, mostly building Python node objects;
``yaml-rs`` (Rust, saphyr) parses the same text in ~15 µs. But the two differ:

* YAML 1.2 (yaml-rs) vs 1.1 (PyYAML) plain scalars: ``yes/no/on/off``, ``017`` (octal in
  1.1), ``0o17``, ``1e3``, ``-.5``, sexagesimal ``1:30``, ``<<`` merge keys, ``=``;
* timestamps: yaml-rs turns even *quoted* timestamps into datetimes, so we load with
  ``parse_datetime=False`` and construct timestamps ourselves, with PyYAML's own constructor,
  only where the scalar was provably plain;
* protections: PyYAML here refuses every alias and tag; yaml-rs expands aliases (bounded)
  and ignores unknown tags; PyYAML keeps the last of duplicate keys, yaml-rs raises.

So ``fast_load`` returns the mapping only when it can show PyYAML gives the same value, and
``None`` ("ask the reference") otherwise:

1. a cheap, conservative screen of the text sends to PyYAML anything outside the boring
   subset the feed uses: tabs and special line-break/control characters, anchors, aliases,
   tags, block scalars, directives, document markers, complex keys, backslash escapes
   other than ``\\"``, number spellings whose meaning differs between YAML 1.1 and 1.2,
   lines longer than libyaml's 1024-character implicit-key limit;
2. yaml-rs parses with aliases and duplicate keys refused (any error: ask the reference,
   so rejections and their messages always come from PyYAML);
3. the result is walked: every key must be a string, every string scalar that PyYAML's
   implicit resolver (the reference loader's own table) would type when plain must be
   either provably plain and a timestamp (then constructed with PyYAML's constructor) or
   the file goes to PyYAML; non-finite floats and deep nesting go to PyYAML too.

``tests/unit/test_fast_yaml.py`` proves equality on the whole corpus and with hypothesis on
generated and mutated documents (fast result == reference, or fast declined).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import yaml

from newsdrop.shared.yaml_loader import NoAliasSafeLoader

try:  # the fast path is optional: without the wheel everything goes through PyYAML
    import yaml_rs

    _ALIASES_REFUSED: Any = yaml_rs.AliasLimits(
        max_total_replayed_events=0, max_replay_stack_depth=1, max_alias_expansions_per_anchor=0
    )
    HAVE_FAST_YAML = True
except ImportError:  # pragma: no cover - depends on the platform's wheels
    yaml_rs = None  # type: ignore[assignment]
    _ALIASES_REFUSED = None
    HAVE_FAST_YAML = False

MAX_DEPTH = 40
# libyaml refuses implicit keys whose text runs over 1024 characters; a key's text is at
# most 2 * len + 2 characters (quotes, and \" is the only escape the screen lets through).
MAX_KEY = 400
STR_TAG = "tag:yaml.org,2002:str"
# The longest string PyYAML's bool/null resolvers match ("false", "FALSE") plus the one
# trailing line break their "$" allows; the only resolvers for a letter (test_fast_yaml).
LONGEST_WORD = 6
WORD_TAGS = frozenset({"tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"})
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

_BAD_CHARS = "\t\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff"
_DELIM = r"[\s\[{,]"  # what precedes a token start (a "\n" is prepended to the text)
# Where a whole scalar value can begin in block context: at a line start (after indentation),
# after "key:" or after a sequence's "-" (then spaces). Flow collections and number-like
# tokens only matter there: inside a longer plain or quoted scalar ("Market 2019-2023 | ...",
# "the [W]e and") they are text for both parsers. Other places a value can begin ("? ",
# after a tag or an anchor, after "---") are screened out below on their own. As a
# lookbehind (fixed width, so conservative): right after a line break, or after one space
# that follows a line break, ":", "-" or another space.
_AFTER_VALUE_START = r"(?:(?<=\n)|(?<=[\n: \-] ))"
# Anything here sends the text to PyYAML. A character class comes first (so the regex engine
# skips most positions in C), the context is checked with look-arounds.
_UNSAFE_TEXT = re.compile(
    "[!%@`?*&|>[{:\\\\" + _BAD_CHARS + "](?:"
    # at a token start: tag, directive, reserved indicator, complex key, alias
    rf"(?<={_DELIM}[!%@`?*])"
    # an anchor (libyaml refuses a repeated anchor name, yaml-rs does not); "A & B" is fine
    rf"|(?<={_DELIM}&)(?=\S)"
    # a block scalar header (| or > at a token start, then only indicators / a comment)
    rf"|(?<={_DELIM}[|>])(?=[0-9+-]*[ ]*(?:#|\n|$))"
    # a JSON-like "key":value (no space after the colon): parsers differ on it
    r"""|(?<=["']:)(?=\S)"""
    # a backslash escape other than \" (so a quoted scalar's value starts with the
    # character right after its opening quote)
    r'|(?<=\\)(?!")'
    # tabs, NEL/LS/PS (line breaks in YAML 1.1 only), controls, BOM, surrogates
    "|(?<=[" + _BAD_CHARS + "])"
    # a flow collection where a value begins (the feed has none; libyaml and yaml-rs differ
    # on odd flow syntax): the lookbehind is checked before the [ or {
    r"|(?<=\n[\[{])|(?<=[\n: \-] [\[{]))"
)
# Numbers, checked only when the fast result holds ints or floats. yaml-rs reads more
# spellings as numbers than PyYAML does (``_12``, ``0X1F``, ``017`` as 17, ``1e3``, ...), and
# its number grammar is not ours to enumerate. So the rule is positive. A token that is a
# whole value (from a value start to the end of its line or a comment) is number-like when
# it starts with ``[-+]?`` and a digit, ``_``, or ``.`` plus a digit or ``_``, and holds no
# letter but hex digits and those of ``x o b e inf nan infinity`` ("24th", "5G", "2020s" are
# words for both parsers). Every number-like value must be a plain decimal (``-12``, ``0``,
# ``3.25``), which both parsers read alike, or a date (``2019-12-16``, ``2019-12-16T13``:
# strings for yaml-rs here; timestamps are checked in the walk); else the file goes to
# PyYAML. A number-like token followed by more text on its line ("Mar 02, 2021") is part of
# a longer scalar, a string for both. Exhaustively fuzzed.
_END_OF_WORD = r"(?![0-9A-Za-z_.+\-])"
_END_OF_VALUE = r"(?=[ ]*(?:[ ]#[^\n]*)?(?:\n|$))"
_UNSAFE_NUMBER = re.compile(
    rf"[\n ](?=[-+0-9_.]){_AFTER_VALUE_START}"  # (cheap first: most values are words)
    rf"(?![-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?{_END_OF_WORD})"
    rf"(?![0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}(?:[Tt][0-9]{{1,2}})?{_END_OF_WORD})"
    rf"[-+]?(?:[0-9_]|\.[0-9_])[0-9a-fA-FxXoObBiInNtTyY_.+\-]*{_END_OF_WORD}{_END_OF_VALUE}"
)


def _resolver_table() -> dict[str, tuple[tuple[str, re.Pattern[str]], ...]]:
    """PyYAML's implicit resolvers of the reference loader, by first character."""
    table = NoAliasSafeLoader.yaml_implicit_resolvers
    wildcard = tuple(table.get(None, []))
    return {first: (*resolvers, *wildcard) for first, resolvers in table.items() if first}


_RESOLVERS = _resolver_table()
_RISKY_FIRST = frozenset(_RESOLVERS)


def plain_tag(value: str) -> str:
    """The tag PyYAML's safe loader gives ``value`` as a non-empty plain scalar."""
    for tag, regexp in _RESOLVERS.get(value[:1], ()):
        if regexp.match(value):
            return tag
    return STR_TAG


class _DeclinedError(Exception):
    """The fast result cannot be shown equal to the reference: use PyYAML."""


@lru_cache(maxsize=8192)
def _timestamp(value: str) -> Any:
    """PyYAML's own timestamp construction (datetime or date) for a plain scalar."""
    constructor = yaml.constructor.SafeConstructor()
    try:
        return constructor.construct_yaml_timestamp(yaml.ScalarNode(TIMESTAMP_TAG, value))
    except (ValueError, TypeError, OverflowError) as exc:  # PyYAML raises these too
        raise _DeclinedError from exc


_SAFE_KEYS: set[str] = set()  # keys seen to be plain strings in PyYAML too (bounded cache)
_MAX_SAFE_KEYS = 4096


def _check_key(key: Any) -> None:
    if key.__class__ is not str or plain_tag(key) != STR_TAG:
        raise _DeclinedError  # non-string keys, or keys PyYAML may type (yes:, 2020-01-01:, <<:)
    if len(key) > MAX_KEY:
        raise _DeclinedError  # libyaml refuses implicit keys of more than 1024 characters
    if len(_SAFE_KEYS) < _MAX_SAFE_KEYS:
        _SAFE_KEYS.add(key)


class _Walk:
    """Checks (and completes: timestamps) a fast result in place; raises ``_DeclinedError``.

    Strings whose first character has no PyYAML implicit resolver are always safe (most
    of them: URLs, titles); the others are resolved as PyYAML would if they were plain.
    """

    __slots__ = ("has_float", "has_int", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.has_int = False
        self.has_float = False

    def _string(self, value: str) -> Any:
        if len(value) > LONGEST_WORD and value[0].isalpha():
            return value  # letters only start bool/null words (yes, off, null, ...): strings
        tag = plain_tag(value)
        if tag == STR_TAG:
            return value
        if tag != TIMESTAMP_TAG:
            raise _DeclinedError  # e.g. yes/on/1:30/0o17: maybe plain, typed differently in 1.1
        # Every PyYAML timestamp starts with "YYYY-". With no escapes (screened), a quoted
        # scalar's value starts right after its quote, so if no quote is followed by this
        # value's first five characters, the scalar was plain.
        head = value[:5]
        if ('"' + head) in self.text or ("'" + head) in self.text:
            raise _DeclinedError
        return _timestamp(value)

    def _other(self, value: Any, depth: int) -> None:
        """A value that is neither a string, an int, a bool nor None (containers in place)."""
        cls = value.__class__
        if cls is dict:
            self.mapping(value, depth + 1)
        elif cls is list:
            self.sequence(value, depth + 1)
        elif cls is float:
            if not math.isfinite(value):
                raise _DeclinedError
            self.has_float = True
        else:
            raise _DeclinedError

    def mapping(self, node: dict[Any, Any], depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise _DeclinedError
        risky = _RISKY_FIRST
        safe_keys = _SAFE_KEYS
        for key, value in node.items():
            if key not in safe_keys:
                _check_key(key)
            cls = value.__class__
            if cls is str:
                if value[:1] in risky:
                    node[key] = self._string(value)
            elif cls is int:
                self.has_int = True
            elif cls is not bool and value is not None:
                self._other(value, depth)
        return node

    def sequence(self, node: list[Any], depth: int) -> list[Any]:
        if depth > MAX_DEPTH:
            raise _DeclinedError
        risky = _RISKY_FIRST
        for index, value in enumerate(node):
            cls = value.__class__
            if cls is str:
                if value[:1] in risky:
                    node[index] = self._string(value)
            elif cls is int:
                self.has_int = True
            elif cls is not bool and value is not None:
                self._other(value, depth)
        return node

    def numbers_agree(self) -> bool:
        """Every number-like token in the text is one both parsers read alike."""
        if not (self.has_int or self.has_float):
            return True
        return _UNSAFE_NUMBER.search(self.text) is None


def _screen(text: str) -> bool:
    return _UNSAFE_TEXT.search(text) is None and "\n---" not in text and "\n..." not in text


def fast_load(front: str) -> dict[str, Any] | None:
    """The front matter as PyYAML's safe loader would give it, or None: "ask PyYAML".

    Only mappings are answered (anything else is rare and goes to the reference).
    """
    text = "\n" + front  # so that the first character is at a "token start" too
    if not HAVE_FAST_YAML or not _screen(text):
        return None
    try:
        data = yaml_rs.loads(
            front,
            parse_datetime=False,
            alias_limits=_ALIASES_REFUSED,
            duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error,
        )
    except Exception:  # any parse problem: the reference decides (and words the rejection)
        return None
    if type(data) is not dict:
        return None
    walk = _Walk(text)
    try:
        result = walk.mapping(data, 0)
    except (_DeclinedError, RecursionError):
        return None
    return result if walk.numbers_agree() else None
