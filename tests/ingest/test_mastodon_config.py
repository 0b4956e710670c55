"""The connector's configuration and the follower's state file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.errors import ConfigurationError
from streams.ingest.mastodon.config import FollowerConfig, report_policy, webhook_secret
from streams.ingest.mastodon.state import load_state, save_state
from streams.settings import Settings


def test_the_follower_reads_its_settings(tmp_path: Path) -> None:
    settings = Settings(
        mastodon_base_url="https://mastodon.example/",
        mastodon_access_token="t0ken",
        mastodon_streams="public:remote,public:local",
        data_dir=tmp_path,
    )
    config = FollowerConfig.from_settings(settings)
    assert config.base_url == "https://mastodon.example"
    assert config.streams == ("public:remote", "public:local")
    assert config.state_file == tmp_path / "mastodon" / "follower_state.json"
    assert config.topic_raw == "statuses.raw"
    flags = FollowerConfig.from_settings(
        settings, base_url="http://other.example", streams=["public"]
    )
    assert (flags.base_url, flags.streams) == ("http://other.example", ("public",))


def test_the_follower_names_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="STREAMS_MASTODON_BASE_URL"):
        FollowerConfig.from_settings(Settings(mastodon_access_token="t"))
    with pytest.raises(ConfigurationError, match="STREAMS_MASTODON_ACCESS_TOKEN"):
        FollowerConfig.from_settings(Settings(mastodon_base_url="https://m.example"))


def test_the_rule_mapping_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "STREAMS_MASTODON_RULE_CATEGORIES", json.dumps({"3": ["racism"], "spam": []})
    )
    monkeypatch.setenv("STREAMS_MASTODON_OWN_ACCOUNT_IDS", "11, 12")
    policy = report_policy(Settings())
    assert policy.rule_categories == {"3": ["racism"], "spam": []}
    assert policy.own_account_ids == {"11", "12"}
    monkeypatch.setenv("STREAMS_MASTODON_RULE_CATEGORIES", json.dumps({"3": ["nonsense"]}))
    with pytest.raises(ConfigurationError, match="STREAMS_MASTODON_RULE_CATEGORIES"):
        report_policy(Settings())


def test_no_webhook_secret_is_the_empty_secret() -> None:
    assert webhook_secret(Settings()) == ""
    assert webhook_secret(Settings(mastodon_webhook_secret="s3cret")) == "s3cret"


def test_the_state_file_round_trips_and_belongs_to_one_instance(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.json"
    assert load_state(path, "https://m.example") is None
    save_state(path, "https://m.example", "110000000000000001")
    save_state(path, "https://m.example", "110000000000000002")
    assert load_state(path, "https://m.example") == "110000000000000002"
    assert load_state(path, "https://other.example") is None
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary files left
    path.write_text("{torn")
    assert load_state(path, "https://m.example") is None
