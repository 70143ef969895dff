/* emsu_flash_ram.h -- a flash HAL over a RAM buffer, with NOR semantics, for host tests and the emulator.
 *
 * Erase sets a page to 0xFF byte by byte; program refuses unaligned requests and bytes that are not erased
 * (as STM32/nRF flash controllers do), then writes byte by byte. ops_left is a fault injector: every byte
 * erased or programmed consumes one; when it reaches 0 the HAL stops touching memory and fails, which is
 * what a power cut at that byte leaves behind (UINT32_MAX: unlimited). Counters say what was done.
 */
#ifndef EMSU_FLASH_RAM_H
#define EMSU_FLASH_RAM_H

#include "emsu_slots.h"

typedef struct {
    uint8_t *mem;
    uint32_t size;
    uint32_t page_bytes;
    uint32_t prog_unit;
    uint32_t ops_left;   /* byte operations until the simulated power cut (UINT32_MAX: never) */
    uint32_t erases;     /* pages erased */
    uint32_t programs;   /* program calls */
    uint32_t bytes_read;
} emsu_flash_ram_t;

/* Point hal at ram over mem[0..size) with the given geometry (addresses are offsets into mem). */
void emsu_flash_ram_init(emsu_flash_ram_t *ram, emsu_flash_hal_t *hal, uint8_t *mem, uint32_t size,
                         uint32_t page_bytes, uint32_t prog_unit);

#endif /* EMSU_FLASH_RAM_H */
