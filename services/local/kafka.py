"""A real Apache Kafka broker on this machine: one KRaft node (broker + controller) on 127.0.0.1.

`kontakt kafka start|stop|status`, `kontakt up/down` and the test fixtures all use this one
class, so the broker that developers run is the broker the tests run. The jars come from
deploy/kafka/fetch.sh (a cache outside the repository); state lives under settings.data_dir/kafka:

    kafka/data/          KRaft metadata and topic logs (formatted once)
    kafka/logs/server.log  everything the broker logs (log4j2, rolling)
    kafka/logs/jvm.out   the JVM's own stdout/stderr (crashes before log4j is up)
    kafka/broker.pid     pid of the running broker

Every problem a user can fix is raised as services.errors.UserError with one line.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from services.errors import UserError
from services.local.jvm_cds import archive_path, cds_options, finish_dump
from services.local.kafka_config import (
    KAFKA_VERSION,
    jvm_command,
    log4j2_xml,
    random_cluster_id,
    server_properties,
)
from services.settings import Settings

HOST = "127.0.0.1"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    log_path: Path
    data_path: Path


def kafka_libs(settings: Settings) -> Path:
    """Where deploy/kafka/fetch.sh puts the broker jars."""
    return Path(settings.cache_dir).expanduser() / f"kafka-{KAFKA_VERSION}" / "libs"


class LocalBroker:
    """Start, stop and inspect the local broker described by ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = (Path(settings.data_dir) / "kafka").absolute()
        self.data_path = self.home / "data"
        self.log_path = self.home / "logs" / "server.log"
        self.jvm_out_path = self.home / "logs" / "jvm.out"
        self.pid_path = self.home / "broker.pid"
        self._cds_pending = self.home / "cds-pending"
        self.bootstrap = f"{HOST}:{settings.kafka_port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0  # server.log is appended to: errors of this start come after it

    # --- public API ----------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the broker and return once it answers metadata requests.

        Idempotent: a broker of ours that is already running is left alone.
        """
        if self.is_running():
            return
        finish_dump(self._cds_pending, clean_exit=False)  # a dump left by a crashed run
        java = _find_java()
        for port, name in (
            (self.settings.kafka_port, "KONTAKT_KAFKA_PORT"),
            (self.settings.kafka_controller_port, "KONTAKT_KAFKA_CONTROLLER_PORT"),
        ):
            _check_port_free(port, name)
        self._prepare_dirs()
        libs = kafka_libs(self.settings)
        if not (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file():
            raise UserError(
                f"Kafka {KAFKA_VERSION} jars not found in {libs}: run 'bash deploy/kafka/fetch.sh'"
            )
        props = self._write_config_files()
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        options = shlex.split(self.settings.kafka_jvm_opts)
        archive = archive_path(java, libs, options)
        self._format_storage(
            java, libs, props, options + cds_options(archive, self._cds_pending, dump=False)
        )
        cmd = jvm_command(
            java=java,
            heap=self.settings.kafka_heap,
            libs=libs,
            log4j_config=self.home / "log4j2.xml",
            log_dir=self.log_path.parent,
            main=["kafka.Kafka", str(props)],
            options=options + cds_options(archive, self._cds_pending, dump=True),
        )
        with open(self.jvm_out_path, "wb") as out:  # this run only
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives `kontakt kafka start`, ignores its Ctrl-C
            )
        self.pid_path.write_text(f"{self._proc.pid}\n")
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (Kafka's clean shutdown), then SIGKILL after ``timeout_s``; no-op if stopped."""
        pid = self._running_pid()
        clean = False
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            clean = self._wait_exit(pid, timeout_s)
            if not clean:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self._wait_exit(pid, 10.0)
        finish_dump(self._cds_pending, clean_exit=clean)
        self._proc = None
        self.pid_path.unlink(missing_ok=True)

    def is_running(self) -> bool:
        return self._running_pid() is not None

    def status(self) -> BrokerStatus:
        return BrokerStatus(
            running=self.is_running(),
            pid=self._running_pid(),
            bootstrap=self.bootstrap,
            log_path=self.log_path,
            data_path=self.data_path,
        )

    # --- steps of start ------------------------------------------------------------------

    def _prepare_dirs(self) -> None:
        try:
            for path in (self.data_path, self.log_path.parent):
                path.mkdir(parents=True, exist_ok=True)
            probe = self.home / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise UserError(
                f"Kafka data directory {self.home} is not writable ({exc.strerror or exc}): "
                "fix its permissions or set KONTAKT_DATA_DIR to a writable directory"
            ) from exc

    def _write_config_files(self) -> Path:
        props = self.home / "server.properties"
        props.write_text(
            server_properties(
                broker_port=self.settings.kafka_port,
                controller_port=self.settings.kafka_controller_port,
                log_dirs=self.data_path,
                host=HOST,
            )
        )
        (self.home / "log4j2.xml").write_text(log4j2_xml(self.log_path))
        return props

    def _format_storage(self, java: str, libs: Path, props: Path, options: list[str]) -> None:
        """Format the KRaft storage once (`format --standalone`: this node is the one voter).

        The ports may change between starts: a KRaft 4.x voter updates its own endpoint in the
        quorum (KIP-853), which tests/integration/test_local_broker.py checks.
        """
        if (self.data_path / "meta.properties").is_file():
            return
        # Once in a CI run of ~20 broker starts the format failed with a Java stack trace whose
        # last line was all the message showed, and it did not recur alone. So the whole output
        # is kept (logs/format.log), the message names the exception, and a failed format is
        # tried once more with a fresh cluster id before it is an error.
        for attempt in (1, 2):
            cmd = jvm_command(
                java=java,
                heap="256m",
                libs=libs,
                log4j_config=self.home / "log4j2.xml",
                log_dir=self.log_path.parent,
                main=["kafka.tools.StorageTool", "format", "--standalone"]
                + ["-t", random_cluster_id(), "-c", str(props)],
                options=options,
            )
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
            if done.returncode == 0:
                return
            output = done.stderr + done.stdout
            log_file = self.log_path.parent / "format.log"
            log_file.parent.mkdir(parents=True, exist_ok=True)
            with log_file.open("a", encoding="utf-8") as handle:
                handle.write(f"--- attempt {attempt}: {' '.join(cmd)}\n{output}\n")
            detail = (_last_line(output, prefer=("Exception", "Error", "error"))
                      or _last_line(output) or f"exit code {done.returncode}")
            if attempt == 1:
                log.warning("formatting Kafka storage failed (%s); once more (%s)", detail,
                            log_file)
                shutil.rmtree(self.data_path, ignore_errors=True)  # unformatted: nothing lost
                continue
            raise UserError(f"formatting Kafka storage in {self.data_path} failed twice: "
                            f"{detail} (whole output: {log_file})")

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                line, path = self._last_error()
                raise UserError(
                    f"Kafka broker exited while starting (code {code}): {line}; see {path}"
                )
            if _accepts(HOST, self.settings.kafka_port) and answers_metadata(self.bootstrap):
                return
            time.sleep(0.05)
        line, path = self._last_error()
        raise UserError(
            f"Kafka broker did not start within {timeout_s:g} s (last error: {line}); see {path}"
        )

    # --- process bookkeeping -------------------------------------------------------------

    def _running_pid(self) -> int | None:
        """The broker's pid if the pid file names a live Kafka process of this data dir."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        if self._proc is not None and self._proc.pid == pid and self._proc.poll() is not None:
            return None  # our own child has exited (and is now reaped)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return None
        ours = str(self.home / "server.properties").encode() in cmdline
        return pid if ours and state != "Z" else None

    def _wait_exit(self, pid: int, timeout_s: float) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout_s)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._running_pid() is None:
                return True
            time.sleep(0.05)
        return self._running_pid() is None

    def _last_error(self) -> tuple[str, Path]:
        """The last error line the broker wrote, and the file it is in (JVM output first)."""
        for path, start in ((self.jvm_out_path, 0), (self.log_path, self._log_offset)):
            line = _last_line(_tail(path, start), prefer=("ERROR", "Exception", "Error"))
            if line:
                return line, path
        return "none logged", self.log_path


def _find_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise UserError(
            "'java' not found: install a JDK 17+ (Debian: apt-get install default-jdk-headless)"
        )
    return java


def _check_port_free(port: int, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the JVM's listener: a port held only by TIME_WAIT connections counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise UserError(
                f"port {port} on {HOST} is already in use: stop what listens there "
                f"or set {setting} to a free port"
            ) from None


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def answers_metadata(bootstrap: str, timeout_ms: int = 2000) -> bool:
    """True once a broker lists itself in a metadata response (it is registered, unfenced).
    Also what GET /health asks of any cluster, local or not."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )
    except KafkaError:
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except KafkaError:
        return False
    finally:
        admin.close()


def _tail(path: Path, start: int = 0, size: int = 64 * 1024) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(start, path.stat().st_size - size))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _last_line(text: str, prefer: tuple[str, ...] = ()) -> str:
    """The last line containing one of ``prefer`` plus the line after it (the JVM says
    "Error occurred during initialization of VM" and then why); the last line if no prefer."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if any(word in lines[index] for word in prefer):
            return ": ".join(lines[index : index + 2])[:300]
    return lines[-1][:300] if lines and not prefer else ""
