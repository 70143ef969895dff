"""Python twin of the crash-safe A/B flash slots (``csrc/emsu_slots.c``): read and write their bytes.

A device keeps one opaque state blob (e.g. the learner's blob followed by the front end's) in two flash
slots. :func:`read_slots` does what the C does on boot — validate both slots, pick the newest valid one
— on a flash image (bytes read out of a device, an emulator or the host example's file);
:func:`write_slot` does what a save does, on a ``bytearray``, so factory images can be made in Python
and tests can check the C byte for byte. Slot layout (little-endian)::

    0  u32 magic "EMSL"   4  u16 version 1   6  u16 header bytes H = max(32, program unit)
    8  u32 config hash   12  u32 sequence   16  u32 payload length   20  u32 reserved (0)
    24 u32 CRC32 of bytes 0..23 then the payload   28..H-1 0xFF   H.. payload, then 0xFF

Example
-------
>>> lay = SlotLayout(page_bytes=256, slot_pages=2, prog_unit=8)
>>> image = blank_image(lay)
>>> write_slot(image, lay, b"state one", config_hash=7)
(0, 1)
>>> write_slot(image, lay, b"state two", config_hash=7)
(1, 2)
>>> r = read_slots(image, lay, config_hash=7)
>>> r.newest, r.seq, r.payload
(1, 2, b'state two')
>>> read_slots(image, lay, config_hash=8).factory                     # another firmware's state
True
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = [
    "HEADER_USED",
    "MAGIC",
    "SLOT_VERSION",
    "SlotLayout",
    "SlotStatus",
    "SlotsRead",
    "blank_image",
    "check_slot",
    "read_slots",
    "slot_image",
    "write_slot",
]

MAGIC = 0x4C534D45  # b"EMSL" little-endian
SLOT_VERSION = 1
HEADER_USED = 28
_MIN_HEADER, _MAX_UNIT = 32, 64
_HEAD = struct.Struct("<IHHIIII")  # magic, version, header bytes, config hash, seq, length, reserved
_CRC_OFFSET = 24


@dataclass(frozen=True)
class SlotLayout:
    """Geometry of the two slots: ``slot_pages`` erase pages each, slot A at ``base``, B right after it."""

    page_bytes: int
    slot_pages: int
    prog_unit: int = 8
    base: int = 0

    def __post_init__(self) -> None:
        u = self.prog_unit
        if not (isinstance(u, int) and 1 <= u <= _MAX_UNIT and u & (u - 1) == 0):
            raise ValueError(f"prog_unit must be a power of two in [1, {_MAX_UNIT}], got {u!r}")
        if not (isinstance(self.page_bytes, int) and self.page_bytes > 0 and self.page_bytes % u == 0):
            raise ValueError(f"page_bytes must be a positive multiple of prog_unit {u}, got {self.page_bytes!r}")
        if not (isinstance(self.slot_pages, int) and self.slot_pages >= 1):
            raise ValueError(f"slot_pages must be an integer >= 1, got {self.slot_pages!r}")
        if self.base % self.page_bytes or self.slot_bytes <= self.header_bytes:
            raise ValueError("base must be page-aligned and a slot larger than its header")

    @property
    def header_bytes(self) -> int:
        return max(_MIN_HEADER, self.prog_unit)

    @property
    def slot_bytes(self) -> int:
        return self.page_bytes * self.slot_pages

    @property
    def capacity(self) -> int:
        """Largest payload a slot holds."""
        return self.slot_bytes - self.header_bytes

    @property
    def total_bytes(self) -> int:
        """Flash the two slots take (from ``base``)."""
        return 2 * self.slot_bytes

    def slot_base(self, k: int) -> int:
        return self.base + k * self.slot_bytes

    @classmethod
    def for_payload(cls, payload_bytes: int, page_bytes: int, prog_unit: int = 8, base: int = 0) -> SlotLayout:
        """The smallest layout whose slots hold ``payload_bytes``."""
        head = max(_MIN_HEADER, prog_unit)
        return cls(page_bytes, max(1, -(-(payload_bytes + head) // page_bytes)), prog_unit, base)


@dataclass(frozen=True)
class SlotStatus:
    """One slot as the boot code sees it: valid or not (with the reason), its sequence and payload."""

    valid: bool
    reason: str
    seq: int = 0
    payload: bytes = b""


@dataclass(frozen=True)
class SlotsRead:
    """What boot picks: the newest valid slot (``newest`` −1 and ``factory`` True when there is none)."""

    newest: int
    seq: int
    payload: bytes
    slots: tuple[SlotStatus, SlotStatus]

    @property
    def factory(self) -> bool:
        return self.newest < 0


def _crc(head: bytes, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(head[:_CRC_OFFSET])) & 0xFFFFFFFF


def blank_image(layout: SlotLayout) -> bytearray:
    """Erased flash for both slots (all 0xFF), addressed from ``layout.base``."""
    return bytearray(b"\xff" * layout.total_bytes)


def slot_image(layout: SlotLayout, payload: bytes, seq: int, config_hash: int) -> bytes:
    """The bytes of one slot holding ``payload`` (header, payload, 0xFF to the end of the slot)."""
    payload = bytes(payload)
    if len(payload) > layout.capacity:
        raise ValueError(f"payload of {len(payload)} bytes exceeds the slot capacity {layout.capacity}")
    seq &= 0xFFFFFFFF
    head = bytearray(_HEAD.pack(MAGIC, SLOT_VERSION, layout.header_bytes, config_hash, seq, len(payload), 0))
    head += struct.pack("<I", _crc(bytes(head), payload))
    head += b"\xff" * (layout.header_bytes - HEADER_USED)
    body = bytes(head) + payload
    return body + b"\xff" * (layout.slot_bytes - len(body))


def check_slot(data: bytes, layout: SlotLayout, config_hash: int) -> SlotStatus:
    """Validate one slot's bytes as ``emsu_slots.c`` does."""
    if len(data) < layout.slot_bytes:
        raise ValueError(f"slot data has {len(data)} bytes, the layout's slots have {layout.slot_bytes}")
    magic, version, hbytes, chash, seq, length, _ = _HEAD.unpack_from(data, 0)
    if magic != MAGIC:
        return SlotStatus(False, "no magic (erased, torn or never written)")
    if version != SLOT_VERSION or hbytes != layout.header_bytes:
        return SlotStatus(False, f"format version {version} / header {hbytes} B not this layout's")
    if chash != config_hash:
        return SlotStatus(False, f"configuration hash {chash:#010x} is not {config_hash:#010x}")
    if length > layout.capacity:
        return SlotStatus(False, f"length {length} exceeds the capacity {layout.capacity}")
    payload = bytes(data[layout.header_bytes : layout.header_bytes + length])
    (crc,) = struct.unpack_from("<I", data, _CRC_OFFSET)
    if crc != _crc(bytes(data[:HEADER_USED]), payload):
        return SlotStatus(False, "CRC32 mismatch (torn or corrupt)")
    return SlotStatus(True, "valid", seq, payload)


def read_slots(image: bytes | bytearray, layout: SlotLayout, config_hash: int) -> SlotsRead:
    """Boot's choice on a flash ``image`` addressed from ``layout.base``: the newest valid slot, or factory."""
    if len(image) < layout.total_bytes:
        raise ValueError(f"flash image has {len(image)} bytes, the two slots need {layout.total_bytes}")
    st = tuple(
        check_slot(bytes(image[k * layout.slot_bytes : (k + 1) * layout.slot_bytes]), layout, config_hash)
        for k in (0, 1)
    )
    a, b = st[0], st[1]
    if a.valid and b.valid:
        ahead = (b.seq - a.seq) & 0xFFFFFFFF
        newest = 1 if 0 < ahead < 0x80000000 else 0
    else:
        newest = 0 if a.valid else (1 if b.valid else -1)
    if newest < 0:
        return SlotsRead(-1, 0, b"", (a, b))
    return SlotsRead(newest, st[newest].seq, st[newest].payload, (a, b))


def write_slot(image: bytearray, layout: SlotLayout, payload: bytes, config_hash: int) -> tuple[int, int]:
    """A save, as the C does it: the slot not holding the newest valid state gets ``payload`` with the next
    sequence number. Returns ``(slot, seq)``."""
    cur = read_slots(image, layout, config_hash)
    target = 1 if cur.newest == 0 else 0
    seq = (cur.seq + 1) & 0xFFFFFFFF if not cur.factory else 1
    start = target * layout.slot_bytes
    image[start : start + layout.slot_bytes] = slot_image(layout, payload, seq, config_hash)
    return target, seq
