//! The checks fault tests make on a [`ClusterVolume`] after a fault: self-heal done
//! (`gluster volume heal VOL info`), every replica holding the same bytes, every
//! fragment of a dispersed file agreeing on its size and version.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ClusterVolume, Layout};
use crate::cmd::{wait_ok, Cmd};
use crate::error::{Error, Result};

/// Heal state of one brick (`gluster volume heal VOL info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealEntry {
    /// `IP:PATH`.
    pub brick: String,
    /// `Connected`, or why not.
    pub status: String,
    /// Entries pending heal (`None` when the brick is not reachable).
    pub entries: Option<u64>,
}

impl ClusterVolume {
    /// `gluster volume heal NAME info`, per brick.
    pub fn heal_info(&self) -> Result<Vec<HealEntry>> {
        let out = self
            .cluster
            .gluster_any(&["volume", "heal", &self.name, "info"])?
            .stdout;
        Ok(parse_heal_info(&out))
    }

    /// Triggers an index heal and waits until every brick is connected with no entry
    /// pending.
    pub fn wait_healed(&self, timeout: Duration) -> Result<()> {
        let mut kicked = std::time::Instant::now() - Duration::from_secs(60);
        wait_ok(
            &format!("self-heal of volume {}", self.name),
            timeout,
            || {
                if kicked.elapsed() > Duration::from_secs(5) {
                    let _ = self.cluster.gluster_any(&["volume", "heal", &self.name]);
                    kicked = std::time::Instant::now();
                }
                let info = self.heal_info().map_err(|e| e.to_string())?;
                let done = info.len() == self.bricks.len()
                    && info
                        .iter()
                        .all(|h| h.status == "Connected" && h.entries == Some(0));
                if done {
                    Ok(())
                } else {
                    Err(format!("{info:?}"))
                }
            },
        )
    }

    /// Replicated layouts: every file (outside `.glusterfs`) has the same bytes on every
    /// brick of its replica set. Returns how many files were compared; the error names
    /// the first difference.
    pub fn compare_replicas(&self) -> Result<usize> {
        let set = self.layout.set_size();
        if !matches!(self.layout, Layout::Replica { .. }) {
            return Err(Error::invalid(
                "volume layout",
                format!("{:?}", self.layout),
                "compare_replicas needs a replicated volume",
            ));
        }
        let mut compared = 0;
        for group in self.bricks.chunks(set) {
            let lists: Vec<BTreeMap<PathBuf, u64>> = group
                .iter()
                .map(|b| brick_files(&b.path))
                .collect::<Result<_>>()?;
            for (b, l) in group.iter().zip(&lists).skip(1) {
                if l.keys().ne(lists[0].keys()) {
                    return Err(mismatch(format!(
                        "brick {} holds {:?}, brick {} holds {:?}",
                        group[0].spec,
                        lists[0].keys().collect::<Vec<_>>(),
                        b.spec,
                        l.keys().collect::<Vec<_>>()
                    )));
                }
            }
            for rel in lists[0].keys() {
                let first = group[0].path.join(rel);
                for b in &group[1..] {
                    let other = b.path.join(rel);
                    if let Some(at) = first_difference(&first, &other)? {
                        return Err(mismatch(format!(
                            "{} and {} differ (first at byte {at})",
                            first.display(),
                            other.display()
                        )));
                    }
                }
                compared += 1;
            }
        }
        Ok(compared)
    }

    /// Dispersed layouts: every file's fragment has the same size and the same
    /// `trusted.ec.version` / `trusted.ec.size` on every brick (what a healed fragment
    /// must agree on; the fragments' bytes differ by design). Returns the files checked.
    pub fn compare_fragments(&self) -> Result<usize> {
        if !matches!(self.layout, Layout::Disperse { .. }) {
            return Err(Error::invalid(
                "volume layout",
                format!("{:?}", self.layout),
                "compare_fragments needs a dispersed volume",
            ));
        }
        let lists: Vec<BTreeMap<PathBuf, u64>> = self
            .bricks
            .iter()
            .map(|b| brick_files(&b.path))
            .collect::<Result<_>>()?;
        let mut checked = 0;
        for rel in lists[0].keys() {
            let mut seen: Option<(u64, String)> = None;
            for (b, l) in self.bricks.iter().zip(&lists) {
                let Some(len) = l.get(rel) else {
                    return Err(mismatch(format!("{} lacks {}", b.spec, rel.display())));
                };
                let p = b.path.join(rel);
                let attrs = format!(
                    "version {} size {}",
                    xattr_hex(&p, "trusted.ec.version")?,
                    xattr_hex(&p, "trusted.ec.size")?
                );
                match &seen {
                    None => seen = Some((*len, attrs)),
                    Some((l0, a0)) if (l0, a0) != (len, &attrs) => {
                        return Err(mismatch(format!(
                            "{}: fragment {} bytes, {a0} on {}, but {len} bytes, {attrs} on {}",
                            rel.display(),
                            l0,
                            self.bricks[0].spec,
                            b.spec
                        )))
                    }
                    Some(_) => {}
                }
            }
            checked += 1;
        }
        Ok(checked)
    }
}

fn mismatch(detail: String) -> Error {
    Error::Parse {
        command: "comparing bricks".into(),
        detail,
    }
}

/// Regular files of a brick outside its `.glusterfs*` bookkeeping, relative path -> size.
pub fn brick_files(brick: &Path) -> Result<BTreeMap<PathBuf, u64>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, u64>) -> Result<()> {
        for e in fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))? {
            let e = e.map_err(|e| Error::io("read dir", dir, e))?;
            let p = e.path();
            if dir == root && e.file_name().to_string_lossy().starts_with(".glusterfs") {
                continue;
            }
            let t = e.file_type().map_err(|e| Error::io("stat", &p, e))?;
            if t.is_dir() {
                walk(root, &p, out)?;
            } else if t.is_file() {
                let len = e.metadata().map_err(|e| Error::io("stat", &p, e))?.len();
                out.insert(p.strip_prefix(root).unwrap_or(&p).to_path_buf(), len);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(brick, brick, &mut out)?;
    Ok(out)
}

/// Offset of the first byte where two files differ (a length difference counts), `None`
/// when they are equal.
fn first_difference(a: &Path, b: &Path) -> Result<Option<u64>> {
    let mut fa = fs::File::open(a).map_err(|e| Error::io("open", a, e))?;
    let mut fb = fs::File::open(b).map_err(|e| Error::io("open", b, e))?;
    let mut ba = vec![0u8; 1 << 20];
    let mut bb = vec![0u8; 1 << 20];
    let mut at = 0u64;
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(|e| Error::io("read", a, e))?;
        let nb = read_full(&mut fb, &mut bb).map_err(|e| Error::io("read", b, e))?;
        let n = na.min(nb);
        if let Some(i) = (0..n).find(|&i| ba[i] != bb[i]) {
            return Ok(Some(at + i as u64));
        }
        if na != nb {
            return Ok(Some(at + n as u64));
        }
        if na == 0 {
            return Ok(None);
        }
        at += na as u64;
    }
}

fn read_full(f: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            m => n += m,
        }
    }
    Ok(n)
}

/// An extended attribute as hex (`getfattr -e hex`), `-` when absent.
fn xattr_hex(path: &Path, name: &str) -> Result<String> {
    let out = Cmd::new("getfattr")
        .args(["--absolute-names", "-e", "hex", "-n", name])
        .arg(path)
        .timeout(Duration::from_secs(10))
        .output()?;
    Ok(out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or("-")
        .to_string())
}

/// Parses `gluster volume heal VOL info`: `Brick H:P`, entries, `Status: ...`,
/// `Number of entries: N|-` per brick.
pub(crate) fn parse_heal_info(text: &str) -> Vec<HealEntry> {
    let mut out: Vec<HealEntry> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(b) = line.strip_prefix("Brick ") {
            out.push(HealEntry {
                brick: b.to_string(),
                status: String::new(),
                entries: None,
            });
        } else if let (Some(s), Some(last)) = (line.strip_prefix("Status: "), out.last_mut()) {
            last.status = s.to_string();
        } else if let (Some(n), Some(last)) =
            (line.strip_prefix("Number of entries: "), out.last_mut())
        {
            last.entries = n.trim().parse().ok();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heal_info_parses() {
        let text = "Brick 10.0.0.11:/b/x-b0\n/f1\nStatus: Connected\nNumber of entries: 1\n\n\
                    Brick 10.0.0.12:/b/x-b1\nStatus: Transport endpoint is not connected\n\
                    Number of entries: -\n";
        let h = parse_heal_info(text);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].entries, Some(1));
        assert_eq!(h[0].status, "Connected");
        assert_eq!(h[1].entries, None);
        assert!(h[1].status.contains("not connected"));
    }
}
