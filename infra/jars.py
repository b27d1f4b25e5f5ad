"""Resolve what the local infra runs: the Kafka classpath, the Apicurio app, the Zipkin jar.

All come from Maven Central through `mvn` (and its ~/.m2 cache) and are cached in the
settings' `dist_dir` (outside the repository, shared by every infra home), so a warm
`infra up` never calls Maven.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Sequence
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
_APICURIO_ARTIFACT = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"
ZIPKIN_VERSION = "3.6.1"
_ZIPKIN_ARTIFACT = f"io.zipkin:zipkin-server:{ZIPKIN_VERSION}:jar:exec"
_UNPACKED_MARK = ".unpacked"
_MVN_TIMEOUT_SECS = 1800.0
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


def apicurio_app(home: Path, *, progress: Progress | None = None) -> Path:
    """Return `<home>/apicurio-<version>/`, fetching and unpacking the app on first use.

    The archive (160 MB) comes through `mvn dependency:copy`; it is unpacked beside the
    target and renamed into place, so a half-unpacked directory is never used.
    """
    target = home / f"apicurio-{APICURIO_VERSION}"
    if (target / _UNPACKED_MARK).is_file() and (target / "quarkus-run.jar").is_file():
        return target
    home.mkdir(parents=True, exist_ok=True)
    _say(progress, f"fetching Apicurio Registry {APICURIO_VERSION} from Maven Central… (once)")
    with tempfile.TemporaryDirectory(prefix="apicurio-", dir=home) as scratch_dir:
        scratch = Path(scratch_dir)
        _mvn(
            ["dependency:copy", f"-Dartifact={_APICURIO_ARTIFACT}", f"-DoutputDirectory={scratch}"],
            cwd=scratch,
            what=f"the Apicurio Registry {APICURIO_VERSION} app",
        )
        archives = sorted(scratch.glob("*.tar.gz"))
        if not archives:
            raise JarResolutionError(f"mvn dependency:copy left no archive in {scratch}")
        _say(progress, f"unpacking Apicurio Registry into {target}…")
        unpacked = scratch / "app"
        try:
            with tarfile.open(archives[0]) as archive:
                archive.extractall(unpacked, filter="data")
        except (OSError, tarfile.TarError) as exc:
            raise JarResolutionError(f"cannot unpack {archives[0].name}: {exc}") from exc
        if not (unpacked / "quarkus-run.jar").is_file():
            raise JarResolutionError(f"{archives[0].name} holds no quarkus-run.jar")
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
    home.mkdir(parents=True, exist_ok=True)
    _say(progress, f"fetching Zipkin server {ZIPKIN_VERSION} from Maven Central… (once)")
    with tempfile.TemporaryDirectory(prefix="zipkin-", dir=home) as scratch_dir:
        scratch = Path(scratch_dir)
        _mvn(
            ["dependency:copy", f"-Dartifact={_ZIPKIN_ARTIFACT}", f"-DoutputDirectory={scratch}"],
            cwd=scratch,
            what=f"the Zipkin server {ZIPKIN_VERSION} jar",
        )
        jars = sorted(scratch.glob("*.jar"))
        if not jars:
            raise JarResolutionError(f"mvn dependency:copy left no jar in {scratch}")
        jars[0].replace(target)
    return target
