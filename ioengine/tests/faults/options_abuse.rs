// SPDX-License-Identifier: GPL-2.0-or-later
//! Option abuse: every engine option given bad, extreme or missing values
//! (a table of `(args, expect)` rows per group), on the command line and in
//! job files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::common::{self, args, tempdir};
use crate::fault_runner::{Case, Log};
use crate::fio::*;
use crate::volumes::*;
use crate::{FAST, NETWORK};

/// Option abuse.
pub fn cases() -> Vec<Case> {
    vec![
        Case::quick("options_volume_brick_servers", abuse_volume_brick),
        Case::quick("options_numbers_and_choices", abuse_numbers_choices),
        Case::quick("options_files_and_paths", abuse_files_paths),
        Case::quick("options_posix_rpc_bypass", abuse_posix),
        Case::quick("options_depth_sizes_offsets_like_fio", abuse_sizes_offsets),
        Case::quick("options_every_engine_option_is_covered", abuse_coverage),
        Case::quick(
            "options_without_a_value_cli_and_job_file",
            abuse_missing_values,
        ),
    ]
}

/// What an abused option must lead to.
#[derive(Clone, Copy)]
enum Expect {
    /// Non-zero exit, output contains the text.
    Fails(&'static str),
    /// Runs normally.
    Runs,
    /// fio's own parser prints the text and carries on with the default
    /// (negative numbers for options with a minimum): exit status not judged.
    Warns(&'static str),
}

use Expect::{Fails, Runs, Warns};

/// fio's own option parser refuses the value.
const PARSE: Expect = Fails("failed parsing");
/// fio's range check (or the engine's) refuses the value.
const RANGE: Expect = Fails("out of range");
/// Arguments that name the shared abuse volume.
const VOL: &[&str] = &["--volume={V}"];

/// Runs each `(args, expect)` with a small write job, `base` before each
/// item's args; `{V}` is replaced by the shared tmpfs volume's name, `{D}`
/// by the case's scratch directory.
fn abuse(log: &mut Log, base: &[&str], items: &[(&[&str], Expect)]) {
    let dir = tempdir("fault-abuse");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o755)).unwrap();
    let d = dir.0.display().to_string();
    for (extra, expect) in items {
        let extra: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let mut a = args(&["--name=abuse", "--rw=write", "--bs=4k", "--size=64k"]);
        let mut shown = Vec::new();
        for x in extra.iter() {
            let x = if x.contains("{V}") {
                x.replace("{V}", abuse_volume())
            } else {
                x.replace("{D}", &d)
            };
            shown.push(if x.len() > 60 {
                format!("{}…({} bytes)", &x[..40], x.len())
            } else {
                x.clone()
            });
            a.push(x);
        }
        let r = run_fio(&dir.0, &a);
        let what = shown.join(" ");
        let bound = if extra.iter().any(|x| x.contains(".invalid")) {
            NETWORK
        } else {
            FAST
        };
        match expect {
            Fails(needle) => expect_failure(log, &what, &r, &dir.0, bound, &[needle]),
            Runs => {
                expect_success(log, &what, &r, &dir.0);
                assert!(r.secs <= 10.0, "{what}: took {:.1} s", r.secs);
            }
            Warns(needle) => {
                log.say(format!("{what}: {}", r.summary()));
                log.check();
                assert_no_crash(&r, &dir.0);
                assert!(
                    r.text().contains(needle),
                    "{what}: no '{needle}':\n{}",
                    r.tail()
                );
            }
        }
    }
    assert!(
        !dir.0.join("pwned").exists(),
        "an option value was run as a command"
    );
}

fn abuse_volume_brick(log: &mut Log) {
    let long = format!("--volume={}", "v".repeat(5000));
    let long: &'static str = Box::leak(long.into_boxed_str());
    let cannot_connect = Fails("cannot connect");
    abuse(
        log,
        &[],
        &[
            (&[], Fails("no volume given")),
            (&["--volume="], Fails("failed parsing volume=")),
            (&["--volume=   "], Fails("no volume given")),
            (&["--volume=a/b"], cannot_connect),
            (&["--volume=$(touch {D}/pwned);x"], cannot_connect),
            (&[long], cannot_connect),
            (&["--volume=ünïcødé"], cannot_connect),
        ],
    );
    abuse(
        log,
        VOL,
        &[
            (&["--brick="], Fails("failed parsing brick=")),
            (&["--brick=,"], Fails("names no server")),
            (&["--brick=:24007"], Fails("empty host")),
            (&["--brick=[::1"], Fails("missing ']'")),
            (&["--brick=localhost:0"], Fails("bad port")),
            (&["--brick=localhost:99999"], Fails("bad port")),
            (&["--brick=localhost:x"], Fails("bad port")),
            (&["--brick=no.such.host.invalid"], Fails("cannot resolve")),
            (&["--servers=localhost,localhost:24007"], Runs),
            (&["--brick=127.0.0.1"], Runs),
        ],
    );
}

fn abuse_numbers_choices(log: &mut Log) {
    abuse(
        log,
        VOL,
        &[
            (&["--single-instance=2"], RANGE),
            (&["--single-instance=yes"], PARSE),
            (&["--single-instance="], PARSE),
            (&["--single-instance=0"], Runs),
            (&["--port=0"], RANGE),
            (&["--port=65536"], RANGE),
            (&["--port=abc"], PARSE),
            (&["--port="], PARSE),
            (&["--port=-1"], Warns("out of range")),
            (&["--transport="], PARSE),
            (&["--transport=TCP"], PARSE),
            (&["--transport=carrier-pigeon"], PARSE),
            (&["--transport=unix"], Fails("needs brick=")),
            (&["--loglevel=11"], PARSE),
            (&["--loglevel=bogus"], PARSE),
            (&["--loglevel="], PARSE),
            (&["--loglevel=trace"], Runs),
            (&["--io_mode="], PARSE),
            (&["--io_mode=SYNC"], PARSE),
            (&["--io_mode=sync"], Runs),
            (&["--io_timeout=-1"], Fails("io_timeout=-1 is out of range")),
            (&["--io_timeout=1014"], RANGE),
            (&["--io_timeout=abc"], PARSE),
            (&["--io_timeout="], PARSE),
            (&["--io_timeout=0"], Runs),
            (&["--io_timeout=1013"], Runs),
            (&["--client_io_threads=2"], RANGE),
            (&["--client_io_threads=yes"], PARSE),
            (&["--client_io_threads="], PARSE),
            (&["--client_io_threads=1"], Runs),
            (&["--write_aggregation="], PARSE),
            (&["--write_aggregation=OFF"], PARSE),
            (&["--write_aggregation=maybe"], PARSE),
            (&["--write_aggregation=off"], Runs),
            (&["--write_aggregation=on"], Runs),
        ],
    );
}

fn abuse_files_paths(log: &mut Log) {
    abuse(
        log,
        VOL,
        &[
            (&["--volfile="], Fails("failed parsing volfile=")),
            (&["--logfile="], Fails("failed parsing logfile=")),
            (&["--logfile=/"], Fails("logging")),
            // gluster creates the log file's missing directories.
            (&["--logfile={D}/new/dir/gl.log"], Runs),
            (&["--filename=/"], Fails("is a directory")),
            (&["--filename=gluster:///"], Fails("missing file path")),
            (&["--filename=gluster://h:0/v/f"], Fails("bad port")),
            (&["--filename=gluster+unix://h/v/f"], Fails("takes no host")),
            (
                &["--filename=gluster+foo://h/v/f"],
                Fails("unknown URL scheme"),
            ),
            (&["--filename=a/../../escape"], Runs),
            (&["--filename=dir with space/f;g"], Runs),
            (&["--nrfiles=0"], Runs),
            (&["--nrfiles=50", "--filesize=4k"], Runs),
        ],
    );
    let url = "--filename=gluster://localhost/{V}/u";
    abuse(
        log,
        &[],
        &[
            (&[url], Runs),
            (&["--volume=other", url], Fails("conflicts")),
        ],
    );
}

fn abuse_posix(log: &mut Log) {
    abuse(
        log,
        &[],
        &[
            (&["--posix="], Fails("failed parsing posix=")),
            (&["--posix={D}/no/such/brick"], Fails("No such file")),
            (&["--posix=relative/dir"], Fails("cannot open the brick")),
        ],
    );
    abuse(
        log,
        VOL,
        &[
            (&["--posix_io_threads=lots"], Fails("need posix=DIR")),
            (&["--posix_pool=2"], Fails("need posix=DIR")),
            (&["--posix_read_only=1"], Fails("need posix=DIR")),
            (&["--posix_force=2"], RANGE),
        ],
    );
    abuse(
        log,
        &["--posix={D}"],
        &[
            (&["--brick=localhost"], Fails("exclude each other")),
            (&["--posix_io_threads=65"], Fails("posix_io_threads")),
            (&["--posix_io_threads=-1"], Fails("posix_io_threads")),
            (&["--posix_pool=257"], Fails("posix_pool=257")),
            (&["--posix_pool=some"], Fails("posix_pool=some")),
            (
                &["--posix_pool=2", "--posix_io_threads=2"],
                Fails("exclude each other"),
            ),
            (
                &["--posix_pool=2", "--io_mode=sync"],
                Fails("io_mode=async"),
            ),
            (&["--posix_pool=2", "--iodepth=4"], Runs),
        ],
    );
}

/// Engine options the abuse cases above exercise (missing, empty and odd
/// values each). A new option must join them: this case fails until it does.
const ABUSED_OPTIONS: &[&str] = common::ENGINE_OPTIONS;

/// Every engine option given with no value: `--opt` on the command line and
/// a bare `opt` line in a job file.
fn abuse_missing_values(log: &mut Log) {
    let dir = tempdir("fault-novalue");
    let vname = abuse_volume();
    for opt in ABUSED_OPTIONS {
        let r = run_fio(
            &dir.0,
            &args(&[
                "--name=nv",
                "--rw=write",
                "--size=64k",
                &format!("--volume={vname}"),
                &format!("--{opt}"),
            ]),
        );
        expect_failure(
            log,
            &format!("--{opt}"),
            &r,
            &dir.0,
            FAST,
            &["requires an argument|failed parsing"],
        );
        let job = dir.0.join("nv.fio");
        fs::write(
            &job,
            format!(
                "[nv]\nioengine=external:{}\nrw=write\nsize=64k\nvolume={vname}\n{opt}\n",
                common::engine_so().display()
            ),
        )
        .unwrap();
        let r = spawn(&dir.0, false, As::Root, &[job.display().to_string()])
            .wait(Duration::from_secs(60));
        expect_failure(
            log,
            &format!("job file line '{opt}'"),
            &r,
            &dir.0,
            FAST,
            &["requires an argument|failed parsing"],
        );
    }
}

fn abuse_coverage(log: &mut Log) {
    let out = Command::new("fio")
        .arg(format!("--enghelp={}", common::engine_so().display()))
        .output()
        .expect("fio --enghelp");
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim()))
        .filter(|n| !n.is_empty() && !n.contains(' '))
        .collect();
    let missing: Vec<&&str> = names
        .iter()
        .filter(|n| !ABUSED_OPTIONS.contains(n))
        .collect();
    log.say(format!(
        "fio --enghelp lists {} options: {}; not abused by this suite: {missing:?}",
        names.len(),
        names.join(" ")
    ));
    log.check();
    assert!(names.len() >= 10, "enghelp: {text}");
    assert!(
        missing.is_empty(),
        "options without abuse cases: {missing:?}"
    );
}

/// Size and offset abuse, judged against fio's own engines on a local file
/// of the same size: the engine must fail where they fail and run where
/// they run, never crash.
fn abuse_sizes_offsets(log: &mut Log) {
    let vname = abuse_volume();
    let dir = tempdir("fault-sizes");
    let local = tempdir("fault-sizes-local");
    // A 64 KiB file on both sides.
    let r = run_fio(
        &dir.0,
        &args(&[
            &format!("--volume={vname}"),
            "--name=small",
            "--rw=write",
            "--bs=4k",
            "--size=64k",
        ]),
    );
    assert!(r.ok(), "{}", r.tail());
    fs::write(local.0.join("small.0.0"), vec![7u8; 64 << 10]).unwrap();
    let cases: &[(&str, &[&str])] = &[
        (
            "iodepth=65536",
            &["--rw=randread", "--bs=4k", "--size=64k", "--iodepth=65536"],
        ),
        (
            "iodepth=0",
            &["--rw=randread", "--bs=4k", "--size=64k", "--iodepth=0"],
        ),
        (
            "iodepth=4294967296",
            &[
                "--rw=randread",
                "--bs=4k",
                "--size=64k",
                "--iodepth=4294967296",
            ],
        ),
        (
            "bs=1m > 64 KiB file, readonly",
            &["--rw=read", "--bs=1m", "--readonly"],
        ),
        ("bs=1m > size=64k", &["--rw=read", "--bs=1m", "--size=64k"]),
        ("bs=0", &["--rw=read", "--bs=0", "--size=64k"]),
        ("size=1", &["--rw=write", "--bs=4k", "--size=1"]),
        (
            "offset=10g, no size, readonly",
            &["--rw=read", "--offset=10g", "--readonly"],
        ),
        (
            "offset=10g size=64k readonly (async)",
            &[
                "--rw=read",
                "--offset=10g",
                "--size=64k",
                "--readonly",
                "--iodepth=4",
            ],
        ),
        (
            "offset=1m size=64k readonly, sync",
            &[
                "--rw=read",
                "--offset=1m",
                "--size=64k",
                "--readonly",
                "SYNC",
            ],
        ),
        (
            "offset=32m write past the end",
            &[
                "--rw=write",
                "--offset=32m",
                "--size=64k",
                "--fallocate=none",
            ],
        ),
        (
            "offset_increment past the end, readonly",
            &[
                "--rw=read",
                "--size=64k",
                "--offset_increment=1g",
                "--numjobs=2",
                "--readonly",
                "--iodepth=2",
            ],
        ),
        ("numjobs=0", &["--rw=read", "--size=64k", "--numjobs=0"]),
    ];
    for (what, extra) in cases {
        let sync = extra.contains(&"SYNC");
        let extra: Vec<&str> = extra.iter().copied().filter(|x| *x != "SYNC").collect();
        let mut e = args(&[
            &format!("--volume={vname}"),
            "--name=small",
            "--filename=small.0.0",
        ]);
        e.extend(args(&extra));
        if sync {
            e.push("--io_mode=sync".into());
        }
        let ours = run_fio(&dir.0, &e);
        let mut l = args(&[
            "--name=small",
            &format!("--filename={}", local.0.join("small.0.0").display()),
            if sync {
                "--ioengine=psync"
            } else {
                "--ioengine=libaio"
            },
        ]);
        l.extend(args(&extra));
        let theirs = spawn(&local.0, false, As::Root, &l).wait(Duration::from_secs(120));
        // fio's own engine may have grown or rewritten the local file.
        fs::write(local.0.join("small.0.0"), vec![7u8; 64 << 10]).unwrap();
        log.say(format!(
            "{what}: engine {} | {} on a local file: {}",
            ours.summary(),
            if sync { "psync" } else { "libaio" },
            theirs.how()
        ));
        log.check();
        assert_no_crash(&ours, &dir.0);
        assert!(ours.secs < 10.0, "{what}: took {:.1} s", ours.secs);
        assert_eq!(
            ours.ok(),
            theirs.ok(),
            "{what}: engine {} but fio's own engine {}\nengine:\n{}\nlocal:\n{}",
            ours.how(),
            theirs.how(),
            ours.tail(),
            theirs.tail()
        );
        if !ours.ok() {
            assert!(
                !ours.key_lines().is_empty(),
                "{what}: failed without a message"
            );
        }
    }
}
