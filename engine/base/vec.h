/* vec.h: a growable array of pointers. The vec never owns what it points to. */
#ifndef MESH_VEC_H
#define MESH_VEC_H

#include <stddef.h>

struct vec {
    void **items;
    size_t len;
    size_t cap;
};

#define VEC_INIT { NULL, 0, 0 }

void vec_init(struct vec *v);
void vec_release(struct vec *v);          /* frees the array, not the items */
void vec_push(struct vec *v, void *item);
void *vec_pop(struct vec *v);
void vec_sort(struct vec *v, int (*cmp)(const void *a, const void *b)); /* cmp gets (T **) */
/* Frees every item with fn, then the array. */
void vec_free_all(struct vec *v, void (*fn)(void *));

#endif
