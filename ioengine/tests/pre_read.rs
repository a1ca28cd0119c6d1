//! `pre_read=1` cannot work through a gfapi engine (fio pre-reads with lseek/read on a
//! kernel descriptor); the job fails as with fio's own gfapi engines, and the engine's
//! output says why.

mod common;

use common::*;

#[test]
fn pre_read_fails_naming_the_reason() {
    let vol = volume();
    let dir = tempdir("preread");
    let r = fio(
        &dir.0,
        &args(&[
            &format!("--volume={}", vol.name()),
            "--logfile=/dev/null",
            "--name=pr",
            "--rw=read",
            "--bs=16k",
            "--size=256k",
            "--pre_read=1",
        ]),
    );
    assert!(!r.ok(), "pre_read unexpectedly worked:\n{}", r.text());
    let text = r.text();
    assert!(
        text.contains("glusterrs: pr: pre_read=1 cannot work with a gfapi engine"),
        "{text}"
    );
    assert!(text.contains("failed to lseek pre-read file"), "{text}");
}
