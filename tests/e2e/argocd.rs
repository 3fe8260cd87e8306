//! A harness that runs Kiln the way `argocd-cmp-server` does, and the CMP contract's cases.
//!
//! Like Argo CD, it copies the repository into `<tmp>/<uuid>/`, changes into the app's
//! directory, execs the `generate` command of `examples/argocd/plugin.yaml` without a shell
//! and with only Argo CD's environment, then reads stdout by Argo CD's rules: a JSON object
//! stream when the first non-space byte is `{`, else YAML split on `---`; empty documents
//! skipped; every document an object with `kind`; `List` items flattened. The plugin's
//! paths are mapped to the test's: `/usr/local/bin/kiln` to the built binary and
//! `/kiln/definitions` to a definitions directory the test provides.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// plugin.yaml's `generate` or `parameters.dynamic` command, as argv.
fn plugin_command(which: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("examples/argocd/plugin.yaml")).unwrap();
    let plugin = kiln::app::yaml::parse(&text).unwrap().to_json();
    let spec = &plugin["spec"];
    let cmd = match which {
        "generate" => &spec["generate"],
        _ => &spec["parameters"]["dynamic"],
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let mut argv = strings(&cmd["command"]);
    argv.extend(strings(&cmd["args"]));
    argv
}

/// A repository copy laid out as argocd-cmp-server lays it out.
struct Checkout {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    definitions: PathBuf,
}

impl Checkout {
    /// Copies `examples/` of this repository into `<tmp>/<uuid>/`.
    fn new() -> Checkout {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("7f3c9a2e-uuid");
        copy_dir(&repo().join("examples/shop"), &root.join("examples/shop"));
        copy_dir(&repo().join("examples/hello"), &root.join("examples/hello"));
        let definitions = tmp.path().join("kiln-definitions");
        std::fs::create_dir_all(&definitions).unwrap();
        Checkout {
            _tmp: tmp,
            root,
            definitions,
        }
    }

    /// Writes `text` at `path` in the repository.
    fn write(&self, path: &str, text: &str) {
        let file = self.root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    /// The plugin command, run in `app_path` with Argo CD's environment plus `env`.
    fn command(&self, which: &str, app_path: &str, env: &[(&str, &str)]) -> Command {
        let argv: Vec<String> = plugin_command(which)
            .into_iter()
            .map(|a| match a.as_str() {
                "/usr/local/bin/kiln" => env!("CARGO_BIN_EXE_kiln").to_string(),
                "/kiln/definitions" => self.definitions.display().to_string(),
                _ => a,
            })
            .collect();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(self.root.join(app_path))
            .env_clear()
            .env("KILN_CACHE_DIR", shared_cache())
            .env("ARGOCD_APP_NAME", "shop")
            .env("ARGOCD_APP_NAMESPACE", "shop")
            .env("ARGOCD_APP_PROJECT_NAME", "default")
            .env("ARGOCD_APP_REVISION", "4f1b2c3d5e6f708192a3b4c5d6e7f8091a2b3c4d")
            .env("ARGOCD_APP_REVISION_SHORT", "4f1b2c3")
            .env("ARGOCD_APP_SOURCE_REPO_URL", "https://git.example.com/shop.git")
            .env("ARGOCD_APP_SOURCE_PATH", app_path)
            .env("ARGOCD_APP_SOURCE_TARGET_REVISION", "HEAD")
            .env("KUBE_VERSION", "1.31.2")
            .env(
                "KUBE_API_VERSIONS",
                "v1,v1/Service,apps/v1,apps/v1/Deployment,networking.k8s.io/v1,\
                 networking.k8s.io/v1/Ingress,autoscaling/v2,autoscaling/v2/HorizontalPodAutoscaler",
            )
            .envs(env.iter().copied());
        cmd
    }

    fn generate(&self, app_path: &str, env: &[(&str, &str)]) -> Run {
        run_cmd(self.command("generate", app_path, env), None)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Reads a plugin's stdout by Argo CD's rules; panics where Argo CD would fail the app.
fn argo_objects(stdout: &str) -> Vec<Value> {
    let mut documents: Vec<Value> = Vec::new();
    if stdout.trim_start().starts_with('{') {
        for value in serde_json::Deserializer::from_str(stdout).into_iter::<Value>() {
            documents.push(value.expect("a JSON object stream"));
        }
    } else {
        for doc in stdout.split("\n---") {
            let value = kiln::app::yaml::parse(doc)
                .expect("YAML documents")
                .to_json();
            documents.push(value);
        }
    }
    let mut objects = Vec::new();
    for doc in documents {
        if doc.is_null() {
            continue;
        }
        assert!(
            doc.get("kind").is_some(),
            "Argo CD fails an app on a document without kind: {doc}"
        );
        match doc.get("items").and_then(Value::as_array) {
            Some(items) => objects.extend(items.iter().cloned()),
            None => objects.push(doc),
        }
    }
    objects
}

/// What Argo CD shows for a failure: stderr must be one short paragraph.
#[track_caller]
fn assert_ui_error(run: &Run, contains: &str) {
    assert_ne!(run.code, Some(0), "expected a failure");
    assert_eq!(
        run.stdout, "",
        "Argo CD discards stdout on failure, but nothing partial is printed"
    );
    let err = run.stderr.trim_end();
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("\n\n") && !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(err.contains(contains), "expected {contains:?} in {err}");
}

#[test]
fn generate_prints_the_same_objects_as_render_plus_what_the_environment_changes() {
    let checkout = Checkout::new();
    let run = checkout.generate("examples/shop", &[]);
    assert!(run.ok().starts_with('{'), "a JSON object stream");
    let objects = argo_objects(&run.stdout);

    let mut expected: Vec<Value> = run_cmd(
        {
            let mut c = kiln();
            c.args(["render", "examples/shop", "-o", "json"]);
            c
        },
        None,
    )
    .ok()
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    for o in &mut expected {
        o["metadata"]["labels"]["app.oam.dev/appRevision"] = "shop-4f1b2c3d".into();
    }
    assert_eq!(objects, expected);
}

#[test]
fn the_namespace_comes_from_argo_cd_when_the_app_names_none() {
    let checkout = Checkout::new();
    let objects = argo_objects(
        checkout
            .generate("examples/hello", &[("ARGOCD_APP_NAMESPACE", "web")])
            .ok(),
    );
    assert!(!objects.is_empty());
    for o in &objects {
        assert_eq!(o["metadata"]["namespace"], "web");
    }
}

#[test]
fn the_app_name_comes_from_argo_cd_when_the_file_names_none() {
    let checkout = Checkout::new();
    checkout.write(
        "apps/noname/vela.yaml",
        "services:\n  web:\n    image: nginx\n",
    );
    let objects = argo_objects(
        checkout
            .generate(
                "apps/noname",
                &[("ARGOCD_APP_NAME", "argocd-apps_storefront")],
            )
            .ok(),
    );
    assert_eq!(
        objects[0]["metadata"]["labels"]["app.oam.dev/name"],
        "storefront"
    );
}

#[test]
fn every_parameter_kind_reaches_the_objects() {
    let checkout = Checkout::new();
    let parameters = r#"[
        {"name": "api.image", "string": "ghcr.io/example/shop-api:2.1.0"},
        {"name": "properties", "map": {"frontend.cpu": "300m", "mailer.cmd[1]": "--queue=vip"}},
        {"name": "labels", "array": ["env=prod", "tier = gold"]}
    ]"#;
    let objects = argo_objects(
        checkout
            .generate("examples/shop", &[("ARGOCD_APP_PARAMETERS", parameters)])
            .ok(),
    );
    let api = find(&objects, "Deployment", "api");
    assert_eq!(
        api["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/example/shop-api:2.1.0"
    );
    let frontend = find(&objects, "Deployment", "frontend");
    assert_eq!(
        frontend["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "300m"
    );
    let mailer = find(&objects, "Deployment", "mailer");
    assert_eq!(
        mailer["spec"]["template"]["spec"]["containers"][0]["command"][1],
        "--queue=vip"
    );
    for o in &objects {
        assert_eq!(o["metadata"]["labels"]["env"], "prod");
        assert_eq!(o["metadata"]["labels"]["tier"], "gold");
    }
}

#[test]
fn absent_and_null_parameters_render_the_file_as_it_is() {
    let checkout = Checkout::new();
    let absent = checkout.generate("examples/shop", &[]);
    let null = checkout.generate("examples/shop", &[("ARGOCD_APP_PARAMETERS", "null")]);
    assert_eq!(absent.ok(), null.ok());
}

#[test]
fn parameters_are_validated_like_the_file() {
    let checkout = Checkout::new();
    let run = checkout.generate(
        "examples/shop",
        &[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"properties","map":{"frontend.cpu":"1"}}]"#,
        )],
    );
    assert_ui_error(
        &run,
        "component \"frontend\", field \"cpu\": expected string, found a number (1)",
    );
    let run = checkout.generate(
        "examples/shop",
        &[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"replicas","string":"3"}]"#,
        )],
    );
    assert_ui_error(
        &run,
        "ARGOCD_APP_PARAMETERS: unknown parameter \"replicas\"",
    );
    let run = checkout.generate("examples/shop", &[("ARGOCD_APP_PARAMETERS", "{not json")]);
    assert_ui_error(&run, "ARGOCD_APP_PARAMETERS: not a JSON array");
}

#[test]
fn param_variables_are_never_read() {
    let checkout = Checkout::new();
    let with = checkout.generate(
        "examples/shop",
        &[
            ("PARAM_API_IMAGE", "evil:1"),
            ("PARAM_PROPERTIES_FRONTEND_CPU", "9"),
        ],
    );
    let without = checkout.generate("examples/shop", &[]);
    assert_eq!(with.ok(), without.ok());
}

#[test]
fn a_broken_app_fails_with_one_paragraph_naming_the_file() {
    let checkout = Checkout::new();
    checkout.write(
        "apps/broken/vela.yaml",
        "name: shop\nservices:\n  web:\n    image: [nginx\n",
    );
    let run = checkout.generate("apps/broken", &[]);
    assert_ui_error(&run, "apps/broken/vela.yaml:5:1: invalid YAML");
}

#[test]
fn zero_objects_is_an_error_unless_the_app_says_so() {
    let checkout = Checkout::new();
    let empty = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: shop\nspec:\n  components: []\n";
    checkout.write("apps/empty/app.yaml", empty);
    assert_ui_error(&checkout.generate("apps/empty", &[]), "renders no objects");
    checkout.write(
        "apps/empty/app.yaml",
        &empty.replace(
            "  name: shop\n",
            "  name: shop\n  annotations:\n    kiln.dev/allow-empty: \"true\"\n",
        ),
    );
    let run = checkout.generate("apps/empty", &[]);
    assert_eq!(run.ok(), "");
}

#[test]
fn a_symlink_leaving_the_repository_is_refused() {
    let checkout = Checkout::new();
    let outside = checkout.root.parent().unwrap().join("outside.yaml");
    std::fs::write(
        &outside,
        "name: stolen\nservices:\n  web:\n    image: nginx\n",
    )
    .unwrap();
    std::fs::create_dir_all(checkout.root.join("apps/escape")).unwrap();
    std::os::unix::fs::symlink(&outside, checkout.root.join("apps/escape/vela.yaml")).unwrap();
    assert_ui_error(
        &checkout.generate("apps/escape", &[]),
        "apps/escape/vela.yaml: refused: the path leaves the repository",
    );
    // A relative symlink that climbs out is refused the same way.
    std::fs::create_dir_all(checkout.root.join("apps/climb")).unwrap();
    std::os::unix::fs::symlink(
        "../../../outside.yaml",
        checkout.root.join("apps/climb/vela.yaml"),
    )
    .unwrap();
    assert_ui_error(
        &checkout.generate("apps/climb", &[]),
        "refused: the path leaves the repository",
    );
}

#[test]
fn settings_with_dot_dot_or_absolute_paths_are_refused() {
    let checkout = Checkout::new();
    let run = checkout.generate(
        "examples/shop",
        &[("ARGOCD_ENV_KILN_DEFINITIONS", "../kiln-definitions")],
    );
    assert_ui_error(
        &run,
        "KILN_DEFINITIONS: \"../kiln-definitions\" leaves the repository",
    );
    let run = checkout.generate("examples/shop", &[("ARGOCD_ENV_KILN_DEFINITIONS", "/etc")]);
    assert_ui_error(&run, "is absolute");
    let run = checkout.generate(
        "examples/shop",
        &[("ARGOCD_ENV_KILN_APP_FILE", "../../etc/passwd")],
    );
    assert_ui_error(&run, "leaves the repository");
    // A definitions directory that is a symlink out of the repository.
    std::os::unix::fs::symlink(&checkout.definitions, checkout.root.join("defs")).unwrap();
    let run = checkout.generate("examples/shop", &[("ARGOCD_ENV_KILN_DEFINITIONS", "defs")]);
    assert_ui_error(&run, "refused: the path leaves the repository");
}

#[test]
fn definitions_from_the_repository_and_from_the_plugin_mount() {
    let checkout = Checkout::new();
    let wasm = build_guest("examples/custom-trait", "pod-disruption-budget");
    std::fs::create_dir_all(checkout.root.join("platform/defs")).unwrap();
    std::fs::copy(&wasm, checkout.root.join("platform/defs/pdb.wasm")).unwrap();
    let app = "name: shop\nservices:\n  web:\n    image: nginx\n    pod-disruption-budget:\n      minAvailable: 1\n";
    checkout.write("apps/pdb/vela.yaml", app);
    let objects = argo_objects(
        checkout
            .generate(
                "apps/pdb",
                &[("ARGOCD_ENV_KILN_DEFINITIONS", "platform/defs")],
            )
            .ok(),
    );
    assert_eq!(objects[1]["kind"], "PodDisruptionBudget");
    // The same module mounted by the operator at /kiln/definitions.
    let checkout = Checkout::new();
    std::fs::copy(&wasm, checkout.definitions.join("pdb.wasm")).unwrap();
    checkout.write("apps/pdb/vela.yaml", app);
    let objects = argo_objects(checkout.generate("apps/pdb", &[]).ok());
    assert_eq!(objects[1]["kind"], "PodDisruptionBudget");
}

#[test]
fn the_dynamic_parameters_command_announces_images_and_overrides() {
    let checkout = Checkout::new();
    let mut cmd = checkout.command("parameters", "examples/shop", &[]);
    // The dynamic command gets a reduced environment.
    cmd.env_remove("ARGOCD_APP_NAMESPACE")
        .env_remove("ARGOCD_APP_REVISION")
        .env_remove("KUBE_VERSION")
        .env_remove("KUBE_API_VERSIONS");
    let run = run_cmd(cmd, None);
    let announced: Value = serde_json::from_str(run.ok()).expect("a JSON array");
    let names: Vec<&str> = announced
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "frontend.image",
            "api.image",
            "mailer.image",
            "properties",
            "labels"
        ]
    );
    assert_eq!(announced[1]["string"], "ghcr.io/example/shop-api:2.0.1");
    assert_eq!(announced[3]["collectionType"], "map");
    assert_eq!(announced[4]["collectionType"], "array");
}

#[test]
fn two_checkouts_render_byte_identical_output() {
    let a = Checkout::new().generate("examples/shop", &[]);
    let b = Checkout::new().generate("examples/shop", &[]);
    assert_eq!(a.ok(), b.ok());
}

#[test]
fn sigterm_stops_kiln_within_a_second() {
    let checkout = Checkout::new();
    let wasm = build_guest("tests/guests", "misbehave");
    std::fs::copy(&wasm, checkout.definitions.join("misbehave.wasm")).unwrap();
    checkout.write(
        "apps/slow/vela.yaml",
        "name: slow\nservices:\n  web:\n    image: nginx\n    misbehave:\n      mode: loop\n",
    );
    let mut cmd = checkout.command("generate", "apps/slow", &[]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "took {:?}",
        sent.elapsed()
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

#[test]
fn the_shipped_platform_file_admits_the_example_and_denies_a_privileged_pod() {
    let checkout = Checkout::new();
    let platform = repo().join("examples/argocd/platform.yaml");
    let platform = platform.to_str().unwrap();
    let run = checkout.generate("examples/shop", &[("KILN_PLATFORM", platform)]);
    assert!(!argo_objects(run.ok()).is_empty());
    assert_eq!(run.stderr, "", "pinned images: no audit warning");

    checkout.write(
        "examples/root/vela.yaml",
        "name: root\nservices:\n  tools:\n    type: webservice\n    image: busybox\n    \
         securitycontext:\n      privileged: true\n",
    );
    let run = checkout.generate("examples/root", &[("KILN_PLATFORM", platform)]);
    assert_ui_error(
        &run,
        "policy \"disallow-privileged\": Deployment/shop/tools",
    );
    // The audit-mode policy's warning is kept with the denial.
    assert!(
        run.stderr
            .contains("warning: policy \"disallow-latest-tag\""),
        "{}",
        run.stderr
    );
}

#[test]
fn the_app_picks_its_environment_with_argocd_env_kiln_env() {
    let checkout = Checkout::new();
    checkout.write(
        "envs/vela.yaml",
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: envs\nspec:\n  \
         components:\n    - name: api\n      type: webservice\n      properties:\n        \
         image: nginx:1.27\n  policies:\n    - name: staging\n      type: topology\n      \
         properties: {namespace: staging}\n    - name: prod\n      type: topology\n      \
         properties: {namespace: prod}\n",
    );
    let run = checkout.generate("envs", &[("ARGOCD_ENV_KILN_ENV", "prod")]);
    let objects = argo_objects(run.ok());
    assert_eq!(objects[0]["metadata"]["namespace"], "prod");
    let run = checkout.generate("envs", &[]);
    assert_ui_error(&run, "has 2 environments (staging, prod)");
}
