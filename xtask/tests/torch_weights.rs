//! `export --format safetensors` → `import` over every registered kind gives
//! the same model file, bit for bit; a file PyTorch saved (no metadata)
//! needs --kind and --length; `grads --params` reads a model file.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_xtask");

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the xtask binary runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn xtask(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = run(dir, args);
    assert!(ok, "xtask {}: {err}", args.join(" "));
    out
}

/// Fails with one line that contains `want`.
fn fails(dir: &Path, args: &[&str], want: &str) {
    let (ok, _, err) = run(dir, args);
    assert!(!ok, "xtask {} should fail", args.join(" "));
    assert!(err.contains(want), "{err:?} should contain {want:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
}

fn train(dir: &Path, kind: &str, save: &str) {
    xtask(
        dir,
        &[
            "train",
            "--model",
            kind,
            "--length",
            "5",
            "--hidden",
            "6",
            "--iters",
            "200",
            "--eval-every",
            "100",
            "--heldout",
            "100",
            "--save",
            save,
        ],
    );
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The same tensors without the metadata: what `safetensors.torch.save_file`
/// of PyTorch's `state_dict()` would write.
fn strip_metadata(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors = st.tensors();
    let out = safetensors::serialize(tensors.iter().map(|(n, v)| (n.as_str(), v)), None).unwrap();
    std::fs::write(to, out).unwrap();
}

#[test]
fn every_kind_exports_and_imports_back_to_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for kind in models::ModelKind::all() {
        let k = kind.name();
        let (m, st, back) = (
            format!("{k}.json"),
            format!("{k}.safetensors"),
            format!("{k}_back.json"),
        );
        train(d, k, &m);
        let out = xtask(d, &["export", "--load", &m, "--format", "safetensors"]);
        assert!(out.contains(&format!("wrote {st}")), "{out}");
        let out = xtask(d, &["import", "--from", &st, "--save", &back]);
        assert!(out.contains("the export's own record"), "{out}");
        // The same file, byte for byte, but for the provenance of the
        // process that wrote it (its command line and start time).
        let without = |p: &str| {
            let mut v: Value = serde_json::from_slice(&std::fs::read(d.join(p)).unwrap()).unwrap();
            v.as_object_mut().unwrap().remove("provenance");
            serde_json::to_string(&v).unwrap()
        };
        assert_eq!(
            without(&m),
            without(&back),
            "{k}: the imported model file differs from the exported one"
        );
        let eval = xtask(d, &["eval", "--load", &back]);
        assert!(eval.contains("matches the metrics recorded"), "{eval}");

        // As PyTorch would save it: kind and length required, then the same
        // parameters, recorded as imported, metrics reproduced by eval.
        let plain = format!("{k}_plain.safetensors");
        strip_metadata(&d.join(&st), &d.join(&plain));
        fails(
            d,
            &["import", "--from", &plain, "--save", "x.json"],
            "no rnnstudy metadata for its kind (a file saved by PyTorch has none): give the model's kind",
        );
        fails(
            d,
            &["import", "--from", &plain, "--kind", k, "--save", "x.json"],
            "--length L",
        );
        let imported = format!("{k}_imported.json");
        let out = xtask(
            d,
            &[
                "import", "--from", &plain, "--kind", k, "--length", "5", "--save", &imported,
            ],
        );
        assert!(out.contains("recorded as imported"), "{out}");
        let (a, b) = (json(&d.join(&m)), json(&d.join(&imported)));
        assert_eq!(a["params"], b["params"], "{k}");
        assert_eq!(b["schema"], "rnnstudy.model/2");
        assert_eq!(b["training"]["imported"]["file"], plain.as_str());
        assert_eq!(b["training"]["iters"], 0);
        let eval = xtask(d, &["eval", "--load", &imported]);
        assert!(eval.contains("matches the metrics recorded"), "{eval}");
        let p1 = xtask(
            d,
            &[
                "predict",
                "--load",
                &m,
                "--x",
                "0.3,0.9,0.1,0.5,0.2",
                "--json",
            ],
        );
        let p2 = xtask(
            d,
            &[
                "predict",
                "--load",
                &imported,
                "--x",
                "0.3,0.9,0.1,0.5,0.2",
                "--json",
            ],
        );
        let p = |s: &str| serde_json::from_str::<Value>(s).unwrap()["predictions"].clone();
        assert_eq!(p(&p1), p(&p2), "{k}");
    }
}

#[test]
fn grads_reads_a_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train(d, "gru", "g.json");
    let params = json(&d.join("g.json"))["params"].clone();
    std::fs::write(d.join("p.json"), params.to_string()).unwrap();
    std::fs::write(d.join("s.json"), r#"{"x": [0.2, 0.7, 0.1]}"#).unwrap();
    let bare = xtask(
        d,
        &[
            "grads", "--model", "gru", "--params", "p.json", "--sample", "s.json",
        ],
    );
    let file = xtask(d, &["grads", "--params", "g.json", "--sample", "s.json"]);
    assert_eq!(bare, file);
    let named = xtask(
        d,
        &[
            "grads", "--model", "gru", "--params", "g.json", "--sample", "s.json",
        ],
    );
    assert_eq!(named, file);
    fails(
        d,
        &[
            "grads", "--model", "lstm", "--params", "g.json", "--sample", "s.json",
        ],
        "--model lstm, but the model file g.json holds a gru",
    );
    fails(
        d,
        &["grads", "--params", "p.json", "--sample", "s.json"],
        "--model is required with bare parameters",
    );
    // A damaged model file is checked as eval checks it.
    let mut v = json(&d.join("g.json"));
    v["metrics"]["heldout_acc"] = 2.0.into();
    std::fs::write(d.join("bad.json"), v.to_string()).unwrap();
    fails(
        d,
        &["grads", "--params", "bad.json", "--sample", "s.json"],
        "model file bad.json: `metrics.heldout_acc` = 2",
    );
}

#[test]
fn export_and_import_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train(d, "rnn", "r.json");
    std::fs::write(
        d.join("junk.safetensors"),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}",
    )
    .unwrap();
    fails(
        d,
        &["import", "--from", "junk.safetensors", "--save", "x.json"],
        "safetensors file junk.safetensors: not a safetensors file",
    );
    fails(
        d,
        &[
            "import",
            "--from",
            "missing.safetensors",
            "--save",
            "x.json",
        ],
        "missing.safetensors",
    );
    fails(
        d,
        &[
            "export",
            "--load",
            "r.json",
            "--format",
            "safetensors",
            "--out",
            "r.json",
        ],
        "is the model file itself",
    );
    fails(
        d,
        &["export", "--load", "r.json", "--format", "onnx"],
        "invalid value 'onnx'",
    );
    fails(
        d,
        &[
            "export",
            "--load",
            "r.json",
            "--format",
            "safetensors",
            "--out",
            "/nonexistent/x.safetensors",
        ],
        "--out",
    );
    // A file of another kind, read as this one: the tensor is named.
    xtask(
        d,
        &["export", "--load", "r.json", "--format", "safetensors"],
    );
    fails(
        d,
        &[
            "import",
            "--from",
            "r.safetensors",
            "--kind",
            "dnn",
            "--save",
            "x.json",
        ],
        "unknown tensor `rnn.bias_hh_l0`: a dnn has exactly hidden.weight",
    );
    fails(
        d,
        &[
            "import",
            "--from",
            "r.safetensors",
            "--save",
            "r.safetensors",
        ],
        "is the safetensors file itself",
    );
    assert!(!d.join("x.json").exists());
}
