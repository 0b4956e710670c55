"""The Apache Kafka broker's jars, resolved from Maven Central by ``mvn`` into a cache outside
the repository, once."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from streams.errors import BrokerError, MissingToolError

log = logging.getLogger(__name__)

POM_PATH = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "pom.xml"
_COMPLETE_MARKER = ".complete"


def require_tool(name: str, install_hint: str) -> str:
    """Return the path of ``name`` on PATH, or raise a one-line error saying what to install."""
    found = shutil.which(name)
    if found is None:
        raise MissingToolError(f"`{name}` was not found on PATH: {install_hint}")
    return found


def jars_dir(cache_dir: Path, version: str) -> Path:
    return cache_dir / f"kafka-{version}" / "libs"


def ensure_jars(cache_dir: Path, version: str, pom: Path = POM_PATH) -> Path:
    """Resolve the broker's jars into the cache (once) and return their directory.

    A marker file is written only after Maven succeeds, so an interrupted download is redone
    rather than run half-complete.
    """
    target = jars_dir(cache_dir, version)
    if (target / _COMPLETE_MARKER).exists():
        return target
    mvn = require_tool(
        "mvn", "install Apache Maven (e.g. `apt-get install maven`) to fetch the Kafka jars"
    )
    if not pom.exists():
        raise BrokerError(f"the Kafka pom is missing at {pom}; run from a checkout of the project")
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn, "-B", "-q", "-f", str(pom),
        f"-Dkafka.version={version}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={target}",
        "-DincludeScope=runtime",
    ]  # fmt: skip
    log.info("fetching Apache Kafka %s jars with Maven into %s", version, target)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise BrokerError(
            f"Maven could not resolve Apache Kafka {version} (exit {result.returncode}); "
            "check that Maven Central is reachable.\n" + "\n".join(tail)
        )
    (target / _COMPLETE_MARKER).write_text(version + "\n")
    return target
