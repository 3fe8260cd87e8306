"""Checks an Argo CD install built with the examples/argocd Component (check-install.sh).

Usage: check_install.py BUILT_YAML EXAMPLES_ARGOCD_DIR KILN_IMAGE

Every check runs on the real build, then on copies broken one way each, which it must
reject: a check that cannot fail proves nothing.
"""

import copy
import sys

import yaml


def find(objects, kind, name):
    for o in objects:
        if o.get("kind") == kind and o["metadata"]["name"] == name:
            return o
    raise AssertionError(f"no {kind}/{name} in the build")


def container(containers, name):
    for c in containers or []:
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name}")


def check(objects, examples, image):
    """Raises AssertionError naming the first thing wrong."""
    deployment = find(objects, "Deployment", "argocd-repo-server")
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    annotations = pod["metadata"].get("annotations") or {}
    assert annotations.get("kubectl.kubernetes.io/default-container") == "argocd-repo-server", (
        "the pod does not default kubectl logs/exec to argocd-repo-server"
    )

    # Argo CD's own containers are kept, with their image.
    repo_server = container(spec["containers"], "argocd-repo-server")
    assert repo_server["image"].startswith("quay.io/argoproj/argocd:"), repo_server["image"]
    container(spec["initContainers"], "copyutil")

    kiln = container(spec["containers"], "kiln")
    assert kiln["image"] == image, f"kiln sidecar image {kiln['image']}, not {image}"
    assert kiln["command"] == ["/var/run/argocd/argocd-cmp-server"], kiln["command"]
    assert kiln["securityContext"]["runAsUser"] == 999, "CMP sidecars run as 999"
    warm = container(spec["initContainers"], "kiln-warm-cache")
    assert warm["image"] == image, f"warm-up image {warm['image']}, not {image}"
    assert warm["args"][:2] == ["cache", "warm"], warm["args"]

    volumes = {v["name"]: v for v in spec["volumes"]}
    for c in (kiln, warm):
        for mount in c["volumeMounts"]:
            assert mount["name"] in volumes, (
                f"{c['name']} mounts {mount['name']}, which the pod does not define"
            )
    mounts = {m["mountPath"]: m for m in kiln["volumeMounts"]}
    plugin_mount = mounts["/home/argocd/cmp-server/config/plugin.yaml"]
    assert plugin_mount.get("subPath") == "plugin.yaml", plugin_mount
    for path, volume in [
        ("/var/run/argocd", "var-files"),
        ("/home/argocd/cmp-server/plugins", "plugins"),
    ]:
        assert mounts[path]["name"] == volume, f"{path} is not Argo CD's {volume}"
    for name, configmap in [
        ("kiln-plugin", "kiln-plugin"),
        ("kiln-definitions", "kiln-definitions"),
        ("kiln-platform", "kiln-platform"),
    ]:
        referenced = volumes[name]["configMap"]["name"]
        assert referenced == configmap, f"volume {name} names ConfigMap {referenced}"
        find(objects, "ConfigMap", configmap)

    # Definitions from registries: the init container pulls into the store with the
    # registry Secret as its docker config; the sidecar reads the same store and holds no
    # credentials (a render makes no network call).
    def env(c, name):
        return next((e.get("value") for e in c.get("env", []) if e["name"] == name), None)

    store = env(warm, "KILN_STORE")
    assert store, "the init container names no KILN_STORE"
    assert env(kiln, "KILN_STORE") == store, (
        f"the sidecar reads the store {env(kiln, 'KILN_STORE')}, the init container fills {store}"
    )
    for c in (kiln, warm):
        cache = next(m for m in c["volumeMounts"] if m["name"] == "kiln-cache")
        assert store.startswith(cache["mountPath"] + "/"), (
            f"{c['name']}'s store {store} is not in the shared kiln-cache volume"
        )
    docker_config = env(warm, "DOCKER_CONFIG")
    registry_mount = next(
        (m for m in warm["volumeMounts"] if m["mountPath"] == docker_config), None
    )
    assert registry_mount, f"DOCKER_CONFIG {docker_config} is not a mount of the init container"
    secret = volumes[registry_mount["name"]]["secret"]
    assert secret.get("optional") is True, "a missing registry Secret would block the pod"
    assert {"key": ".dockerconfigjson", "path": "config.json"} in secret.get("items", []), (
        "the registry Secret is not mounted as config.json"
    )
    assert registry_mount["name"] not in {m["name"] for m in kiln["volumeMounts"]}, (
        "the sidecar mounts the registry credentials"
    )

    with open(f"{examples}/plugin.yaml", encoding="utf-8") as f:
        plugin = f.read()
    shipped = find(objects, "ConfigMap", "kiln-plugin")["data"]["plugin.yaml"]
    assert shipped == plugin, "ConfigMap kiln-plugin's plugin.yaml differs from plugin.yaml"
    with open(f"{examples}/platform.yaml", encoding="utf-8") as f:
        platform = f.read()
    shipped = find(objects, "ConfigMap", "kiln-platform")["data"]["platform.yaml"]
    assert shipped == platform, "ConfigMap kiln-platform differs from platform.yaml"
    with open(f"{examples}/kiln.lock", encoding="utf-8") as f:
        lock = f.read()
    shipped = find(objects, "ConfigMap", "kiln-platform")["data"].get("kiln.lock")
    assert shipped == lock, "ConfigMap kiln-platform does not hold kiln.lock"

    params = find(objects, "ConfigMap", "argocd-cmd-params-cm").get("data") or {}
    limit = params.get("reposerver.parallelism.limit", "")
    assert limit.isdigit() and int(limit) > 0, (
        f"reposerver.parallelism.limit is {limit!r}: Argo CD then runs unlimited generates"
    )

    for o in objects:
        assert o["metadata"].get("namespace") == "argocd", (
            f"{o['kind']}/{o['metadata']['name']} is not in the argocd namespace"
        )


def broken_copies(objects):
    """(what is broken, a copy of objects broken that way)."""

    def broken(what, change):
        objects_copy = copy.deepcopy(objects)
        change(objects_copy)
        return what, objects_copy

    def spec(objects_copy):
        return find(objects_copy, "Deployment", "argocd-repo-server")["spec"]["template"]["spec"]

    def set_data(kind, name, key, value):
        def change(objects_copy):
            find(objects_copy, kind, name)["data"][key] = value

        return change

    return [
        broken(
            "the annotation missing",
            lambda o: find(o, "Deployment", "argocd-repo-server")["spec"]["template"][
                "metadata"
            ].pop("annotations"),
        ),
        broken(
            "the image not renamed",
            lambda o: container(spec(o)["containers"], "kiln").update(
                image="ghcr.io/example/kiln:0.1.0"
            ),
        ),
        broken(
            "the cache volume missing",
            lambda o: spec(o)["volumes"].remove(
                next(v for v in spec(o)["volumes"] if v["name"] == "kiln-cache")
            ),
        ),
        broken(
            "plugin.yaml edited in one place only",
            set_data("ConfigMap", "kiln-plugin", "plugin.yaml", "kind: Other\n"),
        ),
        broken(
            "no parallelism limit",
            lambda o: find(o, "ConfigMap", "argocd-cmd-params-cm").pop("data"),
        ),
        broken(
            "the sidecar reading another store",
            lambda o: next(
                e
                for e in container(spec(o)["containers"], "kiln")["env"]
                if e["name"] == "KILN_STORE"
            ).update(value="/tmp/store"),
        ),
        broken(
            "credentials mounted in the sidecar",
            lambda o: container(spec(o)["containers"], "kiln")["volumeMounts"].append(
                {"name": "kiln-registry", "mountPath": "/kiln/registry", "readOnly": True}
            ),
        ),
        broken(
            "the lock left out of the platform ConfigMap",
            lambda o: find(o, "ConfigMap", "kiln-platform")["data"].pop("kiln.lock"),
        ),
        broken(
            "no sidecar",
            lambda o: spec(o)["containers"].remove(container(spec(o)["containers"], "kiln")),
        ),
    ]


def main():
    built, examples, image = sys.argv[1:4]
    with open(built, encoding="utf-8") as f:
        objects = [o for o in yaml.safe_load_all(f) if o]
    check(objects, examples, image)
    for what, objects_copy in broken_copies(objects):
        try:
            check(objects_copy, examples, image)
        except (AssertionError, KeyError):
            continue
        sys.exit(f"check-install: the check accepts a build with {what}")
    kinds = ", ".join(sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects))
    print(f"the Component builds on Argo CD's install and passes every check: {kinds}")


if __name__ == "__main__":
    main()
