//! With feature `python`: the binaries find, at run time, the libpython of the Python the
//! build was made for (PYO3_PYTHON, else the one on PATH), not whichever one the system
//! loader finds first, so the embedded interpreter and that `python3` see the same
//! standard library and site-packages. Without the feature, nothing.

fn main() {
    // Nothing else the build reads can change what this script does: without this line,
    // cargo would run it again, and rebuild the crate, whenever any file of the package
    // changes (a chart a lesson redraws, a script a learner adds).
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(feature = "python")]
    pyo3_build_config::add_libpython_rpath_link_args();
}
