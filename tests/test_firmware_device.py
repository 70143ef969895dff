"""Device profiles: shipped files load, malformed and unknown ones give clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import firmware_sim as fs
from firmware_sim.device import COST_DEFAULTS, COST_KEYS

SHIPPED = ("esp32s3", "nrf52840", "rp2040", "stm32h7", "stm32l4")


def test_list_devices_ships_the_five_parts():
    assert set(SHIPPED) <= set(fs.list_devices())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profiles_load_with_every_cost(name):
    dev = fs.load_device(name)
    assert dev.name == name
    assert set(dev.costs) == set(COST_KEYS)
    assert dev.flash_bytes > 0 and dev.sram_bytes > 0 and dev.clock_hz > 0
    assert dev.flash_write is not None and dev.flash_write.page_bytes > 0


@pytest.mark.parametrize("name", SHIPPED)
def test_every_number_in_a_shipped_profile_has_a_source_comment(name):
    text = (Path(fs.__file__).parent / "devices" / f"{name}.toml").read_text()
    for line in text.splitlines():
        code = line.split("#")[0].strip()
        if "=" in code and not code.startswith(("name", "description", "cpu")):
            assert "#" in line, f"{name}.toml: no source comment on {line!r}"


def test_shipped_part_facts():
    assert fs.load_device("stm32l4").clock_hz == 80e6
    assert fs.load_device("nrf52840").clock_hz == 64e6
    assert fs.load_device("stm32h7").clock_hz == 480e6
    rp = fs.load_device("rp2040")
    assert rp.clock_hz == 133e6 and not rp.simd and not rp.fpu
    assert rp.costs["mac_int8"] == rp.costs["mac_int8_simd"]  # M0+: no SIMD
    assert fs.load_device("esp32s3").clock_hz == 240e6


def test_unknown_device_lists_known_names():
    with pytest.raises(ValueError, match="unknown device 'stm32f9'.*known devices:.*stm32l4"):
        fs.load_device("stm32f9")


def _profile_text(name: str = "stm32l4") -> str:
    return (Path(fs.__file__).parent / "devices" / f"{name}.toml").read_text()


def test_user_profile_by_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(_profile_text().replace('name = "stm32l4"', 'name = "mine"'))
    dev = fs.load_device(path)
    assert dev.name == "mine" and dev.source == str(path)


@pytest.mark.parametrize(
    "old, new, pattern",
    [
        ("mac_float = 5.0", "", r"missing key 'mac_float' in \[costs\]"),
        ("mac_float = 5.0", "mac_float = -5.0", r"\[costs\] 'mac_float' must be >= 0"),
        ("mac_float = 5.0", 'mac_float = "fast"', r"\[costs\] 'mac_float' must be a number"),
        ("sram_bytes = 131072", "sram_bytes = 131072.5", r"\[memory\] 'sram_bytes' must be an integer"),
        ("sram_bytes = 131072", "sram_bytes = 0", r"\[memory\] 'sram_bytes' must be > 0"),
        ("simd = true", "simd = 1", r"\[core\] 'simd' must be true or false"),
        ("mac_float = 5.0", "mac_float = 5.0\nmac_flaot = 5.0", r"unknown key\(s\) \['mac_flaot'\] in \[costs\]"),
        ("[memory]", "[memory_]", r"unknown key\(s\) \['memory_'\] in top level"),
        ("mac_float = 5.0", "mac_float = = 5", "not valid TOML"),
        ("alu = 1.0", "alu = 1.0\nalu_update_lrt = -1.0", r"\[costs\] 'alu_update_lrt' must be >= 0"),
        (
            "alu = 1.0",
            "alu = 1.0\nalu_update_lrtt = 1.0",
            r"unknown key\(s\) \['alu_update_lrtt'\] in \[costs\].*optional: 'alu_update_lrt' \(default: the 'alu'",
        ),
    ],
)
def test_malformed_profile_names_key_and_file(tmp_path, old, new, pattern):
    path = tmp_path / "bad.toml"
    text = _profile_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ValueError, match=pattern) as info:
        fs.load_device(path)
    assert str(path) in str(info.value)


def test_optional_cost_takes_its_default_unless_set(tmp_path):
    """``alu_update_lrt`` (the LRT update's ALU work) is the ``alu`` cost unless a profile sets it: the M4
    profiles leave it out, the M0+ sets its own (calibrated on the emulated LRT learn_one)."""
    assert COST_DEFAULTS == {"alu_update_lrt": "alu"} and set(COST_DEFAULTS) <= set(COST_KEYS)
    for name in ("stm32l4", "nrf52840", "stm32h7", "esp32s3"):
        dev = fs.load_device(name)
        assert dev.costs["alu_update_lrt"] == dev.costs["alu"], name
    rp = fs.load_device("rp2040")
    assert rp.costs["alu_update_lrt"] == 1.9 < rp.costs["alu"]
    path = tmp_path / "mine.toml"
    path.write_text(_profile_text().replace("alu = 1.0 ", "alu = 1.0\nalu_update_lrt = 0.5 ", 1))
    assert fs.load_device(path).costs["alu_update_lrt"] == 0.5
    path.write_text(_profile_text().replace("alu = 1.0 ", "alu = 3.0 ", 1))  # no key: follows alu
    assert fs.load_device(path).costs["alu_update_lrt"] == 3.0


def test_missing_section_is_named(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(_profile_text().split("[costs]")[0])
    with pytest.raises(ValueError, match=r"short.toml: missing section \[costs\]"):
        fs.load_device(path)


def test_missing_profile_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot read device profile"):
        fs.load_device(tmp_path / "absent.toml")


def test_flash_write_cost():
    fw = fs.FlashWrite(page_bytes=100, erase_us_per_page=10.0, program_us_per_byte=1.0, endurance_cycles=1)
    assert fw.persist_us(250) == 3 * 10.0 + 250 * 1.0
