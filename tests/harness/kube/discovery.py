"""discovery.py: the fake API server's discovery and OpenAPI documents (Python standard library only).

Plain (unaggregated) discovery: clients that ask for the aggregated kind get application/json and
fall back to /api/v1 and /apis/GROUP/VERSION, as with an older server. /openapi/v2 is a minimal
valid document. /openapi/v3 lists one document per group-version, and each document has, per
kind, a PATCH operation tagged with x-kubernetes-group-version-kind and the fieldValidation query
parameter: kubectl reads that to decide it may leave validation to the server (otherwise it wants
full schemas to validate on its side). The documents' hash parameters change when CRDs do.
"""
import hashlib
import json

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-fake", "gitCommit": "0" * 40,
           "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.0",
           "compiler": "gc", "platform": "linux/amd64"}


def api_versions(addr):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]}


def api_groups(store):
    groups = []
    for g, versions in sorted(store.group_versions().items()):
        if not g:
            continue
        vs = [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in versions]
        groups.append({"name": g, "versions": vs, "preferredVersion": vs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(store, group):
    versions = store.group_versions().get(group)
    if not versions:
        return None
    vs = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": vs, "preferredVersion": vs[0]}


def resource_list(store, group, version):
    kinds = [k for k in store.kinds.values() if k.group == group and k.version == version]
    if not kinds:
        return None
    res = []
    for k in sorted(kinds, key=lambda k: k.plural):
        r = {"name": k.plural, "singularName": k.singular, "namespaced": k.namespaced, "kind": k.kind,
             "verbs": k.verbs}
        if k.short:
            r["shortNames"] = k.short
        if k.categories:
            r["categories"] = k.categories
        res.append(r)
        if k.status:
            res.append({"name": k.plural + "/status", "singularName": "", "namespaced": k.namespaced,
                        "kind": k.kind, "verbs": ["get", "patch", "update"]})
        if k.scale:
            res.append({"name": k.plural + "/scale", "singularName": "", "namespaced": k.namespaced,
                        "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
        if k.kind == "Namespace":
            res.append({"name": "namespaces/finalize", "singularName": "", "namespaced": False,
                        "kind": "Namespace", "verbs": ["update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "%s/%s" % (group, version) if group
            else version, "resources": res}


OPENAPI_V2 = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": {},
              "definitions": {}}


def _gv_path(group, version):
    return "api/%s" % version if not group else "apis/%s/%s" % (group, version)


def openapi_gv(store, group, version):
    kinds = [k for k in store.kinds.values() if k.group == group and k.version == version]
    if not kinds:
        return None
    paths = {}
    params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
              {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
              {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": True}},
              {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}}]
    for k in kinds:
        gvk = {"group": group, "version": version, "kind": k.kind}
        base = "/" + _gv_path(group, version) + ("/namespaces/{namespace}/" if k.namespaced else "/") + k.plural
        op = {"operationId": "patch" + k.kind, "parameters": params, "x-kubernetes-action": "patch",
              "x-kubernetes-group-version-kind": gvk,
              "requestBody": {"content": {t: {"schema": {"type": "object"}} for t in (
                  "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
                  "application/strategic-merge-patch+json")}},
              "responses": {"200": {"description": "OK"}}}
        if "patch" in k.verbs:
            paths[base + "/{name}"] = {"patch": op, "get": {
                "operationId": "read" + k.kind, "x-kubernetes-action": "get",
                "x-kubernetes-group-version-kind": gvk, "responses": {"200": {"description": "OK"}}}}
        else:
            paths[base] = {"post": {"operationId": "create" + k.kind, "x-kubernetes-action": "post",
                                    "x-kubernetes-group-version-kind": gvk,
                                    "parameters": params, "responses": {"201": {"description": "Created"}}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths,
            "components": {"schemas": {}}}


def openapi_root(store):
    paths = {}
    for g, versions in sorted(store.group_versions().items()):
        for v in versions:
            doc = json.dumps(openapi_gv(store, g, v), sort_keys=True).encode()
            h = hashlib.sha512(doc).hexdigest()[:64].upper()
            paths[_gv_path(g, v)] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (_gv_path(g, v), h)}
    return {"paths": paths}
