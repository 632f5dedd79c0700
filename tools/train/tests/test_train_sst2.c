/* The SST-2 TSV reader on fixtures this test writes: GLUE's `sentence<TAB>label` and the shared
 * copy's `label<TAB>content`, CRLF and LF, -lrb- / -rrb-, and the faults it must name: a label
 * other than 0/1, a row with the wrong column count, a header without the columns. */
#include "check.h"
#include "fixture.h"
#include "sst2.h"
#include "util.h"

#include <string.h>

static void expect_tokens(const sst2_example *ex, const char *const *want, int n,
                          const char *what) {
    CHECK(ex->ntokens == n, "%s: %d tokens, got %d", what, n, ex->ntokens);
    for (int i = 0; i < n && i < ex->ntokens; i++)
        CHECK(strcmp(ex->tokens[i], want[i]) == 0, "%s: token %d is \"%s\", got \"%s\"", what, i,
              want[i], ex->tokens[i]);
}

static void expect_fail(const char *name, const char *text, const char *needle) {
    const char *path = fixture_write(name, text, strlen(text));
    sst2_set s;
    char err[TR_ERR_LEN] = "";
    bool ok = sst2_read(path, &s, err, sizeof err);
    CHECK(!ok, "%s: must fail", name);
    CHECK(strstr(err, needle) && strstr(err, name), "%s: message \"%s\" names the file and \"%s\"",
          name, err, needle);
    if (ok) sst2_free(&s);
}

int main(void) {
    char err[TR_ERR_LEN] = "";
    /* the shared copy: label first, CRLF */
    const char *a = "label\tsentence\r\n"
                    "1\tit 's a charming -lrb- and often affecting -rrb- journey . \r\n"
                    "0\tunflinchingly bleak\r\n";
    /* GLUE: sentence first, LF, no final newline, extra spaces */
    const char *b = "sentence\tlabel\n"
                    "it 's a charming -lrb- and often affecting -rrb- journey . \t1\n"
                    "  unflinchingly   bleak\t0";
    const char *c = "label\tcontent\n0\tone long string of cliches .\n\n";
    sst2_set sa, sb, sc;
    CHECK(sst2_read(fixture_write("a.tsv", a, strlen(a)), &sa, err, sizeof err), "a: %s", err);
    CHECK(sst2_read(fixture_write("b.tsv", b, strlen(b)), &sb, err, sizeof err), "b: %s", err);
    CHECK(sst2_read(fixture_write("c.tsv", c, strlen(c)), &sc, err, sizeof err), "c: %s", err);
    const char *const first[] = {"it", "'s", "a", "charming", "(", "and", "often", "affecting",
                                 ")", "journey", "."};
    const char *const second[] = {"unflinchingly", "bleak"};
    const sst2_set *sets[2] = {&sa, &sb};
    const char *names[2] = {"label-first CRLF", "sentence-first LF"};
    for (int k = 0; k < 2; k++) {
        CHECK(sets[k]->n == 2, "%s: 2 rows, got %d", names[k], sets[k]->n);
        if (sets[k]->n != 2) continue;
        CHECK(sets[k]->items[0].label == 1 && sets[k]->items[1].label == 0, "%s: labels 1 0",
              names[k]);
        expect_tokens(&sets[k]->items[0], first, 11, names[k]);
        expect_tokens(&sets[k]->items[1], second, 2, names[k]);
        CHECK(sets[k]->max_tokens == 11, "%s: longest sentence 11 tokens", names[k]);
    }
    CHECK(sc.n == 1 && sc.items[0].label == 0 && sc.items[0].ntokens == 6,
          "label<TAB>content: one row of 6 tokens, blank lines skipped");
    sst2_free(&sa);
    sst2_free(&sb);
    sst2_free(&sc);

    expect_fail("badlabel.tsv", "label\tsentence\n1\tfine\n2\tnot binary\n",
                "badlabel.tsv:3: label \"2\" is not 0 or 1");
    expect_fail("cols.tsv", "sentence\tlabel\nno label column here\n", "cols.tsv:2: 1 tab");
    expect_fail("header.tsv", "index\tsentence\n0\tthe test split has no labels\n",
                "needs a \"label\" column");
    expect_fail("empty.tsv", "", "empty");
    expect_fail("onlyheader.tsv", "label\tsentence\r\n", "no rows");
    const char *files[] = {"a.tsv", "b.tsv", "c.tsv", "badlabel.tsv", "cols.tsv", "header.tsv",
                           "empty.tsv", "onlyheader.tsv"};
    fixture_cleanup(files, 8);
    return check_summary("test_train_sst2");
}
