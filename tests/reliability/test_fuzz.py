"""Scenario 7: hypothesis drives random drops, rewrites, duplicates, touches, bad files and
deletes through the whole ingest-to-changelog path, against a model of the final state.

The model is the invariant checker's ``Expected``: a version is *required* once it sat in
the inbox through a quiet point (a ``settle`` step or the end of the example), *optional*
when it was overwritten or deleted before that (the pipeline may or may not have read it).
One ingest and one store serve every example; each example works in its own folder with its
own article URLs, and the model accumulates across examples, so the checker always checks
the whole changelog.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from .conftest import World, soak_seconds

BAD = b"this is not an article\n"
NAMES = st.integers(0, 5)
ARTICLES = st.integers(0, 3)
VERSIONS = st.integers(0, 3)


@dataclass
class Model:
    """What was put where; turned into ``World.drops``/``rejections`` at quiet points."""

    world: World
    current: dict[str, int] = field(default_factory=dict)  # path -> its good file's drop index
    current_bad: set[str] = field(default_factory=set)  # paths holding a bad file now
    bad: dict[str, bool] = field(default_factory=dict)  # every path that held a bad file
    in_place: set[str] = field(default_factory=set)  # paths ever rewritten in place
    operations: int = 0

    def put(self, rel: str, data: bytes, in_place: bool) -> None:
        self.operations += 1
        self.current.pop(rel, None)
        self.current_bad.discard(rel)
        inbox = self.world.inbox
        if in_place:
            self.in_place.add(rel)
            drop = inbox.write_in_place(rel, data, required=False)
        else:
            drop = inbox.drop(rel, data, required=False)
        if data == BAD:
            self.current_bad.add(rel)
            self.bad.setdefault(rel, False)
        else:
            self.world.drops.append(drop)
            self.current[rel] = len(self.world.drops) - 1

    def touch(self, rel: str) -> None:
        self.operations += 1
        path = self.world.inbox.root / rel
        now = time.time_ns()
        os.utime(path, ns=(now, now))
        index = self.current.get(rel)
        if index is not None:
            done = path.stat()
            drop = replace(
                self.world.drops[index], mtime_ns=done.st_mtime_ns, ctime_ns=done.st_ctime_ns
            )
            self.world.drops.append(replace(drop, required=False))
            self.current[rel] = len(self.world.drops) - 1

    def delete(self, rel: str) -> None:
        self.operations += 1
        self.world.inbox.delete(rel)
        self.current.pop(rel, None)
        self.current_bad.discard(rel)

    def settle(self) -> None:
        """A quiet point: everything on disk now must reach Redis."""
        drops = self.world.drops
        for index in self.current.values():
            drops[index] = replace(drops[index], required=True)
        for path in self.current_bad:
            self.bad[path] = True
        self.world.rejections = [(p, ("no_front_matter",), req) for p, req in self.bad.items()]
        # A file deleted (or replaced) just as it was read may end as `unreadable`.
        seen = {d.path for d in drops} | set(self.bad)
        self.world.rejections += [(p, ("unreadable",), False) for p in seen]
        # An in-place rewrite truncates first: if the writer is descheduled for longer than
        # the settle time (a loaded machine), the empty file *is* stable for that long and may
        # be read and dead-lettered before the full content lands (then published).
        self.world.rejections += [(p, ("no_front_matter",), False) for p in self.in_place]


def run_fuzz(world: World, examples: int, steps: int) -> Model:
    world.fleet.store().start().wait_ready()
    world.fleet.ingest(
        env={"NEWSDROP_SETTLE_SECONDS": "0.05", "NEWSDROP_RESCAN_SECONDS": "2"}
    ).start().wait_ready()
    model = Model(world)
    counter = itertools.count()

    class Pipeline(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.example = next(counter)

        def rel(self, name: int) -> str:
            return f"ex{self.example}/f{name}.md"

        def article(self, article: int, version: int) -> bytes:
            return world.factory.article(self.example * 10 + article, version)

        @rule(name=NAMES, article=ARTICLES, version=VERSIONS, in_place=st.booleans())
        def drop(self, name: int, article: int, version: int, in_place: bool) -> None:
            model.put(self.rel(name), self.article(article, version), in_place)

        @rule(source=NAMES, name=NAMES)
        def duplicate(self, source: int, name: int) -> None:
            """Copy a file's bytes to another name (same content, new file)."""
            index = model.current.get(self.rel(source))
            if index is not None and source != name:
                model.put(self.rel(name), world.drops[index].data, in_place=False)

        @rule(name=NAMES)
        def touch(self, name: int) -> None:
            """New mtime, same bytes: nothing new to send once the file was read; but a file
            touched before it was read is read with the new mtime (a version of its own)."""
            rel = self.rel(name)
            path = world.inbox.root / rel
            if path.exists():
                model.touch(rel)

        @rule(name=NAMES, in_place=st.booleans())
        def bad_file(self, name: int, in_place: bool) -> None:
            model.put(self.rel(name), BAD, in_place)

        @rule(name=NAMES)
        def delete(self, name: int) -> None:
            if (world.inbox.root / self.rel(name)).exists():
                model.delete(self.rel(name))

        @rule()
        def settle(self) -> None:
            model.settle()
            world.wait(timeout=60, stable_for=0.5)

        def teardown(self) -> None:
            model.settle()
            world.wait(timeout=60, stable_for=1.0)

    run_state_machine_as_test(
        Pipeline,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            phases=[Phase.generate],  # shrinking would replay into the accumulated state
            suppress_health_check=list(HealthCheck),
        ),
    )
    return model


def test_fuzz_drops_rewrites_duplicates_deletes(world: World, figures: Callable[..., None]) -> None:
    examples = int(os.environ.get("NEWSDROP_FUZZ_EXAMPLES", "4"))
    model = run_fuzz(world, examples=examples, steps=15)
    figures("fuzz", files=len(world.drops), operations=model.operations, losses=0)


@pytest.mark.soak
def test_soak_fuzz(world: World, figures: Callable[..., None]) -> None:
    examples = max(10, int(soak_seconds() / 3))
    model = run_fuzz(world, examples=examples, steps=30)
    figures(
        "soak_fuzz",
        examples=examples,
        files=len(world.drops),
        operations=model.operations,
        losses=0,
        seconds=soak_seconds(),
    )
