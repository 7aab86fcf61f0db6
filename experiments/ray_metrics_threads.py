"""Is Ray's OpenTelemetry exporter thread running? Counted with gdb in each process of a local Ray, as a run starts
it (metrics off, the default) and with --ray-metrics.

    python experiments/ray_metrics_threads.py      # needs gdb (Debian package `gdb`)

For each setting: start Ray as a3c_ray does, create one actor, wait 10 s (the exporter starts about 4 s after
ray.init, once the metrics agent answers), then count the threads whose stack holds
PeriodicExportingMetricReader::DoBackgroundWork (the thread the segfault of issue #11 was in) in the driver,
the actor, the raylet and the GCS. Each setting runs in a fresh process. Writes `<out>/threads.md`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from a3c_ray.plumbing.atomic import atomic_write_text
from common import output_dir, parser

MARK = "PeriodicExportingMetricReader::DoBackgroundWork"
CHILD = """
import json, os, sys, time
import psutil, ray
from a3c_ray.backends.ray_runtime import start_local

start_local(num_cpus=2, metrics=sys.argv[1] == "on")

@ray.remote
class Probe:
    def pid(self):
        return os.getpid()

actor = Probe.remote()
pids = {"driver": os.getpid(), "actor": ray.get(actor.pid.remote())}
node = ray._private.worker._global_node
for name, infos in node.all_processes.items():
    if name in ("raylet", "gcs_server"):
        pids[name] = infos[0].process.pid
time.sleep(10)
print(json.dumps(pids), flush=True)
sys.stdin.readline()  # held until the parent has looked
ray.shutdown()
"""


def exporter_threads(pid: int) -> int:
    done = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt 30"],
                          capture_output=True, text=True, timeout=120)
    return sum(1 for block in done.stdout.split("\nThread ") if MARK in block)


def main() -> None:
    options = parser(__doc__, "ray_metrics_threads")
    out = output_dir(options.parse_args(), "ray_metrics_threads")
    rows = []
    for setting in ("off", "on"):
        child = subprocess.Popen([sys.executable, "-c", CHILD, setting], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True,
                                 env={k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"})
        try:
            pids = json.loads(child.stdout.readline())
            counts = {name: exporter_threads(pid) for name, pid in pids.items()}
        finally:
            child.stdin.write("\n")
            child.stdin.close()
            child.wait(timeout=120)
        rows.append((setting, counts))
        print(setting, counts, flush=True)
        time.sleep(2)
    names = list(rows[0][1])
    lines = ["| local Ray started with | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for setting, counts in rows:
        label = "metrics off (the default)" if setting == "off" else "--ray-metrics"
        lines.append(f"| {label} | " + " | ".join(str(counts[n]) for n in names) + " |")
    text = f"Threads running {MARK}, per process (gdb, 10 s after start):\n\n" + "\n".join(lines) + "\n"
    atomic_write_text(out / "threads.md", text)
    print(text)


if __name__ == "__main__":
    main()
