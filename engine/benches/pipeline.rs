//! In-process benchmarks of the pipeline's stages on the benchmark application of
//! `shared/bench` (N webservice components with scaler, gateway, hpa, labels, annotations and
//! sidecar traits).
//!
//! `cargo bench -p kiln --bench pipeline`

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use kiln::app::{Application, Source};
use kiln::definitions::Registry;
use kiln::manifest::{self, Format};
use kiln::pipeline::render_app;
use kiln::render::RenderOptions;
use kiln::sandbox::{Limits, Sandbox};

/// The benchmark application with `n` components (as `shared/bench/gen.py` writes it).
fn bench_app(n: usize) -> String {
    let mut out = String::from(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: webservice-app\n  namespace: default\nspec:\n  components:\n",
    );
    for i in 0..n {
        let _ = write!(
            out,
            "    - name: svc-{i}
      type: webservice
      properties:
        image: ghcr.io/example/svc-{i}:1.0
        ports:
          - port: 8080
            expose: true
        env:
          - {{name: LOG_LEVEL, value: info}}
          - {{name: SVC_INDEX, value: \"{i}\"}}
          - {{name: REGION, value: eu-west-1}}
        cpu: 250m
        memory: 256Mi
      traits:
        - type: scaler
          properties: {{replicas: 3}}
        - type: gateway
          properties:
            domain: svc-{i}.example.com
            http: {{\"/\": 8080}}
            classInSpec: true
            existingServiceName: svc-{i}
        - type: hpa
          properties: {{min: 2, max: 10, cpu: {{type: Utilization, value: 70}}}}
        - type: labels
          properties: {{team: payments}}
        - type: annotations
          properties: {{example.com/owner: payments-team}}
        - type: sidecar
          properties:
            name: log-shipper
            image: ghcr.io/example/log-shipper:2.1
            args: [--source=/var/log/app, --sink=stdout]
"
        );
    }
    out
}

fn stages(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("temp dir");
    let sandbox =
        Sandbox::new(Limits::default(), Some(cache.path().to_path_buf())).expect("sandbox");
    let registry = Registry::builtin();
    let is_trait = |name: &str| registry.is_trait(name);

    let mut group = c.benchmark_group("pipeline");
    for n in [1, 10, 100] {
        let text = bench_app(n);
        group.bench_with_input(BenchmarkId::new("parse", n), &text, |b, text| {
            b.iter(|| {
                let source = Source::parse("app.yaml", black_box(text)).expect("parses");
                Application::from_source(source, &is_trait).expect("valid")
            })
        });
        let app =
            Application::from_source(Source::parse("app.yaml", &text).expect("parses"), &is_trait)
                .expect("valid");
        let options = RenderOptions::default();
        group.bench_with_input(BenchmarkId::new("render", n), &app, |b, app| {
            b.iter(|| render_app(&sandbox, &registry, black_box(app), &options).expect("renders"))
        });
        let rendered = render_app(&sandbox, &registry, &app, &options).expect("renders");
        group.bench_with_input(BenchmarkId::new("write-yaml", n), &rendered, |b, r| {
            b.iter(|| manifest::write(black_box(&r.objects), Format::Yaml, "webservice-app", false))
        });
    }
    group.finish();

    c.bench_function("startup/sandbox", |b| {
        b.iter(|| {
            Sandbox::new(Limits::default(), Some(cache.path().to_path_buf())).expect("sandbox")
        })
    });
}

criterion_group!(benches, stages);
criterion_main!(benches);
