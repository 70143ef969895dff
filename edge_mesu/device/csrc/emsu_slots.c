/* emsu_slots.c -- crash-safe A/B flash slots for one state blob (see emsu_slots.h for the format). */
#include "emsu_slots.h"

#define STAGE_BYTES 64u /* staging buffer: whole program units, 4-byte aligned */
#define CRC_OFFSET 24u
#define HEADER_USED 28u

uint32_t emsu_slots_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    static const uint32_t nib[16] = {0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
                                     0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
                                     0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu};
    crc = ~crc;
    while (n-- > 0) {
        crc ^= *p++;
        crc = (crc >> 4) ^ nib[crc & 15u];
        crc = (crc >> 4) ^ nib[crc & 15u];
    }
    return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int is_pow2(uint32_t x)
{
    return x != 0 && (x & (x - 1u)) == 0;
}

int emsu_slots_init(emsu_slots_t *s, const emsu_flash_hal_t *hal, uint32_t base, uint32_t slot_pages,
                    uint32_t config_hash)
{
    uint32_t unit;
    if (s == NULL || hal == NULL || hal->erase_page == NULL || hal->program == NULL || hal->read == NULL) {
        return EMSU_SLOTS_E_ARG;
    }
    unit = hal->prog_unit;
    if (!is_pow2(unit) || unit > EMSU_SLOTS_MAX_UNIT || hal->page_bytes == 0 || hal->page_bytes % unit != 0
        || base % hal->page_bytes != 0 || slot_pages == 0 || slot_pages > UINT32_MAX / 2u / hal->page_bytes) {
        return EMSU_SLOTS_E_ARG;
    }
    s->hal = hal;
    s->slot_bytes = slot_pages * hal->page_bytes;
    s->header_bytes = unit > EMSU_SLOTS_MIN_HEADER ? unit : EMSU_SLOTS_MIN_HEADER;
    if (s->slot_bytes <= s->header_bytes || base > UINT32_MAX - 2u * s->slot_bytes) {
        return EMSU_SLOTS_E_ARG;
    }
    s->base[0] = base;
    s->base[1] = base + s->slot_bytes;
    s->config_hash = config_hash;
    s->newest = -1;
    s->seq = 0;
    s->length = 0;
    s->scanned = 0;
    return EMSU_SLOTS_OK;
}

uint32_t emsu_slots_capacity(const emsu_slots_t *s)
{
    return s->slot_bytes - s->header_bytes;
}

/* 1 when slot k is valid (its sequence number and length in *seq, *len), 0 when not, E_HAL on a HAL error */
static int check_slot(const emsu_slots_t *s, int k, uint32_t *seq, uint32_t *len)
{
    const emsu_flash_hal_t *hal = s->hal;
    uint8_t head[HEADER_USED], chunk[STAGE_BYTES];
    uint32_t addr = s->base[k], n, crc;
    if (hal->read(hal->ctx, addr, head, HEADER_USED) != 0) {
        return EMSU_SLOTS_E_HAL;
    }
    n = get32(head + 16);
    if (get32(head) != EMSU_SLOTS_MAGIC || (head[4] | (head[5] << 8)) != EMSU_SLOTS_VERSION
        || (uint32_t)(head[6] | (head[7] << 8)) != s->header_bytes || get32(head + 8) != s->config_hash
        || n > emsu_slots_capacity(s)) {
        return 0;
    }
    crc = emsu_slots_crc32(0, head, CRC_OFFSET);
    addr += s->header_bytes;
    while (n > 0) {
        uint32_t take = n < STAGE_BYTES ? n : STAGE_BYTES;
        if (hal->read(hal->ctx, addr, chunk, take) != 0) {
            return EMSU_SLOTS_E_HAL;
        }
        crc = emsu_slots_crc32(crc, chunk, take);
        addr += take;
        n -= take;
    }
    if (crc != get32(head + CRC_OFFSET)) {
        return 0;
    }
    *seq = get32(head + 12);
    *len = get32(head + 16);
    return 1;
}

int emsu_slots_scan(emsu_slots_t *s)
{
    uint32_t seq[2] = {0, 0}, len[2] = {0, 0};
    int ok[2], k;
    for (k = 0; k < 2; k++) {
        ok[k] = check_slot(s, k, &seq[k], &len[k]);
        if (ok[k] < 0) {
            return ok[k];
        }
    }
    if (ok[0] && ok[1]) { /* serial-number order: B is newer when seq B - seq A is in (0, 2**31) */
        uint32_t ahead = seq[1] - seq[0];
        s->newest = (ahead != 0 && ahead < UINT32_C(0x80000000)) ? 1 : 0;
    } else {
        s->newest = ok[0] ? 0 : (ok[1] ? 1 : -1);
    }
    s->seq = s->newest >= 0 ? seq[s->newest] : 0;
    s->length = s->newest >= 0 ? len[s->newest] : 0;
    s->scanned = 1;
    return s->newest >= 0 ? EMSU_SLOTS_OK : EMSU_SLOTS_FACTORY;
}

int emsu_slots_load(emsu_slots_t *s, uint8_t *buf, uint32_t cap, uint32_t *len)
{
    int rc = emsu_slots_scan(s);
    if (rc != EMSU_SLOTS_OK) {
        return rc;
    }
    if (s->length > cap) {
        return EMSU_SLOTS_E_ARG;
    }
    if (s->hal->read(s->hal->ctx, s->base[s->newest] + s->header_bytes, buf, s->length) != 0) {
        return EMSU_SLOTS_E_HAL;
    }
    if (len != NULL) {
        *len = s->length;
    }
    return EMSU_SLOTS_OK;
}

/* program n bytes of src at addr through the aligned staging buffer, the last unit padded with 0xFF */
static int program_padded(const emsu_slots_t *s, uint32_t addr, const uint8_t *src, uint32_t n)
{
    const emsu_flash_hal_t *hal = s->hal;
    uint32_t stage[STAGE_BYTES / 4u];
    uint8_t *b = (uint8_t *)stage;
    while (n > 0) {
        uint32_t take = n < STAGE_BYTES ? n : STAGE_BYTES, padded = take, j;
        for (j = 0; j < take; j++) {
            b[j] = src[j];
        }
        while (padded % hal->prog_unit != 0) {
            b[padded++] = 0xFF;
        }
        if (hal->program(hal->ctx, addr, b, padded) != 0) {
            return EMSU_SLOTS_E_HAL;
        }
        addr += padded;
        src += take;
        n -= take;
    }
    return EMSU_SLOTS_OK;
}

int emsu_slots_save(emsu_slots_t *s, const uint8_t *data, uint32_t len)
{
    const emsu_flash_hal_t *hal = s->hal;
    uint8_t head[EMSU_SLOTS_MAX_UNIT > EMSU_SLOTS_MIN_HEADER ? EMSU_SLOTS_MAX_UNIT : EMSU_SLOTS_MIN_HEADER];
    uint32_t seq, addr, p, first, j;
    int target, rc, newest;
    if (len > emsu_slots_capacity(s) || (data == NULL && len > 0)) {
        return EMSU_SLOTS_E_ARG;
    }
    if (!s->scanned) {
        rc = emsu_slots_scan(s);
        if (rc < 0) {
            return rc;
        }
    }
    newest = s->newest;
    target = newest == 0 ? 1 : 0;
    seq = newest >= 0 ? s->seq + 1u : 1u;
    addr = s->base[target];
    s->scanned = 0; /* whatever happens below, the next save rescans */
    for (p = 0; p < s->slot_bytes; p += hal->page_bytes) { /* the header's page first: the slot dies at once */
        if (hal->erase_page(hal->ctx, addr + p) != 0) {
            return EMSU_SLOTS_E_HAL;
        }
    }
    rc = program_padded(s, addr + s->header_bytes, data, len);
    if (rc != EMSU_SLOTS_OK) {
        return rc;
    }
    put32(head, EMSU_SLOTS_MAGIC);
    head[4] = (uint8_t)EMSU_SLOTS_VERSION;
    head[5] = 0;
    head[6] = (uint8_t)s->header_bytes;
    head[7] = (uint8_t)(s->header_bytes >> 8);
    put32(head + 8, s->config_hash);
    put32(head + 12, seq);
    put32(head + 16, len);
    put32(head + 20, 0);
    put32(head + CRC_OFFSET, emsu_slots_crc32(emsu_slots_crc32(0, head, CRC_OFFSET), data, len));
    for (j = HEADER_USED; j < s->header_bytes; j++) {
        head[j] = 0xFF;
    }
    /* the header: everything after its first program unit, then the first unit (the magic) last */
    first = hal->prog_unit < HEADER_USED ? hal->prog_unit : s->header_bytes;
    if (first < s->header_bytes) {
        rc = program_padded(s, addr + first, head + first, s->header_bytes - first);
        if (rc != EMSU_SLOTS_OK) {
            return rc;
        }
    }
    rc = program_padded(s, addr, head, first);
    if (rc != EMSU_SLOTS_OK) {
        return rc;
    }
    rc = emsu_slots_scan(s);
    if (rc < 0) {
        return rc;
    }
    return (s->newest == target && s->seq == seq) ? EMSU_SLOTS_OK : EMSU_SLOTS_E_VERIFY;
}
