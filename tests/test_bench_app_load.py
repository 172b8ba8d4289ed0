"""bench/app_load.py's measuring parts: the memory of a process tree (children counted) and percentiles."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).resolve().parents[1] / "bench" / "app_load.py"
    spec = importlib.util.spec_from_file_location("bench_app_load", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tree_rss_counts_the_children(bench, monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)  # the /proc path, which runs where psutil is missing
    code = "import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        alone = bench.tree_rss(child.pid)
        for _ in range(100):  # until the child has touched its 200 MB
            time.sleep(0.1)
            if bench.tree_rss(child.pid) > 150 * 2**20:
                break
        own, with_child = bench.tree_rss(child.pid), bench.tree_rss(os.getpid())
        assert own > 150 * 2**20 and with_child >= own, (alone, own, with_child)
    finally:
        child.kill()
        child.wait()
    assert bench.tree_rss(child.pid) == 0, "a finished process holds no memory"


def test_percentiles_interpolate(bench):
    assert bench.percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert bench.percentile(list(range(21)), 95) == pytest.approx(19.0)
    assert bench.percentile([7.0], 95) == 7.0
