//! A trait that breaks the rules on request, to prove the sandbox holds: each `mode` tries
//! one thing a definition must not get away with. Modes that the sandbox neutralises
//! (rather than stops) render a ConfigMap saying what the guest saw.

use kiln_sdk::prelude::*;

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// What to try:
    /// - `panic`: panics;
    /// - `loop`: never returns;
    /// - `memory`: allocates until it is stopped;
    /// - `stack`: recurses until it is stopped;
    /// - `output`: returns a 32 MiB object;
    /// - `objects`: returns `OBJECTS` tiny ConfigMaps;
    /// - `no-kind`: returns an object without `kind`;
    /// - `clock`: reads the wall clock, the monotonic clock and randomness twice each;
    /// - `file`: reads `/etc/passwd` and lists `/`;
    /// - `env`: lists the environment variables and arguments;
    /// - `socket`: connects over TCP to `address` and binds a UDP socket;
    /// - `sleep`: sleeps `seconds` (default an hour), then returns nothing;
    /// - `log`: writes `kib` KiB (default 1 MiB) to stderr, then returns nothing;
    /// - `log-panic`: the same, then panics;
    /// - `shadow-stack`: recurses with large frames until Rust's stack (in linear memory)
    ///   overflows;
    /// - `state`: keeps a counter and the component names it has seen in static memory,
    ///   and reports them (a definition that is not a pure function);
    /// - `hold`: allocates `kib` KiB and keeps it for the instance's life;
    /// - `ok`: returns nothing.
    mode: String,
    /// `socket`: where to connect (default `127.0.0.1:9`).
    #[serde(default)]
    address: Option<String>,
    /// `sleep`: how long.
    #[serde(default)]
    seconds: Option<u64>,
    /// `log`, `log-panic`, `hold`: how much.
    #[serde(default)]
    kib: Option<usize>,
}

/// What `state` remembers between calls of one instance.
static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
/// What `hold` keeps.
static HELD: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

/// Recursion whose frames live on Rust's stack in linear memory (an array whose address
/// escapes), not on the wasm stack.
fn deep(n: u64) -> u64 {
    let mut frame = [0u8; 4096];
    frame[(n % 4096) as usize] = n as u8;
    std::hint::black_box(&mut frame);
    if std::hint::black_box(n) == u64::MAX {
        return 0;
    }
    u64::from(frame[0]) + deep(n + 1)
}

/// Writes `kib` KiB of log lines to stderr.
fn log(kib: usize) {
    let line = "x".repeat(1023);
    for i in 0..kib {
        eprintln!("{line}");
        std::hint::black_box(i);
    }
}

/// How many objects `objects` returns: ten times the host's default limit per call, yet
/// few enough (under 5 MiB of JSON, about 50 MiB of guest memory, well under a second) to
/// stay within the default output, memory and time limits, so that the count is what the
/// host refuses. Millions would hit the output size limit first.
const OBJECTS: usize = 100_000;

fn recurse(n: u64) -> u64 {
    // black_box keeps the optimiser from turning this into a loop.
    if std::hint::black_box(n) == u64::MAX {
        return 0;
    }
    1 + recurse(n + 1)
}

/// A ConfigMap named by the host after `name`, holding `data`.
fn report(name: &str, data: Value) -> Result<TraitOutput> {
    Ok(TraitOutput::new().with_output(
        name,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": data}),
    ))
}

/// `ok: ...` or `error: ...`.
fn outcome<T>(result: std::io::Result<T>, ok: impl FnOnce(T) -> String) -> String {
    match result {
        Ok(value) => format!("ok: {}", ok(value)),
        Err(e) => format!("error: {e}"),
    }
}

unsafe extern "C" {
    /// wasi-libc's `getentropy`, which asks WASI's `random` interface for bytes.
    fn getentropy(buffer: *mut u8, len: usize) -> i32;
}

/// Eight bytes of randomness from WASI, as hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    // SAFETY: the buffer is valid for `bytes.len()` bytes (getentropy's limit is 256).
    let rc = unsafe { getentropy(bytes.as_mut_ptr(), bytes.len()) };
    if rc != 0 {
        return format!("error: getentropy returned {rc}");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn wall_nanos() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
        .to_string()
}

fn misbehave(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    match params.mode.as_str() {
        "panic" => panic!("boom: misbehave was asked to panic"),
        "loop" => loop {
            std::hint::black_box(0);
        },
        "memory" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1; 16 * 1024 * 1024]);
                std::hint::black_box(&hoard);
            }
        }
        "stack" => Ok(TraitOutput::new().with_output("x", json!(recurse(0)))),
        "output" => Ok(TraitOutput::new().with_output(
            "big",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "y".repeat(32 << 20)}}),
        )),
        "objects" => {
            let mut out = TraitOutput::new();
            for i in 0..OBJECTS {
                out = out.with_output(
                    format!("o{i}"),
                    json!({"apiVersion": "v1", "kind": "ConfigMap"}),
                );
            }
            Ok(out)
        }
        "no-kind" => Ok(TraitOutput::new().with_output("thing", json!({"apiVersion": "v1"}))),
        "clock" => {
            // The sandbox pins clocks and randomness: each pair is read within one call,
            // expecting a change.
            let now = wall_nanos();
            let start = std::time::Instant::now();
            let random = random_hex();
            std::hint::black_box(recurse_a_little());
            let now_again = wall_nanos();
            let elapsed = start.elapsed().as_nanos();
            let random_again = random_hex();
            report(
                "clock",
                json!({
                    "now": now,
                    "now-again": now_again,
                    "elapsed": elapsed.to_string(),
                    "random": random,
                    "random-again": random_again,
                }),
            )
        }
        "file" => {
            let read = outcome(std::fs::read_to_string("/etc/passwd"), |text| {
                format!("{} bytes: {text}", text.len())
            });
            let list = outcome(std::fs::read_dir("/"), |entries| {
                let names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.join(",")
            });
            report("file", json!({"read": read, "list": list}))
        }
        "env" => {
            let names: Vec<String> = std::env::vars_os()
                .map(|(name, _)| name.to_string_lossy().into_owned())
                .collect();
            let args: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            report(
                "env",
                json!({
                    "count": names.len().to_string(),
                    "names": names.join(","),
                    "args": args.len().to_string(),
                }),
            )
        }
        "socket" => {
            let address = params.address.as_deref().unwrap_or("127.0.0.1:9");
            let tcp = outcome(std::net::TcpStream::connect(address), |stream| {
                format!("connected to {:?}", stream.peer_addr())
            });
            let udp = outcome(std::net::UdpSocket::bind("0.0.0.0:0"), |socket| {
                format!("bound {:?}", socket.local_addr())
            });
            let listen = outcome(std::net::TcpListener::bind("127.0.0.1:0"), |listener| {
                format!("listening on {:?}", listener.local_addr())
            });
            report("socket", json!({"tcp": tcp, "udp": udp, "listen": listen}))
        }
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_secs(
                params.seconds.unwrap_or(3600),
            ));
            Ok(TraitOutput::new())
        }
        "log" => {
            log(params.kib.unwrap_or(1024));
            Ok(TraitOutput::new())
        }
        "log-panic" => {
            log(params.kib.unwrap_or(1024));
            panic!("gave up after logging")
        }
        "shadow-stack" => Ok(TraitOutput::new().with_output("x", json!(deep(0)))),
        "state" => {
            let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
            seen.push(ctx.component_name.clone());
            report(
                "state",
                json!({"calls": seen.len().to_string(), "seen": seen.join(",")}),
            )
        }
        "hold" => {
            let kib = params.kib.unwrap_or(1024);
            HELD.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(vec![1; kib * 1024]);
            Ok(TraitOutput::new())
        }
        "ok" => Ok(TraitOutput::new()),
        other => Err(Error::field("mode", format!("unknown mode {other:?}"))),
    }
}

/// Some work between two readings, so that a real clock would move.
fn recurse_a_little() -> u64 {
    (0..100_000u64).map(std::hint::black_box).sum()
}

kiln_sdk::export_trait! {
    name: "misbehave",
    description: "Breaks the sandbox's rules on request (tests only).",
    conflicts_with: ["scaler"],
    render: misbehave,
}
