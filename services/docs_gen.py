"""Write the machine-readable contract to ``docs/contract/`` (``make docs``).

``python -m newsdrop.docs_gen docs`` regenerates; a test fails when the committed files are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from newsdrop.shared.contract import SERVICES, asyncapi_document, changelog_article_schema


def render() -> dict[str, bytes]:
    """File name -> content of every generated contract document."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    files = {
        "changelog-article.schema.json": orjson.dumps(changelog_article_schema(), option=options)
    }
    for service in SERVICES:
        files[f"asyncapi-{service}.json"] = orjson.dumps(asyncapi_document(service), option=options)
    return {name: content + b"\n" for name, content in files.items()}


def write(docs_dir: Path) -> list[Path]:
    target = docs_dir / "contract"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in render().items():
        path = target / name
        path.write_bytes(content)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    docs_dir = Path(argv[1]) if len(argv) > 1 else Path("docs")
    for path in write(docs_dir):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
