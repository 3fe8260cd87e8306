"""Checks an Argo CD install built with the examples/argocd Component (check-install.sh).

Usage: check_install.py BUILT_YAML EXAMPLES_ARGOCD_DIR KILN_IMAGE [--server]

With --server, the build also has the examples/argocd/server Component, and the resident
renderer is checked too.

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


def env_value(c, name):
    return next((e.get("value") for e in c.get("env", []) if e["name"] == name), None)


def check_server(objects, examples, image):
    """The resident renderer: a client and server that agree, or every request is refused."""
    check(objects, examples, image)
    spec = find(objects, "Deployment", "argocd-repo-server")["spec"]["template"]["spec"]
    kiln = container(spec["containers"], "kiln")
    server = container(spec["containers"], "kiln-server")
    assert server["image"] == image, f"kiln-server image {server['image']}, not {image}"
    args = server["command"] + server["args"]
    assert args[:3] == ["/usr/local/bin/kiln", "serve", "--socket"], args
    socket = args[3]
    assert env_value(kiln, "KILN_SERVER") == socket, (
        f"the sidecar forwards to {env_value(kiln, 'KILN_SERVER')}, the server listens on {socket}"
    )
    # The identity the two compare (cli/src/wire.rs): the same -d, platform and store.
    with open(f"{examples}/plugin.yaml", encoding="utf-8") as f:
        plugin = yaml.safe_load(f)
    generate = plugin["spec"]["generate"]["args"]
    assert args[4:] == generate[2:], f"server flags {args[4:]}, plugin.yaml's {generate[2:]}"
    for name in ("KILN_PLATFORM", "KILN_STORE", "KILN_CACHE_DIR"):
        assert env_value(server, name) == env_value(kiln, name), (
            f"{name}: the server's {env_value(server, name)}, the sidecar's {env_value(kiln, name)}"
        )
    assert server["securityContext"]["runAsUser"] == kiln["securityContext"]["runAsUser"], (
        "the server answers its own uid only"
    )
    volumes = {v["name"]: v for v in spec["volumes"]}
    socket_dir = socket.rsplit("/", 1)[0]
    shared = []
    for c in (kiln, server):
        mount = next((m for m in c["volumeMounts"] if m["mountPath"] == socket_dir), None)
        assert mount, f"{c['name']} does not mount the socket's directory {socket_dir}"
        assert mount["name"] in volumes, f"{c['name']} mounts {mount['name']}, undefined"
        shared.append(mount["name"])
    assert shared[0] == shared[1], f"the socket is in two different volumes: {shared}"
    # Repository copies reach it as descriptors only: it mounts none of the sidecar's /tmp.
    assert "cmp-tmp" not in {m["name"] for m in server["volumeMounts"]}, (
        "the server mounts the repository copies"
    )


def broken_server_copies(objects):
    def spec(o):
        return find(o, "Deployment", "argocd-repo-server")["spec"]["template"]["spec"]

    def server(o):
        return container(spec(o)["containers"], "kiln-server")

    def broken(what, change):
        o = copy.deepcopy(objects)
        change(o)
        return what, o

    yield broken("another -d than plugin.yaml's",
                 lambda o: server(o)["args"].__setitem__(-1, "/elsewhere"))
    yield broken("another platform file",
                 lambda o: next(e for e in server(o)["env"] if e["name"] == "KILN_PLATFORM")
                 .update(value="/other.yaml"))
    yield broken("the sidecar forwarding elsewhere",
                 lambda o: next(e for e in container(spec(o)["containers"], "kiln")["env"]
                                if e["name"] == "KILN_SERVER").update(value="/tmp/x.sock"))
    yield broken("the socket directory not shared",
                 lambda o: server(o)["volumeMounts"].__setitem__(
                     0, {"name": "cmp-tmp", "mountPath": "/var/run/kiln"}))
    yield broken("the server as another uid",
                 lambda o: server(o)["securityContext"].update(runAsUser=1000))
    yield broken("no server", lambda o: spec(o)["containers"].remove(server(o)))


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
    with_server = sys.argv[4:] == ["--server"]
    with open(built, encoding="utf-8") as f:
        objects = [o for o in yaml.safe_load_all(f) if o]
    checked = check_server if with_server else check
    checked(objects, examples, image)
    broken = list(broken_copies(objects))
    if with_server:
        broken += list(broken_server_copies(objects))
    for what, objects_copy in broken:
        try:
            checked(objects_copy, examples, image)
        except (AssertionError, KeyError):
            continue
        sys.exit(f"check-install: the check accepts a build with {what}")
    kinds = ", ".join(sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects))
    if with_server:
        print(f"with examples/argocd/server too, the build passes every check: {kinds}")
    else:
        print(f"the Component builds on Argo CD's install and passes every check: {kinds}")


if __name__ == "__main__":
    main()
