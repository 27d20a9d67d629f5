/* unicode.h: UTF-8 decoding that never fails (an invalid byte is one character of its own)
 * and the Unicode classes the pre-tokenizer regexes use: \p{L}, \p{N}, \p{P} and \s. */
#ifndef SMOL_TOK_UNICODE_H
#define SMOL_TOK_UNICODE_H
#include <stddef.h>
#include <stdint.h>

/* Class bits of a code point. */
enum {
    SMOL_UC_LETTER = 1,   /* \p{L}: Lu Ll Lt Lm Lo */
    SMOL_UC_NUMBER = 2,   /* \p{N}: Nd Nl No */
    SMOL_UC_SPACE  = 4,   /* \s: the White_Space property (U+0009..000D, 0020, 0085, 00A0, Zs, Zl, Zp) */
    SMOL_UC_PUNCT  = 8,   /* \p{P}: Pc Pd Ps Pe Pi Pf Po */
    SMOL_UC_MULTI  = 16,  /* in smol_uc_byte only: a byte >= 0x80 (decode to know the class) */
};

/* The code point returned for an invalid byte: it has no class bit. */
#define SMOL_UC_INVALID (-1)

/* Decodes the character at s[0] (n >= 1 bytes available): stores its code point in *cp and
 * returns its length (1..4). A byte that does not start a valid, shortest-form, non-surrogate
 * sequence within n bytes is a character of length 1 with *cp = SMOL_UC_INVALID. */
size_t smol_uc_decode(const unsigned char *s, size_t n, int32_t *cp);

/* The SMOL_UC_* bits of code point cp (0 for SMOL_UC_INVALID and unassigned code points). */
unsigned smol_uc_class(int32_t cp);

#if defined(__GNUC__)
#define SMOL_UC_HIDDEN __attribute__((visibility("hidden")))
#else
#define SMOL_UC_HIDDEN
#endif

/* The class bits of each byte value, for fast paths: those of the ASCII character for bytes
 * 0..127, SMOL_UC_MULTI alone for bytes 128..255. */
extern const uint8_t smol_uc_byte[256] SMOL_UC_HIDDEN;

#endif
