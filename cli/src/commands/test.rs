//! `kiln test [PATH]...`: every case of every test file (`*.test.yaml`), run in the
//! sandbox and reported like `cargo test`.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use kiln::testsuite::{self, Outcome};

use crate::args::{Flags, TestArgs};
use crate::output::{Output, count};
use crate::setup;

/// Runs the test files; the output's verdict is failure when any case failed.
pub fn run(flags: &Flags, args: &TestArgs) -> Result<Output> {
    let started = std::time::Instant::now();
    // A file's own platform only tightens the one given on the command line.
    let base = setup::platform(flags)?;
    let base = flags.platform.is_some().then_some(&base);
    // Each file is confined to the tree of the PATH that found it.
    let mut files = Vec::new();
    for path in &args.paths {
        let found = testsuite::discover(path)?;
        if found.is_empty() {
            bail!("{}: no test files (*.test.yaml) found", path.display());
        }
        let tree = testsuite::Tree::of(path)?;
        files.extend(found.into_iter().map(|file| (tree.clone(), file)));
    }
    let mut out = String::new();
    let (mut passed, mut updated, mut failures) = (0, 0, Vec::new());
    for (tree, path) in &files {
        let file = testsuite::TestFile::read(tree, path)?;
        let mut platform = file.platform(base);
        setup::apply_limit_flags(flags, &mut platform.platform);
        let sandbox = setup::sandbox(flags, &platform.platform)?;
        let results = file
            .run(
                &sandbox,
                &platform,
                &testsuite::Definitions {
                    extra: &flags.definitions,
                    under_test: &args.under_test,
                },
                args.update,
            )
            .with_context(|| format!("loading the definitions of {}", path.display()))?;
        let _ = writeln!(
            out,
            "\nrunning {} from {}",
            count(results.len(), "test"),
            path.display()
        );
        for result in results {
            let status = match &result.outcome {
                Outcome::Passed => "ok",
                Outcome::Updated => "ok (snapshot written)",
                Outcome::Failed(_) => "FAILED",
            };
            let case = result.name.rsplit(" :: ").next().unwrap_or_default();
            let _ = writeln!(out, "test {case} ... {status}");
            match result.outcome {
                Outcome::Passed => passed += 1,
                Outcome::Updated => updated += 1,
                Outcome::Failed(why) => failures.push((result.name, why)),
            }
        }
    }
    if !failures.is_empty() {
        out.push_str("\nfailures:\n");
        for (name, why) in &failures {
            let _ = writeln!(out, "\n---- {name} ----\n{why}");
        }
    }
    let _ = writeln!(
        out,
        "\ntest result: {}. {} passed; {} failed; {} written; finished in {:.2}s",
        if failures.is_empty() { "ok" } else { "FAILED" },
        passed + updated,
        failures.len(),
        count(updated, "snapshot"),
        started.elapsed().as_secs_f64()
    );
    Ok(Output {
        stdout: out.into(),
        warnings: Vec::new(),
        failed: !failures.is_empty(),
    })
}
