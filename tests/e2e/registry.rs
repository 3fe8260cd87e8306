//! Definitions from OCI registries, end to end, against a real registry (Debian's
//! `docker-registry`, started per test by [`crate::registry_rig`]) and two other clients
//! (skopeo, and the ORAS Python SDK): the platform team's release path (build → `kiln test`
//! → push → lock → render), auth (htpasswd, bearer tokens, the Docker configuration and its
//! credential helpers), TLS, and every failure mode, each leaving the store as it was.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;
use crate::registry_rig::{Mode, Registry, oras, skopeo_raw};

/// The application the tests render: a webservice with the example trait.
const APP: &str = "\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
spec:
  components:
    - name: api
      type: webservice
      properties:
        image: ghcr.io/example/api:1.0
      traits:
        - type: pod-disruption-budget
          properties:
            minAvailable: 2
";

const USER: &str = "kiln";
const PASSWORD: &str = "s3cret";

/// A scratch place for one test: its store, its Docker configuration (empty: the machine's
/// own is never read), its platform file.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("a scratch directory");
        std::fs::create_dir_all(dir.path().join("docker")).expect("the docker config dir");
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn store(&self) -> PathBuf {
        self.path("store")
    }

    /// `kiln ARGS` with this scratch's store and Docker configuration.
    fn kiln(&self, args: &[&str]) -> Run {
        self.kiln_with(args, None, &[])
    }

    fn kiln_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let mut cmd = kiln();
        cmd.env("KILN_STORE", self.store())
            .env("DOCKER_CONFIG", self.path("docker"))
            .args(args);
        for (key, value) in env {
            cmd.env(key, value);
        }
        run_cmd(cmd, stdin)
    }

    /// `kiln ARGS`, which must fail: its stderr.
    fn fails(&self, args: &[&str]) -> String {
        self.kiln(args).failed().to_string()
    }

    /// `kiln definitions pull REFERENCE --insecure`, which must fail: its stderr.
    fn pull_fails(&self, reference: &str) -> String {
        self.fails(&["definitions", "pull", reference, "--insecure"])
    }

    /// Writes the platform file naming `sources`, with `lock: kiln.lock`.
    fn platform(&self, sources: &[String]) -> PathBuf {
        let list: String = sources.iter().map(|s| format!("    - {s}\n")).collect();
        let path = self.path("platform.yaml");
        std::fs::write(
            &path,
            format!("lock: kiln.lock\ndefinitions:\n  sources:\n{list}"),
        )
        .expect("write the platform file");
        path
    }

    /// [`Scratch::platform`], locked by `kiln definitions lock --platform` (plain HTTP to
    /// the test's registry).
    fn locked_platform(&self, sources: &[String]) -> PathBuf {
        let path = self.platform(sources);
        self.kiln(&["definitions", "lock", "--platform", s(&path), "--insecure"])
            .ok();
        path
    }

    fn app(&self) -> PathBuf {
        let path = self.path("app.yaml");
        std::fs::write(&path, APP).expect("write the app");
        path
    }

    /// How many blobs the store holds.
    fn blobs(&self) -> usize {
        std::fs::read_dir(self.store().join("blobs/sha256")).map_or(0, |d| d.count())
    }

    /// Files other than blobs in the store: a temporary file left behind would show here.
    fn strays(&self) -> Vec<PathBuf> {
        let mut strays = Vec::new();
        let mut stack = vec![self.store()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if !path.parent().is_some_and(|p| p.ends_with("blobs/sha256")) {
                    strays.push(path);
                }
            }
        }
        strays
    }
}

fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The `digest: sha256:...` line a push or pull prints.
fn digest_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("digest: "))
        .unwrap_or_else(|| panic!("no digest line in:\n{stdout}"))
        .to_string()
}

/// Pushes with the other client (`oras_client.py push ARGS`), which must succeed: what it
/// prints, the manifest's digest.
fn oras_push(args: &[&str]) -> String {
    let out = oras(&[&["push"], args].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_string()
}

/// Pushes the example trait to `reference` (anonymous, plain HTTP) and returns its digest.
fn push(scratch: &Scratch, reference: &str) -> String {
    let run = scratch.kiln(&[
        "definitions",
        "push",
        s(example_trait_wasm()),
        reference,
        "--insecure",
    ]);
    digest_of(run.ok())
}

fn sha256_file(path: &Path) -> String {
    kiln::digest::oci(&std::fs::read(path).expect("read the file"))
}

/// The same app rendered with the example trait from a directory (`-d`): what a render from
/// the registry must print byte for byte.
fn rendered_with_dash_d() -> String {
    let dir = definitions_dir(example_trait_wasm(), "pdb.wasm");
    let run = render_stdin(APP, &["-d", s(dir.path())]);
    run.ok().to_string()
}

#[test]
fn the_release_path_push_lock_and_a_render_that_needs_no_registry() {
    let scratch = Scratch::new();
    let mut registry = Registry::start(Mode::Anonymous);
    let reference = format!("oci://{}/platform/pdb:1.0", registry.host());

    // Build and test, as the README says, then push: the digest is printed.
    let wasm = build_guest_into("examples/custom-trait", "pod-disruption-budget", None);
    let test = run(&["test", "examples/custom-trait"]);
    assert!(test.ok().contains("test result: ok."), "{}", test.stdout);
    let pushed = scratch.kiln(&["definitions", "push", s(&wasm), &reference, "--insecure"]);
    let stdout = pushed.ok();
    assert!(
        stdout.starts_with(&format!(
            "pushed pod-disruption-budget (trait, version 0.1.0) to {reference}\n"
        )),
        "{stdout}"
    );
    let digest = digest_of(stdout);

    // Lock: the tag is resolved to that digest, and the module pinned by its sha256.
    let platform = scratch.platform(std::slice::from_ref(&reference));
    let locked = scratch.kiln(&[
        "definitions",
        "lock",
        "--platform",
        s(&platform),
        "--insecure",
    ]);
    assert!(
        locked.ok().starts_with("pinned 1 source in "),
        "{}",
        locked.stdout
    );
    let lock = kiln::definitions::Lock::read(&scratch.path("kiln.lock")).expect("the lock");
    let module = sha256_file(&wasm);
    let pin = &lock.definitions["pod-disruption-budget"];
    assert_eq!(pin.source.as_deref(), Some(reference.as_str()));
    assert_eq!(pin.manifest.as_deref(), Some(digest.as_str()));
    assert_eq!(pin.sha256, module[7..]);
    assert_eq!(pin.file, None);

    // Argo CD's side: the registry is gone, and the render is the same as from a directory.
    registry.stop();
    let rendered = scratch.kiln(&["render", s(&scratch.app()), "--platform", s(&platform)]);
    let dir = definitions_dir(&wasm, "pdb.wasm");
    let expected = render_stdin(APP, &["-d", s(dir.path())]);
    assert_eq!(rendered.ok(), expected.ok());
    assert!(rendered.stdout.contains("kind: PodDisruptionBudget"));
    let shop = scratch.kiln(&["render", "examples/shop", "--platform", s(&platform)]);
    assert!(shop.ok().contains("kind: Deployment"), "{}", shop.stderr);
    // It is listed with the reference it came from.
    let list = scratch.kiln(&["definitions", "list", "--platform", s(&platform)]);
    let line = list
        .ok()
        .lines()
        .find(|l| l.trim_start().starts_with("pod-disruption-budget"))
        .expect("listed");
    assert!(line.ends_with(&format!("[{reference}]")), "{line}");

    // A store changed on disk is refused on the next render, naming the file.
    let blob = scratch.store().join("blobs/sha256").join(&module[7..]);
    let mut bytes = std::fs::read(&blob).expect("the component is in the store");
    bytes.push(0);
    std::fs::write(&blob, bytes).unwrap();
    let error = scratch.fails(&["render", s(&scratch.app()), "--platform", s(&platform)]);
    assert!(error.contains("the store was changed on disk"), "{error}");
    assert!(error.contains(&format!("\"{reference}\"")), "{error}");
}

#[test]
fn cache_warm_pulls_what_the_lock_pins_by_digest_even_after_the_tag_moved() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Anonymous);
    let reference = format!("oci://{}/platform/pdb:1.0", registry.host());
    let digest = push(&scratch, &reference);
    let platform = scratch.locked_platform(std::slice::from_ref(&reference));

    // The tag now names another definition; the lock still pins the first.
    let scaler = build_guest("tests/guests", "builtin-scaler");
    scratch
        .kiln(&["definitions", "push", s(&scaler), &reference, "--insecure"])
        .ok();

    // A fresh store (a new Argo CD pod): a render says how to get the definition...
    std::fs::remove_dir_all(scratch.store()).expect("clear the store");
    let missing = scratch.kiln(&["render", s(&scratch.app()), "--platform", s(&platform)]);
    let error = missing.failed();
    assert!(error.contains(&format!("\"{reference}\"")), "{error}");
    assert!(error.contains("is not in the store"), "{error}");
    assert!(error.contains("kiln cache warm"), "{error}");

    // ...and the init container's `kiln cache warm` pulls exactly what the lock pins.
    let warm = scratch.kiln(&["cache", "warm", "--platform", s(&platform), "--insecure"]);
    assert_eq!(warm.code, Some(0), "{}", warm.stderr);
    assert!(!warm.stderr.contains("warning"), "{}", warm.stderr);
    assert!(
        scratch.blobs() >= 3,
        "manifest, config and component are stored"
    );
    let manifest = std::fs::read(scratch.store().join("blobs/sha256").join(&digest[7..]));
    assert!(
        manifest.is_ok(),
        "the pinned manifest {digest} is in the store"
    );
    let rendered = scratch.kiln(&["render", s(&scratch.app()), "--platform", s(&platform)]);
    assert_eq!(rendered.ok(), rendered_with_dash_d());
}

#[test]
fn cache_warm_is_best_effort_when_the_registry_is_down() {
    let scratch = Scratch::new();
    let mut registry = Registry::start(Mode::Anonymous);
    let reference = format!("oci://{}/platform/pdb:1.0", registry.host());
    push(&scratch, &reference);
    let platform = scratch.locked_platform(std::slice::from_ref(&reference));
    std::fs::remove_dir_all(scratch.store()).expect("clear the store");
    registry.stop();

    // Argo CD's init container must not keep the repository server from starting: it
    // warns, naming the reference and the cause, and exits 0; the built-ins are warmed.
    let warm = scratch.kiln(&["cache", "warm", "--platform", s(&platform), "--insecure"]);
    assert_eq!(warm.code, Some(0), "{}", warm.stderr);
    // Pulled by the digest the lock pins, not by the tag.
    let pulled = format!("warning: not pulled: {reference}@sha256:");
    assert!(warm.stderr.contains(&pulled), "{}", warm.stderr);
    assert!(
        warm.stderr.contains("cannot reach the registry"),
        "{}",
        warm.stderr
    );
    assert!(warm.stdout.contains("definitions ready"), "{}", warm.stdout);
    assert_eq!(scratch.blobs(), 0);
}

#[test]
fn another_client_reads_what_kiln_pushes() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Anonymous);
    let reference = format!("oci://{}/platform/pdb:1.0", registry.host());
    let run = scratch.kiln(&[
        "definitions",
        "push",
        s(example_trait_wasm()),
        &reference,
        "--insecure",
        "--annotation",
        "org.example.team=platform",
    ]);
    let digest = digest_of(run.ok());

    // skopeo reads the manifest Kiln pushed, byte for byte the digest Kiln printed.
    let raw = skopeo_raw(&format!("{}/platform/pdb:1.0", registry.host()), None);
    assert_eq!(kiln::digest::oci(raw.as_bytes()), digest);
    let manifest: Value = serde_json::from_str(&raw).expect("the manifest is JSON");
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    assert_eq!(
        layers[0]["digest"],
        sha256_file(example_trait_wasm()).as_str()
    );
    let annotations = &manifest["annotations"];
    assert_eq!(annotations["org.example.team"], "platform");
    assert_eq!(
        annotations["org.opencontainers.image.title"],
        "pod-disruption-budget"
    );
    assert_eq!(annotations["org.opencontainers.image.version"], "0.1.0");

    // And oras reads the config: a Wasm component for wasip2, its world and exports.
    let out = oras(&["config", &format!("{}/platform/pdb:1.0", registry.host())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: Value = serde_json::from_slice(&out.stdout).expect("the config is JSON");
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(
        config["layerDigests"][0],
        sha256_file(example_trait_wasm()).as_str()
    );
    assert_eq!(
        config["component"]["target"],
        "kiln:definition/definition@0.1.0"
    );
    assert_eq!(
        config["component"]["exports"],
        serde_json::json!(["describe", "render"])
    );
    let imports = config["component"]["imports"].as_array().expect("imports");
    assert!(
        imports
            .iter()
            .any(|i| i.as_str().is_some_and(|i| i.starts_with("wasi:"))),
        "{imports:?}"
    );
}

#[test]
fn a_push_with_source_date_epoch_is_reproducible() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Anonymous);
    let push = |tag: &str| {
        let reference = format!("oci://{}/platform/pdb:{tag}", registry.host());
        let args = [
            "definitions",
            "push",
            s(example_trait_wasm()),
            &reference,
            "--insecure",
        ];
        digest_of(
            scratch
                .kiln_with(&args, None, &[("SOURCE_DATE_EPOCH", "1796601599")])
                .ok(),
        )
    };
    assert_eq!(push("a"), push("b"));
    let out = oras(&["config", &format!("{}/platform/pdb:a", registry.host())]);
    let config: Value = serde_json::from_slice(&out.stdout).expect("the config is JSON");
    assert_eq!(config["created"], "2026-12-06T23:59:59Z");
}

#[test]
fn kiln_pulls_and_renders_what_another_client_pushed() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Anonymous);
    let host = registry.host();
    let digest = oras_push(&[
        &format!("{host}/team/pdb:2.0"),
        s(example_trait_wasm()),
        "--target",
        "kiln:definition/definition@0.1.0",
    ]);

    // By tag, then by the digest oras printed: the same artifact.
    let reference = format!("oci://{host}/team/pdb:2.0");
    let pulled = scratch.kiln(&["definitions", "pull", &reference, "--insecure"]);
    let stdout = pulled.ok();
    assert_eq!(digest_of(stdout), digest);
    assert!(
        stdout.contains(&format!("module: {}\n", sha256_file(example_trait_wasm()))),
        "{stdout}"
    );
    assert!(
        stdout.contains("defines: pod-disruption-budget (trait, version 0.1.0)\n"),
        "{stdout}"
    );
    let pinned = format!("oci://{host}/team/pdb@{digest}");
    scratch
        .kiln(&["definitions", "pull", &pinned, "--insecure"])
        .ok();

    // Locked by digest and rendered, with the registry gone.
    let platform = scratch.locked_platform(std::slice::from_ref(&pinned));
    drop(registry);
    let rendered = scratch.kiln(&["render", s(&scratch.app()), "--platform", s(&platform)]);
    assert_eq!(rendered.ok(), rendered_with_dash_d());
}

#[test]
fn a_registry_that_is_down_is_named_and_nothing_is_stored() {
    let scratch = Scratch::new();
    let mut registry = Registry::start(Mode::Anonymous);
    let reference = format!("oci://{}/platform/pdb:1.0", registry.host());
    registry.stop();
    let error = scratch.pull_fails(&reference);
    assert!(
        error.contains(&format!("{reference}: cannot reach the registry")),
        "{error}"
    );
    assert!(error.contains("onnection refused"), "{error}");
    assert_eq!(scratch.blobs(), 0);
    assert!(scratch.strays().is_empty(), "{:?}", scratch.strays());
}

#[test]
fn a_missing_tag_or_repository_is_a_404_named() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Anonymous);
    push(
        &scratch,
        &format!("oci://{}/platform/pdb:1.0", registry.host()),
    );
    for reference in [
        format!("oci://{}/platform/pdb:9.9", registry.host()),
        format!("oci://{}/platform/nothing:1.0", registry.host()),
    ] {
        let run = scratch.kiln(&["definitions", "pull", &reference, "--insecure"]);
        let error = run.failed();
        assert!(
            error.contains(&format!("{reference}: not found in the registry (404)")),
            "{error}"
        );
    }
    assert_eq!(scratch.blobs(), 0, "a push stores nothing locally either");
}

#[test]
fn htpasswd_auth_from_the_command_line_the_docker_config_and_a_credential_helper() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Htpasswd {
        user: USER,
        password: PASSWORD,
    });
    let reference = format!("oci://{}/platform/pdb:1.0", registry.host());
    let push = |stdin: Option<&str>, extra: &[&str]| {
        let mut args = vec![
            "definitions",
            "push",
            s(example_trait_wasm()),
            &reference,
            "--insecure",
        ];
        args.extend_from_slice(extra);
        scratch.kiln_with(&args, stdin, &[])
    };

    // Anonymous, then a wrong password: 401, said as such.
    for (stdin, extra) in [
        (None, &[][..]),
        (
            Some("wrong\n"),
            &["--username", USER, "--password-stdin"][..],
        ),
    ] {
        let error = push(stdin, extra).failed().to_string();
        assert!(
            error.contains(&format!(
                "{reference}: the registry refused access (401/403)"
            )),
            "{error}"
        );
    }
    // The password from stdin.
    let digest = digest_of(push(Some("s3cret\n"), &["--username", USER, "--password-stdin"]).ok());

    // `docker login`'s config.json: base64 "kiln:s3cret" under the registry's host.
    let config = scratch.path("docker/config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "a2lsbjpzM2NyZXQ="}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let pulled = scratch.kiln(&["definitions", "pull", &reference, "--insecure"]);
    assert_eq!(digest_of(pulled.ok()), digest);

    // A credential helper: `docker-credential-kiln-test get`, found on PATH, given the
    // registry on stdin and answering JSON, as docker's helpers do.
    let bin = scratch.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-kiln-test");
    let asked = scratch.path("helper-asked");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\ncat > '{}'\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' x\n",
            asked.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Named for this registry (`credHelpers`), then for every registry (`credsStore`).
    for config_text in [
        format!(
            r#"{{"credHelpers": {{"{}": "kiln-test"}}}}"#,
            registry.host()
        ),
        r#"{"credsStore": "kiln-test"}"#.to_string(),
    ] {
        std::fs::write(&config, &config_text).unwrap();
        let _ = std::fs::remove_file(&asked);
        let _ = std::fs::remove_dir_all(scratch.store());
        let pulled = scratch.kiln_with(
            &["definitions", "pull", &reference, "--insecure"],
            None,
            &[("PATH", &path)],
        );
        assert_eq!(digest_of(pulled.ok()), digest, "{config_text}");
        assert_eq!(
            std::fs::read_to_string(&asked).unwrap().trim(),
            registry.host(),
            "{config_text}"
        );
    }

    // skopeo with the same credentials reads what Kiln pushed.
    let raw = skopeo_raw(
        &format!("{}/platform/pdb:1.0", registry.host()),
        Some((USER, PASSWORD)),
    );
    assert_eq!(kiln::digest::oci(raw.as_bytes()), digest);
}

#[test]
fn bearer_token_challenges_are_answered_with_the_scope_asked() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Token {
        user: USER,
        password: PASSWORD,
    });
    let reference = format!("oci://{}/platform/pdb:1.0", registry.host());
    let with_password = ["--username", USER, "--password-stdin"];
    let mut push = vec![
        "definitions",
        "push",
        s(example_trait_wasm()),
        &reference,
        "--insecure",
    ];
    push.extend_from_slice(&with_password);
    let digest = digest_of(scratch.kiln_with(&push, Some(PASSWORD), &[]).ok());
    assert!(
        registry
            .token_log()
            .contains("scopes=repository:platform/pdb:pull,push"),
        "{}",
        registry.token_log()
    );

    // The token service refuses anonymous tokens: said as a refusal, nothing stored.
    let error = scratch.pull_fails(&reference);
    assert!(error.contains("the registry refused access"), "{error}");
    assert_eq!(scratch.blobs(), 0);

    let mut pull = vec!["definitions", "pull", &reference, "--insecure"];
    pull.extend_from_slice(&with_password);
    let pulled = scratch.kiln_with(&pull, Some(PASSWORD), &[]);
    assert_eq!(digest_of(pulled.ok()), digest);
    assert!(
        registry
            .token_log()
            .contains("scopes=repository:platform/pdb:pull granted"),
        "{}",
        registry.token_log()
    );
}

#[test]
fn tls_with_a_ca_file_and_insecure_only_for_this_machine() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Tls);
    let ca = registry.ca_file().expect("a TLS registry has a CA");
    let reference = format!("oci://{}/platform/pdb:1.0", registry.host());

    // Without the CA, the certificate is not trusted: the cause is named.
    let error = scratch.fails(&["definitions", "push", s(example_trait_wasm()), &reference]);
    assert!(
        error.contains(&format!("{reference}: cannot reach the registry")),
        "{error}"
    );
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    let pushed = scratch.kiln(&[
        "definitions",
        "push",
        s(example_trait_wasm()),
        &reference,
        "--ca-file",
        s(&ca),
    ]);
    let digest = digest_of(pushed.ok());
    let pulled = scratch.kiln(&["definitions", "pull", &reference, "--ca-file", s(&ca)]);
    assert_eq!(digest_of(pulled.ok()), digest);

    // --insecure is plain HTTP for this machine only; anywhere else it is refused before any
    // connection.
    let remote = "oci://registry.example.com/platform/pdb:1.0";
    let error = scratch.pull_fails(remote);
    assert!(
        error.contains("--insecure is allowed only for a registry on this machine"),
        "{error}"
    );
    // A CA file that is not one.
    let error = scratch.fails(&[
        "definitions",
        "pull",
        &reference,
        "--ca-file",
        s(example_trait_wasm()),
    ]);
    assert!(error.contains("no PEM certificate"), "{error}");
}

#[test]
fn a_tampered_blob_is_refused_and_nothing_is_stored() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Anonymous);
    let reference = format!("oci://{}/platform/pdb:1.0", registry.host());
    push(&scratch, &reference);
    // The registry's own copy of the component, changed behind its back: it serves it as is.
    let module = sha256_file(example_trait_wasm());
    let hex = &module[7..];
    let blob = registry
        .dir
        .join("data/docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let mut bytes = std::fs::read(&blob).expect("the registry stores the blob here");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let error = scratch.pull_fails(&reference);
    assert!(error.contains(&reference), "{error}");
    assert!(error.contains("does not match its digest"), "{error}");
    assert!(error.contains(&module), "{error}");
    assert_eq!(scratch.blobs(), 0);
    assert!(scratch.strays().is_empty(), "{:?}", scratch.strays());
}

#[test]
fn what_is_not_a_wasm_artifact_or_too_large_is_refused_before_download() {
    let scratch = Scratch::new();
    let registry = Registry::start(Mode::Anonymous);
    let host = registry.host();

    // A container image's config.
    let image = format!("{host}/platform/image:1.0");
    oras_push(&[
        &image,
        s(example_trait_wasm()),
        "--config-media-type",
        "application/vnd.oci.image.config.v1+json",
        "--layer-media-type",
        "application/vnd.oci.image.layer.v1.tar",
    ]);
    let error = scratch.pull_fails(&format!("oci://{image}"));
    assert!(
        error.contains("not a Wasm OCI artifact: its config is application/vnd.oci.image.config.v1+json (a container image)"),
        "{error}"
    );

    // A component over the cap (64 MiB), refused by its declared size: the registry's log
    // shows no GET of the blob.
    let big = scratch.path("big.wasm");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(kiln::definitions::MAX_MODULE_BYTES + 1)
        .unwrap();
    oras_push(&[&format!("{host}/platform/big:1.0"), s(&big)]);
    let error = scratch.pull_fails(&format!("oci://{host}/platform/big:1.0"));
    assert!(
        error.contains(&format!(
            "the component is {} bytes; at most {} are read",
            kiln::definitions::MAX_MODULE_BYTES + 1,
            kiln::definitions::MAX_MODULE_BYTES
        )),
        "{error}"
    );
    let big_digest = sha256_file(&big);
    let access = std::fs::read_to_string(registry.dir.join("registry.access.log")).unwrap();
    let gets = |what: &str| {
        access
            .lines()
            .any(|l| l.contains("\"GET ") && l.contains(what))
    };
    assert!(
        gets("/v2/platform/big/manifests/1.0"),
        "the log records requests:\n{access}"
    );
    assert!(!gets(&big_digest), "the blob was downloaded:\n{access}");

    // A Wasm artifact whose component is not a Kiln definition never enters the store.
    let not_definition = scratch.path("empty.wasm");
    std::fs::write(&not_definition, b"\0asm\x0d\0\x01\0").unwrap();
    oras_push(&[&format!("{host}/platform/empty:1.0"), s(&not_definition)]);
    let error = scratch.pull_fails(&format!("oci://{host}/platform/empty:1.0"));
    assert!(error.contains("is not a Kiln definition"), "{error}");

    assert_eq!(scratch.blobs(), 0);
    assert!(scratch.strays().is_empty(), "{:?}", scratch.strays());
}

#[test]
fn a_platform_file_with_sources_is_checked_before_anything_runs() {
    let scratch = Scratch::new();
    let app = scratch.app();
    let render = |platform: &str| {
        let path = scratch.path("platform.yaml");
        std::fs::write(&path, platform).unwrap();
        scratch.fails(&["render", s(&app), "--platform", s(&path)])
    };
    let error = render("definitions:\n  sources:\n    - oci://r.example.com/pdb:1\n");
    assert!(error.contains("platform.yaml:3:"), "{error}");
    assert!(error.contains("pinned by a lock file"), "{error}");
    std::fs::write(scratch.path("kiln.lock"), "version: 1\ndefinitions: {}\n").unwrap();
    let error = render("lock: kiln.lock\ndefinitions:\n  sources:\n    - r.example.com/pdb:1\n");
    assert!(error.contains("platform.yaml:4:"), "{error}");
    assert!(error.contains("must start with oci://"), "{error}");
    let error =
        render("lock: kiln.lock\ndefinitions:\n  sources:\n    - oci://r.example.com/pdb\n");
    assert!(
        error.contains("names neither a tag nor a digest"),
        "{error}"
    );
    // Listed but never locked.
    let error =
        render("lock: kiln.lock\ndefinitions:\n  sources:\n    - oci://r.example.com/pdb:1\n");
    assert!(
        error.contains("\"oci://r.example.com/pdb:1\": it is not pinned in the lock file"),
        "{error}"
    );
    assert!(
        error.contains("kiln definitions lock --platform"),
        "{error}"
    );
}

/// The other client the tests lean on pushes the Wasm OCI format: a broken rig fails here,
/// by name, rather than as a Kiln failure elsewhere.
#[test]
fn the_rig_pushes_the_wasm_oci_format() {
    let registry = Registry::start(Mode::Anonymous);
    let reference = format!("{}/rig/pdb:1", registry.host());
    oras_push(&[&reference, s(example_trait_wasm())]);
    let manifest: Value = serde_json::from_str(&skopeo_raw(&reference, None)).unwrap();
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
}
