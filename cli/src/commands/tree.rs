//! `kiln render DIR --recursive`: every application of a tree (a monorepo), rendered in
//! parallel with the same sandbox and definitions, printed as one stream in path order or
//! written one file per application. All or nothing, like a single render: if any
//! application fails, every failure is reported and nothing is printed or written.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use kiln::app::APP_FILE_NAMES;
use kiln::manifest::{Format, Text};

use crate::output::Output;

/// Renders one application's text: its output and its warnings.
pub type RenderText<'a> = dyn Fn(kiln::app::Text) -> kiln::Result<(Text, Vec<String>)> + Sync + 'a;

/// Renders every application under `root` with `render_text`, into one stream or, with
/// `out_dir`, one file each.
pub fn render_tree(
    root: &Path,
    out_dir: Option<&Path>,
    format: Format,
    render_text: &RenderText,
) -> Result<Output> {
    let files = kiln::app::find_app_files(root)?;
    if files.is_empty() {
        bail!(
            "{}: no application files under this directory (looked for {})",
            root.display(),
            APP_FILE_NAMES.join(", ")
        );
    }
    // A progress bar for people watching a terminal; nothing in logs or pipes.
    let progress = std::io::stderr()
        .is_terminal()
        .then(|| progress_bar(files.len()));
    let results: Vec<kiln::Result<(Text, Vec<String>)>> = files
        .par_iter()
        .map(|file| {
            let result = kiln::app::Text::read(file).and_then(render_text);
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            result
        })
        .collect();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    if !failures.is_empty() {
        bail!(
            "{} of {} applications failed:\n{}",
            failures.len(),
            files.len(),
            failures.join("\n")
        );
    }
    let mut warnings = Vec::new();
    let mut rendered = Vec::new();
    for (file, result) in files.iter().zip(results) {
        let (text, app_warnings) = result.expect("failures were reported above");
        warnings.extend(app_warnings);
        rendered.push((file, text));
    }
    let stdout = match out_dir {
        Some(out) => write_files(root, out, format, &rendered)?.into(),
        None => one_stream(format, rendered),
    };
    Ok(Output {
        stdout,
        warnings,
        failed: false,
    })
}

fn progress_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} applications {elapsed}") {
        bar.set_style(style);
    }
    bar
}

/// Every application's output in path order; YAML documents say which file they come from.
fn one_stream(format: Format, rendered: Vec<(&PathBuf, Text)>) -> Text {
    let mut out = Text::default();
    for (file, text) in rendered {
        if let Format::Yaml = format {
            out.push(format!("# Source: {}\n", file.display()));
        }
        out.append(text);
    }
    out
}

/// Writes `<out>/<app's directory relative to root>.<yaml|json>` for each application, each
/// atomically; returns what to print.
fn write_files(
    root: &Path,
    out: &Path,
    format: Format,
    rendered: &[(&PathBuf, Text)],
) -> Result<String> {
    let extension = match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
    };
    let mut written = Vec::new();
    for (file, text) in rendered {
        let target = out.join(format!("{}.{extension}", app_name(root, file)));
        kiln::files::write_atomically(&target, text.to_string().as_bytes())
            .with_context(|| format!("writing {}", target.display()))?;
        written.push(target);
    }
    Ok(format!(
        "wrote {} applications into {}\n",
        written.len(),
        out.display()
    ))
}

/// `apps/shop` for `<root>/apps/shop/vela.yaml`; the root's own name for an application at
/// the root.
fn app_name(root: &Path, file: &Path) -> String {
    let dir = file.parent().unwrap_or(root);
    match dir.strip_prefix(root) {
        Ok(relative) if !relative.as_os_str().is_empty() => relative.display().to_string(),
        _ => std::fs::canonicalize(root)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "app".into()),
    }
}

#[cfg(test)]
mod tests;
