/* base64.h: standard base64 (RFC 4648), shared by the providers: the Kubernetes API's
 * kubeconfig *-data fields, certificate_authority_data and Secret data; KMS's CiphertextBlob and
 * Plaintext (state_kms.c). OpenSSL does the work. */
#ifndef MESH_BASE64_H
#define MESH_BASE64_H

#include <stddef.h>

/* Decodes s (whitespace and line breaks ignored). Returns a malloc'd NUL-terminated buffer
 * (free with wipe_free when it may hold a key) and its length in *n, or NULL when s is not base64. */
unsigned char *b64_decode(const char *s, size_t *n);
/* Encodes data[0..n) without line breaks; malloc'd. */
char *b64_encode(const void *data, size_t n);

#endif
