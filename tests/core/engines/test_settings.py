"""The engine setting and the master URL check need no Spark: they run in every `make test`."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from core.data.workspace import Workspace
from core.engines.settings import EngineSetting, read_engine, save_engine
from core.engines.spark.session import (
    check_master,
    check_reachable,
    require_java,
    spark_errors,
)
from core.errors import SparkEngineError


@pytest.mark.parametrize(
    "master",
    [
        "local",
        "local[*]",
        "local[2]",
        " local[4,3] ",
        "spark://node-1.example:7077",
        "yarn",
        "k8s://https://10.0.0.1:6443",
    ],
)
def test_master_urls_accepted(master: str) -> None:
    assert check_master(master) == master.strip()


@pytest.mark.parametrize("master", ["", "local[0]", "local[x]", "spark:/host", "mesos", "http://h"])
def test_bad_master_urls_say_what_to_write(master: str) -> None:
    with pytest.raises(SparkEngineError, match=r"not a Spark master URL; use local\[\*\]"):
        check_master(master)


def test_setting_round_trip_and_default(workspace: Workspace) -> None:
    assert read_engine(workspace) == EngineSetting("local", "local[*]")
    saved = save_engine(workspace, EngineSetting("spark", "local[2]"))
    assert read_engine(workspace) == saved == EngineSetting("spark", "local[2]")
    assert saved.label == "Spark on local[2]"
    with pytest.raises(SparkEngineError, match="engine must be one of local, spark"):
        EngineSetting("flink")
    (workspace.path / "engine.json").write_text("{not json")
    assert read_engine(workspace) == EngineSetting()


def test_errors_from_the_jvm_become_one_clear_line() -> None:
    class Py4JJavaError(Exception):
        pass

    Py4JJavaError.__module__ = "py4j.protocol"
    with (
        pytest.raises(
            SparkEngineError, match=r"^Spark failed reading x: java.io.IOException: disk"
        ),
        spark_errors("reading x"),
    ):
        raise Py4JJavaError("java.io.IOException: disk\n\tat org.apache.Foo(Foo.java:1)")
    with pytest.raises(ValueError, match="plain"), spark_errors("reading x"):
        raise ValueError("plain")


def test_unreachable_standalone_master_fails_at_once() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        free_port = closed.getsockname()[1]
    with pytest.raises(
        SparkEngineError,
        match=rf"no Spark master answers at nowhere.invalid:7077 \(.+\), 127.0.0.1:{free_port} "
        r"\(Connection refused\); check the host name",
    ):
        check_reachable(f"spark://nowhere.invalid,127.0.0.1:{free_port}", timeout=2.0)


def test_a_listening_master_and_other_masters_pass_the_reach_check() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert check_reachable(f"spark://nowhere.invalid:1,127.0.0.1:{port}") is None
    for master in ("local[2]", "yarn", "k8s://https://nowhere.invalid:6443"):
        assert check_reachable(master) is None


def test_a_missing_java_runtime_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(SparkEngineError, match="Spark needs a Java 17 runtime and none was found"):
        require_java()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(SparkEngineError, match="apt-get install openjdk-17-jre-headless"):
        require_java()
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert require_java() is None
