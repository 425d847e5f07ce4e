//! `train` → save → load → `eval` reproduces the recorded metrics exactly,
//! and `train` itself is reproducible bit for bit from its seed.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_xtask");

fn xtask(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the xtask binary runs");
    assert!(
        out.status.success(),
        "xtask {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn train(dir: &Path, model: &str, save: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "train",
        "--model",
        model,
        "--length",
        "6",
        "--hidden",
        "12",
        "--iters",
        "400",
        "--eval-every",
        "100",
        "--heldout",
        "300",
        "--save",
        save,
    ];
    args.extend_from_slice(extra);
    xtask(dir, &args);
    serde_json::from_slice(&std::fs::read(dir.join(save)).unwrap()).unwrap()
}

#[test]
fn train_save_load_eval_reproduces_the_recorded_metrics_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (model, extra) in [
        ("rnn", &[][..]),
        ("dnn", &[][..]),
        ("gru", &["--lr-rec", "0.1"][..]),
        (
            "lstm",
            &[
                "--optimizer",
                "adam",
                "--lr-io",
                "0.01",
                "--lr-rec",
                "0.01",
                "--clip",
                "1",
            ][..],
        ),
    ] {
        let save = format!("{model}.json");
        let file = train(d, model, &save, extra);
        // Version 2: the file records where it comes from.
        assert_eq!(file["schema"], "rnnstudy.model/2");
        let p = &file["provenance"];
        assert!(
            p["build"]["rustc"]
                .as_str()
                .is_some_and(|r| r.starts_with("rustc ")),
            "{p}"
        );
        assert!(
            p["command"][1] == "train" && p["started"].is_string(),
            "{p}"
        );
        let recorded = &file["metrics"];
        let eval: Value =
            serde_json::from_str(&xtask(d, &["eval", "--load", &save, "--json"])).unwrap();
        assert_eq!(eval["matches_recorded"], true, "{model}: {eval}");
        for key in [
            "heldout_acc",
            "heldout_exact",
            "per_position_acc",
            "heldout_loss",
        ] {
            // The same f64 prints as the same shortest text.
            assert_eq!(
                eval[key].to_string(),
                recorded[key].to_string(),
                "{model}: {key}"
            );
        }
        assert_eq!(eval["data"]["count"], 300);
        let text = xtask(d, &["eval", "--load", &save]);
        assert!(
            text.contains("matches the metrics recorded in the model file exactly"),
            "{text}"
        );
    }
}

#[test]
fn training_twice_writes_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The same file but for its provenance (the command line and the time).
    let without = |mut v: Value| {
        v.as_object_mut().unwrap().remove("provenance");
        v
    };
    let a = without(train(d, "rnn", "a.json", &[]));
    let b = without(train(d, "rnn", "b.json", &[]));
    let c = train(d, "rnn", "c.json", &["--seed", "6"]);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert_ne!(a["params"], c["params"]);
}

#[test]
fn data_files_and_fresh_data_agree() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train(d, "rnn", "m.json", &[]);
    xtask(
        d,
        &[
            "data",
            "--length",
            "7",
            "--count",
            "50",
            "--seed",
            "9",
            "--heldout",
            "--out",
            "data",
        ],
    );
    let stem = "data/alternating_L7_n50_seed9_heldout";
    let run = |args: &[&str]| -> Value {
        let mut all = vec!["eval", "--load", "m.json", "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&xtask(d, &all)).unwrap()
    };
    let fresh = run(&["--count", "50", "--seed", "9", "--length", "7"]);
    let csv = run(&["--data", &format!("{stem}.csv")]);
    let npy = run(&["--data", &format!("{stem}_x.npy")]);
    for key in [
        "heldout_acc",
        "heldout_exact",
        "per_position_acc",
        "heldout_loss",
    ] {
        assert_eq!(fresh[key], csv[key], "{key}");
        assert_eq!(fresh[key], npy[key], "{key}");
    }
    assert_eq!(fresh["matches_recorded"], Value::Null);

    // predict gives one probability and one decision per element.
    let out: Value = serde_json::from_str(&xtask(
        d,
        &[
            "predict",
            "--load",
            "m.json",
            "--x",
            "0.3,0.9,0.1",
            "--json",
        ],
    ))
    .unwrap();
    let p = &out["predictions"][0];
    assert_eq!(p["p"].as_array().unwrap().len(), 3);
    assert_eq!(p["rule"], serde_json::json!([1, 0, 0]));
}

/// A model trained by `train` is the study's run of the same variant,
/// length and seed, bit for bit (one training path serves both).
#[test]
fn train_equals_the_studys_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    xtask(
        d,
        &[
            "study",
            "--models",
            "gru",
            "--hidden",
            "12",
            "--lengths",
            "6",
            "--seeds",
            "3,",
            "--iters",
            "400",
            "--eval-every",
            "100",
            "--heldout",
            "300",
            "--out",
            "./s",
        ],
    );
    let m = train(d, "gru", "g.json", &["--seed", "3"]);
    let study: Value =
        serde_json::from_slice(&std::fs::read(d.join("s/study.json")).unwrap()).unwrap();
    let run = &study["runs"][0];
    assert_eq!(m["metrics"], run["final"], "{run}");
}

/// `report` writes SUMMARY.md and the plots again from study.json.
#[test]
fn report_regenerates_summary_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    xtask(
        d,
        &[
            "study",
            "--quick",
            "--models",
            "dnn",
            "--lengths",
            "4",
            "--out",
            "./r",
        ],
    );
    let r = d.join("r");
    let summary = std::fs::read(r.join("SUMMARY.md")).unwrap();
    let plot = std::fs::read(r.join("curve_L4.svg")).unwrap();
    std::fs::remove_file(r.join("SUMMARY.md")).unwrap();
    std::fs::remove_file(r.join("curve_L4.svg")).unwrap();
    let out = xtask(d, &["report", "./r"]);
    assert!(out.contains("wrote SUMMARY.md"), "{out}");
    assert_eq!(std::fs::read(r.join("SUMMARY.md")).unwrap(), summary);
    assert_eq!(std::fs::read(r.join("curve_L4.svg")).unwrap(), plot);
    // Replaying the folder's own study into it is a resume: nothing is
    // trained again and no run is rewritten.
    let runs_before = read_runs(&r);
    let out = xtask(d, &["study", "--config", "./r/study.toml", "--out", "./r"]);
    assert!(out.contains("reports in"), "{out}");
    assert_eq!(read_runs(&r), runs_before);
    xtask(d, &["study", "--config", "./r/study.toml", "--out", "./r2"]);
    // A folder without a study is named.
    let out = Command::new(BIN)
        .args(["report", "./nowhere"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("nowhere/study.json") && e.lines().count() == 1,
        "{e}"
    );
}

/// Every run file of a report folder, by name, as bytes.
fn read_runs(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Data as numpy, PyTorch and pandas save it (a float32 `.npy` with bool
/// labels, `.npz` archives stored and compressed, with and without labels,
/// a CSV with pandas' index and True/False labels) evaluates exactly like
/// the same numbers in the CSV `cargo xtask data` writes.
#[test]
fn data_saved_by_numpy_torch_and_pandas_evaluates_the_same() {
    use ndarray::{Array2, ShapeBuilder};
    use ndarray_npy::WriteNpyExt;
    use std::io::Write as _;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train(d, "rnn", "m.json", &[]);
    // Inputs that are exactly float32 values, so that every file holds the
    // same numbers; labels from the task's rule.
    let (n, l) = (40, 5);
    let task = seqdata::AlternatingSign::new(l).unwrap();
    let x32 = task.heldout(n, 3).unwrap().inputs().mapv(|v| v as f32);
    let x = x32.mapv(f64::from);
    let y = seqdata::io::rule_labels(&x);
    let bools = y.mapv(|v| v == 1.0);
    let npy = |a: &dyn Fn(&mut Vec<u8>)| {
        let mut b = Vec::new();
        a(&mut b);
        b
    };
    let x_npy = npy(&|b| x32.write_npy(b).unwrap());
    let y_npy = npy(&|b| bools.write_npy(b).unwrap());
    // y as int64 in Fortran order, as a transposed torch tensor saves.
    let y_fortran =
        Array2::from_shape_vec((n, l).f(), y.t().iter().map(|v| *v as i64).collect()).unwrap();
    let y_i64 = npy(&|b| y_fortran.write_npy(b).unwrap());
    let npz = |members: &[(&str, &[u8])], method| {
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in members {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    };
    let stored = zip::CompressionMethod::Stored;
    let deflated = zip::CompressionMethod::Deflated;
    let write = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
    let csv = |index: bool, label: &dyn Fn(f64) -> String| {
        let mut header: Vec<String> = (0..l).map(|t| format!("x{t}")).collect();
        header.extend((0..l).map(|t| format!("y{t}")));
        let mut s = format!("{}{}\n", if index { "," } else { "" }, header.join(","));
        for i in 0..n {
            let mut f: Vec<String> = if index { vec![i.to_string()] } else { vec![] };
            f.extend(x.row(i).iter().map(|v| v.to_string()));
            f.extend(y.row(i).iter().map(|v| label(*v)));
            s.push_str(&f.join(","));
            s.push('\n');
        }
        s
    };
    write("ref.csv", csv(false, &|v| format!("{v}")).as_bytes());
    write(
        "pandas.csv",
        csv(true, &|v| if v == 1.0 { "True" } else { "False" }.into()).as_bytes(),
    );
    write("torch_x.npy", &x_npy);
    write("torch_y.npy", &y_npy);
    write("only_x.npy", &x_npy);
    write(
        "savez.npz",
        &npz(&[("x.npy", &x_npy), ("y.npy", &y_i64)], stored),
    );
    write(
        "compressed.npz",
        &npz(&[("x.npy", &x_npy), ("y.npy", &y_npy)], deflated),
    );
    write("unlabelled.npz", &npz(&[("x.npy", &x_npy)], stored));

    let eval = |file: &str| -> Value {
        serde_json::from_str(&xtask(
            d,
            &["eval", "--load", "m.json", "--data", file, "--json"],
        ))
        .unwrap()
    };
    let reference = eval("ref.csv");
    assert_eq!(reference["data"]["count"], n);
    assert_eq!(reference["data"]["length"], l);
    for file in [
        "pandas.csv",
        "torch_x.npy",
        "only_x.npy",
        "savez.npz",
        "compressed.npz",
        "unlabelled.npz",
    ] {
        let got = eval(file);
        for key in [
            "heldout_acc",
            "heldout_exact",
            "per_position_acc",
            "heldout_loss",
        ] {
            assert_eq!(got[key], reference[key], "{file}: {key}");
        }
        assert_eq!(got["data"]["count"], n, "{file}");
    }
    // The text output names the file read.
    let text = xtask(d, &["eval", "--load", "m.json", "--data", "savez.npz"]);
    assert!(text.contains("data:  savez.npz"), "{text}");
}
