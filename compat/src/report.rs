//! The suite's table: plain text for the terminal, Markdown for docs/compat.md.

use crate::compare::cell;
use crate::run::Engine;
use crate::SuiteResult;

fn columns(res: &SuiteResult) -> Vec<Engine> {
    let mut c = vec![Engine::GfapiAsync];
    if res.gfapi {
        c.push(Engine::Gfapi);
    }
    c.extend([Engine::Glusterrs, Engine::FusePsync]);
    c
}

fn rows(res: &SuiteResult) -> (Vec<String>, Vec<Vec<String>>) {
    let cols = columns(res);
    let mut head = vec!["variant".to_string()];
    head.extend(cols.iter().map(|e| e.title().to_string()));
    head.push("same?".into());
    let body = res
        .rows
        .iter()
        .map(|r| {
            let mut line = vec![r.variant.name.to_string()];
            line.extend(
                cols.iter()
                    .map(|e| r.outcomes.get(e).map(cell).unwrap_or_default()),
            );
            line.push(r.verdict.short().to_string());
            line
        })
        .collect();
    (head, body)
}

/// The summary line, exactly `N passed, N failed`.
pub fn summary(res: &SuiteResult) -> String {
    format!("{} passed, {} failed", res.passed(), res.failed())
}

/// Aligned text table, the notes, and the summary line last.
pub fn text(res: &SuiteResult) -> String {
    let (head, body) = rows(res);
    let mut widths: Vec<usize> = head.iter().map(String::len).collect();
    for r in &body {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let fmt = |r: &[String]| {
        r.iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![fmt(&head)];
    out.extend(body.iter().map(|r| fmt(r)));
    out.push(String::new());
    out.extend(notes(res));
    out.push(summary(res));
    out.join("\n") + "\n"
}

/// One line per variant that is not plainly the same, and the C engine's error text
/// where it failed.
fn notes(res: &SuiteResult) -> Vec<String> {
    let mut out = Vec::new();
    for r in &res.rows {
        if !r.verdict.detail().is_empty() {
            out.push(format!(
                "{} ({}): {}",
                r.variant.name,
                r.verdict.short(),
                r.verdict.detail()
            ));
        }
        for (e, o) in &r.outcomes {
            if o.class != crate::run::ErrorClass::Ok && !o.reason.is_empty() {
                out.push(format!(
                    "  {}, {} ({}): {}",
                    r.variant.name,
                    e.title(),
                    o.class,
                    o.reason
                ));
            }
        }
    }
    if !out.is_empty() {
        out.push(String::new());
    }
    out
}

/// docs/compat.md: how to read the table, the table, the notes, the summary.
pub fn markdown(res: &SuiteResult, command: &str, when: &str) -> String {
    let (head, body) = rows(res);
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = vec![
        "# Drop-in compatibility with fio's gfapi engines".to_string(),
        String::new(),
        format!(
            "Latest full run of `{command}` ({when}, {:.0} s). Written by `glusterrs-compat \
             --markdown`; `compat/src/variants.rs` holds the variants.",
            res.secs
        ),
        String::new(),
        "Each variant is one fio job, run on its own files of one fresh volume with fio's \
         `gfapi_async` (the oracle), fio's `gfapi`, libglusterrs.so (`ioengine=external:`) \
         and, as a referee, fio's `psync` on a FUSE mount of the same volume. A cell is \
         `error-class read/written/trimmed files-left`. `same` means libglusterrs agrees \
         with `gfapi_async` on exit status, error class, bytes per direction, and the files \
         left on the brick and in fio's working directory (names, sizes and, unless the \
         contents depend on time, CRC-32 of the contents; timing-driven variants compare \
         bytes within a tolerance). `same as gfapi` agrees with fio's sync engine instead; \
         `ours better` means `gfapi_async` differs from psync on FUSE while libglusterrs \
         agrees with it; `DIFF` fails."
            .to_string(),
        String::new(),
        format!("| {} |", head.join(" | ")),
        format!("|{}", ":--|".repeat(head.len())),
    ];
    for r in &body {
        out.push(format!(
            "| {} |",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out.push(String::new());
    let notes = notes(res);
    if !notes.is_empty() {
        out.push("## Notes".into());
        out.push(String::new());
        for n in notes.iter().filter(|n| !n.is_empty()) {
            match n.strip_prefix("  ") {
                Some(sub) => out.push(format!("  - {}", esc(sub))),
                None => out.push(format!("- {}", esc(n))),
            }
        }
        out.push(String::new());
    }
    out.push(LIMITS.to_string());
    out.push(String::new());
    out.push(summary(res));
    out.join("\n") + "\n"
}

/// What the table cannot show: limits found while building the suite that lie in fio.
const LIMITS: &str = "## Limits in fio itself

- `pre_read=1`: fio pre-reads through the file's kernel descriptor (lseek/read), which no
  gfapi engine has; every gfapi engine fails the job. libglusterrs says so
  (`glusterrs: JOB: pre_read=1 cannot work with a gfapi engine ...`) before fio's own
  `failed to lseek pre-read file`.
- `io_submit_mode=offload`: fio 3.33's workqueue `start_worker()` overwrites a submit
  worker's flags after `pthread_create()`, so a worker whose engine init is quick is
  lost and the job hangs (a run of fio's libaio engine with `thread=1` hung here too).
  libglusterrs holds a submit worker's init back 200 ms, past that store
  (ioengine/tests/offload.rs). Given in the global section (before `--name`), an
  external engine is not reloaded by the workers at all: fio prints `engine <garbage>
  not loadable`, its saved path of the .so (`ioengine_so_path`, a pointer into the
  option string) no longer pointing at the path; given in the job section it works.
- fio's `psync` (the referee) cannot trim a regular file (its trim is the block-device
  ioctl, `err=25`), so the trim variants carry their expected result instead: the bytes
  trimmed, and the files zero (trim) or the pattern (trim then write) end to end.";
