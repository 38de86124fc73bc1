/*
 * suppress.c - suppressions: known long-lived sockets a report should not list.
 *
 * A suppression file (option suppressions=FILE) holds one rule per line, `kind:pattern`,
 * with shell-style globs (fnmatch), '#' comments and blank lines ignored:
 *   function:pool_*        a frame of the socket's stack has a matching function name
 *                          (language frames too: Pool.grab, com.example.Pool.borrow)
 *   file:*pool.py          a frame of its stack is in a matching source file (language
 *                          frames; native ones when debug information names it)
 *   module:*libpq.so*      a frame of its stack is in a matching module (path)
 *   stack:2f6c0e1d9a7b4c33 its stack's fingerprint
 *   peer:10.0.0.5:5432     its peer address ("host:port", "[v6]:port", unix path)
 *   local:*:8080           its local address (listeners, servers' accepted sockets)
 * (In peer and local patterns '[' and ']' are the brackets of an IPv6 address.)
 * A suppressed socket is left out of the report's sockets, groups and leak counts; the
 * report says how many were suppressed, by which rule. The built-in rules (base/options.c,
 * default_suppressions) come first. The file is read once (in the I/O child),
 * the first time a report needs it; a bad line is named in one warning and skipped.
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define MAX_RULES 256

enum kind { K_FUNCTION, K_MODULE, K_STACK, K_PEER, K_LOCAL, K_FILE };
static const char *const kind_names[] = { "function", "module", "stack", "peer", "local", "file" };

struct rule {
    enum kind kind;
    char *pattern;
    char *text; /* as written, for the report */
};

static struct rule rules[MAX_RULES];
static size_t nrules;
static bool loaded;

int sl_suppress_parse(const char *text, void (*warn)(const char *msg))
{
    int problems = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        if (len >= sizeof(buf))
            len = sizeof(buf) - 1;
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = end ? end + 1 : NULL;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *s = buf, *e = buf + strlen(buf);
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            *--e = '\0';
        if (!*s)
            continue;
        char *colon = strchr(s, ':');
        int kind = -1;
        for (size_t k = 0; colon && k < SL_ARRAY_LEN(kind_names); k++)
            if ((size_t)(colon - s) == strlen(kind_names[k]) && !strncmp(s, kind_names[k], (size_t)(colon - s)))
                kind = (int)k;
        if (kind < 0 || !colon[1]) {
            problems++;
            if (warn) {
                char msg[1200];
                snprintf(msg, sizeof(msg),
                         "suppressions: '%.100s' is not kind:pattern (kinds: function, file, module, stack, peer, local); skipped",
                         s);
                warn(msg);
            }
            continue;
        }
        if (nrules == MAX_RULES) {
            problems++;
            if (warn)
                warn("suppressions: more than 256 rules; the rest are skipped");
            break;
        }
        rules[nrules].kind = (enum kind)kind;
        if (kind == K_PEER || kind == K_LOCAL) {
            /* "[::1]:80": brackets are an address's, not a glob's character class */
            char esc[2048];
            size_t o = 0;
            for (const char *c = colon + 1; *c && o + 2 < sizeof(esc); c++) {
                if (*c == '[' || *c == ']')
                    esc[o++] = '\\';
                esc[o++] = *c;
            }
            esc[o] = '\0';
            rules[nrules].pattern = strdup(esc);
        } else {
            rules[nrules].pattern = strdup(colon + 1);
        }
        rules[nrules].text = strdup(s);
        if (rules[nrules].pattern && rules[nrules].text)
            nrules++;
    }
    return problems;
}

void sl_suppress_load(void)
{
    if (loaded)
        return;
    loaded = true;
    for (size_t k = 0; sl_opt.default_suppressions && sl_default_suppressions[k]; k++)
        sl_suppress_parse(sl_default_suppressions[k], sl_warn_line);
    if (!sl_opt.suppressions[0])
        return;
    size_t cap = 256 * 1024;
    char *buf = malloc(cap);
    if (!buf)
        return;
    long n = sl_iochild_read(sl_opt.suppressions, buf, cap);
    if (n < 0)
        sl_log("cannot read suppressions from '%s' (%s); none applied", sl_opt.suppressions, strerror((int)-n));
    else
        sl_suppress_parse(buf, sl_warn_line);
    free(buf);
}

size_t sl_suppress_count(void)
{
    return nrules;
}

const char *sl_suppress_text(size_t i)
{
    return i < nrules ? rules[i].text : NULL;
}

static bool glob(const char *pattern, const char *s)
{
    return s && fnmatch(pattern, s, 0) == 0;
}

int sl_suppress_stack(const struct sl_frame *frames, int n, const char *stack_id)
{
    for (size_t r = 0; r < nrules; r++) {
        const struct rule *x = &rules[r];
        if (x->kind == K_STACK && glob(x->pattern, stack_id))
            return (int)r;
        for (int f = 0; f < n && (x->kind == K_FUNCTION || x->kind == K_MODULE || x->kind == K_FILE); f++)
            if (glob(x->pattern, x->kind == K_FUNCTION ? frames[f].function
                                 : x->kind == K_FILE   ? frames[f].file
                                                       : frames[f].module))
                return (int)r;
    }
    return -1;
}

int sl_suppress_addr(const char *local, const char *peer)
{
    for (size_t r = 0; r < nrules; r++) {
        const struct rule *x = &rules[r];
        if ((x->kind == K_PEER && glob(x->pattern, peer)) || (x->kind == K_LOCAL && glob(x->pattern, local)))
            return (int)r;
    }
    return -1;
}

void sl_suppress_reset(void)
{
    for (size_t i = 0; i < nrules; i++) {
        free(rules[i].pattern);
        free(rules[i].text);
    }
    nrules = 0;
    loaded = false;
}
