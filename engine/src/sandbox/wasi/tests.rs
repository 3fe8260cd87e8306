use super::*;

#[test]
fn the_tail_keeps_the_last_bytes_of_any_amount() {
    let tail = Tail::new(8);
    tail.push(b"0123");
    tail.push(b"456789");
    assert_eq!(tail.contents(), b"23456789");
    tail.push(&[b'x'; 100]);
    assert_eq!(tail.contents(), b"xxxxxxxx");
    tail.clear();
    tail.push(b"ab");
    assert_eq!(tail.contents(), b"ab");
}

#[test]
fn durations_read_as_seconds_or_milliseconds() {
    assert_eq!(seconds(Duration::from_secs(3600)), "3600 s");
    assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    assert_eq!(seconds(Duration::from_millis(250)), "250 ms");
}
