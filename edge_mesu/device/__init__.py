"""Device-runtime pieces in C and their Python twins: crash-safe A/B flash slots, host builds, packaging.

:mod:`.flash` reads and writes the slot format of ``csrc/emsu_slots.c`` from Python; :mod:`.host` compiles
device C for the host; :mod:`.package` writes one self-contained C99 library folder (CMake, PlatformIO,
Arduino, Zephyr) from generated sources. See ``docs/device.md``.
"""
