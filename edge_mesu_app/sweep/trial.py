"""``run_trial(config) -> row``: one sweep run, a pure function of its configuration (apart from ``wall_s``).

Sensor stream (``stream = "sensor"``): the bundled accelerometer stream of ``windows`` windows (seed = the
run's seed) is replayed by firmware_sim at ``rate`` windows per second (``"auto"``: the stream's own
50/32 Hz) on ``device`` while the learner learns prequentially: ``accuracy`` is the prequential accuracy;
``first_task_accuracy`` is the final mean network's accuracy on the first quarter of the stream
(retention of what came first).

Permuted MNIST (``stream = "pmnist"``, needs ``data`` or ``EDGE_MESU_MNIST``): ``tasks`` tasks of
``samples_per_task`` training samples, one pass, no boundaries; ``accuracy`` is the mean test accuracy
over all tasks at the end (on ``test_samples`` test images), ``first_task_accuracy`` that of task 1.
Memory and latency come from firmware_sim's model of the learner on ``device``; ``fits`` means flash and
RAM within budget and one predict + learn step within the sample period (when a rate is given).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import numpy as np

from edge_mesu.fixed.plan import auto_mu_frac
from edge_mesu.registry import make_learner as registry_make_learner

__all__ = ["run_trial", "run_id", "TRIAL_VERSION", "RESULT_KEYS", "make_learner"]

TRIAL_VERSION = 1  # part of the run key: bump when a row's meaning changes
RESULT_KEYS = (
    "run_id",
    "accuracy",
    "first_task_accuracy",
    "state_bytes",
    "packed_state_bytes",
    "flash_bytes",
    "ram_bytes",
    "learn_us",
    "predict_us",
    "fits",
    "n_params",
    "saturations",
    "seed",
    "wall_s",
)


def run_id(config: dict[str, Any]) -> str:
    """Hash of the configuration (every parameter and the seed; not where the data lives): a run's key."""
    keyed = {k: v for k, v in config.items() if k != "data"}
    blob = json.dumps({"v": TRIAL_VERSION, **keyed}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_learner(config: dict[str, Any], n_in: int, n_out: int) -> Any:
    """The fixed-point learner of a configuration (the registry's ``fixed`` with the row's parameters)."""
    layers = (n_in, int(config["hidden"]), n_out)
    if config["mu_frac"] == "auto":
        fracs = [auto_mu_frac(f) for f in layers[:-1]]
    else:
        fracs = [int(config["mu_frac"])] * (len(layers) - 1)
    fracs = [min(15, max(0, f + int(config["mu_frac_offset"]))) for f in fracs]
    return registry_make_learner(
        "fixed",
        layers=layers,
        N=config["N"],
        sigma_prior=config["sigma_prior"],
        train_samples=config["train_samples"],
        sigma_bits=config["sigma_bits"],
        sigma_per_octave=config["sigma_per_octave"],
        rounding=config["rounding"],
        mu_frac=fracs,
        seed=int(config["seed"]),
        bias=config["stream"] != "pmnist",
    )


def _budget(learner: Any, device: str, rate: float | None) -> dict[str, Any]:
    from firmware_sim import load_device, memory_map, step_latency

    dev = load_device(device)
    mem = memory_map(learner, dev, "learn")
    lat = step_latency(learner, dev, "learn")
    fits = mem.flash_bytes <= dev.flash_bytes and mem.ram_bytes <= dev.sram_bytes
    if rate is not None:
        fits = fits and lat["us"] * rate <= 1e6
    return {
        "flash_bytes": mem.flash_bytes,
        "ram_bytes": mem.ram_bytes,
        "learn_us": round(lat["passes"]["learn"].us, 3),
        "predict_us": round(lat["passes"]["predict"].us, 3),
        "fits": bool(fits),
    }


def _sensor(config: dict[str, Any]) -> dict[str, Any]:
    from edge_mesu.data import make_sensor_stream
    from firmware_sim import simulate

    stream = make_sensor_stream(
        n_windows=int(config["windows"]), n_classes=int(config["n_classes"]), seed=int(config["seed"])
    )
    X, y = stream.windows()
    learner = make_learner(config, X.shape[1], stream.n_classes)
    rate = stream.rate_hz / stream.window if config["rate"] == "auto" else float(config["rate"])
    report = simulate(learner, config["device"], (X, y), rate_hz=rate, queue=int(config["queue"]))
    first = slice(0, max(1, len(X) // 4))
    retained = float(np.mean(learner.predict(X[first]) == y[first]))
    row = _budget(learner, config["device"], rate)
    row["fits"] = bool(report.ok)
    return {"accuracy": report.accuracy, "first_task_accuracy": retained, "learner": learner, **row}


def _pmnist(config: dict[str, Any]) -> dict[str, Any]:
    from edge_mesu.data import PermutedMNIST

    bench = PermutedMNIST.from_idx(
        config["data"] or None,
        n_tasks=int(config["tasks"]),
        seed=int(config["seed"]),
        samples_per_task=int(config["samples_per_task"]),
    )
    learner = make_learner(config, bench.n_features, 10)
    for _, X, y in bench.train_stream():
        learner.learn_many(X, y)
    n = int(config["test_samples"])
    accs = []
    for t in range(bench.n_tasks):
        Xt, yt = bench.test_set(t)
        accs.append(float(np.mean(learner.predict(Xt[:n]) == yt[:n])))
    rate = None if config["rate"] == "auto" else float(config["rate"])
    return {
        "accuracy": float(np.mean(accs)),
        "first_task_accuracy": accs[0],
        "learner": learner,
        **_budget(learner, config["device"], rate),
    }


def run_trial(config: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration; return its row: the configuration, ``run_id`` and the results.

    Pure: the same configuration gives the same row (``wall_s`` apart) in any process, on any backend.
    """
    t0 = time.perf_counter()
    out = _pmnist(config) if config["stream"] == "pmnist" else _sensor(config)
    learner = out.pop("learner")
    n_params = int(learner.n_params())
    row = {
        **config,
        "run_id": run_id(config),
        **out,
        "accuracy": round(float(out["accuracy"] or 0.0), 6),
        "first_task_accuracy": round(float(out["first_task_accuracy"]), 6),
        "state_bytes": int(learner.state_nbytes()),
        "n_params": n_params,
        "packed_state_bytes": int(np.ceil(n_params * (16 + learner.plan.sigma_bits) / 8)),
        "saturations": int(learner.counters.total()),
    }
    row["wall_s"] = round(time.perf_counter() - t0, 3)
    return row
