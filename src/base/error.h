/* error.h: filling a smol_error. Library code reports failures as
 *     return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' ends past the file", path, name);
 * smol_fail records the code and message (when err is not NULL) and returns the code. */
#ifndef SMOL_BASE_ERROR_H
#define SMOL_BASE_ERROR_H
#include "smol.h"

#if defined(__GNUC__)
#define SMOL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SMOL_PRINTF(a, b)
#endif

/* Records code and the formatted message in err (may be NULL); returns code. */
int smol_fail(smol_error *err, int code, const char *fmt, ...) SMOL_PRINTF(3, 4);

/* Prefixes the message already in err with "prefix: " (for adding context while unwinding). */
void smol_error_prefix(smol_error *err, const char *fmt, ...) SMOL_PRINTF(2, 3);

/* Clears err to SMOL_OK with an empty message. */
void smol_error_clear(smol_error *err);

#endif
