"""Property tests: the parser returns Parsed or Rejection for any bytes, never raises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdrop.shared.parse import Parsed, Rejection, parse_article
from tests.corpus import corpus_dir

SEED = sorted((corpus_dir() / "news").glob("*.md"))[0].read_bytes()


def check(data: bytes) -> None:
    result = parse_article(data)
    assert isinstance(result, Parsed | Rejection)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_front_matter_text(text: str) -> None:
    check(b"---\n" + text.encode("utf-8", "surrogatepass") + b"\n---\n")


@st.composite
def mutated_seed(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 40))]
        elif op == "insert":
            data[pos:pos] = draw(
                st.sampled_from(
                    [b": ", b"- ", b"\n", b"&a ", b"*a", b"!!", b"{", b"'", b"\t", b"\x00"]
                )
            )
        elif op == "truncate":
            del data[pos:]
    return bytes(data)


@settings(max_examples=500, deadline=None)
@given(mutated_seed())
def test_mutated_corpus_files(data: bytes) -> None:
    check(data)
