/* error.c: status names and the smol_error helpers. */
#include "base/error.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *smol_status_name(int code) {
    switch (code) {
    case SMOL_OK:           return "ok";
    case SMOL_EINVAL:       return "invalid argument";
    case SMOL_EIO:          return "i/o error";
    case SMOL_EFORMAT:      return "format error";
    case SMOL_ENOMEM:       return "out of memory";
    case SMOL_EUNSUPPORTED: return "unsupported";
    case SMOL_ERANGE:       return "out of range";
    case SMOL_ENOTFOUND:    return "not found";
    default:                return "unknown error";
    }
}

int smol_fail(smol_error *err, int code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void smol_error_prefix(smol_error *err, const char *fmt, ...) {
    if (!err) return;
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof err->msg - 2) return;
    size_t used = (size_t)n, room = sizeof err->msg - used;
    memcpy(err->msg + used, ": ", 2);
    used += 2;
    room -= 2;
    size_t len = strnlen(old, sizeof old);
    if (len >= room) len = room - 1;
    memcpy(err->msg + used, old, len);
    err->msg[used + len] = 0;
}

void smol_error_clear(smol_error *err) {
    if (!err) return;
    err->code = SMOL_OK;
    err->msg[0] = 0;
}
