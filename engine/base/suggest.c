/* suggest.c: nearest-word suggestions for "did you mean" (see suggest.h). */
#include "base/suggest.h"

#include <string.h>
#include <strings.h>

#define SUGGEST_MAX_LEN 64

size_t suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN) return 99;
    size_t prev[SUGGEST_MAX_LEN + 1], cur[SUGGEST_MAX_LEN + 1];
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(prev));
    }
    return prev[lb];
}

void suggest_init(struct suggest *s, const char *word)
{
    s->word = word;
    s->best = NULL;
    s->dist = (size_t)-1;
    /* Short words tolerate fewer edits: "idd" -> "id" is a typo, "os" -> "id" is not; and
     * "null_resource.zzz" is no typo of "null_resource.a", however long the shared prefix. */
    s->limit = strlen(word) <= 3 ? 2 : 3;
}

void suggest_try(struct suggest *s, const char *candidate)
{
    if (!candidate || strcmp(candidate, s->word) == 0) return;
    /* A difference in case only ("IPv6" for "ipv6") is the best suggestion there is. */
    size_t d = strcasecmp(s->word, candidate) == 0 ? 0 : suggest_distance(s->word, candidate);
    if (d < s->limit && d < s->dist) {
        s->dist = d;
        s->best = candidate;
    }
}

const char *suggest_word(const char *word, const char *const *candidates)
{
    struct suggest s;
    suggest_init(&s, word);
    for (size_t i = 0; candidates && candidates[i]; i++) suggest_try(&s, candidates[i]);
    return s.best;
}
