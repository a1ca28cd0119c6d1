// SPDX-License-Identifier: GPL-2.0-or-later
//! SIGINT/SIGTERM at each stage of a run, to the harness or its process
//! group: the run ends with 128 + signal and leaves nothing behind. The
//! long part is the full signal x stage x target matrix.

use std::time::{Duration, Instant};

use crate::bench::*;
use crate::fault_runner::{Case, Log};
use crate::scratch::*;
use rustix::process::Signal;

/// Signals at each stage.
pub fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case::quick("sigint_during_bring_up", |l| {
            signal_case(l, Stage::BringUp, Sig::Int, Target::Pid)
        }),
        Case::quick("sigterm_during_layout", |l| {
            signal_case(l, Stage::Layout, Sig::Term, Target::Pid)
        }),
        Case::quick("sigterm_during_teardown", |l| {
            signal_case(l, Stage::Teardown, Sig::Term, Target::Pid)
        }),
        Case::quick("ctrl_c_to_the_process_group_during_measurement", |l| {
            signal_case(l, Stage::Measure, Sig::Int, Target::Group)
        }),
    ];
    // The full matrix (the quick cases above are part of it).
    for (name, f) in MATRIX {
        cases.push(Case::long(name, *f));
    }
    cases
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stage {
    BringUp,
    Layout,
    Measure,
    Teardown,
}

#[derive(Clone, Copy, Debug)]
pub enum Sig {
    Int,
    Term,
}

impl Sig {
    pub fn signal(self) -> Signal {
        match self {
            Sig::Int => Signal::INT,
            Sig::Term => Signal::TERM,
        }
    }
    /// The harness's exit status when this signal interrupts it: 128 +
    /// signal, as a shell reports a program the signal stopped.
    pub fn exit_code(self) -> i32 {
        match self {
            Sig::Int => 130,
            Sig::Term => 143,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Sig::Int => "SIGINT",
            Sig::Term => "SIGTERM",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// The harness process only (kill PID).
    Pid,
    /// Its whole process group (what a terminal's Ctrl-C reaches).
    Group,
}

/// The full matrix: every signal at every stage, to the harness and to its
/// process group. One plain `fn` per row (cases are `fn` pointers).
macro_rules! matrix {
    ($($name:ident: $st:ident, $sg:ident, $tg:ident;)*) => {
        $(fn $name(l: &mut Log) {
            signal_case(l, Stage::$st, Sig::$sg, Target::$tg)
        })*
        const MATRIX: &[(&str, fn(&mut Log))] = &[$((stringify!($name), $name as fn(&mut Log))),*];
    };
}

matrix! {
    matrix_sigint_pid_bring_up: BringUp, Int, Pid;
    matrix_sigterm_pid_bring_up: BringUp, Term, Pid;
    matrix_sigint_group_bring_up: BringUp, Int, Group;
    matrix_sigterm_group_bring_up: BringUp, Term, Group;
    matrix_sigint_pid_layout: Layout, Int, Pid;
    matrix_sigterm_pid_layout: Layout, Term, Pid;
    matrix_sigint_group_layout: Layout, Int, Group;
    matrix_sigterm_group_layout: Layout, Term, Group;
    matrix_sigint_pid_measurement: Measure, Int, Pid;
    matrix_sigterm_pid_measurement: Measure, Term, Pid;
    matrix_sigint_group_measurement: Measure, Int, Group;
    matrix_sigterm_group_measurement: Measure, Term, Group;
    matrix_sigint_pid_teardown: Teardown, Int, Pid;
    matrix_sigterm_pid_teardown: Teardown, Term, Pid;
    matrix_sigint_group_teardown: Teardown, Int, Group;
    matrix_sigterm_group_teardown: Teardown, Term, Group;
}

/// A signal at a stage: the harness stops with 130 (or 0 when the signal
/// came during the final teardown) and leaves nothing behind.
pub fn signal_case(log: &mut Log, stage: Stage, sig: Sig, target: Target) {
    let s = Scratch::new("sig");
    let volume = volume_name("");
    let gd = glusterd_pids();
    log.say(format!(
        "tried: glusterrs-bench run on a new volume {volume}, {} to the {} at {stage:?}",
        sig.name(),
        match target {
            Target::Pid => "harness process",
            Target::Group => "harness's process group (terminal Ctrl-C)",
        }
    ));
    let mut b = start_bench(&s.0, &run_args(&s, &volume, "sig"));
    let bench_pid = b.pid();
    let started = Instant::now();
    let reached = wait_stage(&mut b, stage, &volume);
    let at = started.elapsed().as_secs_f64();
    if !reached {
        let (st, text, _) = b.wait(Duration::from_secs(10));
        panic!("the run ended ({st}) before reaching {stage:?}:\n{text}");
    }
    b.signal(sig, target);
    let (st, text, secs) = b.wait(Duration::from_secs(120));
    log.say(format!(
        "signalled {at:.1} s into the run; it ended {secs:.1} s later with {st}"
    ));
    for l in text
        .lines()
        .filter(|l| l.contains("interrupted") || l.contains("teardown") || l.contains("error"))
    {
        log.say(format!("  | {l}"));
    }
    let left = leftovers(&volume, &s, &gd, bench_pid);
    log.say(if left.is_empty() {
        "nothing left behind (no volume, mount, process, directory, cgroup or log)".to_string()
    } else {
        format!("LEFT BEHIND: {left:?}")
    });
    log.check();
    assert!(left.is_empty(), "left behind: {left:#?}\n{text}");
    // Interrupted: 128 + signal (130 SIGINT, 143 SIGTERM), also when the
    // signal came during the final teardown of a run whose measurements were
    // complete. 0 only if it came after the harness's last look at the flag.
    let code = sig.exit_code();
    let ok_codes: &[i32] = if stage == Stage::Teardown {
        &[0, code]
    } else {
        &[code]
    };
    log.check();
    assert!(
        st.code().is_some_and(|c| ok_codes.contains(&c)),
        "exit {st}, expected {ok_codes:?} (interrupted)\n{text}"
    );
}
