//! [`VolumeSpec`]: what [`Volume::create`](super::Volume::create)(super::Volume::create) makes (name, bricks,
//! replica, options); checked when the volume is created.

use std::path::PathBuf;

use crate::cmd::Interrupt;
use crate::names::DEFAULT_PREFIX;

/// What to create. Build with [`VolumeSpec::new`] and the chained setters, or fill the
/// public fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// Volume name; `None` makes a unique one from `prefix` (see [`unique_name`](crate::unique_name)).
    pub name: Option<String>,
    /// Prefix of the generated name (default [`DEFAULT_PREFIX`]).
    pub prefix: String,
    /// Number of bricks (default 1).
    pub bricks: usize,
    /// Replica count (`None`: plain distribute). `bricks` must be a multiple of it.
    pub replica: Option<usize>,
    /// Directory under which a fresh directory named after the volume is made to hold the
    /// bricks (`b0`, `b1`, ...). `None`: the system temp dir. Must already exist.
    pub brick_root: Option<PathBuf>,
    /// Existing directories to use as the bricks, in order, instead of fresh ones under
    /// `brick_root` (then ignored, as is `bricks`). They belong to the caller: teardown
    /// leaves them in place.
    pub existing_bricks: Vec<PathBuf>,
    /// `gluster volume set` options, applied in order before the volume is started.
    pub options: Vec<(String, String)>,
    /// When set during [`Volume::create`](super::Volume::create), creation stops at the next step, undoes what
    /// it did and returns [`Error::Interrupted`](crate::Error::Interrupted).
    pub interrupt: Option<Interrupt>,
}

impl Default for VolumeSpec {
    fn default() -> Self {
        VolumeSpec {
            name: None,
            prefix: DEFAULT_PREFIX.to_string(),
            bricks: 1,
            replica: None,
            brick_root: None,
            existing_bricks: Vec::new(),
            options: Vec::new(),
            interrupt: None,
        }
    }
}

impl VolumeSpec {
    /// One brick, generated name, bricks in the temp dir, no options.
    pub fn new() -> VolumeSpec {
        VolumeSpec::default()
    }

    /// Uses this exact volume name instead of a generated one.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Prefix for the generated name.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Number of bricks.
    pub fn bricks(mut self, bricks: usize) -> Self {
        self.bricks = bricks;
        self
    }

    /// Replica count; raises the brick count to it when it was lower.
    pub fn replica(mut self, replica: usize) -> Self {
        self.replica = Some(replica);
        self.bricks = self.bricks.max(replica);
        self
    }

    /// Directory in which the brick directory tree is made.
    pub fn brick_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.brick_root = Some(root.into());
        self
    }

    /// Uses these existing directories as the bricks (see [`VolumeSpec::existing_bricks`]).
    pub fn existing_bricks(mut self, dirs: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        self.existing_bricks = dirs.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a `gluster volume set` option.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// Stops [`Volume::create`](super::Volume::create) between steps once `interrupt` is set (see [`Interrupt`]).
    pub fn interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_builder() {
        let s = VolumeSpec::new().replica(3).option("a.b", "on");
        assert_eq!(s.bricks, 3);
        assert_eq!(s.replica, Some(3));
        assert_eq!(s.prefix, DEFAULT_PREFIX);
        assert_eq!(s.options, vec![("a.b".to_string(), "on".to_string())]);
    }
}
