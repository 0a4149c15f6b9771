"""The container image and the compose recipe (deploy/). What the compose file runs is tested
without containers in tests/test_replicas.py (the same commands, settings and proxy config);
here: the image builds where a Docker engine is available, and the compose file names only real
commands and settings and wires the parts together."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from groundedqa.cli import build_parser
from groundedqa.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def docker_engine_problem() -> str | None:
    """Why no image can be built here (None: a Docker engine answers)."""
    if shutil.which("docker") is None:
        return "no docker command on this machine"
    probe = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["docker info failed"])[-1]
        return f"no Docker engine on this machine ({reason})"
    return None


@pytest.mark.slow
def test_the_image_builds_and_its_command_runs():
    problem = docker_engine_problem()
    if problem:
        pytest.skip(problem)
    tag = "groundedqa:test"
    build = subprocess.run(["docker", "build", "-f", str(DEPLOY / "Dockerfile"), "-t", tag,
                            str(REPO)], capture_output=True, text=True, timeout=3600)
    assert build.returncode == 0, build.stderr[-3000:]
    user = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
                          capture_output=True, text=True, timeout=120)
    assert user.stdout.strip() not in ("", "0")  # not root
    ran = subprocess.run(["docker", "run", "--rm", tag, "--help"], capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0 and "serve" in ran.stdout


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_three_replicas_redis_postgresql_and_a_proxy(compose):
    services = compose["services"]
    replicas = [name for name, s in services.items() if s.get("command", [None])[0] == "serve"]
    assert replicas == ["replica1", "replica2", "replica3"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["proxy"]["image"].startswith("nginx:")
    for name in replicas:
        service = services[name]
        env = service["environment"]
        assert env["GROUNDEDQA_STATE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["GROUNDEDQA_STATE_URL"]
        assert env["GROUNDEDQA_RATE_LIMIT_STORAGE"] == "redis://redis:6379/0"
        # the proxy's fixed address is the one proxy believed
        assert env["GROUNDEDQA_TRUSTED_PROXIES"] == \
            f'["{services["proxy"]["networks"]["backend"]["ipv4_address"]}"]'
        # one index root and one corpus for all of them
        assert sorted(service["volumes"]) == ["corpus:/srv/groundedqa/corpus",
                                              "index:/srv/groundedqa/var/index"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    nginx = (DEPLOY / "compose-nginx.conf").read_text()
    assert all(f"server {name}:8000" in nginx for name in replicas)


def test_compose_names_only_real_settings_and_commands(compose):
    fields = {f"GROUNDEDQA_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        for key in service.get("environment", {}):
            assert not key.startswith("GROUNDEDQA_") or key in fields, (name, key)
        command = service.get("command")
        if command and service.get("image", "").startswith("groundedqa"):
            build_parser().parse_args(command)  # exits on an unknown command or flag


def test_the_image_runs_the_settings_it_documents():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "torch==2.13.0" in dockerfile and "USER groundedqa" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    fields = {f"GROUNDEDQA_{name.upper()}" for name in Settings.model_fields}
    for word in re.findall(r"GROUNDEDQA_[A-Z_]+", dockerfile):
        assert word in fields, word
