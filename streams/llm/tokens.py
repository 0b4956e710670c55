"""The real ``o200k_base`` tokenizer of gpt-4o / gpt-4o-mini, usable without internet access.

``tiktoken`` downloads its encoding files from openaipublic.blob.core.windows.net, which is not
reachable everywhere this project runs (CI, offline demos). The npm package ``tiktoken@1.0.22``
carries the same ranks in ``encoders/o200k_base.json``; expanded to the ``.tiktoken`` format they
are byte-identical to the official file, which we check by sha256 before anyone trusts a count.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final

from streams.errors import ConfigurationError, MissingToolError

ENCODING: Final = "o200k_base"
OFFICIAL_URL: Final = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
SHA256: Final = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
NPM_PACKAGE: Final = "tiktoken@1.0.22"
NPM_MEMBER: Final = "package/encoders/o200k_base.json"
#: tiktoken looks a cached file up under sha1(URL) in TIKTOKEN_CACHE_DIR.
CACHE_NAME: Final = hashlib.sha1(OFFICIAL_URL.encode()).hexdigest()

#: Chat formatting overhead of gpt-4o (OpenAI cookbook): each message is wrapped in
#: ``<|start|>{role}<|message|>{content}<|end|>`` and the reply is primed with
#: ``<|start|>assistant<|message|>``.
TOKENS_PER_MESSAGE: Final = 3
TOKENS_PER_NAME: Final = 1
REPLY_PRIMING_TOKENS: Final = 3

_NPM_TIMEOUT_S: Final = 300


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "streams" / "tiktoken"


def ensure_o200k(cache_dir: Path | None = None) -> Path:
    """Make ``tiktoken.get_encoding("o200k_base")`` work offline; return the encoding file's path.

    Uses the file in ``$TIKTOKEN_CACHE_DIR`` when it is there and intact; otherwise builds it in
    ``cache_dir`` from the npm package (one download) and points ``TIKTOKEN_CACHE_DIR`` there.
    """
    env_dir = os.environ.get("TIKTOKEN_CACHE_DIR")
    if env_dir:
        existing = Path(env_dir) / CACHE_NAME
        if _is_intact(existing):
            return existing
    target_dir = cache_dir if cache_dir is not None else default_cache_dir()
    target = target_dir / CACHE_NAME
    if not _is_intact(target):
        data = _expand_bpe_ranks(_read_npm_encoder())
        _check_sha256(data)
        target_dir.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a concurrent reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=CACHE_NAME, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
        os.replace(tmp, target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(target_dir)
    return target


def _is_intact(path: Path) -> bool:
    if not path.is_file():
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() == SHA256


def _read_npm_encoder() -> dict[str, Any]:
    npm = shutil.which("npm")
    if npm is None:
        raise MissingToolError(
            f"npm is needed once to fetch the {ENCODING} tokenizer ({NPM_PACKAGE}); install "
            f"Node.js/npm, or put the official {ENCODING}.tiktoken file in $TIKTOKEN_CACHE_DIR "
            f"under the name {CACHE_NAME}"
        )
    with tempfile.TemporaryDirectory(prefix="streams-tiktoken-") as tmp:
        proc = subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--silent", "--pack-destination", tmp],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT_S,
            check=False,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise ConfigurationError(
                f"`npm pack {NPM_PACKAGE}` failed (exit {proc.returncode}): "
                f"{proc.stderr.strip()[-500:]}; check access to the npm registry, or put the "
                f"official {ENCODING}.tiktoken file in $TIKTOKEN_CACHE_DIR as {CACHE_NAME}"
            )
        # Read the one member in memory: no extraction, so no path games from the archive.
        with tarfile.open(tarballs[0], "r:gz") as archive:
            member = archive.extractfile(NPM_MEMBER)
            if member is None:
                raise ConfigurationError(f"{NPM_PACKAGE} has no {NPM_MEMBER}")
            loaded: dict[str, Any] = json.loads(member.read())
            return loaded


def _expand_bpe_ranks(encoder: Mapping[str, Any]) -> bytes:
    """Turn ``bpe_ranks`` (``<tag> <first rank> <tok> <tok> ...`` per line) into .tiktoken bytes."""
    ranks = encoder.get("bpe_ranks")
    if not isinstance(ranks, str):
        raise ConfigurationError(f"{NPM_MEMBER} of {NPM_PACKAGE} has no bpe_ranks string")
    return b"".join(_expand_lines(ranks.splitlines()))


def _expand_lines(lines: Iterable[str]) -> Iterable[bytes]:
    for line in lines:
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or not fields[1].isdigit():
            raise ConfigurationError(f"unexpected bpe_ranks line in {NPM_PACKAGE}: {line[:80]!r}")
        first = int(fields[1])
        for offset, token in enumerate(fields[2:]):
            yield f"{token} {first + offset}\n".encode()


def _check_sha256(data: bytes) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != SHA256:
        raise ConfigurationError(
            f"the {ENCODING} ranks built from {NPM_PACKAGE} have sha256 {actual}, expected "
            f"{SHA256}; refusing to count tokens with a tokenizer that differs from OpenAI's"
        )


@cache
def _encoding() -> Any:
    ensure_o200k()
    import tiktoken

    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    """Tokens of ``text`` in o200k_base. Special-token markup in a post counts as plain text,
    as the API treats it."""
    return len(_encoding().encode(text, disallowed_special=()))


def count_chat_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """Prompt tokens of a chat request as gpt-4o counts them, before any response_format schema."""
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            total += count_tokens(_text_of(value))
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content given as parts: only text parts cost text tokens
        return "".join(p["text"] for p in value if isinstance(p, dict) and "text" in p)
    return ""
