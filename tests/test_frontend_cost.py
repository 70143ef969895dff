"""The front end's cost model (edge_mesu.frontend.costs) against its C on an emulated Cortex-M4: modelled
cycles within the calibration tolerance (25 %) of measured instructions x the core's CPI, in steady state.
Skipped, naming the missing tool, without arm-none-eabi-gcc or unicorn."""

from __future__ import annotations

import numpy as np
import pytest

from edge_mesu.data import make_sensor_stream
from edge_mesu.frontend import FrontEnd, FrontEndSpec, costs
from edge_mesu.frontend.cblob import frontend_blob


def _reason() -> str | None:
    from firmware_sim.emulate import emulator_available

    return emulator_available()


@pytest.mark.skipif(_reason() is not None, reason=f"Cortex-M4 emulation: {_reason()}")
@pytest.mark.parametrize(
    "spec",
    [
        FrontEndSpec(channels=3, window=32, features=True),
        FrontEndSpec(channels=2, window=48, hop=24, decimate=2),
        FrontEndSpec(channels=1, window=100, label_rule="majority"),
    ],
    ids=["3ch-features", "2ch-hop-decimate", "1ch-majority"],
)
def test_model_cycles_track_the_emulated_front_end(spec):
    from firmware_sim.calibration import CPI, TOLERANCE
    from firmware_sim.emulate_device import emulate_frontend

    base = np.asarray(make_sensor_stream(n_windows=120, seed=4).samples)
    x = np.concatenate([base, base], axis=1)[:, : spec.channels].astype(np.int16)
    majority = spec.label_rule.value == "majority"
    n_classes = 3 if majority else None
    labels = np.random.default_rng(1).integers(0, 3, len(x)).astype(np.int32) if majority else None
    fe = FrontEnd(spec)  # warm the normaliser in Python (2**14 decimated samples), as a deployed device is
    warm_n = (2**14 + 64) * spec.decimate
    warm = np.tile(x, (-(-warm_n // len(x)), 1))[:warm_n]
    fe.push(warm, np.zeros(warm_n, dtype=np.int64) if majority else None)
    n = 20 * spec.window
    res = emulate_frontend(
        spec,
        x[:n],
        labels=None if labels is None else labels[:n],
        n_classes=n_classes,
        count=True,
        initial_blob=frontend_blob(fe, n_classes),
    )
    measured_cycles = res.instructions / res.windows_counted * CPI["cortex-m4"]
    model = costs.cycles(costs.operation_list(spec))
    assert abs(model / measured_cycles - 1) < TOLERANCE, (model, measured_cycles)
