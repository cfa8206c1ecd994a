/* vec.c: a growable array of pointers (see vec.h). */
#include "base/vec.h"

#include <stdlib.h>
#include "xalloc.h"

void vec_init(struct vec *v)
{
    v->items = NULL;
    v->len = v->cap = 0;
}

void vec_release(struct vec *v)
{
    free(v->items);
    vec_init(v);
}

void vec_push(struct vec *v, void *item)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void **p = xrealloc(v->items, cap * sizeof(*p));
        v->items = p;
        v->cap = cap;
    }
    v->items[v->len++] = item;
}

void *vec_pop(struct vec *v) { return v->len ? v->items[--v->len] : NULL; }

void vec_sort(struct vec *v, int (*cmp)(const void *, const void *))
{
    if (v->len > 1) qsort(v->items, v->len, sizeof(void *), cmp);
}

void vec_free_all(struct vec *v, void (*fn)(void *))
{
    for (size_t i = 0; i < v->len; i++) fn(v->items[i]);
    vec_release(v);
}
