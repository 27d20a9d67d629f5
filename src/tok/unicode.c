/* unicode.c: UTF-8 decoding with invalid bytes as single characters, and the \p{L} \p{N}
 * \p{P} \s classes of a code point from utf8proc's general categories. */
#include "tok/unicode.h"
#include <utf8proc.h>

/* ASCII classes: letters, digits, the White_Space controls and space, and \p{P} punctuation
 * (the ASCII symbols $ + < = > ^ ` | ~ are not punctuation). Checked against Python's regex
 * module by tests/test_pretok.c. Bytes 128..255 start or continue multi-byte characters. */
#define M16 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16
const uint8_t smol_uc_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 8, 8, 8, 0, 8, 8, 8, 8, 8, 8, 0, 8, 8, 8, 8,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 8, 8, 0, 0, 0, 8,
    8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8, 8, 8, 0, 8,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8, 0, 8, 0, 0,
    M16, M16, M16, M16, M16, M16, M16, M16,
};

size_t smol_uc_decode(const unsigned char *s, size_t n, int32_t *cp) {
    unsigned b = s[0];
    *cp = SMOL_UC_INVALID;
    if (b < 0x80) { *cp = (int32_t)b; return 1; }
    size_t len;
    uint32_t c, min;
    if (b >= 0xC2 && b <= 0xDF) { len = 2; c = b & 0x1F; min = 0x80; }
    else if (b >= 0xE0 && b <= 0xEF) { len = 3; c = b & 0x0F; min = 0x800; }
    else if (b >= 0xF0 && b <= 0xF4) { len = 4; c = b & 0x07; min = 0x10000; }
    else return 1;
    if (len > n) return 1;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 1;
    *cp = (int32_t)c;
    return len;
}

unsigned smol_uc_class(int32_t cp) {
    if (cp < 0) return 0;
    if (cp < 128) return smol_uc_byte[cp];
    if (cp == 0x85) return SMOL_UC_SPACE;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return SMOL_UC_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return SMOL_UC_NUMBER;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        return SMOL_UC_SPACE;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return SMOL_UC_PUNCT;
    default:
        return 0;
    }
}
