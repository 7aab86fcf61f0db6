"""Where Ray runs: started here (a private, quiet instance) or a cluster the user points at.

A Ray started by a run runs no metrics machinery unless asked (`--ray-metrics`): Ray 2.60's OpenTelemetry
exporter thread (PeriodicExportingMetricReader, started ~4 s after ray.init in the driver, every worker, the
raylet and the GCS) is where our rare segfaults came from. `enable_metrics_collection=False` alone skips Ray's
stats::Init but still starts that exporter (and then never stops it); `enable_open_telemetry=False` alone
swaps it for OpenCensus' threads; both together start neither (src/ray/stats/stats.h; checked with gdb).
A Ray started here also passes task arguments and results of up to 1 MiB inline (`max_direct_call_object_size`,
Ray's default 100 KiB): a MinAtar model's weights and gradients (~530 KB each) otherwise went through the object
store, and the raylet spent ~2 ms of CPU per task on them (experiments/ray_inline.py, docs/performance.md).
A cluster given by --address or RAY_ADDRESS, or a Ray the user already started, keeps its own settings.

The CLI begins starting a local Ray in a thread (`start_early`) before it imports torch, so that Ray's ~3.6 s of
start-up overlaps the driver's imports and set-up (~0.75 s gained on 2 cores, where Ray's start is CPU work too).
`shutdown_local` stops it without the second Ray's teardown waits on its autoscaler monitor.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading

import ray
from ray._private import ray_constants

from a3c_ray.config import Config
from a3c_ray.errors import ConfigError, first_line
from a3c_ray.plumbing.spawn import reenter

CONNECT_TIMEOUT_S = 5.0
NO_METRICS = {"enable_metrics_collection": False, "enable_open_telemetry": False}
INLINE_LIMIT_BYTES = 1 << 20  # inline up to 1 MiB: at 1 MB still cheaper than the object store (ray_inline.py)
RAY_INLINE_DEFAULT = 100 * 1024  # Ray's own default, assumed for a cluster given by address
TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"
THREAD_LOGGER = "ray._private.worker"  # "SIGTERM handler is not set ...": start_early sets it in the main thread
_early: _EarlyStart | None = None


def connect(config: Config) -> bool:
    """Attach to Ray; return True when this call (or start_early) started a local instance (and so owns its
    shutdown)."""
    if _early is not None and not _early.claimed:
        _early.claimed = True
        _early.wait()
        return True
    if ray.is_initialized():
        return False
    address = _cluster_address(config)
    if address:
        check_reachable(address)
        cwd = os.getcwd()
        try:
            ray.init(address=address, logging_level=logging.WARNING)
            reenter(cwd)  # inside `ray job submit`, ray.init replaced our working dir (see a3c_ray.plumbing.spawn)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"cannot connect to the Ray cluster at {address!r} ({first_line(exc)}); start one "
                              "with `ray start --head`, or unset --address/RAY_ADDRESS to run locally") from None
        return False
    start_local(_local_cpus(config), config.ray_metrics)
    return True


def _cluster_address(config: Config) -> str | None:
    return config.address or os.environ.get("RAY_ADDRESS") or None


def _local_cpus(config: Config) -> int:
    return max(os.cpu_count() or 1, config.workers)


def start_early(config: Config) -> None:
    """Begin the local Ray that connect() would start for `config`, in a thread; connect() waits for it. Nothing
    happens for a run that would not start one (another backend, a cluster address, a Ray already up)."""
    global _early
    if _early is not None or config.backend != "ray" or _cluster_address(config) or ray.is_initialized():
        return
    if threading.current_thread() is threading.main_thread():  # what ray.init does from the main thread
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))
    _early = _EarlyStart(_local_cpus(config), config.ray_metrics)


class _EarlyStart:
    """The thread that starts Ray stays alive until Ray is shut down: Ray starts its GCS and raylet with
    PR_SET_PDEATHSIG, which Linux fires when the *thread* that started them ends (seen: a thread that returned
    after ray.init took the GCS with it, and the driver gave up on it 60 s later). A daemon, so it never holds
    the interpreter's exit; by then Ray's atexit shutdown has run."""

    def __init__(self, num_cpus: int, metrics: bool):
        self.error: BaseException | None = None
        self.claimed = False  # by connect(): the run owns this Ray
        self.ready, self.released = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(num_cpus, metrics), name="a3c-ray-start",
                                       daemon=True)
        self.thread.start()

    def _run(self, num_cpus: int, metrics: bool) -> None:
        try:
            start_local(num_cpus, metrics)
        except BaseException as exc:  # noqa: BLE001  raised again in the main thread, by wait()
            self.error = exc
            return
        finally:
            self.ready.set()
        self.released.wait()

    def wait(self) -> None:
        self.ready.wait()
        if self.error is not None:
            raise self.error


def start_local(num_cpus: int, metrics: bool = False, log_to_driver: bool = True,
                inline_bytes: int = INLINE_LIMIT_BYTES) -> None:
    """A Ray of this process's own, token authentication on (Ray's default for local clusters), the dashboard (with
    --ray-metrics) on 127.0.0.1 only."""
    quiet = _DropNotices()
    for name in (TOKEN_LOGGER, THREAD_LOGGER):  # the README explains the token for clusters
        logging.getLogger(name).addFilter(quiet)
    try:
        ray.init(num_cpus=num_cpus, include_dashboard=metrics, dashboard_host="127.0.0.1",
                 _system_config={"max_direct_call_object_size": inline_bytes} | ({} if metrics else NO_METRICS),
                 logging_level=logging.WARNING, configure_logging=True, log_to_driver=log_to_driver)
    finally:
        for name in (TOKEN_LOGGER, THREAD_LOGGER):
            logging.getLogger(name).removeFilter(quiet)


def inline_limit(started_here: bool) -> int:
    """Bytes up to which Ray passes a task's argument inline: ours in a Ray started here, Ray's default elsewhere."""
    return INLINE_LIMIT_BYTES if started_here else RAY_INLINE_DEFAULT


def shutdown_local() -> None:
    """ray.shutdown() for the Ray this process started. Ray gives each of its processes SIGTERM and up to a second,
    one after another; its autoscaler monitor (which holds nothing of a run's) sat out that whole second every
    time, 1.0 s of a 1.4 s shutdown here, before Ray SIGKILLed it. It is SIGKILLed first instead."""
    node = getattr(ray._private.worker, "_global_node", None)
    for info in (getattr(node, "all_processes", None) or {}).get(ray_constants.PROCESS_TYPE_MONITOR, []):
        if info.process.poll() is None:
            info.process.kill()
            try:
                info.process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass  # ray.shutdown() waits on it again
    ray.shutdown()
    global _early
    if _early is not None:  # its thread may end now: Ray's processes are gone
        _early.released.set()
        _early = None


class _DropNotices(logging.Filter):
    NOTICES = ("Token authentication is enabled for this Ray cluster", "SIGTERM handler is not set")

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.NOTICES)


def check_reachable(address: str | None) -> None:
    """Fail in seconds with a clear line, rather than let ray.init retry an address nobody answers at."""
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        return
    host_port = address.split("://", 1)[-1]
    if host_port in ("auto", "local") or ":" not in host_port:
        return
    host, _, port = host_port.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except ValueError:
        raise ConfigError(f"--address {address!r} is not HOST:PORT (e.g. 127.0.0.1:6379 or auto)") from None
    except OSError as exc:
        reason = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or type(exc).__name__)
        raise ConfigError(f"cannot reach the Ray cluster at --address {address!r} ({reason}); start one with "
                          "`ray start --head`, or unset --address/RAY_ADDRESS to run locally") from None


