//! Two C compilations: a generator for the build machine (cargo's HOST), which this
//! build script runs, and a static library for the host (cargo's TARGET) linked into
//! the extension. crossenv must leave the first on the native compiler (crossenv 1.x
//! issue 65) and point the second at the cross compiler.
use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let build_machine = env::var("HOST").unwrap();
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let generator = out.join("generator");
    let compiler = cc::Build::new()
        .target(&build_machine)
        .host(&build_machine)
        .opt_level(0)
        .get_compiler();
    let status = compiler
        .to_command()
        .arg("csrc/generator.c")
        .arg("-o")
        .arg(&generator)
        .status()
        .expect("the build machine's C compiler runs");
    assert!(status.success(), "compiling the generator failed");
    let generated = Command::new(&generator)
        .output()
        .expect("the generator runs on the build machine");
    assert!(generated.status.success(), "the generator failed");
    std::fs::write(out.join("generated.rs"), generated.stdout).unwrap();

    cc::Build::new().file("csrc/hostpart.c").compile("hostpart");
    println!("cargo:rerun-if-changed=csrc");
}
