use super::*;

#[test]
fn a_panic_reads_as_its_message() {
    let stderr = b"lots of logging\nthread '<unnamed>' panicked at src/lib.rs:97:20:\nboom: asked to panic\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
    assert_eq!(last_words(stderr).as_deref(), Some("boom: asked to panic"));
    let old = b"thread 'main' panicked at 'boom', src/lib.rs:1:1\n";
    assert_eq!(last_words(old).as_deref(), Some("'boom', src/lib.rs:1:1"));
    assert_eq!(last_words(b"just noise\n\n").as_deref(), Some("just noise"));
    assert_eq!(last_words(b"  \n"), None);
    let long = vec![b'x'; 5000];
    assert_eq!(
        last_words(&long).unwrap().chars().count(),
        MESSAGE_CHARS + 3
    );
}

#[test]
fn every_trap_is_one_line_of_words() {
    for trap in [
        Trap::StackOverflow,
        Trap::MemoryOutOfBounds,
        Trap::UnreachableCodeReached,
        Trap::IntegerDivisionByZero,
        Trap::InvalidChar,
    ] {
        let text = words(trap);
        assert!(!text.contains('\n') && !text.is_empty(), "{trap:?}");
    }
}

#[test]
fn writes_quantities_for_people() {
    assert_eq!(quantity(500_000_000), "500M");
    assert_eq!(quantity(2_000_000_000), "2G");
    assert_eq!(quantity(1_500), "1500");
    assert_eq!(quantity(12_345), "12345");
    assert_eq!(quantity(7_000), "7k");
}
