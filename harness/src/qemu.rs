//! The `qemu` peer: QEMU's GlusterFS block driver (`block/gluster.c`, on
//! libgfapi) driven by `qemu-img bench` on `gluster://HOST:PORT/VOLUME/FILE`.
//!
//! `qemu-img bench` is not fio, so each fio job section becomes one
//! `qemu-img bench` process on the file fio would use (`$jobname.0.0`), all
//! sections of a job file running at the same time, as fio runs them:
//!
//! * `bs` -> `-s`, `iodepth` -> `-d`, `size / bs` -> `-c`, `direct=1` ->
//!   `-t none` (O_DIRECT through gfapi), writes -> `-w`.
//! * `rw=read`/`write`: the step is `bs` (sequential). `rw=randread` /
//!   `randwrite`: qemu-img has no random mode; the step is `bs` times an odd
//!   stride coprime with the file's block count, so the offsets (taken
//!   modulo the file size) visit every block once in a scattered order.
//! * The bandwidth of a section is its bytes over the "Run completed in"
//!   time qemu-img prints (I/O only: connecting and `glfs_fini` are not in
//!   it, as fio's runtime excludes them); the group's aggregate is the
//!   total bytes over the slowest section, as fio computes aggrb. There are
//!   no latency percentiles. The wall time includes QEMU's `glfs_fini`.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::fio::{Ddir, GroupStats};
use crate::sys::{self, Ended};

/// `qemu-img` when it can open `gluster://` URLs, else why not.
pub fn find() -> Result<PathBuf, String> {
    let mut c = sys::command("qemu-img");
    c.arg("--help");
    let out = match sys::output(c) {
        Ok(o) => o,
        Err(_) => return Err("qemu-img not installed (Debian: qemu-utils)".into()),
    };
    let formats = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Supported formats:"))
        .unwrap_or("");
    if formats.split_whitespace().any(|f| f == "gluster") {
        Ok(PathBuf::from("qemu-img"))
    } else {
        Err(
            "qemu-img has no gluster block driver: install Debian's qemu-block-extra \
             (on Debian 12 it pins qemu-utils to 7.2: apt-get install --allow-downgrades \
             qemu-block-extra qemu-utils=<the same 7.2 version>)"
                .into(),
        )
    }
}

/// One fio job section translated to a `qemu-img bench` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchJob {
    /// The section name; the file is `NAME.0.0` (the harness's filename_format).
    pub name: String,
    pub bs: u64,
    pub count: u64,
    pub depth: u32,
    pub write: bool,
    pub random: bool,
    pub direct: bool,
}

impl BenchJob {
    pub fn file(&self) -> String {
        format!("{}.0.0", self.name)
    }

    /// Step between offsets: `bs` for sequential jobs, a scattered odd
    /// multiple of it for random ones.
    pub fn step(&self) -> u64 {
        if !self.random || self.count < 3 {
            return self.bs;
        }
        self.bs * scatter_stride(self.count)
    }

    /// Arguments after `qemu-img`.
    pub fn args(&self, url: &str) -> Vec<String> {
        let mut a = vec![
            "bench".to_string(),
            "-f".into(),
            "raw".into(),
            "-c".into(),
            self.count.to_string(),
            "-d".into(),
            self.depth.to_string(),
            "-s".into(),
            self.bs.to_string(),
            "-S".into(),
            self.step().to_string(),
            "-t".into(),
            if self.direct { "none" } else { "writeback" }.into(),
        ];
        if self.write {
            a.push("-w".into());
        }
        a.push(url.to_string());
        a
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// An odd stride near `n / golden ratio`, coprime with `n` and `n - 1` (so
/// that it permutes the blocks whichever of the two moduli qemu-img uses).
pub fn scatter_stride(n: u64) -> u64 {
    let mut s = ((n as f64) * 0.618_033_988_7) as u64 | 1;
    while s > 1 && (gcd(s, n) != 1 || gcd(s, n - 1) != 1) {
        s += 2;
        if s >= n {
            s = 3;
        }
    }
    s.max(1)
}

/// fio's size syntax with its default `kb_base=1024`: `4k`, `256m`, `1g`,
/// `512MiB`, plain bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(digits);
    let num: f64 = num.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.trim_end_matches('b').trim_end_matches('i').to_string();
    let mult: u64 = match unit.as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    Some((num * mult as f64) as u64)
}

/// The job sections of a fio job file (the harness's derived file, after
/// `--size`), each with the `[global]` options it inherits.
pub fn plan(job_text: &str) -> Result<Vec<BenchJob>> {
    let mut global: Vec<(String, String)> = Vec::new();
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut in_global = false;
    for raw in job_text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_global = name == "global";
            if !in_global {
                // A job inherits the [global] options seen so far.
                sections.push((name.to_string(), global.clone()));
            }
            continue;
        }
        let (k, v) = match line.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => (line.to_string(), String::new()),
        };
        match (in_global, sections.last_mut()) {
            (false, Some((_, opts))) => opts.push((k, v)),
            _ => global.push((k, v)),
        }
    }
    if sections.is_empty() {
        bail!("the job file has no job section");
    }
    sections
        .into_iter()
        .map(|(name, opts)| {
            let get = |key: &str| {
                opts.iter()
                    .rev()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
            };
            let rw = get("rw").or_else(|| get("readwrite")).unwrap_or("read");
            let (write, random) = match rw {
                "read" => (false, false),
                "randread" => (false, true),
                "write" => (true, false),
                "randwrite" => (true, true),
                other => bail!("[{name}]: rw={other} has no qemu-img bench equivalent"),
            };
            for unsupported in ["numjobs", "offset", "nrfiles", "filename", "stonewall"] {
                if let Some(v) = get(unsupported) {
                    if unsupported != "numjobs" || v.trim() != "1" {
                        bail!("[{name}]: {unsupported}= is not translated to qemu-img bench");
                    }
                }
            }
            let size_of = |key: &str, default: &str| -> Result<u64> {
                let v = get(key).unwrap_or(default);
                parse_size(v).with_context(|| format!("[{name}]: cannot read {key}={v}"))
            };
            let bs = size_of("bs", "4k")?;
            let size = size_of("size", "0")?;
            if bs == 0 || size < bs {
                bail!("[{name}]: size={size} is smaller than bs={bs}");
            }
            let number_ios = get("number_ios")
                .map(|v| v.parse::<u64>())
                .transpose()
                .with_context(|| format!("[{name}]: number_ios"))?
                .filter(|n| *n > 0);
            let count = number_ios.map_or(size / bs, |n| n.min(size / bs));
            let depth = get("iodepth")
                .unwrap_or("1")
                .parse::<u32>()
                .with_context(|| format!("[{name}]: iodepth"))?
                .max(1);
            let direct = get("direct").is_some_and(|v| v == "1" || v.is_empty());
            Ok(BenchJob {
                name,
                bs,
                count,
                depth,
                write,
                random,
                direct,
            })
        })
        .collect()
}

/// What `qemu-img bench` printed: requests, bytes each, depth, seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchOutput {
    pub requests: u64,
    pub bytes_each: u64,
    pub depth: u64,
    pub seconds: f64,
}

/// Parses "Sending N read requests, B bytes each, D in parallel ..." and
/// "Run completed in S seconds.".
pub fn parse_output(text: &str) -> Result<BenchOutput> {
    let mut head = None;
    let mut seconds = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Sending ") {
            let nums: Vec<u64> = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter(|w| !w.is_empty())
                .take(3)
                .filter_map(|w| w.parse().ok())
                .collect();
            if nums.len() == 3 {
                head = Some((nums[0], nums[1], nums[2]));
            }
        } else if let Some(rest) = line.strip_prefix("Run completed in ") {
            seconds = rest
                .trim_end_matches('.')
                .trim_end_matches("seconds")
                .trim()
                .parse::<f64>()
                .ok();
        }
    }
    match (head, seconds) {
        (Some((requests, bytes_each, depth)), Some(seconds)) => Ok(BenchOutput {
            requests,
            bytes_each,
            depth,
            seconds,
        }),
        _ => bail!("no \"Sending ...\" and \"Run completed in ...\" lines in qemu-img's output"),
    }
}

/// fio-style group numbers for the sections run together.
pub fn group_stats(jobs: &[BenchJob], outs: &[BenchOutput], cpu_s: f64) -> GroupStats {
    let ddir = if jobs.iter().any(|j| j.write) {
        Ddir::Write
    } else {
        Ddir::Read
    };
    // fio rounds a job's runtime up to whole milliseconds.
    let runs: Vec<u64> = outs
        .iter()
        .map(|o| ((o.seconds * 1000.0).ceil() as u64).max(1))
        .collect();
    let bytes: Vec<u64> = outs.iter().map(|o| o.requests * o.bytes_each).collect();
    let bws: Vec<u64> = bytes.iter().zip(&runs).map(|(b, r)| b * 1000 / r).collect();
    let io_bytes: u64 = bytes.iter().sum();
    let ios: u64 = outs.iter().map(|o| o.requests).sum();
    let max_run = runs.iter().copied().max().unwrap_or(1);
    GroupStats {
        groupid: 0,
        ddir,
        jobs: outs.len(),
        io_bytes,
        agg_bps: io_bytes * 1000 / max_run,
        min_bps: bws.iter().copied().min().unwrap_or(0),
        max_bps: bws.iter().copied().max().unwrap_or(0),
        min_run: runs.iter().copied().min().unwrap_or(0),
        max_run,
        iops: ios as f64 * 1000.0 / max_run as f64,
        clat_p50_ns: None,
        clat_p99_ns: None,
        cpu_s,
        error: 0,
    }
}

/// Outcome of [`run`].
pub enum Outcome {
    Done { outs: Vec<BenchOutput>, wall_s: f64 },
    Failed(String),
}

/// Runs one `qemu-img bench` per job section at the same time, each wrapped
/// by `wrap` (CPU accounting), output into `log_dir/<prefix>-<section>.log`.
pub fn run(
    qemu_img: &Path,
    jobs: &[BenchJob],
    url_base: &str,
    log_for: &dyn Fn(&BenchJob) -> PathBuf,
    wrap: &dyn Fn(&Path, &[String]) -> std::process::Command,
    timeout: Duration,
    commands: &mut dyn std::io::Write,
) -> Result<Outcome> {
    let start = Instant::now();
    let mut children: Vec<(Child, PathBuf)> = Vec::new();
    let mut spawn_err = None;
    for j in jobs {
        let args = j.args(&format!("{url_base}/{}", j.file()));
        writeln!(commands, "{} {}", qemu_img.display(), args.join(" "))?;
        let log = log_for(j);
        let f =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut c = wrap(qemu_img, &args);
        c.stdout(Stdio::from(f.try_clone()?)).stderr(Stdio::from(f));
        match c.spawn() {
            Ok(ch) => children.push((ch, log)),
            Err(e) => {
                spawn_err = Some(format!("starting {}: {e}", qemu_img.display()));
                break;
            }
        }
    }
    let mut failure: Option<String> = spawn_err;
    let mut interrupted = false;
    for (child, log) in &mut children {
        let left = timeout.saturating_sub(start.elapsed());
        let ended = if interrupted || failure.is_some() {
            // Stop the rest at once.
            sys::watch(child, Some(Duration::ZERO), Duration::from_secs(2))?
        } else {
            sys::watch(child, Some(left), Duration::from_secs(20))?
        };
        match ended {
            Ended::Interrupted => interrupted = true,
            Ended::TimedOut => {
                failure.get_or_insert_with(|| format!("timed out after {} s", timeout.as_secs()));
            }
            Ended::Exited(st) if !st.success() => {
                let text = std::fs::read_to_string(&*log).unwrap_or_default();
                let last = text
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim();
                failure.get_or_insert_with(|| format!("qemu-img {st}: {last}"));
            }
            Ended::Exited(_) => {}
        }
    }
    let wall_s = start.elapsed().as_secs_f64();
    if interrupted {
        return Err(sys::Interrupted.into());
    }
    if let Some(f) = failure {
        return Ok(Outcome::Failed(f));
    }
    let mut outs = Vec::new();
    for ((_, log), j) in children.iter().zip(jobs) {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        match parse_output(&text) {
            Ok(o) if o.requests == j.count && o.bytes_each == j.bs => outs.push(o),
            Ok(o) => {
                return Ok(Outcome::Failed(format!(
                    "[{}]: qemu-img ran {} x {} bytes, expected {} x {}",
                    j.name, o.requests, o.bytes_each, j.count, j.bs
                )))
            }
            Err(e) => return Ok(Outcome::Failed(format!("[{}]: {e:#}", j.name))),
        }
    }
    Ok(Outcome::Done { outs, wall_s })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "; generated\n[global]\nioengine=x\nfilename_format=$jobname.$jobnum.$filenum\nsize=64m\n\n; Read 4 files\n[global]\nrw=read\ndirect=1\nbs=128k\nsize=64m\n\n[file1]\niodepth=4\n\n[file2]\niodepth=32\n";

    #[test]
    fn seed_job_becomes_one_bench_per_section() {
        let p = plan(SEED).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0],
            BenchJob {
                name: "file1".into(),
                bs: 128 << 10,
                count: 512,
                depth: 4,
                write: false,
                random: false,
                direct: true
            }
        );
        assert_eq!(p[1].depth, 32);
        assert_eq!(p[0].file(), "file1.0.0");
        assert_eq!(
            p[0].args("gluster://h:24007/v/file1.0.0").join(" "),
            "bench -f raw -c 512 -d 4 -s 131072 -S 131072 -t none gluster://h:24007/v/file1.0.0"
        );
    }

    #[test]
    fn random_reads_use_a_scattering_stride_and_number_ios_caps() {
        let p = plan("[global]\nrw=randread\nbs=4k\nsize=256m\niodepth=32\nnumber_ios=10\n[r]\n")
            .unwrap();
        assert_eq!(p[0].count, 10);
        let p = plan("[global]\nrw=randread\nbs=4k\nsize=256m\niodepth=32\n[r]\n").unwrap();
        let n = p[0].count;
        assert_eq!(n, 65536);
        let s = p[0].step() / 4096;
        assert!(s % 2 == 1 && gcd(s, n) == 1 && gcd(s, n - 1) == 1, "{s}");
        assert!(s > n / 4, "scattered, not near-sequential: {s}");
        // Every block exactly once (modulo n).
        let mut seen = vec![false; n as usize];
        let mut off = 0u64;
        for _ in 0..n {
            assert!(!seen[off as usize]);
            seen[off as usize] = true;
            off = (off + s) % n;
        }
    }

    #[test]
    fn rejects_what_it_cannot_translate() {
        assert!(plan("[j]\nrw=randrw\nsize=1m\n").is_err());
        assert!(plan("[j]\nrw=read\nsize=1m\nnumjobs=4\n").is_err());
        assert!(plan("[global]\nrw=read\n").is_err());
        assert!(plan("[j]\nrw=read\nsize=1m\nnumjobs=1\n").is_ok());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4k"), Some(4096));
        assert_eq!(parse_size("256m"), Some(256 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("x"), None);
    }

    /// Captured from qemu-img 7.2 (Debian 12, qemu-block-extra) on this
    /// machine: gfapi's log lines come first.
    const OUT: &str = "[2026-11-26 23:50:06.406566 +0000] I [io-stats.c:3701:ios_sample_buf_size_configure] 0-perf7: Configure ios_sample_buf  size is 1024 because ios_sample_interval is 0\nSending 2048 read requests, 131072 bytes each, 4 in parallel (starting at offset 0, step size 131072)\nRun completed in 0.340 seconds.\n";

    #[test]
    fn parses_qemu_img_output_and_aggregates_like_fio() {
        let o = parse_output(OUT).unwrap();
        assert_eq!(
            o,
            BenchOutput {
                requests: 2048,
                bytes_each: 131072,
                depth: 4,
                seconds: 0.340
            }
        );
        assert!(parse_output("Run completed in 1 seconds.").is_err());
        let mut o2 = o.clone();
        o2.seconds = 0.680;
        let jobs = plan(SEED).unwrap();
        let g = group_stats(&jobs, &[o.clone(), o2], 1.5);
        assert_eq!(g.io_bytes, 2 * 2048 * 131072);
        assert_eq!((g.min_run, g.max_run), (340, 680));
        assert_eq!(g.agg_bps, g.io_bytes * 1000 / 680);
        assert_eq!(g.max_bps, 2048 * 131072 * 1000 / 340);
        assert_eq!(g.min_bps, 2048 * 131072 * 1000 / 680);
        assert!((g.iops - 4096.0 * 1000.0 / 680.0).abs() < 1e-6);
        assert_eq!(g.ddir, Ddir::Read);
        assert_eq!(g.clat_p99_ns, None);
        assert_eq!(g.cpu_s, 1.5);
    }
}
