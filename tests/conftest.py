"""Shared session fixtures: the model loads once, the seed index builds once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder():
    """The packaged all-MiniLM-L6-v2 on the default runtime (ONNX: exported once into the user's
    encoder cache, then reused by every session), loaded once for the whole session."""
    from groundedqa.index.encoders import load_encoder
    from groundedqa.settings import Settings

    return load_encoder(Settings())


@pytest.fixture(scope="session")
def torch_embedder():
    """The same model through sentence-transformers (torch): the reference the ONNX runtime is
    checked against."""
    from groundedqa.index.torch_encoder import TorchEncoder

    return TorchEncoder.load("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory):
    """Settings over a fresh index of corpus/ (rate limit off: tests send many requests)."""
    from groundedqa.settings import Settings

    index = tmp_path_factory.mktemp("seed-index")
    return Settings(index=index, corpus=CORPUS, rate_limit=None, reload_check_seconds=0.2)


@pytest.fixture(scope="session")
def seed_index(seed_settings, embedder):
    """The seed corpus built into the session's index directory; returns the BuildReport."""
    from groundedqa.ingest.build import build_index

    return build_index([CORPUS], seed_settings.index, seed_settings, embedder=embedder)


@pytest.fixture(scope="session")
def seed_service(seed_settings, seed_index, embedder):
    """A loaded Service over the seed index."""
    from groundedqa.service import Service

    return Service.load(seed_settings, encoder=embedder)


@pytest.fixture(scope="session")
def seed_app(seed_settings, seed_service):
    """The FastAPI app over the seed service."""
    from groundedqa.api.app import create_app

    return create_app(seed_settings, seed_service)


@pytest.fixture(scope="session")
def seed_app_server(seed_app):
    """Base URL of a real uvicorn server (127.0.0.1, free port) running the seed app."""
    from tests.servers import serving

    with serving(seed_app) as url:
        yield url


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the session (tests/live_servers.py); skips without
    Debian's postgresql package."""
    from tests.live_servers import ServerUnavailable, postgres_server

    try:
        with postgres_server() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def redis_url():
    """A throwaway redis-server for the session; its URL. Skips without Debian's redis-server."""
    from tests.live_servers import ServerUnavailable, redis_server

    try:
        with redis_server() as server:
            yield server.url()
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def postgres_url(postgres, request):
    """A fresh database in the session's cluster, named for the test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return postgres.create_database(name)
