//! Starting the binary: flags that make no sense and a port in use are refused with a message
//! that says what to do, before anything is served.

use chat_tokio_stream::server::Backend;

use crate::util::{binary, ChildServer};

/// Runs the binary with `args`; returns its exit code and what it wrote to stderr.
fn refused(backend: Backend, args: &[&str]) -> (Option<i32>, String) {
    let output = binary(backend, args).output().expect("run the binary");
    assert!(!output.status.success(), "{args:?} must be refused");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A zero where at least one is needed, or a negative number, is refused naming the flag and
/// the allowed range.
fn flags_that_make_no_sense_are_refused(backend: Backend) {
    for (flag, value, why) in [
        ("--max-outbuf", "0", "must be at least 1"),
        ("--max-clients", "0", "must be at least 1"),
        ("--max-rooms", "0", "must be at least 1"),
        ("--history", "-1", "must be at least 0"),
        ("--rate-limit", "-5", "must be at least 0"),
    ] {
        let (code, log) = refused(backend, &[flag, value]);
        assert_eq!(code, Some(2), "a usage error: {log}");
        assert!(
            log.contains(flag) && log.contains(why),
            "{flag} {value}: {log}"
        );
    }
}

/// A port already in use is named, with the flag that chooses another.
fn a_port_in_use_is_named_with_what_to_do(backend: Backend) {
    let first = ChildServer::spawn(backend, &[]);
    let taken = first.addr.to_string();
    let output = crate::util::binary_on(backend, &taken, &[])
        .output()
        .expect("run the binary");
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains(&taken) && log.contains("--addr"), "{log}");
}

backend_tests!(
    flags_that_make_no_sense_are_refused,
    a_port_in_use_is_named_with_what_to_do,
);
