//! The application reader: arbitrary text through `Source::parse` (the YAML reader) and
//! `Application::from_source` (OAM Application or appfile). Any input must give an
//! application or an error, never a panic, and stay within the reader's bounds (alias
//! expansion, nesting depth): libFuzzer's -timeout and -rss_limit_mb catch what does not.
#![no_main]

use std::sync::LazyLock;

use kiln::app::{self, Application, Source};
use kiln::definitions::Registry;
use libfuzzer_sys::fuzz_target;

/// The built-in definitions: which appfile service keys are traits.
static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::builtin);

fuzz_target!(|data: &[u8]| {
    // The CLI refuses files over MAX_FILE_BYTES and non-UTF-8 text before parsing.
    if data.len() as u64 > app::MAX_FILE_BYTES {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = match Source::parse("fuzz.yaml", text) {
        Ok(source) => source,
        Err(e) => {
            // Error messages are rendered for users: that must not panic either.
            let _ = e.to_string();
            return;
        }
    };
    let _ = source.root.to_json();
    match Application::from_source(source, &|name: &str| REGISTRY.is_trait(name)) {
        Ok(application) => {
            for component in &application.components {
                let _ = application.source.site(&component.path);
                let _ = application.source.site(&component.properties_path);
                let _ = app::dotted(&component.properties_path);
                for t in &component.traits {
                    let _ = application.source.site(&t.path);
                    let _ = app::dotted(&t.properties_path);
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
