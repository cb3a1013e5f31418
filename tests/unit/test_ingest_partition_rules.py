"""Table tests of ingest's partition rules: which ledger entry speaks for a file, how a batch
splits into one part per partition, which entries a part leaves stale, and when an
after-action is safe on a topology."""

from __future__ import annotations

import pytest

from newsdrop.ingest.after_actions import after_action_safe
from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.ledger import LedgerEntry, choose_entry
from newsdrop.ingest.outcomes import Published, Rejected, Touched
from newsdrop.ingest.parts import Part, split, stale_entries, written_paths
from newsdrop.ingest.publisher import Batch
from newsdrop.ingest.transaction import Committed, WaitFor
from newsdrop.shared.parse import Reason
from newsdrop.shared.partitions import partition_of_article, partition_of_path
from newsdrop.shared.settings import AfterAction

STAT = FileStat(size=10, mtime_ns=500, ctime_ns=7)
SAME = LedgerEntry(10, 500, "aa")  # matches STAT, complete
OLDER = LedgerEntry(10, 400, "bb")
NEWER = LedgerEntry(12, 600, "cc")  # newest, does not match
UNREADABLE_SAME = LedgerEntry(10, 500, "", ctime_ns=6)  # matches, but asks for a read


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        ([], None),
        ([None, None, None], None),
        ([None, SAME, None], SAME),  # one partition holds it: that one
        ([OLDER, None, SAME], SAME),  # the one matching (size, mtime_ns) wins
        ([NEWER, SAME], SAME),  # ... even over a newer one
        ([UNREADABLE_SAME, SAME], SAME),  # a complete match before one that asks for a read
        ([UNREADABLE_SAME, None], UNREADABLE_SAME),  # a match still beats no match
        ([OLDER, NEWER, None], NEWER),  # no match: the newest
        ([None, OLDER, LedgerEntry(99, 400, "dd")], OLDER),  # equal mtimes: lowest partition
    ],
)
def test_choose_entry(candidates: list[LedgerEntry | None], chosen: LedgerEntry | None) -> None:
    assert choose_entry(STAT, candidates) is chosen


def published(relative: str, article_id: str) -> Published:
    return Published(relative, STAT, "ff", article_id, b"XADD", 0.0)


def rejected(relative: str, *, vanished: bool = False) -> Rejected:
    stat = None if vanished else STAT
    return Rejected(relative, stat, "ee", Reason.YAML_ERROR, "bad", 0.0)


IDS = [f"{n:08x}" + "0" * 24 for n in range(8)]  # partition_of_article: n mod P


def test_one_partition_is_the_batch_itself() -> None:
    batch = Batch([published("a.md", IDS[3])], [rejected("b.md")], forget=["gone.md"])
    [part] = split(batch, 1)
    assert part.partition == 0 and part.batch is batch
    assert split(Batch(), 1) == []


def test_split_routes_articles_by_id_and_the_rest_by_path() -> None:
    touched = Touched("t.md", STAT, "ff")
    batch = Batch(
        published=[published(f"a{n}.md", IDS[n]) for n in range(8)],
        rejected=[rejected("bad.md"), rejected("vanished.md", vanished=True)],
        touched=[touched],
        forget=["gone.md"],
    )
    parts = split(batch, 4)
    assert [part.partition for part in parts] == [0, 1, 2, 3]  # ordered, none empty
    for part in parts:
        assert all(partition_of_article(i.id, 4) == part.partition for i in part.batch.published)
        assert [i.relative for i in part.batch.published] == [
            f"a{n}.md" for n in range(8) if n % 4 == part.partition
        ]
        assert all(partition_of_path(b.relative, 4) == part.partition for b in part.batch.rejected)
        assert all(partition_of_path(t.relative, 4) == part.partition for t in part.batch.touched)
        assert part.batch.forget == ["gone.md"]  # forgotten in every partition
    assert sum(len(p.batch.rejected) for p in parts) == 2
    assert sum(len(p.batch.touched) for p in parts) == 1


def test_forget_only_batch_touches_every_partition() -> None:
    parts = split(Batch(forget=["x.md"]), 3)
    assert [(p.partition, p.batch.forget) for p in parts] == [
        (0, ["x.md"]),
        (1, ["x.md"]),
        (2, ["x.md"]),
    ]


def test_written_paths_leave_out_vanished_files() -> None:
    batch = Batch(
        [published("a.md", IDS[0])],
        [rejected("b.md"), rejected("v.md", vanished=True)],
        [Touched("t.md", STAT, "ff")],
        ["gone.md"],
    )
    assert written_paths(batch) == ["a.md", "t.md", "b.md"]


@pytest.mark.parametrize(
    ("holders", "stale"),
    [
        ({}, {}),
        ({"a.md": (2,)}, {}),  # already where it is written
        ({"a.md": (0,)}, {0: ["a.md"]}),  # moved from 0 (the URL changed): 0's is stale
        ({"a.md": (0, 2, 3)}, {0: ["a.md"], 3: ["a.md"]}),
        ({"t.md": (1,), "other.md": (0,)}, {1: ["t.md"]}),  # paths not written: left alone
        ({"v.md": (0,)}, {}),  # vanished: nothing written, its entry stays
    ],
)
def test_stale_entries(holders: dict[str, tuple[int, ...]], stale: dict[int, list[str]]) -> None:
    part = Part(
        2,
        Batch(
            [published("a.md", IDS[2])],
            [rejected("v.md", vanished=True)],
            [Touched("t.md", STAT, "ff")],
        ),
    )
    assert stale_entries(part, holders) == stale


@pytest.mark.parametrize(
    ("on_success", "wait_replicas", "topology", "safe"),
    [
        (AfterAction.KEEP, 0, "standalone", True),
        (AfterAction.KEEP, 0, "cluster", True),
        (AfterAction.KEEP, 0, "sentinel", True),
        (AfterAction.MOVE, 0, "standalone", True),
        (AfterAction.DELETE, 0, "standalone", True),
        (AfterAction.MOVE, 0, "cluster", False),
        (AfterAction.DELETE, 0, "cluster", False),
        (AfterAction.MOVE, 0, "sentinel", False),
        (AfterAction.DELETE, 0, "sentinel", False),
        (AfterAction.MOVE, 1, "cluster", True),
        (AfterAction.DELETE, 2, "sentinel", True),
    ],
)
def test_after_action_safe(
    on_success: AfterAction, wait_replicas: int, topology: str, safe: bool
) -> None:
    assert after_action_safe(on_success, wait_replicas, topology) is safe


def test_after_action_safe_refuses_an_unknown_topology() -> None:
    with pytest.raises(ValueError, match="unknown Redis topology"):
        after_action_safe(AfterAction.KEEP, 0, "mesh")


@pytest.mark.parametrize(
    ("acked", "wait", "enough"),
    [
        (None, None, True),
        (None, WaitFor(1, 100), False),
        (0, WaitFor(1, 100), False),
        (1, WaitFor(1, 100), True),
        (1, WaitFor(2, 100), False),
        (3, WaitFor(2, 100), True),
    ],
)
def test_wait_acknowledged(acked: int | None, wait: WaitFor | None, enough: bool) -> None:
    assert Committed([], acked).enough(wait) is enough
