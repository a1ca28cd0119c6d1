//! Generates the fio ABI bindings (thread_data, io_u, fio_file, ioengine_ops,
//! fio_option, ...) from the fio source tree of the installed fio version.
//!
//! Nothing from fio is committed: `make deps` (scripts/deps.sh) unpacks and
//! configures the Debian source of the installed fio into `target/fio-src`;
//! `FIO_SRC_DIR` overrides the location.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FIO_SRC_DIR");

    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let src = match env::var_os("FIO_SRC_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => manifest_dir.join("../target/fio-src"),
    };
    let config = src.join("config-host.h");
    if !src.join("fio.h").is_file() || !config.is_file() {
        eprintln!(
            "\nerror: the configured fio source tree was not found at {}\n\
             \x20      (need fio.h and config-host.h from `./configure`).\n\
             \x20      Run `make deps` (scripts/deps.sh) to fetch and configure the source of the\n\
             \x20      installed fio, or point FIO_SRC_DIR at a configured fio source tree.\n",
            src.display()
        );
        panic!(
            "fio source missing at {}: run `make deps` or set FIO_SRC_DIR",
            src.display()
        );
    }
    let src = src.canonicalize().unwrap_or(src);
    for f in [
        "config-host.h",
        "fio.h",
        "ioengines.h",
        "io_u.h",
        "file.h",
        "parse.h",
        "optgroup.h",
        "thread_options.h",
        "FIO-VERSION-GEN",
    ] {
        println!("cargo:rerun-if-changed={}", src.join(f).display());
    }
    println!("cargo:rerun-if-changed={}", src.join("version").display());

    let version = fio_version(&src);
    println!("cargo:rustc-env=GLUSTERRS_FIO_VERSION={version}");
    println!(
        "cargo:rustc-env=GLUSTERRS_FIO_SRC={}",
        src.display().to_string().replace('\n', " ")
    );

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
    let wrapper = out.join("fio_wrapper.h");
    fs::write(
        &wrapper,
        "#include \"fio.h\"\n#include \"optgroup.h\"\n#include \"parse.h\"\n",
    )
    .expect("write wrapper header");

    let bindings = bindgen::Builder::default()
        .header(wrapper.display().to_string())
        .clang_arg(format!("-I{}", src.display()))
        .clang_arg("-include")
        .clang_arg(config.display().to_string())
        .clang_args([
            "-std=gnu99",
            "-D_GNU_SOURCE",
            "-D_LARGEFILE_SOURCE",
            "-D_FILE_OFFSET_BITS=64",
            "-DFIO_INTERNAL",
        ])
        .allowlist_type("thread_data")
        .allowlist_type("io_u")
        .allowlist_type("fio_file")
        .allowlist_type("ioengine_ops")
        .allowlist_type("fio_option")
        .allowlist_type("fio_q_status")
        .allowlist_type("fio_ddir")
        .allowlist_type("td_ddir")
        .allowlist_type("fio_opt_type")
        .allowlist_type("opt_category")
        .allowlist_type("opt_category_group")
        .allowlist_type("fio_file_flags")
        .allowlist_type("fio_ioengine_flags")
        .allowlist_type("fio_fallocate_mode")
        .allowlist_type("fio_filetype")
        .allowlist_var("FIO_IOOPS_VERSION")
        .allowlist_var("PARSE_MAX_VP")
        .allowlist_var("TD_ENG_FLAG_SHIFT")
        .allowlist_item("FIO_OUTPUT_NORMAL")
        // Big parts of thread_data the engine never looks into: keep their
        // layout (size/alignment) but skip generating their fields.
        .opaque_type("thread_stat")
        .opaque_type("io_log")
        .opaque_type("io_u_queue")
        .opaque_type("io_u_ring")
        .opaque_type("steadystate_data")
        .opaque_type("frand_state")
        .opaque_type("zipf_state")
        .opaque_type("gauss_state")
        .opaque_type("fio_lfsr")
        .opaque_type("rb_root")
        .opaque_type("workqueue")
        .opaque_type("fio_rwlock")
        .opaque_type("fio_sem")
        .opaque_type("iocb")
        .opaque_type("aiocb")
        .opaque_type("sg_io_hdr")
        .opaque_type("rusage")
        .opaque_type("fio_ruage")
        .opaque_type("flow")
        .opaque_type("zone_split_index")
        .opaque_type("io_hist")
        .opaque_type("io_stat")
        .opaque_type("thread_io_list")
        .derive_default(false)
        .derive_debug(false)
        .layout_tests(false)
        .generate_comments(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .generate()
        .unwrap_or_else(|e| {
            panic!(
                "bindgen over the fio headers in {} failed: {e}; is the tree configured (`make deps`)?",
                src.display()
            )
        });
    bindings
        .write_to_file(out.join("fio_bindings.rs"))
        .expect("write fio bindings");
}

/// The version string the fio of this source tree reports (`fio --version`),
/// computed like FIO-VERSION-GEN does for a release tree.
fn fio_version(src: &Path) -> String {
    if let Ok(v) = fs::read_to_string(src.join("version")) {
        let v = v.trim();
        if !v.is_empty() {
            return v.trim_start_matches('v').to_string();
        }
    }
    let gen = fs::read_to_string(src.join("FIO-VERSION-GEN")).unwrap_or_default();
    gen.lines()
        .find_map(|l| l.strip_prefix("DEF_VER="))
        .map(|v| v.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("cannot find DEF_VER in {}/FIO-VERSION-GEN", src.display()))
}
