"""Fleet runs: the same report on any worker count, with and without fusion; the CLI writes its JSON."""

from __future__ import annotations

import argparse
import json

import pytest

from edge_mesu_app.fleet import FleetConfig, run_fleet, shard_ranges
from edge_mesu_app.sweep_cmd import add_commands

RUN_KEYS = ("wall_s", "device_samples_per_s", "workers", "backend", "shard_cpu_s")


def _same(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in RUN_KEYS} == {k: v for k, v in b.items() if k not in RUN_KEYS}


def test_shard_ranges_cover_the_fleet():
    assert shard_ranges(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert shard_ranges(2, 8) == [(0, 1), (1, 2)]


@pytest.mark.parametrize("fuse_every", [None, 20])
def test_report_does_not_depend_on_worker_count(fuse_every):
    cfg = FleetConfig(devices=5, samples=60, hidden=6, fuse_every=fuse_every, mi_samples=3)
    one = run_fleet(cfg, workers=1)
    two = run_fleet(cfg, workers=2)
    assert _same(one, two)
    assert one["fusion_rounds"] == (2 if fuse_every else 0)
    for key in (
        "devices",
        "samples_per_device",
        "accuracy_p5",
        "accuracy_p50",
        "accuracy_p95",
        "deadline_misses_total",
        "devices_over_budget",
        "novelty_detect_delay_p50",
        "unseen_class_accuracy",
    ):
        assert key in one
    assert one["devices"] == 5 and one["samples_per_device"] == 60


def test_slow_device_misses_deadlines():
    cfg = FleetConfig(devices=3, samples=40, hidden=6, device="rp2040", rate=5000.0, mi_samples=2)
    rep = run_fleet(cfg)
    assert rep["deadline_misses_total"] > 0 and rep["devices_over_budget"] == 3


def test_fleet_cli_writes_json(tmp_path, capsys):
    p = argparse.ArgumentParser()
    add_commands(p.add_subparsers(dest="command"))
    out = tmp_path / "fleet.json"
    args = p.parse_args(["fleet", "--devices", "3", "--samples", "40", "--hidden", "4", "--json", str(out)])
    assert args.func(args) == 0
    rep = json.loads(out.read_text())
    assert rep["devices"] == 3 and "accuracy_p50" in rep
    assert "prequential accuracy" in capsys.readouterr().out
    bad = p.parse_args(["fleet", "--devices", "0", "--samples", "40"])
    assert bad.func(bad) == 2
