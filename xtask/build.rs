//! Captures where this binary comes from (git commit and dirty flag, rustc,
//! target features) for the provenance every report and model file records.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf();
    let watch: Vec<std::path::PathBuf> =
        ["crates", "xtask/src", "studies", "Cargo.toml", "Cargo.lock"]
            .iter()
            .map(|p| root.join(p))
            .collect();
    let watch: Vec<&std::path::Path> = watch.iter().map(|p| p.as_path()).collect();
    provenance::emit_build_env(&root, &watch);
}
