/* emsu_slots.h -- crash-safe persistence of one opaque state blob in two flash slots (A/B).
 *
 * Each save writes the slot that does not hold the newest valid state: erase it (its first page first),
 * program the payload, then the header, whose first program unit (the magic) goes last. A slot is valid
 * when its header has the magic, this format version, this header size, the caller's configuration hash,
 * a length that fits, and a CRC32 over header and payload that matches. On boot the valid slot with the
 * newer sequence number wins (serial-number arithmetic: the counter may wrap); with no valid slot the
 * caller starts from its factory state. A power cut at any point of a save leaves the previous state (or
 * the new one, if only the last program step was cut after the magic was written) loadable: never a mix.
 *
 * Slot layout (little-endian; edge_mesu.device.flash reads and writes it from Python):
 *   0  u32 magic 0x4C534D45 ("EMSL")   4  u16 format version (1)   6  u16 header bytes H
 *   8  u32 configuration hash         12 u32 sequence number     16 u32 payload length
 *   20 u32 reserved (0)               24 u32 CRC32 (zlib) of bytes 0..23 then the payload
 *   28..H-1 0xFF (H = max(32, program unit))   H.. payload, then 0xFF to the end of the slot
 *
 * The firmware supplies the flash HAL: three functions and the geometry. No dynamic allocation, no
 * floating point; C99 with <stdint.h>/<stddef.h> only. Not reentrant: one save or load at a time.
 */
#ifndef EMSU_SLOTS_H
#define EMSU_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#define EMSU_SLOTS_MAGIC UINT32_C(0x4C534D45)
#define EMSU_SLOTS_VERSION 1
#define EMSU_SLOTS_MIN_HEADER 32u
#define EMSU_SLOTS_MAX_UNIT 64u /* largest program unit supported (bytes, a power of two) */

/* Return codes */
#define EMSU_SLOTS_OK 0
#define EMSU_SLOTS_FACTORY 1      /* load: no valid slot; start from the factory state */
#define EMSU_SLOTS_E_ARG (-1)     /* bad geometry, payload larger than a slot, buffer too small */
#define EMSU_SLOTS_E_HAL (-2)     /* a HAL function returned an error */
#define EMSU_SLOTS_E_VERIFY (-3)  /* the slot just written does not read back valid */

/* The flash HAL. Addresses are offsets the HAL maps to its flash; erase_page gets a page-aligned address
 * and sets the page to 0xFF; program gets an address and a length that are multiples of prog_unit, over
 * erased bytes, from a 4-byte aligned buffer; read copies any range. Each returns 0 on success. */
typedef struct {
    int (*erase_page)(void *ctx, uint32_t addr);
    int (*program)(void *ctx, uint32_t addr, const uint8_t *data, uint32_t len);
    int (*read)(void *ctx, uint32_t addr, uint8_t *data, uint32_t len);
    void *ctx;
    uint32_t page_bytes; /* erase unit */
    uint32_t prog_unit;  /* program unit: a power of two in [1, EMSU_SLOTS_MAX_UNIT] */
} emsu_flash_hal_t;

typedef struct {
    const emsu_flash_hal_t *hal;
    uint32_t base[2];     /* first address of slot A and slot B */
    uint32_t slot_bytes;  /* bytes per slot (whole pages) */
    uint32_t header_bytes;
    uint32_t config_hash;
    int32_t newest;       /* after a scan: 0 (A), 1 (B) or -1 (no valid slot) */
    uint32_t seq;         /* sequence number of the newest valid slot (0 when none) */
    uint32_t length;      /* its payload length */
    uint32_t scanned;     /* 1 once the slots were scanned */
} emsu_slots_t;

/* Slot A at base, slot B right after it, slot_pages pages each; config_hash is the payload owner's (a
 * blob of another configuration reads as invalid). Returns EMSU_SLOTS_OK or EMSU_SLOTS_E_ARG. */
int emsu_slots_init(emsu_slots_t *s, const emsu_flash_hal_t *hal, uint32_t base, uint32_t slot_pages,
                    uint32_t config_hash);

/* Largest payload a slot holds. */
uint32_t emsu_slots_capacity(const emsu_slots_t *s);

/* Validate both slots and remember the newest valid one (s->newest, s->seq, s->length).
 * Returns EMSU_SLOTS_OK, EMSU_SLOTS_FACTORY or EMSU_SLOTS_E_HAL. */
int emsu_slots_scan(emsu_slots_t *s);

/* Boot: scan, then copy the newest valid payload into buf (cap bytes) and its length to *len.
 * Returns EMSU_SLOTS_OK, EMSU_SLOTS_FACTORY (nothing copied: load the factory state), or an error. */
int emsu_slots_load(emsu_slots_t *s, uint8_t *buf, uint32_t cap, uint32_t *len);

/* Save len bytes into the slot not holding the newest valid state, with the next sequence number, then
 * read it back. Returns EMSU_SLOTS_OK or an error; on any error the previous state stays loadable. */
int emsu_slots_save(emsu_slots_t *s, const uint8_t *data, uint32_t len);

/* zlib's CRC32, continued from crc (0 to start): the check value of the slots, exposed for callers. */
uint32_t emsu_slots_crc32(uint32_t crc, const uint8_t *p, size_t n);

#endif /* EMSU_SLOTS_H */
