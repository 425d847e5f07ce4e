//! `cargo xtask study --save-models`: every run's model file is one that
//! `cargo xtask eval --load` reproduces the run's metrics from.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_xtask");

#[test]
fn study_model_files_reproduce_their_runs_in_eval() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let kinds: Vec<&str> = models::ModelKind::all().map(|k| k.name()).collect();
    let status = Command::new(BIN)
        .args([
            "study",
            "--models",
            &kinds.join(","),
            "--lengths",
            "4",
            "--seeds",
            "2",
        ])
        .args([
            "--iters",
            "60",
            "--eval-every",
            "30",
            "--heldout",
            "40",
            "--hidden",
            "5",
        ])
        .args(["--threads", "2", "--save-models", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let runs = out.join("runs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&runs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".model.json") else {
            continue;
        };
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(runs.join(format!("{stem}.json"))).unwrap())
                .unwrap();
        let eval = Command::new(BIN)
            .args(["eval", "--json", "--load"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            eval.status.success(),
            "{}",
            String::from_utf8_lossy(&eval.stderr)
        );
        let e: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
        assert_eq!(e["matches_recorded"], true, "{name}");
        assert_eq!(e["heldout_acc"], run["final"]["heldout_acc"], "{name}");
        assert_eq!(e["heldout_loss"], run["final"]["heldout_loss"], "{name}");
        checked += 1;
    }
    assert_eq!(checked, kinds.len() * 2);
}
