"""Spark sessions: the master URL check, one session per process, Spark errors as
:class:`SparkEngineError`, and progress from Spark's job status.

Spark runs in UTC (driver JVM and SQL session), so timestamps read from files keep the wall
clock DuckDB shows, and the day and minute buckets of the cleaning rules fall where DuckDB's do.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from core.errors import SparkEngineError
from core.progress import ProgressCallback

T = TypeVar("T")
DEFAULT_MASTER = "local[*]"
STANDALONE_PORT = 7077
CONNECT_TIMEOUT_S = 5.0
INSTALL_HINT = (
    "install the Spark engine with `make test-spark` or `pip install -r requirements-spark.txt`"
)

# local, local[4], local[*], local[4,2] (retries), spark://host:7077, yarn, k8s://https://...
_MASTER = re.compile(
    r"^(local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?|spark://[\w.\-]+(:\d+)?(,[\w.\-]+(:\d+)?)*"
    r"|yarn|k8s://\S+)$"
)


def check_master(master: str) -> str:
    """``master`` stripped, when it is a Spark master URL; else :class:`SparkEngineError`."""
    text = master.strip() if isinstance(master, str) else ""
    if not _MASTER.match(text):
        raise SparkEngineError(
            f"{master!r} is not a Spark master URL; use local[*] (all cores of this machine), "
            "local[N], spark://host:7077, yarn or k8s://https://host:port"
        )
    return text


def check_reachable(master: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """For a standalone master (``spark://host[:port][,host[:port]]``), open a TCP connection to
    each host until one answers; :class:`SparkEngineError` when none does.

    Spark itself retries an unreachable standalone master for about a minute before it gives
    up, with a stack trace; this says at once which address did not answer.
    """
    if not master.startswith("spark://"):
        return
    failures = []
    for address in master.removeprefix("spark://").split(","):
        host, _, port = address.partition(":")
        try:
            with socket.create_connection((host, int(port or STANDALONE_PORT)), timeout=timeout):
                return
        except OSError as error:
            reason = error.strerror or type(error).__name__
            failures.append(f"{host}:{port or STANDALONE_PORT} ({reason})")
    raise SparkEngineError(
        f"no Spark master answers at {', '.join(failures)}; check the host name and port, "
        "that the master is running and this machine can reach it, or use local[*]"
    )


def require_java() -> None:
    """:class:`SparkEngineError` saying what to install when no Java runtime is found
    (``JAVA_HOME`` unset and no ``java`` on the PATH); PySpark would only say that its "Java
    gateway process exited"."""
    home = os.environ.get("JAVA_HOME")
    if (home and Path(home, "bin", "java").is_file()) or shutil.which("java"):
        return
    raise SparkEngineError(
        "Spark needs a Java 17 runtime and none was found (no java on the PATH, JAVA_HOME "
        "unset): install it, e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME"
    )


def require_pyspark() -> Any:
    """The pyspark module, or :class:`SparkEngineError` saying how to install it."""
    try:
        import pyspark
    except ImportError as error:
        raise SparkEngineError(f"pyspark is not installed: {INSTALL_HINT}") from error
    return pyspark


def spark_session(
    master: str | None = None,
    *,
    shuffle_partitions: int | None = None,
    app_name: str = "ShopSynth",
    conf: dict[str, str] | None = None,
) -> Any:
    """The process's Spark session on ``master``.

    With ``master`` None the active session is used as it is (a test or the dashboard started
    it), or a new one on :data:`DEFAULT_MASTER`. A session on another master is stopped first:
    one JVM holds one SparkContext. The web UI is off; ``shuffle_partitions`` (default: the
    default parallelism) keeps small jobs from running hundreds of empty tasks; ``conf`` adds
    Spark settings.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if master is None:
        if active is not None:
            return active
        master = DEFAULT_MASTER
    master = check_master(master)
    if active is not None and active.sparkContext.master == master:
        return active
    check_reachable(master)
    require_java()
    if active is not None:
        active.stop()
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.ansi.enabled", "false")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    if master.startswith("local"):
        # Local Python workers run this interpreter, with the project's packages (pandas,
        # pyarrow), not whichever python is first on the PATH.
        builder = builder.config("spark.pyspark.python", sys.executable).config(
            "spark.pyspark.driver.python", sys.executable
        )
        # A local driver talks to itself only: bind to the loopback address.
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    # Python workers started by the JVM read PYSPARK_PYTHON; without it they run whichever
    # python is first on the PATH, which may lack pandas and pyarrow.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with spark_errors(f"starting Spark on {master}"):
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        partitions = shuffle_partitions or spark.sparkContext.defaultParallelism
        spark.conf.set("spark.sql.shuffle.partitions", str(max(1, int(partitions))))
    return spark


def _short(error: BaseException) -> str:
    text = str(error).strip()
    # A JVM error carries a Java stack trace after its first line: the first line says it.
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "Traceback", "py4j")):
            return line[:400]
    return type(error).__name__


@contextmanager
def spark_errors(doing: str) -> Iterator[None]:
    """Turn any error raised by Spark (JVM, Py4J, PySpark, a missing Java) while ``doing`` into
    :class:`SparkEngineError` with its first line; ShopSynth's own errors pass unchanged."""
    from core.errors import ShopSynthError

    try:
        yield
    except ShopSynthError:
        raise
    except Exception as error:
        module = type(error).__module__ or ""
        if module.startswith(("pyspark", "py4j")) or "java" in str(error).lower():
            raise SparkEngineError(f"Spark failed {doing}: {_short(error)}") from error
        raise


def run_tracked(
    spark: Any,
    action: Callable[[], T],
    callback: ProgressCallback | None,
    step: int,
    total: int,
    every: float = 0.5,
) -> T:
    """``action()`` with its Spark jobs' progress reported through ``callback(step, total, info)``
    every ``every`` seconds (finished and all tasks of the running stages, read from
    ``SparkContext.statusTracker``).

    The action runs in a worker thread and the reports come from the calling thread, so a
    callback that draws (Streamlit) draws from the thread that owns the page.
    """
    if callback is None:
        return action()
    tracker = spark.sparkContext.statusTracker()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = action()
        except BaseException as error:  # re-raised in the calling thread
            outcome["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(every)
        stages = [tracker.getStageInfo(s) for s in tracker.getActiveStageIds()]
        stages = [s for s in stages if s is not None]
        if stages:
            done = sum(s.numCompletedTasks for s in stages)
            tasks = sum(s.numTasks for s in stages)
            jobs = len(tracker.getActiveJobsIds())
            callback(step, total, f"{done}/{tasks} tasks of {jobs} running Spark job(s)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
