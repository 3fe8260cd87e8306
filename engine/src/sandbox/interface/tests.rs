use super::*;

#[test]
fn allows_kiln_types_and_wasi_0_2_only() {
    assert!(import_allowed("kiln:definition/types@0.1.0"));
    assert!(import_allowed("wasi:io/streams@0.2.6"));
    assert!(import_allowed("wasi:cli/environment@0.2.0"));
    assert!(!import_allowed("wasi:io/streams@0.3.0"));
    assert!(!import_allowed("wasi:http/outgoing-handler@0.2.0"));
    assert!(!import_allowed("evil:host/backdoor@0.1.0"));
    assert!(!import_allowed("wasi:io@0.2.0"));
    assert!(!import_allowed("kiln:definition/types@0.2.0"));
    assert!(!import_allowed("wasi:iox/streams@0.2.0"));
}

#[test]
fn refuses_what_is_not_a_component_before_compiling() {
    // A core module: magic, version 1.
    let core = b"\0asm\x01\0\0\0";
    assert!(
        check_imports(core)
            .unwrap_err()
            .contains("core WebAssembly module")
    );
    assert_eq!(
        check_imports(b"garbage").unwrap_err(),
        "not a WebAssembly file (it does not start with \\0asm)"
    );
    let truncated = check_imports(b"\0asm\x0d\0\x01\0\x01").unwrap_err();
    assert!(
        truncated.starts_with("not a valid WebAssembly component: "),
        "{truncated}"
    );
    assert!(!truncated.contains('\n'), "{truncated}");
}
