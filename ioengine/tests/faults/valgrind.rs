// SPDX-License-Identifier: GPL-2.0-or-later
//! valgrind: no definite leak of ours on the normal and the fault paths,
//! and a self-test of the leak classifier.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::common::{args, engine_arg, tempdir};
use crate::fault_runner::{Case, Log};
use crate::volumes::*;

/// valgrind.
pub fn cases() -> Vec<Case> {
    vec![
        Case::quick("valgrind_no_definite_leak", valgrind_quick),
        Case::quick("valgrind_classifier_self_test", valgrind_self_test),
        Case::long("valgrind_no_definite_leak_fault_paths", valgrind_long),
    ]
}

/// Functions that allocate on behalf of their caller.
fn is_allocator_frame(f: &str) -> bool {
    const ALLOC: &[&str] = &[
        "malloc",
        "calloc",
        "realloc",
        "memalign",
        "posix_memalign",
        "aligned_alloc",
        "strdup",
        "strndup",
        "__libc_alloc_buffer_allocate",
        "alloc_buffer_allocate",
        "operator new",
        "__rust_alloc",
        "__rust_alloc_zeroed",
        "__rust_realloc",
        "__rdl_alloc",
        "__rdl_realloc",
    ];
    let func = f.split(" (").next().unwrap_or(f).trim();
    ALLOC
        .iter()
        .any(|a| func == *a || func.starts_with(&format!("{a}@")))
        || func.starts_with("alloc::")
        || func.starts_with("<alloc::")
        || func.starts_with("core::")
        || func.starts_with("<core::")
        || func.starts_with("std::")
        || func.starts_with("<std::")
        || func.starts_with("hashbrown::")
        || func.starts_with("<hashbrown::")
}

fn is_our_frame(f: &str) -> bool {
    let func = f.split(" (").next().unwrap_or(f).trim();
    let ours = |s: &str| {
        s.starts_with("glusterrs::")
            || s.starts_with("gfapi::")
            || s.starts_with("glusterrs_cluster::")
    };
    ours(func)
        || ours(func.trim_start_matches('<'))
        || f.contains("(in ")
            && f.contains("libglusterrs.so")
            && !func.starts_with("__rust")
            && func != "???"
}

/// Definite-leak records of a valgrind log whose allocation was made by our
/// code: the first frame past the allocator (libc, Rust's alloc/std/core)
/// belongs to the engine or the gfapi crate.
fn our_definite_leaks(vg: &str) -> (usize, Vec<String>) {
    let mut all = 0;
    let mut ours = Vec::new();
    let mut cur: Option<Vec<String>> = None;
    for line in vg.lines() {
        let body = line.split_once("== ").map_or("", |(_, b)| b);
        if body.contains("are definitely lost in loss record") {
            cur = Some(vec![body.to_string()]);
            continue;
        }
        let Some(rec) = cur.as_mut() else { continue };
        let frame = body.trim();
        if let Some(f) = frame
            .strip_prefix("at 0x")
            .or_else(|| frame.strip_prefix("by 0x"))
        {
            rec.push(f.split_once(": ").map_or(f, |(_, r)| r).to_string());
        } else {
            // End of the record.
            let rec = cur.take().unwrap();
            all += 1;
            if rec[1..]
                .iter()
                .find(|f| !is_allocator_frame(f))
                .is_some_and(|f| is_our_frame(f))
            {
                ours.push(rec.join("\n      "));
            }
        }
    }
    (all, ours)
}

fn valgrind_available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn valgrind_run(log: &mut Log, what: &str, fio_args: &[String]) {
    let dir = tempdir("fault-vg");
    let mut a = args(&[
        "--leak-check=full",
        "--show-leak-kinds=definite",
        "--errors-for-leak-kinds=definite",
        "--num-callers=40",
        "--child-silent-after-fork=no",
        &format!("--log-file={}/vg.%p.log", dir.0.display()),
        "fio",
        &engine_arg(),
    ]);
    a.extend(fio_args.iter().cloned());
    let t = Instant::now();
    let out = Command::new("valgrind")
        .args(&a)
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .output()
        .expect("valgrind");
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.signal().is_none(),
        "{what}: fio under valgrind died: {:?}",
        out.status
    );
    let mut records = 0;
    let mut ours = Vec::new();
    let mut procs = 0;
    for e in fs::read_dir(&dir.0).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("vg.") {
            procs += 1;
            let (n, o) = our_definite_leaks(&fs::read_to_string(e.path()).unwrap_or_default());
            records += n;
            ours.extend(o);
        }
    }
    log.say(format!(
        "{what}: fio exit {:?} under valgrind in {secs:.0} s, {procs} process(es), {records} \
         definite-leak record(s), {} from our code",
        out.status.code(),
        ours.len()
    ));
    log.check();
    assert!(procs >= 1, "no valgrind log");
    assert!(
        ours.is_empty(),
        "{what}: definite leaks from our code:\n{}",
        ours.join("\n")
    );
}

fn valgrind_quick(log: &mut Log) {
    if !valgrind_available() {
        log.say("valgrind not installed: SKIPPED (apt-get install valgrind)");
        return;
    }
    let vol = volume();
    let base = |extra: &[&str]| {
        let mut a = on(
            &vol,
            &[
                "--rw=randrw",
                "--bs=4k",
                "--size=1m",
                "--iodepth=8",
                "--output=/dev/null",
            ],
        );
        a.extend(args(extra));
        a
    };
    valgrind_run(
        log,
        "thread=1, async, 2 jobs",
        &base(&["--name=vga", "--thread", "--numjobs=2"]),
    );
    valgrind_run(
        log,
        "thread=1, io_mode=sync",
        &base(&["--name=vgs", "--thread", "--io_mode=sync"]),
    );
    valgrind_run(
        log,
        "thread=1, single-instance=0, 3 jobs in sequence",
        &base(&[
            "--name=vgp",
            "--thread",
            "--single-instance=0",
            "--numjobs=1",
            "--loops=2",
        ]),
    );
    valgrind_run(
        log,
        "process jobs (forked, each checked)",
        &base(&["--name=vgf", "--numjobs=2"]),
    );
}

fn valgrind_long(log: &mut Log) {
    if !valgrind_available() {
        log.say("valgrind not installed: SKIPPED");
        return;
    }
    let vol = volume();
    // Error paths: a bad volume, a missing file, a full brick, a killed brick.
    valgrind_run(
        log,
        "unknown volume",
        &args(&[
            "--name=vge",
            "--rw=write",
            "--size=64k",
            "--thread",
            "--volume=grs-fault-none",
        ]),
    );
    valgrind_run(
        log,
        "read of a missing file",
        &on(
            &vol,
            &[
                "--name=vgm",
                "--rw=read",
                "--size=64k",
                "--thread",
                "--readonly",
            ],
        ),
    );
    let full = tmpfs_volume("8m");
    valgrind_run(
        log,
        "disk full",
        &on(
            &full,
            &[
                "--name=vgd",
                "--rw=write",
                "--bs=64k",
                "--size=16m",
                "--thread",
            ],
        ),
    );
    valgrind_run(
        log,
        "trim, fsync, unlink",
        &on(
            &vol,
            &[
                "--name=vgt",
                "--rw=randtrim",
                "--bs=64k",
                "--size=1m",
                "--thread",
                "--fsync=2",
                "--unlink=1",
            ],
        ),
    );
}

fn valgrind_self_test(log: &mut Log) {
    // Records cut from real valgrind logs: fio's own leak, glibc's resolver
    // state of a thread that ran glfs_init, and a made-up leak of ours.
    let vg = "\
==1== 3 bytes in 1 blocks are definitely lost in loss record 3 of 394
==1==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==1==    by 0x55A09A9: strdup (strdup.c:42)
==1==    by 0x15D960: options_mem_dupe (in /usr/bin/fio)
==1==    by 0x126E43: main (in /usr/bin/fio)
==1== 
==1== 96 bytes in 1 blocks are definitely lost in loss record 157 of 394
==1==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==1==    by 0x559CDAE: __libc_alloc_buffer_allocate (alloc_buffer_allocate.c:26)
==1==    by 0x5632278: __resolv_conf_allocate (resolv_conf.c:391)
==1==    by 0x574D532: gf_resolve_ip6 (in /usr/lib/x86_64-linux-gnu/libglusterfs.so.0.0.1)
==1==    by 0x497C3ED: glfs_init (in /usr/lib/x86_64-linux-gnu/libgfapi.so.0.0.0)
==1==    by 0x1A45C19B: gfapi::volume::run_init::{{closure}} (volume.rs:596)
==1== 
==1== 64 bytes in 1 blocks are definitely lost in loss record 200 of 394
==1==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==1==    by 0x1A400000: alloc::alloc::alloc (alloc.rs:94)
==1==    by 0x1A400010: <alloc::boxed::Box<T>>::new (boxed.rs:250)
==1==    by 0x1A400020: glusterrs::engine::init (engine.rs:380)
==1==    by 0x1A400030: glusterrs::fio::fio_init (fio.rs:1000)
==1== 
";
    let (n, ours) = our_definite_leaks(vg);
    log.say(format!(
        "synthetic log: {n} records, {} attributed to our code",
        ours.len()
    ));
    log.check();
    assert_eq!(n, 3);
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert!(ours[0].contains("glusterrs::engine::init"));
}
