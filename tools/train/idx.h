/* IDX files (MNIST, Fashion-MNIST): unsigned-byte images and labels, plain or gzipped.
 *
 * IDX layout: bytes 0-1 zero, byte 2 the element type (0x08 = unsigned byte, the only one these
 * data sets use), byte 3 the number of dims, then one big-endian u32 per dim, then the elements
 * row-major. Every check names the file and what is wrong: magic, type, dims, size (the file must
 * hold exactly the header plus the product of the dims), label range, image/label count agreement. */
#ifndef MT_TRAIN_IDX_H
#define MT_TRAIN_IDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct idx_array {
    int ndim;
    int64_t dims[4];
    int64_t count; /* product of dims */
    uint8_t *data; /* count bytes, inside raw (past the header) */
    uint8_t *raw;  /* the whole file, freed by idx_free */
} idx_array;

/* Reads an IDX file of unsigned bytes with exactly `want_ndim` dims (0: any from 1 to 4). */
bool idx_read(const char *path, int want_ndim, idx_array *out, char *err, size_t errlen);
/* Parses an IDX image already in memory (takes ownership of buf on success and failure);
 * `name` is used in messages. */
bool idx_parse(const char *name, uint8_t *buf, size_t len, int want_ndim, idx_array *out,
               char *err, size_t errlen);
void idx_free(idx_array *a);

/* A labelled image set: images (n, rows, cols), labels (n,) in [0, classes). */
typedef struct idx_dataset {
    int64_t n, rows, cols;
    const uint8_t *images; /* (n, rows, cols) */
    const uint8_t *labels; /* (n,) */
    idx_array img, lab;
} idx_dataset;

/* Loads images_path and labels_path and checks that the counts agree and every label is below
 * `classes`. */
bool idx_load_dataset(const char *images_path, const char *labels_path, int classes,
                      idx_dataset *out, char *err, size_t errlen);
void idx_dataset_free(idx_dataset *d);

#endif
