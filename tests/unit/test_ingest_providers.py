"""ON_DELETE=retract's pure parts: ledger entries carry the article id (old entries still
decode), and the provider index."""

from __future__ import annotations

from newsdrop.ingest.ledger import LedgerEntry
from newsdrop.ingest.providers import Providers

ID = "0123456789abcdef0123456789abcdef"


def test_ledger_entries_carry_the_article_id_and_old_ones_still_decode() -> None:
    entry = LedgerEntry(10, 20, "ab" * 32, 0, ID)
    assert entry.encode() == f"10:20:{'ab' * 32}:0:{ID}".encode()
    assert LedgerEntry.decode(entry.encode()) == entry
    old = LedgerEntry.decode(f"10:20:{'ab' * 32}:0".encode())  # written before this change
    assert old == LedgerEntry(10, 20, "ab" * 32, 0, "")
    assert LedgerEntry(1, 2, "", 3).encode() == b"1:2::3"  # rejected: no id, as before
    assert LedgerEntry.decode(b"1:2:x:3:y:z") is None


def test_providers_add_remove_and_others() -> None:
    providers = Providers()
    providers.add(ID, "a.md")
    providers.add(ID, "a.md")
    assert providers.others(ID, "a.md") == []
    providers.add(ID, "b.md")
    providers.add(ID, "c.md")
    assert providers.others(ID, "a.md") == ["b.md", "c.md"]
    providers.remove(ID, "c.md")
    providers.remove(ID, "a.md")
    assert providers.others(ID, "x.md") == ["b.md"]
    providers.remove(ID, "b.md")
    assert len(providers) == 0 and providers.others(ID, "b.md") == []
