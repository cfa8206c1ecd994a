#!/usr/bin/env python3
"""selftest.py: the fake API server's pure parts, without a server: patches, selectors, field
ownership (merge keys too), protobuf decoding, traffic.py's parsing and endpoints. Prints
"ok - NAME" / "not ok - NAME" (tests/e2e/kube_fake_kubectl.sh runs it); exits 1 on any failure."""
import base64
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_kube  # noqa: E402
import patch  # noqa: E402
import pb  # noqa: E402
import ssa  # noqa: E402
import traffic  # noqa: E402
from store import match_fields, match_labels, parse_field_selector, parse_label_selector  # noqa: E402

FAILED = 0


def check(name, got, want):
    global FAILED
    if got == want:
        print("ok - selftest: " + name)
    else:
        FAILED += 1
        print("not ok - selftest: %s\n    | got  %r\n    | want %r" % (name, got, want))


def raises(fn):
    try:
        fn()
    except Exception as e:  # the type is what the caller names
        return type(e).__name__
    return None


obj = {"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"list": [1, 2], "m": {"k": "v"}}}
check("json patch add/replace/remove/test",
      patch.json_patch(obj, [{"op": "add", "path": "/spec/list/-", "value": 3},
                             {"op": "replace", "path": "/spec/m/k", "value": "w"},
                             {"op": "remove", "path": "/metadata/labels/x"},
                             {"op": "test", "path": "/spec/list/0", "value": 1}]),
      {"metadata": {"name": "a", "labels": {}}, "spec": {"list": [1, 2, 3], "m": {"k": "w"}}})
check("json patch: a failed test is an error",
      raises(lambda: patch.json_patch(obj, [{"op": "test", "path": "/spec/list/0", "value": 9}])), "PatchError")
check("json patch: removing what is not there is an error",
      raises(lambda: patch.json_patch(obj, [{"op": "remove", "path": "/spec/nope"}])), "PatchError")
check("merge patch: null deletes, lists replace",
      patch.merge_patch(obj, {"metadata": {"labels": None}, "spec": {"list": [9]}}),
      {"metadata": {"name": "a"}, "spec": {"list": [9], "m": {"k": "v"}}})
check("the patches leave their input alone", obj["spec"]["list"], [1, 2])
pod = {"containers": [{"name": "a", "image": "1", "ports": [{"containerPort": 80}]}, {"name": "b", "image": "1"}]}
check("strategic: containers merge by name, new ones append",
      patch.strategic(pod, {"containers": [{"name": "b", "image": "2"}, {"name": "c", "image": "3"}]}),
      {"containers": [{"name": "a", "image": "1", "ports": [{"containerPort": 80}]}, {"name": "b", "image": "2"},
                      {"name": "c", "image": "3"}]})
check("strategic: $patch delete drops a list item; $setElementOrder is ignored",
      patch.strategic(pod, {"$setElementOrder/containers": [{"name": "a"}],
                            "containers": [{"name": "b", "$patch": "delete"}]}),
      {"containers": [pod["containers"][0]]})
check("strategic: finalizers merge as a set",
      patch.strategic({"finalizers": ["a"]}, {"finalizers": ["b", "a"]}), {"finalizers": ["a", "b"]})

lab = {"app": "web", "tier": "front"}
for sel, want in [("app=web", True), ("app==web,tier=back", False), ("app!=db", True), ("tier in (front,x)", True),
                  ("tier notin (front)", False), ("app", True), ("!app", False), ("", True)]:
    check("label selector %r" % sel, match_labels(parse_label_selector(sel), lab), want)
check("a malformed label selector is an error", raises(lambda: parse_label_selector("a b c")), "ValueError")
check("field selector metadata.name", match_fields(parse_field_selector("metadata.name=a"), obj), True)
check("field selector !=", match_fields(parse_field_selector("metadata.name!=a"), obj), False)

# field ownership
managers = {}
cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
live = ssa.apply(None, managers, cm, "m1", False, "v1", False, "t")
check("apply: the manager owns the leaves, not the server's metadata",
      sorted(managers[("m1", "Apply")]["paths"]), [("data", "a"), ("data", "b")])
other = dict(cm, data={"a": "9"})
c = raises(lambda: ssa.apply(live, managers, other, "m2", False, "v1", False, "t"))
check("apply: another value for an owned field is a conflict", c, "Conflict")
try:
    ssa.apply(live, managers, other, "m2", False, "v1", False, "t")
except ssa.Conflict as e:
    check("the conflict message", e.message(), 'Apply failed with 1 conflict: conflict with "m1": .data.a')
same = dict(cm, data={"a": "1"})
live2 = ssa.apply(live, managers, same, "m2", False, "v1", False, "t")
check("apply: the same value is shared, no conflict", sorted(managers[("m2", "Apply")]["paths"]), [("data", "a")])
live3 = ssa.apply(live2, managers, dict(cm, data={"b": "2"}), "m1", False, "v1", False, "t")
check("apply: a field dropped by its manager stays while another owns it", live3["data"], {"a": "1", "b": "2"})
live4 = ssa.apply(live3, managers, dict(cm, data={"b": "2"}), "m2", False, "v1", False, "t")
check("apply: ... and goes when its last manager drops it", live4["data"], {"b": "2"})
ssa.update(managers, live4, dict(live4, data={"b": "3"}), "edit", "v1", False, "t")
check("update: a changed field moves to the updater", sorted(managers[("edit", "Update")]["paths"]), [("data", "b")])
check("update: ... and leaves its old owner", ("data", "b") in managers[("m1", "Apply")]["paths"], False)
check("fieldsV1", ssa.fields_v1({("data", "b"), ("metadata", "labels", "x")}),
      {"f:data": {"f:b": {}}, "f:metadata": {"f:labels": {"f:x": {}}}})

# keyed lists: containers by name
m = {}
dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
       "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "a"}, {"name": "side", "image": "s"}]}}}}
d = ssa.apply(None, m, dep, "mesh", False, "apps/v1", True, "t")
check("fieldsV1 of a keyed list", sorted(ssa.render_managed(m)[0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"][
    "f:containers"]), ['k:{"name":"side"}', 'k:{"name":"web"}'])
d2 = patch.strategic(d, {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "A"}]}]}}}})
ssa.update(m, d, d2, "kubectl-set", "apps/v1", True, "t")
check("an update adding env to one container owns just that",
      sorted(ssa.field_str(p) for p in m[("kubectl-set", "Update")]["paths"]),
      ['.spec.template.spec.containers[name="web"].env[name="A"].name'])
other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
         "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "zzz"}]}}}}
try:
    ssa.apply(d2, m, other, "x", False, "apps/v1", True, "t")
    check("a conflict inside a keyed item", "no conflict", "conflict")
except ssa.Conflict as e:
    check("a conflict inside a keyed item names it", e.message(),
          'Apply failed with 1 conflict: conflict with "mesh": .spec.template.spec.containers[name="side"].image')
d3 = ssa.apply(d2, m, dict(dep, spec={"template": {"spec": {"containers": [{"name": "side", "image": "s"}]}}}),
               "mesh", False, "apps/v1", True, "t")
check("an item its manager drops stays while another manager owns fields in it",
      d3["spec"]["template"]["spec"]["containers"], [{"name": "web", "env": [{"name": "A"}]}, {"name": "side", "image": "s"}])

# keyed lists: a container's ports by containerPort, env by name (aws-node's init container)
m = {}
ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "aws-node"},
      "spec": {"template": {"spec": {"initContainers": [{"name": "init", "image": "cni-init:1",
                                                         "env": [{"name": "A", "value": "1"}]}],
                                     "containers": [{"name": "node", "image": "cni:1",
                                                     "ports": [{"containerPort": 61678, "protocol": "TCP"}]}]}}}}
live = ssa.apply(None, m, ds, "eks", False, "apps/v1", True, "t")
check("fieldsV1 of container ports: keyed by containerPort",
      list(ssa.fields_v1(m[("eks", "Apply")]["paths"])["f:spec"]["f:template"]["f:spec"]["f:containers"][
          'k:{"name":"node"}']["f:ports"]), ['k:{"containerPort":61678}'])
egress = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "aws-node"},
          "spec": {"template": {"spec": {"initContainers": [{"name": "init",
                                                             "env": [{"name": "V6_EGRESS", "value": "true"}]}]}}}}
live2 = ssa.apply(live, m, egress, "mesh", False, "apps/v1", True, "t")
check("apply of one env entry of an init container merges: image and other env kept",
      live2["spec"]["template"]["spec"]["initContainers"],
      [{"name": "init", "image": "cni-init:1", "env": [{"name": "A", "value": "1"}, {"name": "V6_EGRESS", "value": "true"}]}])
check("... the applier owns only its entry",
      sorted(ssa.field_str(p) for p in m[("mesh", "Apply")]["paths"]),
      ['.spec.template.spec.initContainers[name="init"].env[name="V6_EGRESS"].name',
       '.spec.template.spec.initContainers[name="init"].env[name="V6_EGRESS"].value',
       '.spec.template.spec.initContainers[name="init"].name'])
ports = dict(ds, spec={"template": {"spec": {"containers": [{"name": "node", "ports": [
    {"containerPort": 61678, "protocol": "TCP", "name": "metrics"}]}]}}})
live3 = ssa.apply(live2, m, ports, "other", False, "apps/v1", True, "t")
check("a port entry merges by containerPort", live3["spec"]["template"]["spec"]["containers"][0]["ports"],
      [{"containerPort": 61678, "protocol": "TCP", "name": "metrics"}])

# traffic.py: what a curl Job asks for, and a remote secret's kubeconfig
job_pod = {"spec": {"containers": [{"name": "curl", "command": ["sh", "-c"],
                                    "args": ["for i in $(seq 1 10); do curl -sS helloworld.sample:5000/hello; done"]}]}}
check("a curl loop: service, namespace, port, path, count", traffic.parse_call(job_pod),
      ("helloworld", "sample", 5000, "/hello", 10))
check("one call to a .svc.cluster.local name, default port", traffic.parse_call(
    {"spec": {"containers": [{"command": ["curl", "http://web.prod.svc.cluster.local/"]}]}}), ("web", "prod", 80, "/", 1))
check("no curl: no call", traffic.parse_call({"spec": {"containers": [{"command": ["sleep", "10"]}]}}), None)
kc = ("apiVersion: v1\nkind: Config\nclusters:\n- name: c2\n  cluster: {server: 'https://127.0.0.1:1/', "
      "certificate-authority-data: " + base64.b64encode(b"PEM").decode() + "}\ncontexts:\n- name: c2\n  context: "
      "{cluster: c2, user: c2}\ncurrent-context: c2\nusers:\n- name: c2\n  user: {token: tok}\n")
check("a remote secret's kubeconfig: server, CA, token", traffic.kubeconfig_target(kc),
      ("https://127.0.0.1:1", b"PEM", "tok"))
check("not a kubeconfig", traffic.kubeconfig_target("- a\n- b"), None)
svc = {"spec": {"ports": [{"port": 5000}], "selector": {"app": "hw"}}}
ready = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
pods = [{"metadata": {"name": "hw-2", "labels": {"app": "hw", "version": "v2"}}, "status": ready},
        {"metadata": {"name": "hw-1", "labels": {"app": "hw", "version": "v1"}}, "status": ready},
        {"metadata": {"name": "hw-3", "labels": {"app": "hw", "version": "v3"}}, "status": {"phase": "Pending"}},
        {"metadata": {"name": "db", "labels": {"app": "db"}}, "status": ready}]
check("endpoints: the Ready pods the Service selects", traffic.endpoints_of(svc, pods, 5000),
      [("v1", "hw-1"), ("v2", "hw-2")])
check("endpoints: a port the Service lacks", traffic.endpoints_of(svc, pods, 80), None)

# protobuf: a Namespace as kubectl create namespace sends it
ns = b"k8s\x00" + bytes([0x0a, 0x0f]) + b"\x0a\x02v1\x12\x09Namespace" + bytes([0x12, 0x0b]) + \
    b"\x0a\x09\x0a\x03foo\x12\x00\x1a\x00"
check("protobuf Namespace decodes", pb.decode(ns), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foo"}})
check("protobuf of another kind is refused",
      raises(lambda: pb.decode(b"k8s\x00\x0a\x15\x0a\x07apps/v1\x12\x0aDeployment")), "Unsupported")

# A body cut short (helm's release Secret when helm was killed mid-request) is refused whole:
# the fake once stored half of one, and helm then found no revision it could decode.
def ld(num, b):
    return bytes([num << 3 | 2, len(b)]) + b


release = base64.b64encode(b"H4sI-a-gzipped-release-record").decode()
secret = ld(1, ld(1, b"sh.helm.release.v1.x.v1") + ld(11, ld(1, b"owner") + ld(2, b"helm"))) + \
    ld(2, ld(1, b"release") + ld(2, release.encode()))
body = b"k8s\x00" + ld(1, ld(1, b"v1") + ld(2, b"Secret")) + ld(2, secret)
check("protobuf Secret decodes whole", pb.decode(body)["data"], {"release": base64.b64encode(release.encode()).decode()})
check("protobuf cut inside a value is refused, not decoded short", raises(lambda: pb.decode(body[:-10])), "ValueError")
hdr = {"Content-Length": str(len(body))}
check("a body of Content-Length is read whole", fake_kube.read_body(io.BytesIO(body), hdr), body)
check("a body shorter than its Content-Length is refused",
      raises(lambda: fake_kube.read_body(io.BytesIO(body[:40]), hdr)), "ShortBody")
chunked = {"Transfer-Encoding": "chunked"}
check("a chunked body is read whole", fake_kube.read_body(io.BytesIO(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), chunked),
      b"abcde")
check("a chunked body cut inside a chunk is refused",
      raises(lambda: fake_kube.read_body(io.BytesIO(b"3\r\nabc\r\n5\r\nde"), chunked)), "ShortBody")
check("a chunked body cut before its last chunk is refused",
      raises(lambda: fake_kube.read_body(io.BytesIO(b"3\r\nabc\r\n"), chunked)), "ShortBody")

sys.exit(1 if FAILED else 0)
