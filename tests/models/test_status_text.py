from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.models.status import (
    MAX_STATUS_TEXT_CHARS,
    Status,
    author_id,
    html_to_text,
    scoring_target,
    status_text,
)
from streams.models.status_html import _escape_unclosable, _plain_paragraphs, _TextRenderer

DATA = Path(__file__).parents[1] / "data"


def docs_example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "mastodon_status_example.json").read_text("utf-8"))
    return data


def status(**fields: Any) -> Status:
    return Status.model_validate({"id": "1", **fields})


def test_docs_example_reads_as_the_web_ui_shows_it() -> None:
    text = status_text(Status.model_validate(docs_example()))
    # The web UI shows the quote, then the link's visible part followed by "…".
    assert text == (
        '"I lost my inheritance with one wrong digit on my sort code"\n\n'
        "theguardian.com/money/2019/dec…"
    )
    assert "https://www." not in text
    assert "&quot;" not in text


def test_mentions_and_hashtags_read_as_typed() -> None:
    content = (
        '<p><span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron" '
        'class="u-url mention">@<span>Gargron</span></a></span> have you seen '
        '<a href="https://mastodon.social/tags/rust" class="mention hashtag" rel="tag">'
        "#<span>rust</span></a>?</p>"
    )
    assert html_to_text(content) == "@Gargron have you seen #rust?"


def test_remote_mention_keeps_only_the_visible_handle() -> None:
    content = (
        '<p><span class="h-card"><a href="https://example.social/@bob" class="u-url mention">'
        "@<span>bob</span></a></span> hi</p>"
    )
    assert html_to_text(content) == "@bob hi"


def test_link_without_ellipsis_shows_its_visible_part_only() -> None:
    content = (
        '<p>see <a href="https://example.org/a"><span class="invisible">https://</span>'
        '<span class="">example.org/a</span><span class="invisible"></span></a> now</p>'
    )
    assert html_to_text(content) == "see example.org/a now"


def test_line_breaks_and_paragraphs() -> None:
    content = "<p>first line<br />second line<br>third</p><p>next paragraph</p>"
    assert html_to_text(content) == "first line\nsecond line\nthird\n\nnext paragraph"


def test_entities_are_decoded() -> None:
    content = "<p>&lt;3 &amp; &#39;quoted&#39; &#x1F600; caf&eacute; &quot;x&quot;</p>"
    assert html_to_text(content) == "<3 & 'quoted' \U0001f600 café \"x\""


def test_source_whitespace_collapses_like_a_browser() -> None:
    content = "<p>  lots   of\n  space  </p>\n<p>\tnext</p>"
    assert html_to_text(content) == "lots of space\n\nnext"


def test_lists_and_quotes_become_lines() -> None:
    content = "<p>intro</p><ul><li>one</li><li>two</li></ul><blockquote><p>cited</p></blockquote>"
    assert html_to_text(content) == "intro\n\none\ntwo\n\ncited"


def test_preformatted_text_keeps_its_lines() -> None:
    assert html_to_text("<pre><code>a = 1\nb = 2</code></pre>") == "a = 1\nb = 2"


def test_script_and_style_are_never_text() -> None:
    content = "<p>hello</p><script>alert('x')</script><style>p{}</style>"
    assert html_to_text(content) == "hello"


def test_sloppy_html_loses_no_text() -> None:
    # Unclosed and stray tags, as remote servers sometimes send.
    assert html_to_text("<p>one <b>two</i> three</span></p><p>four") == "one two three\n\nfour"


def test_docs_typo_in_closing_tag_does_not_crash() -> None:
    # The documentation's example ends the link with "</span}" instead of "</span></a>".
    content = docs_example()["content"].replace("</span></a></p>", "</span}</p>")
    text = html_to_text(content)
    assert text.startswith('"I lost my inheritance')
    assert "i-lost-my-193000" not in text


def test_content_warning_body_poll_and_alt_text_in_order() -> None:
    s = status(
        spoiler_text="  politics\n",
        content="<p>body text</p>",
        poll={"options": [{"title": "yes"}, {"title": "no"}]},
        media_attachments=[
            {"id": "9", "type": "image", "description": "a cat  on a mat"},
            {"id": "10", "type": "image", "description": None},
            {"id": "11", "type": "video", "description": "   "},
            {"id": "12", "type": "image", "description": "a dog"},
        ],
    )
    assert status_text(s) == (
        "Content warning: politics\n\n"
        "body text\n\n"
        "Poll option: yes\nPoll option: no\n\n"
        "Alt text: a cat on a mat\nAlt text: a dog"
    )


def test_media_only_post_is_scored_on_its_alt_text() -> None:
    s = status(content="", media_attachments=[{"description": "slur on a sign"}])
    assert status_text(s) == "Alt text: slur on a sign"


def test_empty_status_has_empty_text() -> None:
    assert status_text(status(content="<p></p>", spoiler_text="")) == ""


def test_null_text_fields_read_as_empty() -> None:
    s = status(content=None, spoiler_text=None, media_attachments=None, language=None)
    assert (s.content, s.spoiler_text, s.media_attachments, s.language) == ("", "", [], None)
    assert status_text(s) == ""


def test_lone_surrogate_is_replaced_so_the_text_encodes() -> None:
    s = Status.model_validate(json.loads('{"id": "1", "content": "<p>a\\ud800b</p>"}'))
    text = status_text(s)
    assert text == "a\ufffdb"
    text.encode("utf-8")


def test_boost_is_scored_as_the_boosted_status() -> None:
    inner = {"id": "200", "content": "<p>original words</p>", "language": "de"}
    outer = status(id="300", content="", reblog=inner)
    target = scoring_target(outer)
    assert target.id == "200"
    assert status_text(target) == "original words"
    assert scoring_target(target) is target


def test_author_is_the_scored_statuses_account_and_odd_ids_read_as_unknown() -> None:
    boosted = {"id": "2", "account": {"id": "109"}}
    assert author_id(scoring_target(status(account={"id": "7"}, reblog=boosted))) == "109"
    assert author_id(status(account={"id": "7"})) == "7"
    assert author_id(status()) is None
    assert author_id(status(account={"acct": "someone"})) is None
    assert author_id(status(account={"id": "has space"})) is None
    assert author_id(status(account={"id": "x" * 129})) is None


@given(st.text())
def test_escaped_plain_text_comes_back_with_collapsed_whitespace(text: str) -> None:
    assert html_to_text(f"<p>{html.escape(text)}</p>") == " ".join(text.split())


_SOUP = [*list("<>/&;#\"'= abcp\n"), "<br>", "</p>", "<p>", '<span class="invisible">', "</span>"]


@given(st.lists(st.sampled_from(_SOUP)).map("".join))
def test_any_markup_soup_renders_without_error(content: str) -> None:
    text = html_to_text(content)
    assert text == text.strip()
    assert "\n\n\n" not in text


def test_hidden_ellipsis_span_adds_nothing() -> None:
    assert html_to_text('<p>a<span class="invisible ellipsis">b</span>c</p>') == "ac"


def test_hostile_nesting_renders_in_linear_time() -> None:
    # A quadratic renderer takes minutes on this; a partition must not stall on one record.
    n = 50_000
    content = "<span>" * n + "x" + "</i>" * n + '<span class="invisible">' * n + "</span>" * n
    started = time.monotonic()
    assert html_to_text(content) == "x"
    assert time.monotonic() - started < 10


def test_an_overlong_status_loses_the_end_of_its_body_not_its_warning_or_alt_texts() -> None:
    s = status(
        spoiler_text="cw", content="<p>" + "word " * 20_000 + "</p>",
        media_attachments=[{"description": "first"}, {"description": "last one"}],
    )  # fmt: skip
    text = status_text(s)
    assert len(text) == MAX_STATUS_TEXT_CHARS
    assert text.startswith("Content warning: cw\n\nword word")
    assert text.endswith("\n\nAlt text: first\nAlt text: last one")


def _rendered(content: str) -> str:
    # The renderer alone, as html_to_text runs it when the plain-paragraph path declines.
    renderer = _TextRenderer()
    renderer.feed(_escape_unclosable(content))
    renderer.close()
    return "".join(renderer.parts)


_PLAIN = [
    *list("ab \n\t\r\x00\x0b\u00a0\u2028é🙂<>&;/"), "<p>", "</p>", "<br>", "<br/>", "<br />",
    "<P>", "<p >", "<b>", "&amp;",
]  # fmt: skip


_BARE = st.lists(
    st.sampled_from(["<p>", "</p>", "<br>", "<br/>", "<br />"]) | st.text(max_size=8), max_size=12
).map("".join)


@settings(max_examples=400)
@given(st.lists(st.sampled_from(_PLAIN), max_size=30).map("".join) | _BARE)
def test_plain_paragraphs_read_as_the_renderer_reads_them(content: str) -> None:
    plain = _plain_paragraphs(content)
    if plain is not None:
        assert plain == _rendered(content)


def test_the_plain_path_takes_bare_paragraphs_and_declines_other_markup() -> None:
    assert _plain_paragraphs("<p>a  b</p><p>c<br>d</p>") == "\n\na b\n\n\n\nc\nd\n\n"
    assert _plain_paragraphs('<p><a href="x">x</a></p>') is None
    assert _plain_paragraphs("<p>a &amp; b</p>") is None
    assert _plain_paragraphs("<p>a < b</p>") is None
