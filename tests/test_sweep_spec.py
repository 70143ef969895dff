"""Sweep specs: expansion, and bad specs refused before anything runs, naming the key."""

from __future__ import annotations

import pytest

from edge_mesu_app.sweep import load_spec, parse_spec, run_id
from edge_mesu_app.sweep_cmd import add_commands


def test_grid_random_and_zipped_axes_expand_in_a_fixed_order():
    spec = parse_spec(
        {
            "sweep": {"seeds": [0, 1]},
            "fixed": {"windows": 100},
            "grid": {"hidden": [4, 8], "sigma_bits+sigma_per_octave": [[8, 16], [5, 2]]},
            "random": {"n": 2, "sample_seed": 3, "N": {"log_uniform": [1e3, 1e6]}},
        }
    )
    configs = spec.configs()
    assert len(configs) == (2 * 2 + 2) * 2
    assert [(c["hidden"], c["sigma_bits"], c["sigma_per_octave"]) for c in configs[:4:2]] == [(4, 8, 16), (4, 5, 2)]
    assert all(c["windows"] == 100 for c in configs)
    assert configs == spec.configs()  # random samples are seeded
    assert len({run_id(c) for c in configs}) == len(configs)


@pytest.mark.parametrize(
    "doc, key",
    [
        ({"grid": {"hiden": [8]}}, "hiden"),
        ({"grid": {"hidden": []}}, "grid.hidden"),
        ({"grid": {"sigma_bits": [9]}}, "grid.sigma_bits"),
        ({"fixed": {"rounding": "truncate"}}, "fixed.rounding"),
        ({"fixed": {"device": "nosuchchip"}}, "fixed.device"),
        ({"grid": {"sigma_bits+sigma_per_octave": [[8]]}}, "grid.sigma_bits+sigma_per_octave"),
        ({"random": {"n": 2, "N": {"gauss": [1, 2]}}}, "random.N"),
        ({"sweep": {"seeds": []}}, "sweep.seeds"),
        ({"sweep": {"name": "x", "sed": 1}}, "sed"),
        ({"grids": {"hidden": [8]}}, "grids"),
        ({"fixed": {"hidden": 8}, "grid": {"hidden": [4]}}, "hidden"),
        ({}, "empty"),
    ],
)
def test_bad_specs_are_refused_naming_the_key(doc, key):
    with pytest.raises(ValueError, match=key.replace("+", r"\+")):
        parse_spec(doc)


def test_cli_refuses_a_bad_spec_before_running(tmp_path, capsys):
    import argparse

    spec = tmp_path / "bad.toml"
    spec.write_text("[grid]\nhidden = [8]\nsigma_bits = []\n")
    out = tmp_path / "out.csv"
    p = argparse.ArgumentParser()
    add_commands(p.add_subparsers(dest="command"))
    args = p.parse_args(["sweep", str(spec), "--out", str(out)])
    assert args.func(args) == 2
    assert "grid.sigma_bits" in capsys.readouterr().err
    assert not out.exists()


def test_shipped_example_is_small_and_data_free():
    spec = load_spec("examples/sweeps/quant-small.toml")
    configs = spec.configs()
    assert len(configs) <= 12
    assert {c["stream"] for c in configs} == {"sensor"}


def test_output_suffix_and_parquet_need(tmp_path):
    from edge_mesu_app.sweep.store import check_output

    assert check_output(tmp_path / "r.csv") == "csv"
    with pytest.raises(ValueError, match="csv or .parquet"):
        check_output(tmp_path / "r.txt")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="pyarrow"):
            check_output(tmp_path / "r.parquet")
