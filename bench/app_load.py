"""Web app under load (issue 21): 20 visitors ask a 5-step stylization at once; all must get results, in the
order they asked, none failing, with the server's memory under 8 GB.

Starts `alteredavatar app` (the real command, pretrained network, one worker: the CPU default) in a
subprocess on a free loopback port, connects 20 gradio_client clients, and submits one job each, the next
as soon as the server has put the previous one in its queue (the order of asking is then the server's
order of arrival, which a fixed gap is not: an upload can take longer than the gap; all are queued within
a few seconds, long before the first ends). Each
job is the page's Stylize on a built-in example image at the page's default guidance. Output settings are
small (`SERVER_FLAGS`) to keep the run bounded; the code path is the product's. Measures, per job, the wait
from submission to result (p50/p95/max) and samples the RSS of the server and its children every 0.2 s.
Writes bench/results/app_load.{json,md}. Run: `python bench/app_load.py` (about 3 min on 2 busy CPU cores;
`--md-only` rewrites the table from the JSON).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_BYTES = 8 * 1024**3
SERVER_FLAGS = [
    "--workers", "1",
    "--adapt.res", "64",
    "--adapt.batch", "2",
    "--output.frames", "8",
    "--output.res", "128",
    "--output.portrait-res", "128",
    "--glb-texture-res", "256",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class PeakMemory(threading.Thread):
    """Samples tree_rss(pid) until stopped; keeps the peak."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.samples = pid, every, 0, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self.samples += 1
            self.done.wait(self.every)


def wait_for_server(url: str, proc: subprocess.Popen, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"the app did not answer on {url} within {timeout:.0f} s")


def wait_until_queued(rec: dict, timeout: float) -> int | None:
    """Wait until the server has queued (or started, or finished) the job `rec` holds; its queue rank."""
    from gradio_client.utils import Status

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = rec.get("job")
        if "done" in rec:
            return None
        if job is not None:
            status = job.status()
            if Status.ordering(status.code) >= Status.ordering(Status.IN_QUEUE):
                return status.rank
        time.sleep(0.02)
    raise TimeoutError(f"the server did not queue a job within {timeout:.0f} s")


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100])."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (pos - lo)


def run_load(users: int, steps: int, stagger: float, timeout: float, guidance: str) -> dict:
    """Start the app, run the load, stop the app; returns the measurements."""
    import gradio_client

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory(prefix="app_load-") as root:
        cmd = [sys.executable, "-m", "alteredavatar.cli", "app", "--port", str(port), "--root", root]
        env = os.environ | {"GRADIO_ANALYTICS_ENABLED": "False"}
        server = subprocess.Popen(
            cmd + SERVER_FLAGS, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        memory = PeakMemory(server.pid)
        memory.start()
        try:
            wait_for_server(url, server, 300)
            idle_rss = tree_rss(server.pid)
            image = gradio_client.handle_file(str(Path(root) / "examples" / "bricks.png"))
            clients = [gradio_client.Client(url, verbose=False) for _ in range(users)]
            jobs: list[dict] = [{} for _ in range(users)]

            def visitor(i: int) -> None:
                rec = jobs[i]
                rec["submitted"] = time.monotonic()
                try:
                    rec["job"] = job = clients[i].submit(
                        "ada", None, "", image, 0.5, guidance, 0.5, steps, i, api_name="/stylize"
                    )
                    out = job.result(timeout=timeout)
                    rec["done"] = time.monotonic()
                    rec["ok"] = Path(out[3]).is_file() and f"{steps} steps" in out[5]
                except Exception as exc:  # a failed job is a result of the benchmark, not its crash
                    rec["done"], rec["ok"], rec["error"] = (
                        time.monotonic(),
                        False,
                        f"{type(exc).__name__}: {exc}",
                    )

            start = time.monotonic()
            threads, queued = [], []
            for i in range(users):
                threads.append(threading.Thread(target=visitor, args=(i,)))
                threads[-1].start()
                queued.append(wait_until_queued(jobs[i], 60))
                time.sleep(stagger)
            all_queued = time.monotonic() - start
            for t in threads:
                t.join(timeout + 60)
            seconds = time.monotonic() - start
        finally:
            memory.done.set()
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
            memory.join(5)
    waits = [j["done"] - j["submitted"] for j in jobs if "done" in j]
    finish_order = sorted(range(users), key=lambda i: jobs[i].get("done", float("inf")))
    return {
        "users": users,
        "steps": steps,
        "guidance": guidance,
        "stagger_s": stagger,
        "all_queued_after_s": round(all_queued, 1),
        "queue_ranks": queued,
        "server_flags": SERVER_FLAGS,
        "all_ok": all(j.get("ok") for j in jobs),
        "failed": [
            {"user": i, "error": j.get("error", "no result")} for i, j in enumerate(jobs) if not j.get("ok")
        ],
        "in_submission_order": finish_order == list(range(users)),
        "finish_order": finish_order,
        "wait_s": [round(w, 2) for w in waits],
        "wait_p50_s": round(percentile(waits, 50), 2),
        "wait_p95_s": round(percentile(waits, 95), 2),
        "wait_max_s": round(max(waits), 2),
        "seconds_per_job": round(seconds / users, 2),
        "total_s": round(seconds, 1),
        "idle_rss_mb": round(idle_rss / 2**20),
        "peak_rss_mb": round(memory.peak / 2**20),
        "rss_samples": memory.samples,
        "memory_goal_mb": GOAL_BYTES // 2**20,
        "memory_ok": memory.peak < GOAL_BYTES,
    }


def write_results(res: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "app_load.json").write_text(json.dumps(res, indent=2) + "\n")
    ok = "yes" if res["all_ok"] else f"no ({len(res['failed'])} failed)"
    md = f"""# Web app under load (issue 21)

{res["date"]}, {res["machine"]}. `python bench/app_load.py`: `alteredavatar app`
({" ".join(res["server_flags"])}; pretrained network, {res["guidance"]} guidance, no metrics judges: the app's
default) on loopback;
{res["users"]} gradio_client users each ask a {res["steps"]}-step stylization of a built-in example, each
submitted once the previous one is in the server's queue: all {res["users"]} were queued
{res["all_queued_after_s"]} s after the first submission.
The machine has 2 CPU cores shared with other agents' torch jobs (load average {res["load_before"]} at the
start), so the times are noisy; the order, the failures and the memory are the point.

| measure | value | goal |
|---|---|---|
| results | {res["users"] - len(res["failed"])} of {res["users"]}, all ok: {ok} | all |
| finished in submission order | {"yes" if res["in_submission_order"] else "no"} | yes |
| wait, submission to result: p50 | {res["wait_p50_s"]} s | |
| wait: p95 / max | {res["wait_p95_s"]} s / {res["wait_max_s"]} s | |
| time per job (one worker) | {res["seconds_per_job"]} s | |
| peak memory, server + children (RSS) | {res["peak_rss_mb"]} MB (idle {res["idle_rss_mb"]} MB) | \
< {res["memory_goal_mb"]} MB |
"""
    (RESULTS / "app_load.md").write_text(md)


def main() -> int:
    from alteredavatar.guidance.vgg import vgg_installed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--stagger", type=float, default=0.0, help="extra seconds between submissions")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds a user waits at most")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--md-only", action="store_true", help="rewrite app_load.md from app_load.json")
    args = ap.parse_args()
    if args.md_only:
        write_results(json.loads((RESULTS / "app_load.json").read_text()))
        return 0
    load = os.getloadavg()[0]
    res = run_load(
        args.users, args.steps, args.stagger, args.timeout, "vgg" if vgg_installed() else "texture"
    )
    res = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "load_before": round(load, 2),
        **res,
    }
    print(json.dumps({k: v for k, v in res.items() if k not in ("wait_s", "server_flags")}))
    if not args.no_write:
        write_results(res)
    ok = res["all_ok"] and res["in_submission_order"] and res["memory_ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
