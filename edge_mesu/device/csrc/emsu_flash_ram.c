/* emsu_flash_ram.c -- RAM-backed flash HAL with NOR semantics and a power-cut injector (emsu_flash_ram.h). */
#include "emsu_flash_ram.h"

static int spend(emsu_flash_ram_t *ram) /* one byte operation; 0 when the power is gone */
{
    if (ram->ops_left == 0) {
        return 0;
    }
    if (ram->ops_left != UINT32_MAX) {
        ram->ops_left--;
    }
    return 1;
}

static int in_range(const emsu_flash_ram_t *ram, uint32_t addr, uint32_t len)
{
    return addr <= ram->size && len <= ram->size - addr;
}

static int ram_erase_page(void *ctx, uint32_t addr)
{
    emsu_flash_ram_t *ram = (emsu_flash_ram_t *)ctx;
    uint32_t j;
    if (addr % ram->page_bytes != 0 || !in_range(ram, addr, ram->page_bytes)) {
        return -1;
    }
    for (j = 0; j < ram->page_bytes; j++) {
        if (!spend(ram)) {
            return -2;
        }
        ram->mem[addr + j] = 0xFF;
    }
    ram->erases++;
    return 0;
}

static int ram_program(void *ctx, uint32_t addr, const uint8_t *data, uint32_t len)
{
    emsu_flash_ram_t *ram = (emsu_flash_ram_t *)ctx;
    uint32_t j;
    if (addr % ram->prog_unit != 0 || len % ram->prog_unit != 0 || !in_range(ram, addr, len)) {
        return -1;
    }
    for (j = 0; j < len; j++) {
        if (ram->mem[addr + j] != 0xFF) {
            return -3; /* programming over programmed bytes: the controller refuses */
        }
    }
    ram->programs++;
    for (j = 0; j < len; j++) {
        if (!spend(ram)) {
            return -2;
        }
        ram->mem[addr + j] &= data[j]; /* NOR flash clears bits only */
    }
    return 0;
}

static int ram_read(void *ctx, uint32_t addr, uint8_t *data, uint32_t len)
{
    emsu_flash_ram_t *ram = (emsu_flash_ram_t *)ctx;
    uint32_t j;
    if (!in_range(ram, addr, len)) {
        return -1;
    }
    for (j = 0; j < len; j++) {
        data[j] = ram->mem[addr + j];
    }
    ram->bytes_read += len;
    return 0;
}

void emsu_flash_ram_init(emsu_flash_ram_t *ram, emsu_flash_hal_t *hal, uint8_t *mem, uint32_t size,
                         uint32_t page_bytes, uint32_t prog_unit)
{
    ram->mem = mem;
    ram->size = size;
    ram->page_bytes = page_bytes;
    ram->prog_unit = prog_unit;
    ram->ops_left = UINT32_MAX;
    ram->erases = 0;
    ram->programs = 0;
    ram->bytes_read = 0;
    hal->erase_page = ram_erase_page;
    hal->program = ram_program;
    hal->read = ram_read;
    hal->ctx = ram;
    hal->page_bytes = page_bytes;
    hal->prog_unit = prog_unit;
}
