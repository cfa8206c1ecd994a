/* kubeconfig.c: the kubeconfig helm is given: the connection's server and CA, and a user whose
 * exec plugin is this mesh asking the running mesh for the credential (no secret in the file). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "helm/helm.h"

/* A YAML double-quoted scalar. */
static void quoted(struct strbuf *sb, const char *s)
{
    strbuf_addch(sb, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') strbuf_addch(sb, '\\');
        if ((unsigned char)*s < 0x20) strbuf_addf(sb, "\\x%02x", (unsigned char)*s);
        else strbuf_addch(sb, *s);
    }
    strbuf_addch(sb, '"');
}

char *helm_kubeconfig_text(const char *cluster, const char *server, const unsigned char *ca, size_t ca_len,
                           const char *self, const char *socket)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    strbuf_adds(&sb, "apiVersion: v1\nkind: Config\nclusters:\n- name: mesh\n  cluster:\n    server: ");
    quoted(&sb, server);
    strbuf_addch(&sb, '\n');
    if (ca && ca_len) {
        char *b64 = xmalloc(4 * ((ca_len + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)b64, ca, (int)ca_len);
        strbuf_addf(&sb, "    certificate-authority-data: %s\n", b64);
        free(b64);
    }
    strbuf_adds(&sb, "users:\n- name: mesh\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                     "      interactiveMode: Never\n      command: ");
    quoted(&sb, self);
    strbuf_adds(&sb, "\n      args: [\"token\", ");
    quoted(&sb, cluster);
    strbuf_adds(&sb, ", \"--broker\", ");
    quoted(&sb, socket);
    strbuf_adds(&sb, "]\ncontexts:\n- name: mesh\n  context: {cluster: mesh, user: mesh}\ncurrent-context: mesh\n");
    return strbuf_detach(&sb);
}
