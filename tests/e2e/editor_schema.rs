//! `kiln schema` in a real editor: the schema it prints, loaded by the real
//! yaml-language-server (ylS, the engine of VS Code's YAML extension and of most editors' YAML
//! support; pinned in `tests/lsp/package.json`), driven over LSP on stdio as an editor drives it.
//!
//! What this proves, for the built-in definitions as `kiln definitions list` names them:
//! - association: the README's header modeline
//!   (`src/languageservice/services/modelineUtil.ts`) and its `yaml.schemas` setting, which
//!   ylS reads only by pulling `workspace/configuration`
//!   (`src/languageserver/handlers/settingsHandlers.ts`), both attach the schema;
//! - completion offers every trait after `- type: ` and a trait's parameters inside its
//!   `properties:` (`src/languageservice/services/yamlCompletion.ts`), so selecting the
//!   parameters by an `allOf` of `if {type: const} then {properties}` works in ylS;
//! - a misspelt parameter and an unknown component type get diagnostics that name them
//!   (`src/languageservice/parser/schemaValidation/baseValidator.ts`), in both the OAM
//!   Application and the appfile form;
//! - the real examples get no diagnostic at all. ylS reports an invalid schema or a dangling
//!   `$ref` as one error at the top of every file
//!   (`src/languageservice/services/yamlValidation.ts`), so this also catches a schema ylS
//!   cannot use.
//!
//! The client is this file's own (Content-Length framing, serde_json). It answers every
//! request of the server: ylS pulls its settings after `initialized`
//! (`src/yamlServerInit.ts`), and, as the client advertises `workspace.configuration`, the
//! `[yaml]` section before each validation, publishing nothing until that is answered
//! (`src/languageserver/handlers/validationHandlers.ts`). Each wait has a deadline, so a
//! broken server fails the test instead of hanging it.
//!
//! The server is `$KILN_YAML_LANGUAGE_SERVER`, else
//! `tests/lsp/node_modules/.bin/yaml-language-server`, installed by `npm ci` when absent.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// How long one exchange with the server may take (it validates ~200 ms after a change).
const DEADLINE: Duration = Duration::from_secs(30);

/// The README's modeline: a header comment, the schema's path relative to the document.
const MODELINE: &str = "# yaml-language-server: $schema=./kiln.schema.json\n";

/// Marks a cursor in a test document; removed before the document is sent.
const CURSOR: &str = "<|>";

/// The yaml-language-server executable, installed from `tests/lsp` when needed.
fn server_program() -> &'static PathBuf {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        if let Some(program) = std::env::var_os("KILN_YAML_LANGUAGE_SERVER") {
            return PathBuf::from(program);
        }
        let dir = repo().join("tests/lsp");
        let program = dir.join("node_modules/.bin/yaml-language-server");
        if !program.exists() {
            let install = Command::new("npm")
                .args([
                    "ci",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                    "--prefix",
                ])
                .arg(&dir)
                .output();
            let failure = match install {
                Ok(out) if out.status.success() => None,
                Ok(out) => Some(String::from_utf8_lossy(&out.stderr).into_owned()),
                Err(e) => Some(format!("cannot run npm: {e}")),
            };
            if let Some(failure) = failure {
                panic!(
                    "this test needs yaml-language-server 1.25.0, which needs Node.js (>= 18) \
                     and npm: install them (Debian: `apt-get install nodejs npm`) and run \
                     `npm ci --prefix tests/lsp --no-audit --no-fund --ignore-scripts`, or set \
                     KILN_YAML_LANGUAGE_SERVER to the server's executable. npm ci failed:\n\
                     {failure}"
                );
            }
        }
        program
    })
}

/// The output of `kiln schema` (both forms), made once.
fn schema() -> &'static str {
    static SCHEMA: OnceLock<String> = OnceLock::new();
    SCHEMA.get_or_init(|| run(&["schema"]).ok().to_string())
}

/// A fresh directory holding `kiln.schema.json`.
fn workspace() -> tempfile::TempDir {
    // Not a dot-directory: ylS matches `yaml.schemas` globs against the whole path with
    // picomatch, whose `**` skips dot-directories (`FilePatternAssociation`,
    // `yamlSchemaService.ts`).
    let dir = tempfile::Builder::new()
        .prefix("kiln-editor-")
        .tempdir()
        .expect("temp dir");
    std::fs::write(dir.path().join("kiln.schema.json"), schema()).expect("write the schema");
    dir
}

/// The names `kiln definitions list` prints in its section headed `heading`.
fn listed(heading: &str) -> Vec<String> {
    let out = run(&["definitions", "list"]);
    let names: Vec<String> = out
        .ok()
        .lines()
        .skip_while(|line| !line.starts_with(heading))
        .skip(1)
        .take_while(|line| line.starts_with(' '))
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(!names.is_empty(), "no {heading} in:\n{}", out.stdout);
    names
}

/// A file from `examples/`.
fn example(path: &str) -> String {
    std::fs::read_to_string(repo().join("examples").join(path)).expect("read the example")
}

/// `text` with one edit, which must apply.
#[track_caller]
fn edited(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "no {from:?} in:\n{text}");
    text.replacen(from, to, 1)
}

/// The 0-based line of the first line of `text` containing `needle`.
#[track_caller]
fn line_of(text: &str, needle: &str) -> u64 {
    let index = text.find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
    text[..index].matches('\n').count() as u64
}

/// `marked` without its cursors, and the cursors' LSP positions (UTF-16 columns).
fn cursors(marked: &str) -> (String, Vec<Value>) {
    let pieces: Vec<&str> = marked.split(CURSOR).collect();
    let text = pieces.concat();
    let mut at = Vec::new();
    let mut before = String::new();
    for piece in &pieces[..pieces.len() - 1] {
        before.push_str(piece);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        at.push(json!({
            "line": before.matches('\n').count(),
            "character": before[line_start..].encode_utf16().count(),
        }));
    }
    (text, at)
}

/// The `file:` URI of an absolute path.
fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_str().expect("UTF-8 path").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'.' | b'_' | b'~' => {
                uri.push(byte as char)
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

/// Whether `message` has `word` as a whole word (`replica`, not `replicas`).
fn names(message: &str, word: &str) -> bool {
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .any(|token| token == word)
}

/// A running yaml-language-server and what it said.
struct Server {
    child: Child,
    stdin: ChildStdin,
    inbox: Receiver<Value>,
    next_id: u64,
    /// The `yaml` settings section, the answer whenever the server pulls its configuration.
    settings: Value,
    configured: bool,
    /// Every `publishDiagnostics` per document URI, oldest first.
    published: HashMap<String, Vec<Vec<Value>>>,
    stderr: tempfile::NamedTempFile,
}

impl Server {
    /// Starts the server in `root` with `yaml` settings `extra` (beside the ones that keep it
    /// offline) and waits until it has pulled them.
    fn start(root: &Path, extra: Value) -> Server {
        let mut settings = json!({
            "schemaStore": {"enable": false},
            "kubernetesCRDStore": {"enable": false},
        });
        settings
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().expect("settings object").clone());
        let stderr = tempfile::NamedTempFile::new().expect("temp file");
        let mut child = Command::new(server_program())
            .arg("--stdio")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("reopen"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server_program().display()));
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (send, inbox) = mpsc::channel();
        // Ends at EOF or a framing error; the dropped sender then fails the waiting test.
        std::thread::spawn(move || {
            while let Some(message) = read_message(&mut stdout) {
                if send.send(message).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            stdin,
            inbox,
            next_id: 1,
            settings,
            configured: false,
            published: HashMap::new(),
            stderr,
        };
        let uri = file_uri(root);
        let init = server.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "rootUri": uri,
                "workspaceFolders": [{"uri": uri, "name": "work"}],
                "capabilities": {
                    "workspace": {"configuration": true, "workspaceFolders": true},
                    "textDocument": {
                        "completion": {"completionItem": {"documentationFormat": ["markdown"]}},
                        "publishDiagnostics": {},
                    },
                },
            }),
        );
        assert!(
            init["capabilities"]["completionProvider"].is_object(),
            "{init}"
        );
        server.notify("initialized", json!({}));
        let deadline = Instant::now() + DEADLINE;
        while !server.configured {
            server.expect(deadline, "workspace/configuration request");
        }
        server
    }

    fn send(&mut self, message: Value) {
        let body = serde_json::to_vec(&message).expect("JSON");
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len())
            .and_then(|()| self.stdin.write_all(&body))
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("writing to the server: {e}{}", self.log()));
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns its result, handling whatever comes before it.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + DEADLINE;
        loop {
            let message = self.expect(deadline, method);
            if message.get("method").is_none() && message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
        }
    }

    /// The next message, or `None` at `deadline`: answers a request of the server and
    /// records diagnostics.
    fn receive(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = match self.inbox.recv_timeout(left) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the server closed its output{}", self.log())
            }
        };
        let method = message["method"].as_str().unwrap_or_default();
        if let Some(id) = message.get("id").filter(|_| !method.is_empty()) {
            // Editors answer every request; ylS waits for some answers forever.
            let result = if method == "workspace/configuration" {
                self.configured = true;
                let items = message["params"]["items"].as_array().expect("items");
                let sections = items.iter().map(|item| match item["section"].as_str() {
                    Some("yaml") => self.settings.clone(),
                    _ => Value::Null,
                });
                Value::Array(sections.collect())
            } else {
                Value::Null
            };
            let id = id.clone();
            self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
        } else if method == "textDocument/publishDiagnostics" {
            let params = &message["params"];
            let uri = params["uri"].as_str().expect("uri").to_string();
            let diagnostics = params["diagnostics"].as_array().expect("array").clone();
            self.published.entry(uri).or_default().push(diagnostics);
        }
        Some(message)
    }

    /// The next message; fails at `deadline`, saying what was `awaited`.
    fn expect(&mut self, deadline: Instant, awaited: &str) -> Value {
        self.receive(deadline)
            .unwrap_or_else(|| panic!("no {awaited} in {DEADLINE:?}{}", self.log()))
    }

    /// Writes `text` to `path` and opens it, as an editor does; returns its URI.
    fn open(&mut self, path: &Path, text: &str) -> String {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create the directory");
        std::fs::write(path, text).expect("write the document");
        let uri = file_uri(path);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
        uri
    }

    /// The first diagnostics published for `uri` (ylS validates once per change).
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(first) = self.published.get(uri).and_then(|all| all.first()) {
                return first.clone();
            }
            self.expect(deadline, &format!("diagnostics for {uri}"));
        }
    }

    /// The diagnostic at `line` of `uri` whose message names `word`; fails when none comes.
    fn diagnostic_naming(&mut self, uri: &str, word: &str, line: u64) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let found = self
                .published
                .get(uri)
                .into_iter()
                .flatten()
                .flatten()
                .find(|d| {
                    d["range"]["start"]["line"] == line
                        && names(d["message"].as_str().unwrap(), word)
                });
            if let Some(found) = found {
                return found.clone();
            }
            if self.receive(deadline).is_none() {
                let published = self.published.get(uri).into_iter().flatten().flatten();
                let published: Vec<Value> = published.cloned().collect();
                panic!(
                    "no diagnostic naming {word:?} at line {line} of {uri} in {DEADLINE:?}; \
                     published:\n{}{}",
                    summary(&published),
                    self.log()
                );
            }
        }
    }

    /// The labels completion offers at `position` of `uri`.
    fn completion(&mut self, uri: &str, position: &Value) -> Vec<String> {
        let result = self.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": position}),
        );
        let items = result.get("items").unwrap_or(&result);
        let items = items
            .as_array()
            .unwrap_or_else(|| panic!("completion: {result}"));
        items
            .iter()
            .map(|item| item["label"].as_str().expect("label").to_string())
            .collect()
    }

    /// What the server wrote on stderr, for a failure message.
    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.stderr.path()).unwrap_or_default();
        format!("\nyaml-language-server's stderr:\n{text}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Diagnostics as `line: message (source)` lines, for failure messages.
fn summary(diagnostics: &[Value]) -> String {
    let lines = diagnostics.iter().map(|d| {
        let line = &d["range"]["start"]["line"];
        format!("{line}: {} ({})\n", d["message"], d["source"])
    });
    lines.collect()
}

/// Reads one `Content-Length`-framed message; `None` at EOF or on a malformed frame.
fn read_message(input: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut header = String::new();
        if input.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    input.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

#[test]
fn application_by_modeline_flags_a_misspelt_parameter_and_accepts_the_example() {
    let dir = workspace();
    let mut server = Server::start(dir.path(), json!({}));
    let shop = format!("{MODELINE}{}", example("shop/app.yaml"));
    let typo = edited(&shop, "replicas: 3", "replica: 3");
    let valid = server.open(&dir.path().join("app.yaml"), &shop);
    let invalid = server.open(&dir.path().join("typo.yaml"), &typo);

    server.diagnostic_naming(&invalid, "replica", line_of(&typo, "replica: 3"));
    let diagnostics = server.diagnostics(&valid);
    assert!(
        diagnostics.is_empty(),
        "examples/shop:\n{}",
        summary(&diagnostics)
    );
}

#[test]
fn application_completion_offers_every_trait_and_a_traits_parameters() {
    let dir = workspace();
    let mut server = Server::start(dir.path(), json!({}));
    let (text, at) = cursors(&format!(
        "{MODELINE}apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
spec:
  components:
    - name: frontend
      type: webservice
      properties:
        image: nginx
      traits:
        - type: scaler
          properties:
            {CURSOR}
        - type: {CURSOR}
"
    ));
    let uri = server.open(&dir.path().join("app.yaml"), &text);

    let parameters = server.completion(&uri, &at[0]);
    let replicas = parameters.iter().any(|label| label == "replicas");
    assert!(replicas, "scaler's parameters offered: {parameters:?}");
    let traits = server.completion(&uri, &at[1]);
    let missing: Vec<String> = listed("Traits:")
        .into_iter()
        .filter(|name| !traits.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "not offered: {missing:?}; offered: {traits:?}"
    );
}

#[test]
fn unknown_component_type_gets_the_valid_types() {
    let dir = workspace();
    let mut server = Server::start(dir.path(), json!({}));
    let shop = format!("{MODELINE}{}", example("shop/app.yaml"));
    let typo = edited(&shop, "type: webservice", "type: webservce");
    let uri = server.open(&dir.path().join("app.yaml"), &typo);

    let diagnostic = server.diagnostic_naming(&uri, "webservice", line_of(&typo, "webservce"));
    let message = diagnostic["message"].as_str().unwrap();
    for workload in listed("Workloads") {
        assert!(names(message, &workload), "{workload} not in {message:?}");
    }
}

#[test]
fn appfile_by_modeline_flags_a_misspelt_trait_parameter_and_accepts_the_example() {
    let dir = workspace();
    let mut server = Server::start(dir.path(), json!({}));
    let hello = format!("{MODELINE}{}", example("hello/vela.yaml"));
    let typo = edited(&hello, "replicas: 2", "replica: 2");
    let valid = server.open(&dir.path().join("vela.yaml"), &hello);
    let invalid = server.open(&dir.path().join("typo.yaml"), &typo);

    server.diagnostic_naming(&invalid, "replica", line_of(&typo, "replica: 2"));
    let diagnostics = server.diagnostics(&valid);
    assert!(
        diagnostics.is_empty(),
        "examples/hello:\n{}",
        summary(&diagnostics)
    );
}

#[test]
fn yaml_schemas_setting_associates_both_forms() {
    let dir = workspace();
    // The README's VS Code setting, as the server pulls it.
    let mut server = Server::start(
        dir.path(),
        json!({"schemas": {"./kiln.schema.json": ["vela.yaml", "**/app.yaml"]}}),
    );
    let shop = edited(&example("shop/app.yaml"), "replicas: 3", "replica: 3");
    let hello = edited(&example("hello/vela.yaml"), "replicas: 2", "replica: 2");
    let application = server.open(&dir.path().join("shop/app.yaml"), &shop);
    let appfile = server.open(&dir.path().join("vela.yaml"), &hello);

    server.diagnostic_naming(&application, "replica", line_of(&shop, "replica: 3"));
    server.diagnostic_naming(&appfile, "replica", line_of(&hello, "replica: 2"));
}
