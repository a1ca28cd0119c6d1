//! `glusterrs-bench compare` as CI calls it: exit codes (0 no regression,
//! 1 regression, 2 bad input), the JSON and JUnit files. Needs no cluster:
//! the runs are results.csv files written here, and the repository's own
//! recorded baseline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_glusterrs-bench")
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("gb-compare-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const HEADER: &str = "job,group,ddir,setup,repeat,status,aggrb_kbs,minb_kbs,maxb_kbs,mint_ms,maxt_ms,iops,clat_p50_us,clat_p99_us,cpu_s,io_mib,wall_s,note,proc_cpu_s,brick_cpu_s";

/// A run directory with `repeats` repeats of base, fuse and bypass on one
/// job, bypass scaled by `bypass_factor`, a little noise per repeat.
fn write_run(dir: &Path, job: &str, repeats: u32, bypass_factor: f64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut csv = String::from(HEADER);
    csv.push('\n');
    for rep in 1..=repeats {
        for (i, (setup, bw)) in [("base", 340000.0), ("fuse", 58000.0), ("bypass", 86000.0)]
            .into_iter()
            .enumerate()
        {
            let noise = 1.0 + 0.02 * (f64::from(rep) * 1.3 + i as f64).sin();
            let f = if setup == "bypass" {
                bypass_factor
            } else {
                1.0
            };
            let aggrb = bw * noise * f;
            csv.push_str(&format!(
                "{job},0,read,{setup},{rep},ok,{aggrb},{aggrb},{aggrb},1000,1000,{},300,900,1.0,512.0,2.0,,,\n",
                aggrb / 4.0
            ));
        }
    }
    std::fs::write(dir.join("results.csv"), csv).unwrap();
    dir.to_path_buf()
}

fn compare(args: &[&Path]) -> Output {
    Command::new(bin())
        .arg("compare")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn unchanged_is_exit_0_with_json_and_junit() {
    let s = Scratch::new("ok");
    let base = write_run(&s.0.join("base"), "rand-read-4k", 9, 1.0);
    let cur = write_run(&s.0.join("cur"), "rand-read-4k", 5, 1.0);
    let json = s.0.join("out/v.json");
    let junit = s.0.join("out/v.xml");
    let o = Command::new(bin())
        .arg("compare")
        .args([&base, &cur])
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("no regression"), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["settings"]["tolerance"], 0.15);
    let verdicts = doc["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 2);
    for v in verdicts {
        assert_eq!(v["kind"], "ok");
        assert_eq!(v["baseline_samples"].as_array().unwrap().len(), 9);
        assert_eq!(v["current_samples"].as_array().unwrap().len(), 5);
        assert!(v["interval"]["low"].as_f64().unwrap() <= v["change"].as_f64().unwrap());
        assert!(v["test"]["p"].as_f64().unwrap() > 0.05);
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
}

#[test]
fn a_30_percent_slowdown_is_exit_1_and_a_junit_failure() {
    let s = Scratch::new("slow");
    let base = write_run(&s.0.join("base"), "rand-read-4k", 9, 1.0);
    let cur = write_run(&s.0.join("cur"), "rand-read-4k", 5, 0.7);
    let junit = s.0.join("v.xml");
    let o = Command::new(bin())
        .arg("compare")
        .args([&base, &cur])
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("REGRESSION: rand-read-4k / bypass"), "{t}");
    assert!(!t.contains("REGRESSION: rand-read-4k / fuse"), "{t}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
}

#[test]
fn bad_input_is_exit_2_naming_what_was_wrong() {
    let s = Scratch::new("bad");
    let base = write_run(&s.0.join("base"), "rand-read-4k", 9, 1.0);
    let other = write_run(&s.0.join("other"), "seq-read", 5, 1.0);
    let missing = s.0.join("no-such-run");
    let o = compare(&[&missing, &base]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no-such-run"), "{}", text(&o));

    let garbled = s.0.join("garbled");
    std::fs::create_dir_all(&garbled).unwrap();
    std::fs::write(garbled.join("results.csv"), "job,setup\nx,y,z\n").unwrap();
    let o = compare(&[&base, &garbled]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("garbled"), "{}", text(&o));

    // Nothing in common: no (job, setup) can be judged.
    let o = compare(&[&base, &other]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nothing to judge"), "{}", text(&o));

    // One repeat a side can never be significant: not judged, so exit 2.
    let one_a = write_run(&s.0.join("one-a"), "rand-read-4k", 1, 1.0);
    let one_b = write_run(&s.0.join("one-b"), "rand-read-4k", 1, 0.5);
    let o = compare(&[&one_a, &one_b]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot reach p < 0.05"), "{}", text(&o));

    let o = Command::new(bin())
        .arg("compare")
        .args([&base, &base])
        .args(["--tolerance", "1.5"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--tolerance 1.5"), "{}", text(&o));

    let o = Command::new(bin())
        .arg("compare")
        .args([&base, &base])
        .args(["--alpha", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--alpha 0"), "{}", text(&o));
}

#[test]
fn the_recorded_baseline_against_itself_is_green() {
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/baseline");
    let o = compare(&[&baseline, &baseline]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("rand-read-4k") && t.contains("bypass"), "{t}");
}
