/* file.c: read-only maps of whole files and atomic (temp + rename) writes. */
#include "base/file.h"
#include "base/error.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int smol_map_open(smol_map *m, const char *path, smol_error *err) {
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return smol_fail(err, SMOL_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return smol_fail(err, SMOL_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return smol_fail(err, SMOL_EIO, "%s: is a directory, expected a file", path);
    }
    if (!S_ISREG(st.st_mode)) {  /* a pipe or device: read it instead */
        close(fd);
        char *buf;
        size_t n;
        int rc = smol_read_file(path, &buf, &n, err);
        if (rc) return rc;
        m->data = (const uint8_t *)buf;
        m->size = n;
        return SMOL_OK;
    }
    m->size = (size_t)st.st_size;
    if (m->size > 0) {
        void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return smol_fail(err, SMOL_EIO, "%s: cannot map: %s", path, strerror(e));
        }
        m->data = p;
        m->mapped = 1;
    }
    close(fd);
    return SMOL_OK;
}

void smol_map_close(smol_map *m) {
    if (!m) return;
    if (m->mapped && m->data) munmap((void *)m->data, m->size);
    else free((void *)m->data);
    memset(m, 0, sizeof *m);
}

int smol_read_file(const char *path, char **out, size_t *size, smol_error *err) {
    *out = NULL;
    *size = 0;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp) return smol_fail(err, SMOL_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        if (!is_stdin) fclose(fp);
        return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                if (!is_stdin) fclose(fp);
                return smol_fail(err, SMOL_ENOMEM, "%s: out of memory reading %zu bytes", path, n);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(fp);
    if (!is_stdin) fclose(fp);
    if (bad) {
        free(buf);
        return smol_fail(err, SMOL_EIO, "%s: read error", path);
    }
    buf[n] = 0;
    *out = buf;
    *size = n;
    return SMOL_OK;
}

int smol_atomic_open(smol_atomic_file *f, const char *path, smol_error *err) {
    memset(f, 0, sizeof *f);
    if (strlen(path) + 32 >= sizeof f->tmp) return smol_fail(err, SMOL_EINVAL, "%s: path too long", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%d", path, (int)getpid());
    f->fp = fopen(f->tmp, "wb");
    if (!f->fp) return smol_fail(err, SMOL_EIO, "%s: cannot create: %s", f->tmp, strerror(errno));
    return SMOL_OK;
}

int smol_atomic_commit(smol_atomic_file *f, smol_error *err) {
    if (!f->fp) return smol_fail(err, SMOL_EINVAL, "%s: not open", f->path);
    int bad = fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0;
    int e = errno;
    bad |= fclose(f->fp) != 0;
    f->fp = NULL;
    if (bad) {
        unlink(f->tmp);
        return smol_fail(err, SMOL_EIO, "%s: write failed: %s", f->path, strerror(e));
    }
    if (rename(f->tmp, f->path) != 0) {
        e = errno;
        unlink(f->tmp);
        return smol_fail(err, SMOL_EIO, "%s: cannot rename into place: %s", f->path, strerror(e));
    }
    return SMOL_OK;
}

void smol_atomic_abort(smol_atomic_file *f) {
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
        unlink(f->tmp);
    }
}

int smol_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int smol_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}
