//! What to create: [`CommonVolumeSpec`], the part every volume spec has (name or name
//! prefix, options, interrupt) with its chained setters, and [`VolumeSpec`], what
//! [`Volume::create`](super::Volume::create) makes on the host's glusterd (bricks,
//! replica). A cluster's volume spec (`multinode/volume.rs`) embeds the same common part.

use std::path::PathBuf;

use crate::cmd::Interrupt;
use crate::error::Result;
use crate::names::{unique_name, validate_volume_name, DEFAULT_PREFIX};

/// What every volume spec has, whichever glusterd the volume is made on: its name, the
/// options set before the start, and the flag that stops creation. [`VolumeSpec`] and
/// [`ClusterVolumeSpec`](crate::ClusterVolumeSpec) embed one (field `common`) and
/// dereference to it, so `spec.name`, `spec.options`, ... read and write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonVolumeSpec {
    /// Volume name; `None` makes a unique one from `prefix` (see [`unique_name`](crate::unique_name)).
    pub name: Option<String>,
    /// Prefix of the generated name (default [`DEFAULT_PREFIX`]).
    pub prefix: String,
    /// `gluster volume set` options, applied in order before the volume is started.
    pub options: Vec<(String, String)>,
    /// When set during creation, creation stops at the next step, undoes what it did and
    /// returns [`Error::Interrupted`](crate::Error::Interrupted).
    pub interrupt: Option<Interrupt>,
}

impl Default for CommonVolumeSpec {
    fn default() -> Self {
        CommonVolumeSpec {
            name: None,
            prefix: DEFAULT_PREFIX.to_string(),
            options: Vec::new(),
            interrupt: None,
        }
    }
}

impl CommonVolumeSpec {
    /// The name to create the volume under: `name`, or a unique one made from `prefix`;
    /// refused when gluster would not accept it.
    pub(crate) fn volume_name(&self) -> Result<String> {
        let name = match &self.name {
            Some(n) => n.clone(),
            None => unique_name(&self.prefix)?,
        };
        validate_volume_name(&name)?;
        Ok(name)
    }

    /// The interrupt flag creation checks between steps (a never-set one when none was given).
    pub(crate) fn interrupt_flag(&self) -> Interrupt {
        self.interrupt.clone().unwrap_or_default()
    }
}

/// Makes spec type `$spec`, which holds a [`CommonVolumeSpec`] in its field `common`,
/// dereference to it and gives it the chained setters of its fields: written once for
/// every spec type, as inherent methods so that callers need no trait import.
macro_rules! embed_common_volume_spec {
    ($spec:ty) => {
        impl std::ops::Deref for $spec {
            type Target = $crate::CommonVolumeSpec;
            fn deref(&self) -> &$crate::CommonVolumeSpec {
                &self.common
            }
        }

        impl std::ops::DerefMut for $spec {
            fn deref_mut(&mut self) -> &mut $crate::CommonVolumeSpec {
                &mut self.common
            }
        }

        impl $spec {
            /// Uses this exact volume name instead of a generated one.
            pub fn name(mut self, name: impl Into<String>) -> Self {
                self.common.name = Some(name.into());
                self
            }

            /// Prefix for the generated name.
            pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
                self.common.prefix = prefix.into();
                self
            }

            /// Adds a `gluster volume set` option.
            pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
                self.common.options.push((key.into(), value.into()));
                self
            }

            /// Stops creation between steps once `interrupt` is set, undoing what was done
            /// (see [`Interrupt`](crate::Interrupt)).
            pub fn interrupt(mut self, interrupt: $crate::Interrupt) -> Self {
                self.common.interrupt = Some(interrupt);
                self
            }
        }
    };
}
pub(crate) use embed_common_volume_spec;

/// What to create on the host's glusterd. Build with [`VolumeSpec::new`] and the chained
/// setters, or fill the public fields (those of [`CommonVolumeSpec`] through `common`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// Name, options and interrupt (also reachable as `spec.name`, ... by dereference).
    pub common: CommonVolumeSpec,
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
}

impl Default for VolumeSpec {
    fn default() -> Self {
        VolumeSpec {
            common: CommonVolumeSpec::default(),
            bricks: 1,
            replica: None,
            brick_root: None,
            existing_bricks: Vec::new(),
        }
    }
}

embed_common_volume_spec!(VolumeSpec);

impl VolumeSpec {
    /// One brick, generated name, bricks in the temp dir, no options.
    pub fn new() -> VolumeSpec {
        VolumeSpec::default()
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

    #[test]
    fn common_setters_and_fields() {
        let flag = Interrupt::new();
        let mut s = VolumeSpec::new()
            .prefix("grs-spec")
            .name("grs-spec-x")
            .interrupt(flag.clone());
        assert_eq!(s.common.prefix, "grs-spec");
        assert_eq!(s.volume_name().unwrap(), "grs-spec-x");
        assert_eq!(s.interrupt_flag(), flag);
        // Writing through the dereference reaches the embedded part.
        s.name = None;
        assert!(s.volume_name().unwrap().starts_with("grs-spec-"));
        s.name = Some("x y".into());
        assert!(s.volume_name().is_err());
        assert!(!VolumeSpec::new().interrupt_flag().is_set());
    }
}
