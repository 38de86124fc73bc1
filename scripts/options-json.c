/*
 * options-json.c - the SOCKLEAK_OPTIONS table, as JSON, for the documentation.
 *
 * Built by scripts/gen-docs.py against the shim's own options.c (never a copy, never a
 * regex over its source). Without arguments it prints the table: a JSON array of
 * {"name", "default", "doc", "meta", "values"}, one object per row, in table order.
 * With arguments KEY=VALUE... it parses each as SOCKLEAK_OPTIONS and prints one JSON
 * line per argument: {"arg", "problems", "is_default"}, is_default being true when the
 * value leaves every setting as the defaults have it (tests/check_docs.py asks this of
 * the default each document shows). Exit status 0, or 1 on a broken table.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "base/base.h"

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void ignore(const char *msg)
{
    (void)msg;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        static struct sl_options want, got;
        sl_options_defaults(&want);
        for (int i = 1; i < argc; i++) {
            int problems = sl_options_parse(&got, argv[i], ignore);
            printf("{\"arg\": ");
            json_str(argv[i]);
            printf(", \"problems\": %d, \"is_default\": %s}\n", problems,
                   memcmp(&want, &got, sizeof(want)) == 0 ? "true" : "false");
        }
        return 0;
    }
    const char *name, *def, *doc, *meta, *values;
    printf("[");
    for (size_t i = 0; sl_option_info(i, &name, &def, &doc, &meta, &values) == 0; i++) {
        if (!doc || !*doc) {
            fprintf(stderr, "options-json: option %s has no meaning in the table\n", name);
            return 1;
        }
        printf("%s\n {\"name\": ", i ? "," : "");
        json_str(name);
        printf(", \"default\": ");
        json_str(def);
        printf(", \"meta\": ");
        json_str(meta);
        printf(", \"values\": ");
        json_str(values);
        printf(",\n  \"doc\": ");
        json_str(doc);
        printf("}");
    }
    printf("\n]\n");
    return 0;
}
