"""The Ray backend on a local 2-CPU instance: the same rows and the same fleet report as the local backend."""

from __future__ import annotations

import pytest

from edge_mesu_app.fleet import FleetConfig, run_fleet
from edge_mesu_app.sweep import parse_spec, run_sweep

ray = pytest.importorskip("ray")


def test_ray_session_starts_and_stops_its_own_instance():
    from edge_mesu_app.sweep.backends import ray_session

    if ray.is_initialized():
        pytest.skip("a Ray session is already running in this process")
    with ray_session(1) as r:
        assert r.is_initialized()
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def ray_instance():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_sweep_rows_identical_on_ray(tmp_path, ray_instance):
    spec = parse_spec({"fixed": {"windows": 80, "n_classes": 3}, "grid": {"hidden": [3, 5]}})
    local = run_sweep(spec, tmp_path / "local.csv", workers=2)
    on_ray = run_sweep(spec, tmp_path / "ray.csv", backend="ray", workers=2)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731
    assert strip(local.rows) == strip(on_ray.rows)
    assert ray_instance.is_initialized()  # an existing session is used, not shut down


def test_fleet_identical_on_ray(ray_instance):
    cfg = FleetConfig(devices=4, samples=50, hidden=5, fuse_every=25, mi_samples=2)
    local = run_fleet(cfg, workers=1)
    on_ray = run_fleet(cfg, backend="ray", workers=2)
    skip = ("wall_s", "device_samples_per_s", "workers", "backend", "shard_cpu_s")
    assert {k: v for k, v in local.items() if k not in skip} == {k: v for k, v in on_ray.items() if k not in skip}
    assert on_ray["workers"] == 2
