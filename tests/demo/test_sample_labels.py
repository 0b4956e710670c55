"""The hand labels of the demo's sample: one entry per status the demo scores, and the
conventions the file states hold on every entry."""

from __future__ import annotations

import fnmatch
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from streams.categories import CATEGORIES
from streams.demo.sample import LABELS_FILE, SampleLabels, load_sample, load_sample_labels

ATTACKS = {"threat", "hate_speech", "insult", "dehumanization"}
GROUPS = {"racism", "antisemitism", "islamophobia", "sexism", "homophobia", "ableism"}


@pytest.fixture(scope="module")
def labels() -> SampleLabels:
    return load_sample_labels()


def test_every_scored_status_has_one_label_entry_and_no_other(labels: SampleLabels) -> None:
    labelled_ids = {post.labelled_id for post in load_sample()}
    assert set(labels.labels) == labelled_ids
    assert len(labels.labels) == 296  # of 308 records: 12 boost a status another record brings


def test_the_file_says_how_the_labels_were_made(labels: SampleLabels) -> None:
    assert "One annotator" in labels.about
    assert "DEFINITIONS" in labels.about and "without looking at what any scorer" in labels.about
    assert labels.conventions


def test_toxic_goes_with_every_attack_and_only_with_one(labels: SampleLabels) -> None:
    for status_id, categories in labels.categories_of().items():
        assert ("toxic" in categories) == bool(categories & ATTACKS), status_id


def test_hate_speech_names_its_group(labels: SampleLabels) -> None:
    for status_id, categories in labels.categories_of().items():
        if "hate_speech" in categories:
            assert categories & GROUPS, status_id


def test_most_posts_are_benign_and_every_category_is_labelled(labels: SampleLabels) -> None:
    entries = labels.categories_of().values()
    share = sum(bool(c) for c in entries) / len(entries)
    assert 0.15 <= share <= 0.35
    support = Counter(c for categories in entries for c in categories)
    assert {c: support[c] for c in CATEGORIES if support[c] < 5} == {}


def test_the_labels_ship_with_the_package() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text("utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["streams"]
    assert any(fnmatch.fnmatch(f"data/{LABELS_FILE}", p) for p in patterns)
