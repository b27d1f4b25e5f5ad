"""Resolve what the local infra runs: the Kafka classpath, the Apicurio app, the Zipkin jar.

All come from Maven Central through `mvn` (and its ~/.m2 cache) and are cached in the
settings' `dist_dir` (outside the repository, shared by every infra home), so a warm
`infra up` never calls Maven.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.exceptions import JarResolutionError

__all__ = [
    "APICURIO_VERSION",
    "KAFKA_POM",
    "ZIPKIN_VERSION",
    "apicurio_app",
    "kafka_classpath",
    "kafka_jar_version",
    "zipkin_jar",
]

Progress = Callable[[str], None]

KAFKA_POM = Path(__file__).parent / "jvm" / "pom.xml"
APICURIO_VERSION = "3.3.3"
ZIPKIN_VERSION = "3.6.1"
_UNPACKED_MARK = ".unpacked"
_MVN_TIMEOUT_SECS = 1800.0
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class _MavenFile:
    """One file to fetch from Maven Central, and the words for it in progress and errors."""

    coordinates: str  # group:artifact:version:type:classifier
    product: str  # "Zipkin server 3.6.1": "fetching <product> from Maven Central…"
    what: str  # "jar": "mvn failed resolving the <product> <what>"
    kind: str  # "jar": "mvn dependency:copy left no <kind> in …"
    pattern: str  # the fetched file's name, as a glob
    scratch_prefix: str  # of the scratch directory it is fetched into


_APICURIO = _MavenFile(
    coordinates=f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all",
    product=f"Apicurio Registry {APICURIO_VERSION}",
    what="app",
    kind="archive",
    pattern="*.tar.gz",
    scratch_prefix="apicurio-",
)
_ZIPKIN = _MavenFile(
    coordinates=f"io.zipkin:zipkin-server:{ZIPKIN_VERSION}:jar:exec",
    product=f"Zipkin server {ZIPKIN_VERSION}",
    what="jar",
    kind="jar",
    pattern="*.jar",
    scratch_prefix="zipkin-",
)


def _say(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)


def _mvn(args: Sequence[str], *, cwd: Path, what: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarResolutionError(f"cannot resolve {what}: `mvn` is not on PATH (install Maven)")
    argv = [mvn, "-q", "-B", "-ntp", "-Dstyle.color=never", *args]
    try:
        done = subprocess.run(  # noqa: S603 - fixed Maven arguments, no user input
            argv, cwd=cwd, capture_output=True, text=True, timeout=_MVN_TIMEOUT_SECS, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise JarResolutionError(f"mvn timed out resolving {what}") from exc
    if done.returncode != 0:
        output = _ANSI.sub("", done.stdout + done.stderr).strip()
        last = "\n".join(output.splitlines()[-20:])
        raise JarResolutionError(
            f"mvn failed (exit {done.returncode}) resolving {what}:\n{last}\n"
            f"command: {' '.join(argv)}"
        )


def _classpath_cache(home: Path, pom: Path) -> Path:
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    return home / "jars" / f"kafka-classpath-{digest}.txt"


def _read_classpath(cache: Path) -> list[Path] | None:
    try:
        text = cache.read_text().strip()
    except OSError:
        return None
    jars = [Path(entry) for entry in text.split(os.pathsep) if entry]
    if not jars or not all(jar.is_file() for jar in jars):
        return None
    return jars


def kafka_classpath(
    home: Path, *, pom: Path = KAFKA_POM, progress: Progress | None = None
) -> list[Path]:
    """Return the broker's jars, asking Maven only when no cached list for this pom is valid.

    The cache is `<home>/jars/kafka-classpath-<sha256(pom)>.txt`; it is reused while every
    jar it names still exists in the Maven repository.
    """
    cache = _classpath_cache(home, pom)
    cached = _read_classpath(cache)
    if cached is not None:
        return cached
    _say(progress, "resolving Kafka jars from Maven Central… (once; cached in ~/.m2)")
    cache.parent.mkdir(parents=True, exist_ok=True)
    scratch = cache.with_suffix(f".{os.getpid()}.tmp")
    _mvn(
        ["-f", str(pom), "dependency:build-classpath", f"-Dmdep.outputFile={scratch}"],
        cwd=cache.parent,
        what="the Kafka broker jars",
    )
    scratch.replace(cache)
    jars = _read_classpath(cache)
    if jars is None:
        raise JarResolutionError(f"mvn wrote an empty or stale classpath to {cache}")
    return jars


def kafka_jar_version(classpath: Sequence[Path]) -> str | None:
    """Return the version in the classpath's `kafka_2.13-<version>.jar` name."""
    for jar in classpath:
        name = jar.name
        if name.startswith("kafka_2.13-") and name.endswith(".jar"):
            return name.removeprefix("kafka_2.13-").removesuffix(".jar")
    return None


@contextlib.contextmanager
def _fetched(home: Path, wanted: _MavenFile, progress: Progress | None) -> Iterator[Path]:
    """Yield WANTED as `mvn dependency:copy` fetched it into a scratch directory under HOME.

    The scratch directory (and whatever is left in it) is removed on exit: move what is
    kept out of it, so that a half-written or half-unpacked file is never used.
    """
    home.mkdir(parents=True, exist_ok=True)
    _say(progress, f"fetching {wanted.product} from Maven Central… (once)")
    with tempfile.TemporaryDirectory(prefix=wanted.scratch_prefix, dir=home) as scratch_dir:
        scratch = Path(scratch_dir)
        _mvn(
            ["dependency:copy", f"-Dartifact={wanted.coordinates}", f"-DoutputDirectory={scratch}"],
            cwd=scratch,
            what=f"the {wanted.product} {wanted.what}",
        )
        found = sorted(scratch.glob(wanted.pattern))
        if not found:
            raise JarResolutionError(f"mvn dependency:copy left no {wanted.kind} in {scratch}")
        yield found[0]


def apicurio_app(home: Path, *, progress: Progress | None = None) -> Path:
    """Return `<home>/apicurio-<version>/`, fetching and unpacking the app on first use.

    The archive (160 MB) comes through `mvn dependency:copy`; it is unpacked beside the
    target and renamed into place, so a half-unpacked directory is never used.
    """
    target = home / f"apicurio-{APICURIO_VERSION}"
    if (target / _UNPACKED_MARK).is_file() and (target / "quarkus-run.jar").is_file():
        return target
    with _fetched(home, _APICURIO, progress) as archive_path:
        _say(progress, f"unpacking Apicurio Registry into {target}…")
        unpacked = archive_path.parent / "app"
        try:
            with tarfile.open(archive_path) as archive:
                archive.extractall(unpacked, filter="data")
        except (OSError, tarfile.TarError) as exc:
            raise JarResolutionError(f"cannot unpack {archive_path.name}: {exc}") from exc
        if not (unpacked / "quarkus-run.jar").is_file():
            raise JarResolutionError(f"{archive_path.name} holds no quarkus-run.jar")
        (unpacked / _UNPACKED_MARK).write_text(APICURIO_VERSION)
        if target.exists():
            shutil.rmtree(target)
        unpacked.replace(target)
    return target


def zipkin_jar(home: Path, *, progress: Progress | None = None) -> Path:
    """Return `<home>/zipkin-server-<version>-exec.jar`, fetching it on first use.

    The executable jar (135 MB) comes through `mvn dependency:copy` into a scratch
    directory and is renamed into place, so a half-written jar is never used.
    """
    target = home / f"zipkin-server-{ZIPKIN_VERSION}-exec.jar"
    if target.is_file():
        return target
    with _fetched(home, _ZIPKIN, progress) as jar:
        jar.replace(target)
    return target
