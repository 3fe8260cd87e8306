//! `kiln render [PATH]`: one application file (or stdin) to a YAML or JSON stream, or with
//! `--recursive` every application of a tree ([`super::tree`]).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use kiln::app::Text;
use kiln::definitions::Registry;
use kiln::manifest::{self, Format};
use kiln::pipeline::{self, Input, Request, Revision};
use kiln::render::{self, RenderOptions};
use kiln::sandbox::Sandbox;

use crate::args::{DestinationArgs, Flags, OutputFormat, RenderArgs};
use crate::commands::tree;
use crate::output::Output;
use crate::setup::Setup;

/// Renders what `args` name with the built-ins and the `-d` definitions.
pub fn run(setup: Setup, flags: &Flags, args: &RenderArgs) -> Result<Output> {
    let registry = setup.registry(flags)?;
    setup.platform.check_names(&registry)?;
    let request = request(args, &setup);
    let output = render(&setup.sandbox, &registry, args, &request);
    setup.finish(registry, output)
}

/// The request the flags make: the platform's policies, the cluster, the environment.
fn request(args: &RenderArgs, setup: &Setup) -> Request {
    let mut request = request_for(&args.destination, setup);
    // The label Argo CD's `kiln argocd generate` gives the same inputs; `vela dry-run`
    // prints an empty one, which the KubeVela diff mode keeps.
    if args.vela_headers {
        request.revision = Revision::Fixed(String::new());
    }
    request.options.serialize = Some(format(args.output));
    request.options.trace = args.trace.is_some();
    request
}

/// The request of a render for `destination`, with the platform's policies and the
/// content revision Argo CD would label it with.
pub(super) fn request_for(destination: &DestinationArgs, setup: &Setup) -> Request {
    Request {
        environment: destination.env.clone(),
        revision: Revision::Content,
        options: RenderOptions {
            namespace: destination.namespace.clone(),
            cluster_version: destination.cluster_version,
            api_versions: destination
                .api_versions
                .as_deref()
                .map(render::parse_api_versions)
                .unwrap_or_default(),
            revision: String::new(),
            policies: setup.platform.policies.clone(),
            serialize: None,
            trace: false,
        },
        ..Request::default()
    }
}

fn format(output: OutputFormat) -> Format {
    match output {
        OutputFormat::Yaml => Format::Yaml,
        OutputFormat::Json => Format::Json,
    }
}

fn render(
    sandbox: &Sandbox,
    registry: &Registry,
    args: &RenderArgs,
    request: &Request,
) -> Result<Output> {
    let format = format(args.output);
    let render_text = |text: Text| -> kiln::Result<(manifest::Text, Vec<String>)> {
        let output = pipeline::render(sandbox, registry, Input::Text(text), request)?;
        let text = manifest::into_text(output.objects, format, &output.app.name, args.vela_headers);
        Ok((text, output.warnings))
    };
    if args.out_dir.is_some() && !args.recursive {
        bail!("--out-dir writes one file per application: it needs --recursive");
    }
    if let Some(trace) = &args.trace {
        if args.recursive {
            bail!(
                "--trace writes the provenance of one application: it cannot go with --recursive"
            );
        }
        return render_traced(
            sandbox,
            registry,
            read_text(&args.path)?,
            args,
            request,
            trace,
        );
    }
    if args.recursive {
        let root = Path::new(&args.path);
        return tree::render_tree(root, args.out_dir.as_deref(), format, &render_text);
    }
    let (stdout, warnings) = render_text(read_text(&args.path)?)?;
    Ok(Output {
        stdout,
        warnings,
        failed: false,
    })
}

/// [`render`] of one application, with its provenance written to `trace` first: a trace
/// that cannot be written fails the render, which then prints nothing.
fn render_traced(
    sandbox: &Sandbox,
    registry: &Registry,
    text: Text,
    args: &RenderArgs,
    request: &Request,
    trace: &Path,
) -> Result<Output> {
    let output = pipeline::render(sandbox, registry, Input::Text(text), request)?;
    let document = kiln::explain::document(&output.app.name, &output.objects)?;
    // Compact: an application of a thousand components has millions of steps.
    let mut bytes = serde_json::to_vec(&document)?;
    bytes.push(b'\n');
    kiln::files::write_atomically(trace, &bytes)
        .with_context(|| format!("writing the trace to {}", trace.display()))?;
    let format = format(args.output);
    let stdout = manifest::into_text(output.objects, format, &output.app.name, args.vela_headers);
    Ok(Output {
        stdout,
        warnings: output.warnings,
        failed: false,
    })
}

/// The application file `path` names (a file, a directory holding one, or `-` for stdin).
pub(super) fn read_text(path: &str) -> Result<Text> {
    if path == "-" {
        read_stdin()
    } else {
        Ok(Text::read(Path::new(path))?)
    }
}

/// The application on stdin, up to the size limit of an application file.
fn read_stdin() -> Result<Text> {
    let mut text = String::new();
    std::io::stdin()
        .take(kiln::app::MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .context("reading the application from stdin")?;
    if text.len() as u64 > kiln::app::MAX_FILE_BYTES {
        bail!(
            "<stdin>: the application is larger than {} bytes",
            kiln::app::MAX_FILE_BYTES
        );
    }
    Ok(Text {
        file: "<stdin>".into(),
        text,
    })
}
