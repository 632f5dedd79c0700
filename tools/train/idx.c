#include "idx.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

void idx_free(idx_array *a) {
    free(a->raw);
    memset(a, 0, sizeof *a);
}

bool idx_parse(const char *name, uint8_t *buf, size_t len, int want_ndim, idx_array *out,
               char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    bool ok = false;
    if (len < 4) {
        tr_err(err, errlen, "%s: truncated: %zu bytes, shorter than the 4-byte IDX magic", name,
               len);
        goto done;
    }
    if (buf[0] != 0 || buf[1] != 0) {
        tr_err(err, errlen,
               "%s: bad magic %02x %02x %02x %02x: not an IDX file (it starts 00 00 08 NDIM)",
               name, buf[0], buf[1], buf[2], buf[3]);
        goto done;
    }
    if (buf[2] != 0x08) {
        tr_err(err, errlen, "%s: IDX element type 0x%02x, expected 0x08 (unsigned byte)", name,
               buf[2]);
        goto done;
    }
    int ndim = buf[3];
    if (ndim < 1 || ndim > 4 || (want_ndim && ndim != want_ndim)) {
        if (want_ndim) tr_err(err, errlen, "%s: IDX header says %d dims, expected %d", name, ndim,
                              want_ndim);
        else tr_err(err, errlen, "%s: IDX header says %d dims, expected 1 to 4", name, ndim);
        goto done;
    }
    size_t header = 4 + 4 * (size_t)ndim;
    if (len < header) {
        tr_err(err, errlen, "%s: truncated: %zu bytes, shorter than its %zu-byte header", name,
               len, header);
        goto done;
    }
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        const uint8_t *p = buf + 4 + 4 * d;
        uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (v == 0) {
            tr_err(err, errlen, "%s: dim %d is 0", name, d);
            goto done;
        }
        out->dims[d] = v;
        /* dims are u32 each and at most 4 of them: stop before the product can overflow */
        if (count > INT64_MAX / (int64_t)v) {
            tr_err(err, errlen, "%s: dims multiply past 2^63", name);
            goto done;
        }
        count *= v;
    }
    if ((uint64_t)(len - header) != (uint64_t)count) {
        tr_err(err, errlen,
               "%s: %s: the header's dims need %lld data bytes after the %zu-byte header, the "
               "file has %zu",
               name, (uint64_t)(len - header) < (uint64_t)count ? "truncated" : "trailing bytes",
               (long long)count, header, len - header);
        goto done;
    }
    out->ndim = ndim;
    out->count = count;
    out->raw = buf;
    out->data = buf + header;
    ok = true;
done:
    if (!ok) free(buf);
    return ok;
}

bool idx_read(const char *path, int want_ndim, idx_array *out, char *err, size_t errlen) {
    uint8_t *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    if (!tr_read_file(path, &buf, &len, err, errlen)) return false;
    return idx_parse(path, buf, len, want_ndim, out, err, errlen);
}

void idx_dataset_free(idx_dataset *d) {
    idx_free(&d->img);
    idx_free(&d->lab);
    memset(d, 0, sizeof *d);
}

bool idx_load_dataset(const char *images_path, const char *labels_path, int classes,
                      idx_dataset *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!idx_read(images_path, 3, &out->img, err, errlen)) return false;
    if (!idx_read(labels_path, 1, &out->lab, err, errlen)) {
        idx_dataset_free(out);
        return false;
    }
    if (out->img.dims[0] != out->lab.dims[0]) {
        tr_err(err, errlen, "%s holds %lld images but %s holds %lld labels", images_path,
               (long long)out->img.dims[0], labels_path, (long long)out->lab.dims[0]);
        idx_dataset_free(out);
        return false;
    }
    for (int64_t i = 0; i < out->lab.count; i++) {
        if (out->lab.data[i] >= classes) {
            tr_err(err, errlen, "%s: label %d at item %lld is out of range (expected 0..%d)",
                   labels_path, out->lab.data[i], (long long)i, classes - 1);
            idx_dataset_free(out);
            return false;
        }
    }
    out->n = out->img.dims[0];
    out->rows = out->img.dims[1];
    out->cols = out->img.dims[2];
    out->images = out->img.data;
    out->labels = out->lab.data;
    return true;
}
