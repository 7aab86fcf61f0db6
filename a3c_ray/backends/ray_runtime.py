"""Where Ray runs: started here (a private, quiet instance) or a cluster the user points at.

A Ray started by a run runs no metrics machinery unless asked (`--ray-metrics`): Ray 2.60's OpenTelemetry
exporter thread (PeriodicExportingMetricReader, started ~4 s after ray.init in the driver, every worker, the
raylet and the GCS) is where our rare segfaults came from. `enable_metrics_collection=False` alone skips Ray's
stats::Init but still starts that exporter (and then never stops it); `enable_open_telemetry=False` alone
swaps it for OpenCensus' threads; both together start neither (src/ray/stats/stats.h; checked with gdb).
A cluster given by --address or RAY_ADDRESS, or a Ray the user already started, keeps its own settings.
"""

from __future__ import annotations

import logging
import os
import socket

import ray

from a3c_ray.config import Config, ConfigError
from a3c_ray.spawn import reenter

CONNECT_TIMEOUT_S = 5.0
NO_METRICS = {"enable_metrics_collection": False, "enable_open_telemetry": False}
TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


def connect(config: Config) -> bool:
    """Attach to Ray; return True when this call started a local instance (and so owns its shutdown)."""
    if ray.is_initialized():
        return False
    address = config.address or os.environ.get("RAY_ADDRESS") or None
    if address:
        check_reachable(address)
        cwd = os.getcwd()
        try:
            ray.init(address=address, logging_level=logging.WARNING)
            reenter(cwd)  # inside `ray job submit`, ray.init replaced our working dir (see a3c_ray.spawn)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"cannot connect to the Ray cluster at {address!r} ({first_line(exc)}); start one "
                              "with `ray start --head`, or unset --address/RAY_ADDRESS to run locally") from None
        return False
    start_local(max(os.cpu_count() or 1, config.workers), config.ray_metrics)
    return True


def start_local(num_cpus: int, metrics: bool = False, log_to_driver: bool = True) -> None:
    """A Ray of this process's own, token authentication on (Ray's default for local clusters), the dashboard (with
    --ray-metrics) on 127.0.0.1 only."""
    quiet = _DropTokenNotice()
    logging.getLogger(TOKEN_LOGGER).addFilter(quiet)  # the README explains the token for clusters
    try:
        ray.init(num_cpus=num_cpus, include_dashboard=metrics, dashboard_host="127.0.0.1",
                 _system_config={} if metrics else NO_METRICS,
                 logging_level=logging.WARNING, configure_logging=True, log_to_driver=log_to_driver)
    finally:
        logging.getLogger(TOKEN_LOGGER).removeFilter(quiet)


class _DropTokenNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Token authentication is enabled for this Ray cluster")


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


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
