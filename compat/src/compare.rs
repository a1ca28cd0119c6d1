//! Comparing two runs of one variant, and the verdict on the engine under test.

use crate::run::{ErrorClass, Outcome};
use crate::variants::{Bytes, Content, Expect, Variant};

const DIRECTIONS: [&str; 3] = ["read", "written", "trimmed"];

/// Where `a` and `b` differ, in the terms `variant` compares (empty: they agree).
pub fn differences(variant: &Variant, a: &Outcome, b: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if a.exit != b.exit {
        out.push(format!("exit {:?} vs {:?}", a.exit, b.exit));
    }
    if a.class != b.class {
        out.push(format!("error {} vs {}", a.class, b.class));
    }
    for (i, dir) in DIRECTIONS.iter().enumerate() {
        let (x, y) = (a.bytes[i], b.bytes[i]);
        let agree = match variant.bytes {
            Bytes::Exact => x == y,
            Bytes::Within(frac) => {
                let hi = x.max(y) as f64;
                (x == 0) == (y == 0) && (hi - x.min(y) as f64) <= frac * hi
            }
            Bytes::Moved => (x == 0) == (y == 0),
        };
        if !agree {
            out.push(format!("bytes {dir} {x} vs {y}"));
        }
    }
    let names = |o: &Outcome| o.files.keys().cloned().collect::<Vec<_>>();
    if names(a) != names(b) {
        out.push(format!(
            "files [{}] vs [{}]",
            names(a).join(" "),
            names(b).join(" ")
        ));
    } else {
        for (name, fa) in &a.files {
            let fb = &b.files[name];
            match variant.content {
                Content::Names => {}
                _ if fa.size != fb.size => {
                    out.push(format!("size of {name} {} vs {}", fa.size, fb.size))
                }
                Content::Checksums if fa.crc != fb.crc => {
                    out.push(format!("contents of {name} differ"))
                }
                _ => {}
            }
        }
    }
    if a.logs != b.logs {
        let l = |o: &Outcome| o.logs.iter().cloned().collect::<Vec<_>>().join(" ");
        out.push(format!("logs [{}] vs [{}]", l(a), l(b)));
    }
    out
}

/// The verdict on libglusterrs for one variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Same results as gfapi_async.
    Same,
    /// Differs from gfapi_async but is the same as fio's sync gfapi engine.
    SameAsGfapi(String),
    /// The C engine is wrong where libglusterrs agrees with psync on FUSE.
    Better(String),
    /// A real difference (or a refusal without a reason).
    Fail(String),
}

impl Verdict {
    /// Whether the variant passes.
    pub fn passed(&self) -> bool {
        !matches!(self, Verdict::Fail(_))
    }

    /// Short form for the table.
    pub fn short(&self) -> &'static str {
        match self {
            Verdict::Same => "same",
            Verdict::SameAsGfapi(_) => "same as gfapi",
            Verdict::Better(_) => "ours better",
            Verdict::Fail(_) => "DIFF",
        }
    }

    /// What it rests on.
    pub fn detail(&self) -> &str {
        match self {
            Verdict::Same => "",
            Verdict::SameAsGfapi(d) | Verdict::Better(d) | Verdict::Fail(d) => d,
        }
    }
}

/// Judges `ours` against the C engines, with psync on FUSE as the referee.
pub fn verdict(
    variant: &Variant,
    ours: &Outcome,
    gfapi_async: &Outcome,
    gfapi: Option<&Outcome>,
    reference: Option<&Outcome>,
) -> Verdict {
    // Both refuse: ours must say why.
    if ours.class != ErrorClass::Ok && ours.reason.trim().is_empty() {
        return Verdict::Fail(format!("{} without a reason in fio's output", ours.class));
    }
    let vs_async = differences(variant, ours, gfapi_async);
    if vs_async.is_empty() {
        return Verdict::Same;
    }
    if let Some(g) = gfapi {
        if differences(variant, ours, g).is_empty() {
            return Verdict::SameAsGfapi(format!("gfapi_async: {}", vs_async.join("; ")));
        }
    }
    if let Some(r) = reference {
        let async_vs_ref = differences(variant, gfapi_async, r);
        if ours.class == ErrorClass::Ok
            && differences(variant, ours, r).is_empty()
            && !async_vs_ref.is_empty()
        {
            return Verdict::Better(format!(
                "gfapi_async vs psync on FUSE: {}",
                async_vs_ref.join("; ")
            ));
        }
    }
    if let Some(expect) = &variant.expect {
        if ours.class == ErrorClass::Ok
            && meets(expect, ours).is_empty()
            && !meets(expect, gfapi_async).is_empty()
        {
            return Verdict::Better(format!(
                "gfapi_async: {}; libglusterrs has the expected result",
                meets(expect, gfapi_async).join("; ")
            ));
        }
    }
    Verdict::Fail(format!(
        "libglusterrs vs gfapi_async: {}",
        vs_async.join("; ")
    ))
}

/// Where `o` falls short of `expect` (empty: it meets it).
pub fn meets(expect: &Expect, o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if o.class != ErrorClass::Ok {
        out.push(format!("error {}", o.class));
    }
    for (i, dir) in DIRECTIONS.iter().enumerate() {
        if o.bytes[i] != expect.bytes[i] {
            out.push(format!(
                "bytes {dir} {} (expected {})",
                o.bytes[i], expect.bytes[i]
            ));
        }
    }
    if o.files.is_empty() {
        out.push("no file left".into());
    }
    for (name, f) in &o.files {
        if f.crc != expect.fill.crc(f.size) {
            out.push(format!("{name} does not hold {:?} end to end", expect.fill));
        }
    }
    out
}

/// A table cell: error class, bytes read/written/trimmed, files left.
pub fn cell(o: &Outcome) -> String {
    let b: Vec<String> = o.bytes.iter().map(|&n| human(n)).collect();
    format!("{} {} {}f", o.class, b.join("/"), o.files.len())
}

fn human(n: u64) -> String {
    const K: u64 = 1024;
    match n {
        0 => "0".into(),
        n if n % (K * K) == 0 => format!("{}M", n / (K * K)),
        n if n % K == 0 => format!("{}k", n / K),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{Exit, FileFacts};
    use std::collections::{BTreeMap, BTreeSet};

    fn outcome(bytes: [u64; 3], files: &[(&str, u64, u32)]) -> Outcome {
        Outcome {
            exit: Exit::Code(0),
            class: ErrorClass::Ok,
            bytes,
            files: files
                .iter()
                .map(|&(n, size, crc)| (n.to_string(), FileFacts { size, crc }))
                .collect::<BTreeMap<_, _>>(),
            logs: BTreeSet::new(),
            reason: String::new(),
            secs: 0.0,
        }
    }

    fn variant(name: &str) -> Variant {
        crate::variants::all()
            .into_iter()
            .find(|v| v.name == name)
            .unwrap()
    }

    #[test]
    fn exact_variants_see_bytes_sizes_and_contents() {
        let v = variant("write");
        let a = outcome([0, 100, 0], &[("JOB.0.0", 100, 1)]);
        assert!(differences(&v, &a, &a.clone()).is_empty());
        let b = outcome([0, 100, 0], &[("JOB.0.0", 100, 2)]);
        assert_eq!(differences(&v, &a, &b), vec!["contents of JOB.0.0 differ"]);
        let c = outcome([0, 90, 0], &[("JOB.0.0", 90, 1)]);
        assert_eq!(differences(&v, &a, &c).len(), 2);
        let d = outcome([0, 100, 0], &[]);
        assert!(differences(&v, &a, &d)[0].starts_with("files"));
    }

    #[test]
    fn timed_variants_allow_their_tolerance() {
        let v = variant("rate");
        let a = outcome([0, 100, 0], &[("JOB.0.0", 100, 1)]);
        let b = outcome([0, 80, 0], &[("JOB.0.0", 80, 7)]);
        assert!(differences(&v, &a, &b).is_empty());
        let c = outcome([0, 50, 0], &[("JOB.0.0", 50, 7)]);
        assert_eq!(differences(&v, &a, &c).len(), 1);
        let t = variant("time_based");
        assert!(differences(&t, &a, &c).is_empty());
        assert_eq!(
            differences(&t, &a, &outcome([0; 3], &[("JOB.0.0", 0, 0)])).len(),
            1
        );
    }

    #[test]
    fn verdicts() {
        let v = variant("nrfiles");
        let right = outcome([0, 100, 0], &[("JOB.0.0", 50, 1), ("JOB.0.1", 50, 1)]);
        let wrong = outcome([0, 100, 0], &[("JOB.0.0", 0, 0), ("JOB.0.1", 100, 3)]);
        assert_eq!(verdict(&v, &right, &right, None, None), Verdict::Same);
        assert!(matches!(
            verdict(&v, &right, &wrong, None, Some(&right)),
            Verdict::Better(_)
        ));
        assert!(matches!(
            verdict(&v, &wrong, &right, None, Some(&right)),
            Verdict::Fail(_)
        ));
        assert!(matches!(
            verdict(&v, &right, &wrong, Some(&right), None),
            Verdict::SameAsGfapi(_)
        ));
        let mut refused = outcome([0; 3], &[]);
        refused.class = ErrorClass::Refused;
        refused.exit = Exit::Code(1);
        assert!(matches!(
            verdict(&v, &refused, &refused.clone(), None, None),
            Verdict::Fail(_)
        ));
        refused.reason = "glusterrs: volume missing".into();
        assert_eq!(
            verdict(&v, &refused, &refused.clone(), None, None),
            Verdict::Same
        );
        // Nobody else can trim a file: the variant's expectation decides.
        let t = variant("trim");
        let zeros = crate::variants::Fill::Zeros.crc(1 << 20);
        let trimmed = outcome([0, 0, 1 << 20], &[("JOB.0.0", 1 << 20, zeros)]);
        let mut failed = outcome([0; 3], &[("JOB.0.0", 0, 0)]);
        failed.class = ErrorClass::Job(22);
        failed.exit = Exit::Code(1);
        failed.reason = "glfs queue failed.".into();
        assert!(matches!(
            verdict(&t, &trimmed, &failed, None, Some(&failed)),
            Verdict::Better(_)
        ));
        let unpunched = outcome([0, 0, 1 << 20], &[("JOB.0.0", 1 << 20, 7)]);
        assert!(matches!(
            verdict(&t, &unpunched, &failed, None, Some(&failed)),
            Verdict::Fail(_)
        ));
    }
}
