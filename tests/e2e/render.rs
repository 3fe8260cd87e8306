//! Whole applications rendered: golden outputs of the examples in both input formats, both
//! output formats, and the flags that change the output.

use crate::common::*;

#[test]
fn hello_appfile_golden() {
    insta::assert_snapshot!("hello.yaml", run(&["render", "examples/hello"]).ok());
}

#[test]
fn shop_application_golden() {
    insta::assert_snapshot!("shop.yaml", run(&["render", "examples/shop"]).ok());
}

#[test]
fn shop_as_json_lines_holds_the_same_objects() {
    let yaml = objects(run(&["render", "examples/shop"]).ok());
    let json = run(&["render", "examples/shop", "-o", "json"]);
    let lines: Vec<serde_json::Value> = json
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines, yaml);
}

#[test]
fn renders_are_deterministic() {
    let first = run(&["render", "examples/shop"]);
    for _ in 0..3 {
        assert_eq!(run(&["render", "examples/shop"]).ok(), first.ok());
    }
}

#[test]
fn the_output_does_not_depend_on_the_number_of_threads() {
    // Enough components for several chunks of shared instances, with traits that patch,
    // add objects and read the workload.
    let mut app = String::from(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: many\nspec:\n  \
         components:\n",
    );
    for i in 0..40 {
        app.push_str(&format!(
            "    - name: svc-{i}\n      type: webservice\n      properties:\n        image: \
             nginx:1.{i}\n        ports: [{{port: 80, expose: true}}]\n      traits:\n        \
             - type: scaler\n          properties: {{replicas: {}}}\n        - type: sidecar\n          \
             properties: {{name: log, image: busybox:1.36}}\n        - type: labels\n          \
             properties: {{index: \"{i}\"}}\n",
            i % 5 + 1
        ));
    }
    // `--threads 1` renders on the calling thread alone (no pool thread at all); stdin
    // under `auto` gets rayon's default, which RAYON_NUM_THREADS sets.
    let render_with = |flag: &str, rayon: &str| {
        let mut cmd = kiln();
        cmd.env("RAYON_NUM_THREADS", rayon)
            .args(["render", "-", "--threads", flag]);
        run_cmd(cmd, Some(&app)).ok().to_string()
    };
    let one = render_with("1", "1");
    assert_eq!(objects(&one).len(), 80);
    for threads in ["2", "3", "8"] {
        assert_eq!(render_with(threads, "1"), one, "--threads {threads}");
        assert_eq!(render_with("auto", threads), one, "{threads} rayon threads");
    }
}

#[test]
fn a_small_application_renders_the_same_on_one_thread_as_on_several() {
    // `--threads auto` gives examples/shop (under 8 KiB) the calling thread alone.
    let auto = run(&["render", "examples/shop"]).ok().to_string();
    assert_eq!(
        run(&["render", "examples/shop", "--threads", "2"]).ok(),
        auto
    );
    let mut cmd = kiln();
    cmd.env("KILN_THREADS", "3")
        .args(["render", "examples/shop"]);
    assert_eq!(run_cmd(cmd, None).ok(), auto);
}

#[test]
fn a_thread_count_that_is_not_a_positive_number_is_refused() {
    for bad in ["0", "many"] {
        let failure = run(&["render", "examples/shop", "--threads", bad]);
        assert_eq!(failure.code, Some(2), "{}", failure.stderr);
        assert_eq!(failure.stdout, "");
        assert!(
            failure
                .stderr
                .contains("expected `auto` or a number of threads from 1"),
            "{}",
            failure.stderr
        );
    }
}

#[test]
fn an_appfile_and_the_equivalent_application_render_the_same() {
    let appfile = "\
name: shop
services:
  web:
    image: nginx:1.27
    ports:
      - port: 80
        expose: true
    scaler:
      replicas: 2
    labels:
      tier: frontend
  jobs:
    type: worker
    image: busybox
";
    let application = "\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
spec:
  components:
    - name: web
      type: webservice
      properties:
        image: nginx:1.27
        ports:
          - port: 80
            expose: true
      traits:
        - type: scaler
          properties: {replicas: 2}
        - type: labels
          properties: {tier: frontend}
    - name: jobs
      type: worker
      properties: {image: busybox}
";
    // --vela-headers leaves out the revision label, a hash of the text (which differs).
    let a = render_stdin(appfile, &["--vela-headers"]);
    let b = render_stdin(application, &["--vela-headers"]);
    assert_eq!(a.ok(), b.ok());
    let objects = objects(&a.stdout);
    let kinds: Vec<_> = objects
        .iter()
        .filter(|o| !o.is_null()) // the headers' comment-only documents
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["Deployment", "Service", "Deployment"],
        "file order kept"
    );
}

#[test]
fn a_directory_finds_its_application_file() {
    assert_eq!(
        run(&["render", "examples/hello"]).ok(),
        run(&["render", "examples/hello/vela.yaml"]).ok()
    );
}

#[test]
fn stdin_renders_like_a_file() {
    let text = std::fs::read_to_string(repo().join("examples/hello/vela.yaml")).unwrap();
    assert_eq!(
        render_stdin(&text, &[]).ok(),
        run(&["render", "examples/hello"]).ok()
    );
}

#[test]
fn the_namespace_flag_overrides_the_application() {
    let objects = objects(run(&["render", "examples/shop", "-n", "staging"]).ok());
    for o in &objects {
        assert_eq!(o["metadata"]["namespace"], "staging");
        assert_eq!(o["metadata"]["labels"]["app.oam.dev/namespace"], "staging");
    }
}

#[test]
fn the_workload_carries_the_oam_labels() {
    let objects = objects(run(&["render", "examples/hello"]).ok());
    let labels = &objects[0]["metadata"]["labels"];
    assert_eq!(labels["app.oam.dev/name"], "hello");
    assert_eq!(labels["app.oam.dev/component"], "hello");
    assert_eq!(labels["app.oam.dev/resourceType"], "WORKLOAD");
    assert_eq!(labels["workload.oam.dev/type"], "webservice");
}

#[test]
fn the_cluster_version_picks_api_versions() {
    let app = "\
name: shop
services:
  web:
    image: nginx
    ports: [{port: 80}]
    gateway:
      domain: shop.example.com
      http: {\"/\": 80}
    hpa:
      max: 4
";
    let modern = objects(render_stdin(app, &[]).ok());
    assert_eq!(
        find(&modern, "Ingress", "web")["apiVersion"],
        "networking.k8s.io/v1"
    );
    assert_eq!(
        find(&modern, "HorizontalPodAutoscaler", "web")["apiVersion"],
        "autoscaling/v2"
    );
    let old = objects(render_stdin(app, &["--cluster-version", "1.18"]).ok());
    assert_eq!(
        find(&old, "Ingress", "web")["apiVersion"],
        "networking.k8s.io/v1beta1"
    );
    assert_eq!(
        find(&old, "HorizontalPodAutoscaler", "web")["apiVersion"],
        "autoscaling/v2beta2"
    );
}

#[test]
fn vela_headers_mark_components_and_traits() {
    let out = run(&["render", "examples/hello", "--vela-headers"]);
    let text = out.ok();
    assert!(
        text.starts_with(
            "---\n# Application(hello) -- Component(hello)\n---\n\napiVersion: apps/v1\n"
        ),
        "{text}"
    );
}

#[test]
fn definitions_list_shows_every_builtin_with_a_description() {
    let list = run(&["definitions", "list"]);
    let text = list.ok();
    for name in [
        "webservice",
        "worker",
        "scaler",
        "gateway",
        "expose",
        "hpa",
        "labels",
        "annotations",
        "env",
        "sidecar",
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"));
        assert!(
            line.split_whitespace().count() > 2,
            "{name} has no description: {line}"
        );
    }
}

#[test]
fn definitions_show_lists_parameters_with_types_defaults_and_descriptions() {
    let show = run(&["definitions", "show", "gateway"]);
    insta::assert_snapshot!("show-gateway.txt", show.ok());
}

#[test]
fn argo_cd_kube_version_and_api_versions_pick_api_versions() {
    let app = "name: shop\nservices:\n  web:\n    image: nginx\n    ports: [{port: 80}]\n    gateway:\n      domain: a.example.com\n      http: {\"/\": 80}\n    hpa: {max: 3}\n";
    let kinds = |env: &[(&str, &str)]| {
        let mut cmd = kiln();
        cmd.args(["render", "-"]).envs(env.iter().copied());
        let out = run_cmd(cmd, Some(app));
        objects(out.ok())
            .iter()
            .map(|o| {
                format!(
                    "{} {}",
                    o["kind"].as_str().unwrap(),
                    o["apiVersion"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&[("KUBE_VERSION", "1.18.3")])[2..],
        [
            "Ingress networking.k8s.io/v1beta1",
            "HorizontalPodAutoscaler autoscaling/v2beta2"
        ]
    );
    // The served APIs win over the version: this cluster has no autoscaling/v2.
    assert_eq!(
        kinds(&[
            ("KUBE_VERSION", "1.29.3"),
            (
                "KUBE_API_VERSIONS",
                "apps/v1,apps/v1/Deployment,v1,networking.k8s.io/v1,autoscaling/v2beta2"
            ),
        ])[2..],
        [
            "Ingress networking.k8s.io/v1",
            "HorizontalPodAutoscaler autoscaling/v2beta2"
        ]
    );
    // The flag wins over the environment.
    let mut cmd = kiln();
    cmd.args(["render", "-", "--cluster-version", "1.18"])
        .env("KUBE_VERSION", "1.30.0");
    let out = run_cmd(cmd, Some(app));
    assert_eq!(
        find(&objects(out.ok()), "Ingress", "web")["apiVersion"],
        "networking.k8s.io/v1beta1"
    );
}

/// A monorepo: two apps, one inside `target/` (skipped), one hidden directory (skipped).
fn monorepo() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let copy = |from: &str, to: &str| {
        let to = root.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(from), to).unwrap();
    };
    copy("examples/shop/app.yaml", "apps/shop/app.yaml");
    copy("examples/hello/vela.yaml", "apps/hello/vela.yaml");
    copy("examples/hello/vela.yaml", "apps/hello/target/vela.yaml");
    copy("examples/hello/vela.yaml", ".git/vela.yaml");
    root
}

#[test]
fn a_tree_renders_every_application_in_path_order() {
    let root = monorepo();
    let dir = root.path().to_str().unwrap();
    let run = run(&["render", dir, "--recursive"]);
    let out = run.ok();
    assert_eq!(
        run.stderr, "",
        "no progress bar when stderr is not a terminal"
    );
    let hello = out.find("# Source: ").unwrap();
    assert!(out[hello..].starts_with(&format!("# Source: {dir}/apps/hello/vela.yaml\n")));
    let shop = out
        .find(&format!("# Source: {dir}/apps/shop/app.yaml\n"))
        .unwrap();
    assert!(hello < shop);
    // Each part is exactly what a render of that file prints.
    let alone = |path: &str| {
        run_cmd(
            {
                let mut c = kiln();
                c.args(["render", path]);
                c
            },
            None,
        )
        .ok()
        .to_string()
    };
    assert!(out.contains(&alone(&format!("{dir}/apps/shop/app.yaml"))));
    assert!(out.contains(&alone(&format!("{dir}/apps/hello/vela.yaml"))));
    assert_eq!(
        out.matches("# Source: ").count(),
        2,
        "target/ and .git/ are skipped"
    );
}

#[test]
fn a_tree_writes_one_file_per_application() {
    let root = monorepo();
    let out = tempfile::tempdir().unwrap();
    let dir = root.path().to_str().unwrap();
    let out_dir = out.path().join("rendered");
    let run = run(&[
        "render",
        dir,
        "-r",
        "-o",
        "json",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        run.ok(),
        format!("wrote 2 applications into {}\n", out_dir.display())
    );
    let shop = std::fs::read_to_string(out_dir.join("apps/shop.json")).unwrap();
    assert!(shop.lines().all(|l| l.starts_with('{')), "{shop}");
    assert!(out_dir.join("apps/hello.json").is_file());
}

#[test]
fn a_tree_with_a_broken_application_prints_and_writes_nothing() {
    let root = monorepo();
    let broken = root.path().join("apps/broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("vela.yaml"),
        "name: broken\nservices:\n  web:\n    type: webservise\n    image: nginx\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("rendered");
    let dir = root.path().to_str().unwrap();
    let run = run(&["render", dir, "-r", "--out-dir", out_dir.to_str().unwrap()]);
    let err = run.failed();
    assert!(
        err.starts_with("error: 1 of 3 applications failed:\n"),
        "{err}"
    );
    assert!(err.contains("apps/broken/vela.yaml:4:11"), "{err}");
    assert!(err.contains("did you mean \"webservice\"?"), "{err}");
    assert!(!out_dir.exists(), "nothing written");
}

#[test]
fn out_dir_needs_recursive() {
    let err = run(&["render", "examples/shop", "--out-dir", "/tmp/x"])
        .failed()
        .to_string();
    assert!(err.contains("--out-dir writes one file per application: it needs --recursive"));
}
