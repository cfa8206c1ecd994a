/* suggest.h: "did you mean `x`?" — the nearest of a set of words by edit distance.
 * Feed candidates one by one (they may come from any table), then read .best. */
#ifndef MESH_SUGGEST_H
#define MESH_SUGGEST_H

#include <stddef.h>

struct suggest {
    const char *word;   /* what the user wrote */
    const char *best;   /* nearest candidate so far (borrowed), or NULL */
    size_t dist;        /* its distance */
    size_t limit;       /* candidates at this distance or more are not suggested */
};

/* Levenshtein distance; words over 64 bytes count as far apart (no suggestion is useful there). */
size_t suggest_distance(const char *a, const char *b);
void suggest_init(struct suggest *s, const char *word);
void suggest_try(struct suggest *s, const char *candidate);
/* Convenience over a NULL-terminated array of words; NULL when nothing is close. */
const char *suggest_word(const char *word, const char *const *candidates);

#endif
