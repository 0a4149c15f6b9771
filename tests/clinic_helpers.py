"""A tiny clinic for the admin, version and feedback tests: a corpus folder, an index built with
the deterministic fake encoder, and an app with admin keys."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from groundedqa.api.app import create_app
from groundedqa.ingest.build import build_index
from groundedqa.service import Service
from groundedqa.settings import Settings
from tests.fakes import HashingEncoder
from tests.servers import serving  # noqa: F401 - the clinic tests take it from here

REDFLAGS = Path(__file__).resolve().parents[1] / "corpus" / "redflags.toml"
ADMIN_KEY = "admin-secret-1"
PATIENT_KEY = "patient-key-1"

KNEE = """# Knee Care Basics

Rest helps a sore knee recover after a long run. Ice can reduce swelling in the first two days.
Knee braces give support on uneven ground.
"""
SHOULDER = """# Shoulder Stretches

Pendulum swings loosen a stiff shoulder gently. Wall slides improve overhead reach over weeks.
"""
ANKLE = """# Ankle Sprain Recovery

Elevating a sprained ankle above the heart reduces bruising quickly. Balance boards retrain ankle
stability after a sprain heals.
"""
ANKLE_V2 = """# Ankle Sprain Recovery

Compression wraps limit ankle bruising during the first days. Balance boards retrain ankle
stability after a sprain heals.
"""


@dataclass
class Clinic:
    settings: Settings
    encoder: HashingEncoder
    app: FastAPI


def make_clinic(tmp_path: Path, **overrides: Any) -> Clinic:
    """Corpus (knee, shoulder) built into an index; an app over it with one admin key."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "knee.md").write_text(KNEE)
    (corpus / "shoulder.md").write_text(SHOULDER)
    options = {"index": tmp_path / "var" / "index", "corpus": corpus, "redflags": REDFLAGS,
               "rate_limit": None, "reload_check_seconds": 0.05, "admin_keys": [ADMIN_KEY],
               "abstain_below": 0.3, **overrides}
    settings = Settings(**options)
    encoder = HashingEncoder()
    build_index([corpus], settings.index, settings, embedder=encoder)
    app = create_app(settings, Service.load(settings, encoder=encoder))
    return Clinic(settings, encoder, app)


def admin_headers() -> dict[str, str]:
    return {"X-Admin-Key": ADMIN_KEY}


def wait_until_built(client: Any, timeout: float = 60.0, serving: str | None = None) -> dict[str, Any]:
    """Poll the admin status until nothing is queued or building and the published build serves
    (and, with `serving`, until that document is served: the status alone can read as settled in
    the moment a just-queued build is claimed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/v1/admin/status", headers=admin_headers()).json()
        if not status["pending"] and status["building"] is None \
                and status["live"] == status["published"] \
                and (serving is None or client.get(f"/v1/documents/{serving}").status_code == 200):
            return status
        time.sleep(0.05)
    raise AssertionError(f"the admin build did not finish: {status}")


def cited_docs(body: dict[str, Any]) -> set[str]:
    return {c["doc_id"] for c in body["citations"]}


