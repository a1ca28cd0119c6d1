//! Man pages of glusterrs-bench rendered from its clap definition: the
//! command's page and one per subcommand (`glusterrs-bench-run.1`, ...), so
//! the installed pages say exactly what `--help` says.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// Writes `<name>.1` for `cmd` and `<name>-<sub>.1` for each visible
/// subcommand into `dir`; returns the files written.
pub fn write_all(cmd: clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("manpages: creating {}", dir.display()))?;
    let name = cmd.get_name().to_string();
    let mut written = Vec::new();
    let mut render = |cmd: clap::Command, file: String| -> Result<()> {
        let path = dir.join(file);
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut out)
            .with_context(|| format!("manpages: rendering {}", path.display()))?;
        std::fs::write(&path, out)
            .with_context(|| format!("manpages: writing {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    let subs: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    render(cmd, format!("{name}.1"))?;
    for sub in subs {
        let sub_name = format!("{name}-{}", sub.get_name());
        let sub = sub.name(sub_name.clone());
        render(sub, format!("{sub_name}.1"))?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_for_the_command_and_each_visible_subcommand() {
        let cmd = clap::Command::new("tool")
            .about("Does things")
            .subcommand(
                clap::Command::new("run")
                    .about("Runs")
                    .arg(clap::arg!(--size <SIZE> "Size per job")),
            )
            .subcommand(clap::Command::new("secret").hide(true));
        let dir = std::env::temp_dir().join(format!("gb-man-{}", std::process::id()));
        let files = write_all(cmd, &dir).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["tool.1", "tool-run.1"]);
        let run = std::fs::read_to_string(dir.join("tool-run.1")).unwrap();
        assert!(run.contains(".TH tool-run 1"), "{run}");
        assert!(run.contains("size"), "{run}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
