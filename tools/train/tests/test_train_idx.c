/* The IDX reader on files this test writes: a good image/label pair (plain and gzipped), then
 * truncated, trailing bytes, bad magic, wrong element type, wrong dims, a label out of range and
 * counts that disagree; each must fail with a message naming the file and the fault. */
#include "check.h"
#include "fixture.h"
#include "idx.h"
#include "util.h"

#include <string.h>
#ifdef TR_HAVE_ZLIB
#include <zlib.h>
#endif

/* IDX of unsigned bytes: header for dims, then body bytes. Returns the total length. */
static size_t make_idx(uint8_t *out, int ndim, const uint32_t *dims, const uint8_t *body,
                       size_t nbody) {
    out[0] = 0, out[1] = 0, out[2] = 0x08, out[3] = (uint8_t)ndim;
    size_t at = 4;
    for (int d = 0; d < ndim; d++) {
        out[at++] = (uint8_t)(dims[d] >> 24), out[at++] = (uint8_t)(dims[d] >> 16);
        out[at++] = (uint8_t)(dims[d] >> 8), out[at++] = (uint8_t)dims[d];
    }
    memcpy(out + at, body, nbody);
    return at + nbody;
}

static void expect_fail(const char *images, const char *labels, int classes, const char *what,
                        const char *needle) {
    idx_dataset d;
    char err[TR_ERR_LEN] = "";
    bool ok = idx_load_dataset(images, labels, classes, &d, err, sizeof err);
    CHECK(!ok, "%s: must fail", what);
    CHECK(strstr(err, needle) != NULL, "%s: message \"%s\" mentions \"%s\"", what, err, needle);
    if (ok) idx_dataset_free(&d);
}

int main(void) {
    /* 3 images of 2x4, labels 7 2 9 */
    uint8_t pix[24], buf[128], lab_buf[64];
    for (int i = 0; i < 24; i++) pix[i] = (uint8_t)(i * 10);
    const uint8_t labels[3] = {7, 2, 9};
    size_t ni = make_idx(buf, 3, (const uint32_t[]){3, 2, 4}, pix, 24);
    size_t nl = make_idx(lab_buf, 1, (const uint32_t[]){3}, labels, 3);
    const char *img = fixture_write("img", buf, ni);
    const char *lab = fixture_write("lab", lab_buf, nl);

    idx_dataset d;
    char err[TR_ERR_LEN] = "";
    CHECK(idx_load_dataset(img, lab, 10, &d, err, sizeof err), "good files load: %s", err);
    CHECK(d.n == 3 && d.rows == 2 && d.cols == 4, "dims 3x2x4, got %lldx%lldx%lld",
          (long long)d.n, (long long)d.rows, (long long)d.cols);
    CHECK(d.images && d.images[0] == 0 && d.images[23] == 230 && d.images[9] == 90,
          "pixels in file order");
    CHECK(d.labels && d.labels[0] == 7 && d.labels[1] == 2 && d.labels[2] == 9, "labels 7 2 9");
    idx_dataset_free(&d);

    /* label 9 is out of range for 9 classes */
    expect_fail(img, lab, 9, "label out of range", "label 9 at item 2 is out of range");
    /* truncated: the last image byte missing */
    const char *trunc = fixture_write("trunc", buf, ni - 1);
    expect_fail(trunc, lab, 10, "truncated images", "truncated");
    expect_fail(trunc, lab, 10, "truncated images names the file", "/trunc");
    /* trailing bytes */
    uint8_t longer[160];
    memcpy(longer, buf, ni);
    longer[ni] = 1;
    expect_fail(fixture_write("long", longer, ni + 1), lab, 10, "trailing bytes", "trailing");
    /* header shorter than its dims */
    expect_fail(fixture_write("short", buf, 9), lab, 10, "cut header", "truncated");
    /* bad magic: a gzip of nothing / a text file */
    expect_fail(fixture_write("magic", "P5\n2 4\n255\n", 11), lab, 10, "bad magic", "bad magic");
    /* element type 0x0D (float) */
    uint8_t typed[128];
    memcpy(typed, buf, ni);
    typed[2] = 0x0D;
    expect_fail(fixture_write("type", typed, ni), lab, 10, "float IDX", "element type 0x0d");
    /* labels file given where images are expected: 1 dim, not 3 */
    expect_fail(lab, lab, 10, "labels as images", "expected 3");
    /* 3 images, 2 labels */
    size_t nl2 = make_idx(lab_buf, 1, (const uint32_t[]){2}, labels, 2);
    expect_fail(img, fixture_write("lab2", lab_buf, nl2), 10, "count mismatch",
                "holds 3 images but");
    expect_fail(fixture_write("missing-never-written", buf, 0), lab, 10, "empty file",
                "truncated");

#ifdef TR_HAVE_ZLIB
    /* the same images gzipped read the same; a cut gzip stream is an error */
    char gzpath[200];
    snprintf(gzpath, sizeof gzpath, "%s/img.gz", fixture_tmpdir());
    gzFile gz = gzopen(gzpath, "wb");
    CHECK(gz && gzwrite(gz, buf, (unsigned)ni) == (int)ni && gzclose(gz) == Z_OK, "write gz");
    CHECK(idx_load_dataset(gzpath, lab, 10, &d, err, sizeof err), "gzipped loads: %s", err);
    CHECK(d.n == 3 && d.images && d.images[23] == 230, "gzipped: same pixels");
    idx_dataset_free(&d);
    uint8_t *gzbytes;
    size_t gzlen;
    FILE *f = fopen(gzpath, "rb");
    gzbytes = malloc(4096);
    gzlen = f ? fread(gzbytes, 1, 4096, f) : 0;
    if (f) fclose(f);
    expect_fail(fixture_write("cut.gz", gzbytes, gzlen - 6), lab, 10, "cut gzip", "gzip");
    free(gzbytes);
    remove(gzpath);
#else
    printf("no zlib in this build: gzip cases skipped\n");
#endif
    const char *names[] = {"img", "lab", "trunc", "long", "short", "magic", "type", "lab2",
                           "missing-never-written", "cut.gz"};
    fixture_cleanup(names, 10);
    return check_summary("test_train_idx");
}
