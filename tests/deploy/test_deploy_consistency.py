"""docker-compose.yml, the Dockerfile, the Prometheus and Grafana files and the README agree with
the code: the same env var names, ports, commands and URLs. No Docker needed."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from pydantic import AliasChoices

from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()

#: What the README must tell a Docker user to open (host ports the compose file publishes).
README_URLS = {
    "grafana": "http://localhost:3000",
    "prometheus": "http://localhost:9090",
    "worker": "http://localhost:6066/metrics",
}
#: Variables for Python itself, not for the settings object.
PYTHON_ENV = {"PYTHONUNBUFFERED"}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def streams_services() -> dict[str, dict[str, Any]]:
    """Services that run the project's image (built from the Dockerfile)."""
    return {name: s for name, s in services().items() if "build" in s}


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: None if v is None else str(v) for k, v in env.items()}


def published(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port."""
    ports = {}
    for spec in service.get("ports", []):
        *host, container = str(spec).split(":")
        ports[int(container.split("/")[0])] = int(host[-1]) if host else int(container)
    return ports


def dockerfile() -> dict[str, list[str]]:
    """The Dockerfile's instructions (continuation lines joined), by keyword."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    result: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            result.setdefault(keyword.upper(), []).append(rest.strip())
    return result


def dockerfile_env() -> dict[str, str | None]:
    env: dict[str, str | None] = {}
    for line in dockerfile().get("ENV", []):
        env.update(re.findall(r"(\w+)=(\S+)", line))
    return env


def settings_env_names() -> set[str]:
    """Every environment variable the settings object reads."""
    names = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice).upper() for choice in alias.choices}
        else:
            names.add(f"STREAMS_{name.upper()}")
    return names


def worker_web_port() -> int:
    env = {**dockerfile_env(), **environment(services()["worker"])}
    port = env.get("STREAMS_WEB_PORT") or Settings.model_fields["web_port"].default
    return int(port)


def test_compose_and_dockerfile_set_only_env_vars_the_settings_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known = settings_env_names()
    assert {"STREAMS_WEB_PORT", "OPENAI_API_KEY", "STREAMS_OPENAI_API_KEY"} <= known
    assert streams_services().keys() >= {"worker", "topics"}
    sources: dict[str, dict[str, str | None]] = {"Dockerfile": dockerfile_env()}
    sources |= {f"compose service {n}": environment(s) for n, s in streams_services().items()}
    for where, env in sources.items():
        unknown = sorted(set(env) - known - PYTHON_ENV)
        assert unknown == [], f"{where} sets variables no setting reads: {unknown}"
        # And the values are valid for those settings.
        for name in known:
            monkeypatch.delenv(name, raising=False)
        for name, value in {**dockerfile_env(), **env}.items():
            if value is not None and name not in PYTHON_ENV:
                monkeypatch.setenv(name, value)
        Settings()


def test_worker_port_is_the_same_everywhere() -> None:
    port = worker_web_port()
    worker = services()["worker"]
    assert port in published(worker), f"compose publishes {published(worker)}, worker on {port}"
    assert str(port) in dockerfile()["EXPOSE"][0].split()
    healthcheck = " ".join(worker["healthcheck"]["test"])
    assert f":{port}/metrics" in healthcheck
    scrape = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    targets = [t for job in scrape["scrape_configs"] for c in job["static_configs"]
               for t in c["targets"]]  # fmt: skip
    assert targets == [f"worker:{port}"]


def test_the_image_runs_streams_worker() -> None:
    instructions = dockerfile()
    argv = json.loads(instructions["ENTRYPOINT"][-1]) + json.loads(instructions["CMD"][-1])
    assert argv[:2] == ["streams", "worker"], argv
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["streams"] == "streams.cli:main"
    worker = services()["worker"]
    assert "entrypoint" not in worker and "command" not in worker, "the worker runs the image's CMD"


def test_topics_are_created_before_the_worker_starts() -> None:
    all_services = services()
    topics, worker = all_services["topics"], all_services["worker"]
    command = " ".join(topics.get("entrypoint", []) + topics.get("command", []))
    assert "streams topics create" in command
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    bootstrap = environment(worker)["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    assert environment(topics)["STREAMS_KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    advertised = environment(all_services["kafka"])["KAFKA_ADVERTISED_LISTENERS"] or ""
    assert f"//{bootstrap}" in advertised, f"{bootstrap} is not a listener of the kafka service"


def test_the_mastodon_follower_runs_streams_ingest_mastodon_after_the_topics() -> None:
    all_services = services()
    follower = all_services["mastodon"]
    assert follower["image"] == all_services["worker"]["image"]
    argv = json.loads(dockerfile()["ENTRYPOINT"][-1]) + follower["command"]
    assert argv[0] == "streams" and argv[-2:] == ["ingest", "mastodon"], argv
    assert follower["profiles"] == ["mastodon"], "it needs an instance: started on request only"
    assert follower["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    env = environment(follower)
    assert env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"] == environment(
        all_services["worker"])["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]  # fmt: skip
    assert {"STREAMS_MASTODON_BASE_URL", "STREAMS_MASTODON_ACCESS_TOKEN"} <= env.keys()
    assert "STREAMS_MASTODON_WEBHOOK_SECRET" in environment(all_services["worker"])


def test_images_are_pinned() -> None:
    for name, service in services().items():
        image = service.get("image", "")
        if "build" not in service:
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), f"{name}: pin a tag, not {image!r}"
            assert not image.endswith(":latest"), f"{name}: pin a version, not latest"


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> repository path, for bind mounts of the repository's files."""
    result = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            assert (REPO / source).exists(), f"{source} is mounted but does not exist"
            result[target] = source
    return result


def test_prometheus_service_loads_the_repository_config_and_rules() -> None:
    prometheus = services()["prometheus"]
    flags = dict(f.removeprefix("--").partition("=")[::2] for f in prometheus["command"])
    config = PurePosixPath(flags["config.file"])
    assert mounts(prometheus)[str(config.parent)] == "./deploy/prometheus"
    assert (REPO / "deploy/prometheus" / config.name).exists()
    rules = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())["rule_files"]
    assert rules == ["alerts.yml"]
    assert published(prometheus) == {9090: 9090}


def test_grafana_service_provisions_the_datasource_and_the_dashboard() -> None:
    all_services = services()
    grafana = all_services["grafana"]
    grafana_mounts = mounts(grafana)
    assert grafana_mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    provisioning = REPO / "deploy/grafana/provisioning"
    (datasource,) = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())[
        "datasources"
    ]
    url = urlparse(datasource["url"])
    assert url.hostname in all_services and url.hostname == "prometheus"
    assert url.port in published(all_services[url.hostname])
    (provider,) = yaml.safe_load((provisioning / "dashboards/streams.yml").read_text())["providers"]
    assert grafana_mounts[provider["options"]["path"]] == "./deploy/grafana/dashboards"
    home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] or ""
    assert home == provider["options"]["path"] + "/streams.json"
    assert published(grafana) == {3000: 3000}


def test_readme_names_every_published_port_and_the_urls_to_open() -> None:
    for name, service in services().items():
        for host_port in published(service).values():
            assert f"localhost:{host_port}" in README, f"README: where is {name} (:{host_port})?"
    missing = {name: url for name, url in README_URLS.items() if url not in README}
    assert missing == {}, "the README's Docker section must list these URLs"
    assert "docker compose up" in README
