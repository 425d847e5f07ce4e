//! Hostile input: every command, fed missing, empty, truncated, wrong and
//! absurd input, must fail cleanly: a non-zero exit, one line on stderr that
//! names the problem, no panic, and no file left behind.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_xtask");

/// Runs the binary in `dir` with `args` (and `stdin`); returns (success, stdout, stderr).
fn run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the xtask binary runs");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The command may refuse before reading: a broken pipe is fine.
        let _ = pipe.write_all(bytes);
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file under `dir`, recursively, relative to it.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    out
}

/// Asserts that `args` fails cleanly in `dir`, naming `want` on one line of
/// stderr, and leaves no file behind.
fn fails(dir: &Path, args: &[&str], stdin: Option<&[u8]>, want: &str) {
    let before = files(dir);
    let (ok, _, stderr) = run(dir, args, stdin);
    let case = format!("xtask {}", args.join(" "));
    assert!(!ok, "{case}: succeeded, should have failed");
    assert!(!stderr.contains("panicked"), "{case}: panicked: {stderr}");
    let text = stderr.trim_end();
    assert!(!text.is_empty(), "{case}: nothing on stderr");
    assert!(
        !text.contains('\n'),
        "{case}: stderr is more than one line:\n{stderr}"
    );
    assert!(
        text.contains(want),
        "{case}: stderr {text:?} should name {want:?}"
    );
    let after = files(dir);
    assert_eq!(before, after, "{case}: files were left behind or removed");
}

/// `base` flag-value pairs with those of `overrides` replacing or added.
fn flags<'a>(
    command: &'a str,
    base: &[(&'a str, &'a str)],
    overrides: &[(&'a str, &'a str)],
) -> Vec<&'a str> {
    let mut pairs: Vec<(&str, &str)> = base.to_vec();
    for &(k, v) in overrides {
        match pairs.iter_mut().find(|(bk, _)| *bk == k) {
            Some(p) => p.1 = v,
            None => pairs.push((k, v)),
        }
    }
    let mut args = vec![command];
    for (k, v) in pairs {
        args.push(k);
        if !v.is_empty() {
            args.push(v);
        }
    }
    args
}

/// A folder with a tiny trained rnn and dnn (hidden 4, length 4), their
/// parameters, a sample, and data files of length 4 and 5.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for model in ["rnn", "dnn"] {
            let save = format!("{model}.json");
            let (ok, _, err) = run(
                d,
                &[
                    "train",
                    "--model",
                    model,
                    "--length",
                    "4",
                    "--hidden",
                    "4",
                    "--iters",
                    "20",
                    "--heldout",
                    "16",
                    "--save",
                    &save,
                ],
                None,
            );
            assert!(ok, "training the fixture {model}: {err}");
        }
        for (l, n) in [("4", "6"), ("5", "6")] {
            let (ok, _, err) = run(
                d,
                &[
                    "data",
                    "--length",
                    l,
                    "--count",
                    n,
                    "--heldout",
                    "--out",
                    "data",
                ],
                None,
            );
            assert!(ok, "writing fixture data: {err}");
        }
        let f = Self { dir };
        let params = f.model("rnn")["params"].clone();
        f.write_json("rnn_params.json", &params);
        f.write_json("dnn_params.json", &f.model("dnn")["params"]);
        f.write_json("sample.json", &json!({"x": [0.1, 0.5, 0.3, 0.9]}));
        f
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn model(&self, name: &str) -> Value {
        let text = std::fs::read_to_string(self.path().join(format!("{name}.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path().join(name), bytes).unwrap();
    }

    fn write_json(&self, name: &str, v: &Value) {
        self.write(name, serde_json::to_string(v).unwrap().as_bytes());
    }

    /// Writes the rnn's model file with `edit` applied as `name`.
    fn edited(&self, name: &str, base: &str, edit: impl FnOnce(&mut Value)) {
        let mut v = self.model(base);
        edit(&mut v);
        self.write_json(name, &v);
    }

    fn fails(&self, args: &[&str], want: &str) {
        fails(self.path(), args, None, want);
    }
}

#[test]
fn grads_refuses_bad_input() {
    let f = Fixture::new();
    let full = std::fs::read(f.path().join("rnn_params.json")).unwrap();
    f.write("empty.json", b"");
    f.write("truncated.json", &full[..full.len() / 2]);
    f.write("huge_weight.json", br#"{"W_in": [[1e999]]}"#);
    let mut p: Value = serde_json::from_slice(&full).unwrap();
    p["W"] = json!([[1.0]]);
    f.write_json("bad_shape.json", &p);
    let mut p: Value = serde_json::from_slice(&full).unwrap();
    p["W"][0][1] = json!("NaN");
    f.write_json("nan_string.json", &p);
    f.write_json("bad_sample.json", &json!({"x": [0.1, "a", 0.3]}));
    f.write_json("long_sample.json", &json!({"x": [0.1, 0.2, 0.3, 0.4, 0.5]}));
    let grads = |params: &str, sample: &str, model: &str, want: &str| {
        f.fails(
            &[
                "grads", "--model", model, "--params", params, "--sample", sample,
            ],
            want,
        );
    };
    grads(
        "missing.json",
        "sample.json",
        "rnn",
        "cannot read parameter file missing.json",
    );
    grads("empty.json", "sample.json", "rnn", "not valid JSON");
    grads("truncated.json", "sample.json", "rnn", "not valid JSON");
    grads(
        "huge_weight.json",
        "sample.json",
        "rnn",
        "number out of range",
    );
    grads(
        "bad_shape.json",
        "sample.json",
        "rnn",
        "parameter `W` has shape",
    );
    grads(
        "nan_string.json",
        "sample.json",
        "rnn",
        "parameter `W` at [0][1]",
    );
    grads(
        "rnn_params.json",
        "missing.json",
        "rnn",
        "cannot read sample file",
    );
    grads("rnn_params.json", "bad_sample.json", "rnn", "`x[1]`");
    grads(
        "dnn_params.json",
        "long_sample.json",
        "dnn",
        "takes length 4",
    );
    grads(
        "rnn_params.json",
        "sample.json",
        "dnn",
        "parameter `b2` is missing",
    );
    grads(
        "rnn_params.json",
        "sample.json",
        "cnn",
        "invalid value 'cnn'",
    );
    // The inputs are size-limited like every other file (they were read whole).
    let big = std::fs::File::create(f.path().join("big.json")).unwrap();
    big.set_len(600 << 20).unwrap();
    grads(
        "big.json",
        "sample.json",
        "rnn",
        "parameter file big.json is 629145600 bytes, more than the 536870912 (512 MiB) accepted",
    );
    grads(
        "rnn_params.json",
        "big.json",
        "rnn",
        "sample file big.json is 629145600 bytes",
    );
}

#[test]
fn eval_refuses_bad_model_files() {
    let f = Fixture::new();
    let full = std::fs::read(f.path().join("rnn.json")).unwrap();
    f.write("empty.json", b"");
    f.write("truncated.json", &full[..full.len() * 2 / 3]);
    f.write("garbage.json", b"\x00\xff\x13 not json at all");
    f.edited("study_schema.json", "rnn", |v| {
        v["schema"] = json!("rnnstudy.study/1")
    });
    f.edited("future.json", "rnn", |v| {
        v["schema"] = json!("rnnstudy.model/9")
    });
    f.edited("no_schema.json", "rnn", |v| {
        v.as_object_mut().unwrap().remove("schema");
    });
    f.edited("kind.json", "rnn", |v| v["model"] = json!("transformer"));
    f.edited("hidden.json", "rnn", |v| v["hidden"] = json!(5));
    f.edited("shape.json", "rnn", |v| {
        v["params"]["W"] = json!([[0.1, 0.2]])
    });
    f.edited("missing_key.json", "rnn", |v| {
        v["params"].as_object_mut().unwrap().remove("W_out");
    });
    f.edited("nan_string.json", "rnn", |v| {
        v["params"]["W"][2][3] = json!("NaN")
    });
    f.edited("null.json", "rnn", |v| v["params"]["b"][1] = Value::Null);
    f.edited("not_number.json", "rnn", |v| {
        v["training"]["seed"] = json!("zero")
    });
    f.edited("dnn_length.json", "dnn", |v| v["length"] = json!(5));
    f.edited("huge_heldout.json", "rnn", |v| {
        v["training"]["heldout"] = json!(1_000_000_000_u64)
    });
    // JSON has no NaN or infinity: written as 1e999 a weight overflows f64.
    let mut v = f.model("rnn");
    v["params"]["W"][1][1] = json!(123456.789);
    let inf = serde_json::to_string(&v)
        .unwrap()
        .replace("123456.789", "1e999");
    f.write("inf.json", inf.as_bytes());

    let eval = |file: &str, want: &str| f.fails(&["eval", "--load", file], want);
    eval("missing.json", "cannot read model file missing.json");
    eval("empty.json", "model file empty.json: the file is empty");
    eval(
        "truncated.json",
        "model file truncated.json: not valid JSON",
    );
    eval("garbage.json", "not valid JSON");
    eval(
        "study_schema.json",
        "schema `rnnstudy.study/1` is not a model file's",
    );
    eval(
        "future.json",
        "schema version 9 (`rnnstudy.model/9`) is not supported",
    );
    eval(
        "future.json",
        "this build reads rnnstudy.model/1, rnnstudy.model/2",
    );
    eval("no_schema.json", "no `schema` field");
    eval("kind.json", "unknown model kind `transformer`");
    eval(
        "hidden.json",
        "`params` (of a rnn with hidden 5): parameter `W_in` has shape",
    );
    eval("shape.json", "parameter `W` has shape");
    eval("missing_key.json", "parameter `W_out` is missing");
    eval("nan_string.json", "parameter `W` at [2][3]");
    eval("null.json", "parameter `b` at [1]");
    eval("not_number.json", "`training.seed`");
    eval(
        "dnn_length.json",
        "`params` (of a dnn with hidden 4): parameter `W1` has shape 4 rows where 5 are needed",
    );
    eval(
        "huge_heldout.json",
        "`training.heldout` = 1000000000 is out of range",
    );
    eval(
        "inf.json",
        "model file inf.json: not valid JSON: number out of range",
    );
    eval(".", "is a folder");
    // Declared sizes whose parameters the file cannot hold: refused before
    // anything is allocated from them.
    f.edited("huge_dnn.json", "dnn", |v| {
        v["hidden"] = json!(4096);
        v["length"] = json!(4096);
        v["params"]["b1"] = json!(vec![0.0; 4096]);
        v["params"]["b2"] = json!(vec![0.0; 4096]);
        v["metrics"]["per_position_acc"] = json!(vec![0.5; 4096]);
    });
    eval("huge_dnn.json", "more than a file of");
    // A file over the size limit (sparse: it takes no space) is not read.
    let big = std::fs::File::create(f.path().join("big.json")).unwrap();
    big.set_len(600 << 20).unwrap();
    drop(big);
    eval("big.json", "more than the 536870912 (512 MiB) accepted");
    f.fails(
        &["eval", "--load", "rnn.json", "--data", "big.json"],
        "unknown format",
    );
    std::fs::rename(f.path().join("big.json"), f.path().join("big.csv")).unwrap();
    f.fails(
        &["eval", "--load", "rnn.json", "--data", "big.csv"],
        "data file big.csv is 629145600 bytes, more than the 536870912 (512 MiB) accepted",
    );
    f.fails(
        &["predict", "--load", "future.json", "--x", "0.5"],
        "schema version 9",
    );
}

/// A version-1 `.npy` file of `descr` and `shape` (C order) over `data`.
fn npy_of(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    b.extend_from_slice(data);
    b
}

/// A `.npz` archive (stored, as np.savez writes it) of `(name, bytes)`.
fn npz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn eval_refuses_bad_data() {
    let f = Fixture::new();
    let csv4 = "data/alternating_L4_n6_seed0_heldout.csv";
    let csv5 = "data/alternating_L5_n6_seed0_heldout.csv";
    let npy4 = "data/alternating_L4_n6_seed0_heldout_x.npy";
    f.write("empty.csv", b"");
    f.write("header_only.csv", b"x0,x1,x2,x3,y0,y1,y2,y3\n");
    f.write("word.csv", b"x0,x1,x2,x3\n0.1,0.2,zero,0.4\n");
    f.write("inf.csv", b"x0,x1\n0.5,inf\n");
    f.write("label.csv", b"x0,x1,y0,y1\n0.5,0.1,1,2\n");
    f.write("ragged.csv", b"x0,x1\n0.5,0.1\n0.3\n");
    f.write("header.csv", b"a,b,c\n1,2,3\n");
    let npy = std::fs::read(f.path().join(npy4)).unwrap();
    f.write("truncated_x.npy", &npy[..npy.len() - 5]);
    f.write("empty_x.npy", b"");
    f.write("text.npy", b"x0,x1\n0.5,0.1\n");
    f.write("data.txt", b"0.5 0.1\n");

    let eval = |model: &str, data: &str, want: &str| {
        f.fails(&["eval", "--load", model, "--data", data], want)
    };
    eval(
        "rnn.json",
        "missing.csv",
        "cannot read data file missing.csv",
    );
    eval(
        "rnn.json",
        "empty.csv",
        "data file empty.csv: the file is empty",
    );
    eval(
        "rnn.json",
        "header_only.csv",
        "has a header but no sequences",
    );
    eval(
        "rnn.json",
        "word.csv",
        "line 2, column x2: `zero` is not a number",
    );
    eval(
        "rnn.json",
        "inf.csv",
        "line 2, column x1: `inf` is not a finite number",
    );
    eval(
        "rnn.json",
        "label.csv",
        "line 2, column y1: `2` is not a label (0 or 1, 0.0 or 1.0, True or False)",
    );
    eval(
        "rnn.json",
        "ragged.csv",
        "line 3 has 1 fields but the header has 2",
    );
    eval(
        "rnn.json",
        "header.csv",
        "the header starts with `a`, not x0",
    );
    eval(
        "dnn.json",
        csv5,
        "the sequences have length 5 but this dnn takes only length 4",
    );
    eval("rnn.json", "truncated_x.npy", "truncated or corrupt");
    eval("rnn.json", "empty_x.npy", "the file is empty");
    eval("rnn.json", "text.npy", "not a .npy file");
    eval("rnn.json", "data.txt", "unknown format");

    // Data as other tools save it, but not in a form that can be read:
    // each refusal names the file, the problem and the fix.
    f.write("half_x.npy", &npy_of("<f2", "(6, 4)", &[0; 48]));
    f.write("cube_x.npy", &npy_of("<f4", "(2, 3, 4)", &[0; 96]));
    f.write("ints_x.npy", &npy_of("<i8", "(1, 4)", &[0; 32]));
    f.write("short_x.npy", &npy_of("<f4", "(6, 4)", &[0; 95]));
    f.write("text_x.npy", &npy_of("<U3", "(1, 4)", &[0; 48]));
    f.write("pair_x.npy", &npy_of("<f4", "(1, 4)", &[0; 16]));
    f.write("pair_y.npy", &npy_of("|b1", "(1, 4)", &[1, 0, 2, 1]));
    let x4 = npy_of("<f4", "(1, 4)", &[0; 16]);
    f.write("no_x.npz", &npz(&[("a.npy", &x4), ("b.npy", &x4)]));
    f.write("empty.npz", &npz(&[]));
    f.write(
        "mismatch.npz",
        &npz(&[("x.npy", &x4), ("y.npy", &npy_of("|u1", "(1, 3)", &[1; 3]))]),
    );
    f.write(
        "half.npz",
        &npz(&[("x.npy", &npy_of("<f2", "(1, 4)", &[0; 8]))]),
    );
    f.write("text.npz", b"x0,x1\n0.5,0.1\n");
    let mut torn = npz(&[("x.npy", &x4)]);
    torn.truncate(torn.len() - 30);
    f.write("torn.npz", &torn);
    f.write("bad_index.csv", b",x0,x1,x2,x3\n0.5,0.1,0.2,0.3,0.4\n");
    f.write("id.csv", b"id,x0,x1,x2,x3\n0,0.1,0.2,0.3,0.4\n");
    f.write("yes.csv", b",x0,y0\n0,0.1,yes\n");
    eval(
        "rnn.json",
        "half_x.npy",
        "data file half_x.npy: the array holds float16 (<f2): save it as float32 or float64 (x.astype('float32'))",
    );
    eval(
        "rnn.json",
        "cube_x.npy",
        "data file cube_x.npy: the array has shape (2, 3, 4): expected 2 dimensions (sequences, length), not 3",
    );
    eval(
        "rnn.json",
        "ints_x.npy",
        "data file ints_x.npy: the array holds int64 (<i8), and inputs are numbers in [0, 1): save it as float32 or float64",
    );
    eval(
        "rnn.json",
        "short_x.npy",
        "shape (6, 4) of float32 but 95 bytes of data: the file is truncated or corrupt",
    );
    eval("rnn.json", "text_x.npy", "holds text strings (<U3)");
    eval(
        "rnn.json",
        "pair_x.npy",
        "label file pair_y.npy: entry [0][2] = 2 is not a label (0 or 1)",
    );
    eval(
        "rnn.json",
        "no_x.npz",
        "data file no_x.npz: the archive has arrays a, b but no `x`: save it with np.savez(path, x=inputs, y=labels)",
    );
    eval(
        "rnn.json",
        "empty.npz",
        "data file empty.npz: the archive holds no arrays",
    );
    eval(
        "rnn.json",
        "mismatch.npz",
        "array `y` has shape (1, 3) but `x` has (1, 4): they must match",
    );
    eval(
        "rnn.json",
        "half.npz",
        "data file half.npz: array `x`: the array holds float16 (<f2)",
    );
    eval(
        "rnn.json",
        "text.npz",
        "data file text.npz: not a .npz file",
    );
    eval(
        "rnn.json",
        "torn.npz",
        "data file torn.npz: not a .npz file",
    );
    eval(
        "rnn.json",
        "bad_index.csv",
        "line 2, index column ``: `0.5` is not an integer",
    );
    eval(
        "rnn.json",
        "id.csv",
        "the header starts with `id`, not x0 or an index column",
    );
    eval(
        "rnn.json",
        "header.csv",
        "df.to_csv(path, index=False) and df.to_csv(path) (an index column first) both work",
    );
    eval(
        "rnn.json",
        "yes.csv",
        "line 2, column y0: `yes` is not a label (0 or 1, 0.0 or 1.0, True or False)",
    );
    f.fails(
        &[
            "eval",
            "--load",
            "rnn.json",
            "--count",
            "100000000",
            "--length",
            "1000",
        ],
        "--count: 100000000 sequences of length 1000 is out of range",
    );
    f.fails(
        &[
            "eval",
            "--load",
            "rnn.json",
            "--count",
            "10",
            "--length",
            "100000000",
        ],
        "--length: sequence length 100000000 is out of range",
    );
    f.fails(
        &["eval", "--load", "rnn.json", "--count", "0"],
        "--count: 0 sequences",
    );
    f.fails(
        &["eval", "--load", "dnn.json", "--length", "5"],
        "--length 5: this dnn takes only length 4",
    );
    f.fails(
        &["eval", "--load", "rnn.json", "--data", csv4, "--count", "5"],
        "cannot be used with",
    );
    f.fails(&["eval", "--load", "rnn.json", "--count", "-5"], "'-5'");
}

#[test]
fn predict_refuses_bad_input() {
    let f = Fixture::new();
    let predict =
        |model: &str, x: &str, want: &str| f.fails(&["predict", "--load", model, "--x", x], want);
    predict("missing.json", "0.5", "cannot read model file missing.json");
    predict(
        "dnn.json",
        "0.1,0.2,0.3",
        "--x: a sequence of length 3 but this dnn takes only length 4",
    );
    predict("rnn.json", "0.1,abc", "--x: value 2 `abc` is not a number");
    predict(
        "rnn.json",
        "0.1 nan",
        "--x: value 2 `nan` is not a finite number",
    );
    predict(
        "rnn.json",
        "1e999",
        "--x: value 1 `1e999` is not a finite number",
    );
    predict("rnn.json", "", "--x: no numbers");
    predict("rnn.json", "0.1,,0.2", "value 2 is empty");
    let stdin = |input: &[u8], want: &str| {
        fails(
            f.path(),
            &["predict", "--load", "rnn.json", "--x", "-"],
            Some(input),
            want,
        )
    };
    stdin(b"", "stdin holds no sequence");
    stdin(
        b"0.1,0.2\n0.3,x\n",
        "stdin line 2: value 2 `x` is not a number",
    );
    stdin(b"\xff\xfe", "stdin is not UTF-8");
    fails(
        f.path(),
        &["predict", "--load", "dnn.json", "--x", "-"],
        Some(b"0.1 0.2 0.3 0.4\n0.1\n"),
        "stdin line 2: a sequence of length 1 but this dnn takes only length 4",
    );
}

#[test]
fn train_refuses_bad_settings_before_training() {
    let f = Fixture::new();
    let base = [
        ("--model", "rnn"),
        ("--length", "4"),
        ("--hidden", "4"),
        ("--iters", "20"),
        ("--heldout", "16"),
        ("--save", "m.json"),
    ];
    let train = |overrides: &[(&str, &str)], want: &str| {
        f.fails(&flags("train", &base, overrides), want);
    };
    train(
        &[("--save", "missing/m.json")],
        "--save missing/m.json: cannot write in missing",
    );
    train(
        &[("--save", "/proc/rnnstudy-m.json")],
        "cannot write in /proc",
    );
    train(&[("--save", ".")], "--save . is a folder");
    train(&[("--length", "0")], "--length 0 is out of range");
    train(
        &[("--length", "1000000")],
        "--length 1000000 is out of range",
    );
    train(
        &[("--iters", "0")],
        "invalid iters = 0: use 1 ..= 100000000",
    );
    train(
        &[("--clip", "-1")],
        "invalid clip = -1: the clipping norm must be a finite number > 0",
    );
    train(&[("--lr-io", "nan")], "NaN");
    train(
        &[("--heldout", "100000000")],
        "--heldout 100000000 is out of range",
    );
    train(&[("--hidden", "100000")], "hidden = 100000: use 1 ..= 4096");
    train(
        &[("--iters", "abc")],
        "invalid value 'abc' for '--iters <N>'",
    );
    train(&[("--model", "cnn")], "invalid value 'cnn'");
    train(
        &[("--model", "gru"), ("--hidden", "4096")],
        "could exceed the 536870912 bytes (512 MiB) a model file may have",
    );
    f.fails(
        &["train", "--model", "rnn", "--length", "4"],
        "--save <model.json>",
    );
    f.fails(
        &[
            "train", "--model", "dnn", "--length", "4", "--lr-rec", "0.1", "--save", "m.json",
        ],
        "--lr-rec does not apply to the dnn (it has no recurrent weights): use --lr-io",
    );
}

#[test]
fn data_refuses_huge_or_unwritable_output() {
    let f = Fixture::new();
    f.fails(
        &[
            "data",
            "--length",
            "100000000",
            "--count",
            "100000000",
            "--out",
            "d",
        ],
        "--length: sequence length 100000000 is out of range: use 1 ..= 1048576",
    );
    f.fails(
        &[
            "data",
            "--length",
            "1000",
            "--count",
            "100000000",
            "--out",
            "d",
        ],
        "at most 268435456 numbers",
    );
    f.fails(
        &["data", "--length", "0", "--count", "5", "--out", "d"],
        "--length",
    );
    f.fails(
        &["data", "--length", "4", "--count", "0", "--out", "d"],
        "--count",
    );
    f.fails(
        &["data", "--length", "4", "--count", "abc", "--out", "d"],
        "invalid value 'abc'",
    );
    f.fails(
        &[
            "data",
            "--length",
            "4",
            "--count",
            "5",
            "--out",
            "/proc/rnnstudy-data",
        ],
        "cannot create /proc/rnnstudy-data",
    );
}

#[test]
fn study_refuses_huge_or_unwritable_output() {
    let f = Fixture::new();
    let base = [
        ("--quick", ""),
        ("--models", "dnn"),
        ("--lengths", "4"),
        ("--seeds", "1"),
        ("--iters", "20"),
        ("--eval-every", "10"),
        ("--heldout", "40"),
        ("--out", "./s"),
    ];
    let study = |overrides: &[(&str, &str)], want: &str| {
        f.fails(&flags("study", &base, overrides), want);
    };
    study(
        &[("--lengths", "1000000")],
        "invalid lengths = 1000000: each length must be 1 ..= 4096",
    );
    study(&[("--iters", "0")], "invalid iters = 0");
    study(
        &[("--heldout", "100000000")],
        "invalid heldout = 100000000: use 1 ..= 1000000",
    );
    study(&[("--seeds", "0")], "invalid seeds = '0'");
    study(
        &[("--clip", "0")],
        "invalid clip = 0: the clipping norm must be a finite number > 0",
    );
    study(&[("--models", "cnn")], "invalid value 'cnn'");
    study(
        &[("--out", "/proc/rnnstudy-study/x")],
        "report folder /proc/rnnstudy-study/x: cannot create it",
    );
}

#[test]
fn study_files_folders_merge_report_and_roofline_refuse_bad_input() {
    let f = Fixture::new();
    f.write("syntax.toml", b"name = \"x\"\nlengths = [8\n");
    f.write("key.toml", b"name = \"x\"\nbogus = 1\n");
    f.write("binary.toml", b"\xff\xfe\x00");
    f.write(
        "hidden0.toml",
        b"[[variant]]\nmodel = \"rnn\"\nhidden = 0\n",
    );
    f.write("seeds.toml", b"seeds = \"0..99999999\"\n");
    f.write("kind.toml", b"[[variant]]\nmodel = \"cnn\"\n");
    f.write("negative.toml", b"iters = -5\n");
    let config = |file: &str, want: &str| f.fails(&["study", "--config", file], want);
    config("missing.toml", "cannot read study file missing.toml");
    config("syntax.toml", "study file: line 2: unclosed array");
    config("key.toml", "`bogus`: line 2: unknown field `bogus`");
    config("binary.toml", "study file binary.toml is not UTF-8");
    config("hidden0.toml", "hidden = 0: use 1 ..= 4096");
    config("seeds.toml", "more than 10000 seeds");
    config("kind.toml", "unknown model kind");
    config("negative.toml", "`iters`");
    config(".", "is a folder");
    // Flags of the folder safety.
    f.fails(
        &["study", "--mismatched", "maybe"],
        "invalid value 'maybe' for '--mismatched <WHAT>'",
    );
    f.fails(&["study", "--out", ""], "--out is empty");
    f.fails(
        &["study", "--resume", "--out", "./nothing"],
        "no interrupted study to resume",
    );
    f.fails(
        &["study", "--shard", "1/2", "--resume"],
        "cannot be used with '--resume'",
    );
    f.fails(&["study", "--shard", "1/0"], "invalid shard count = 0");
    f.fails(
        &["study", "--quick", "--threads", "0", "--out", "./t0"],
        "invalid threads = 0",
    );
    // merge and report: folders that hold no study; nothing is created.
    std::fs::create_dir_all(f.path().join("empty/runs")).unwrap();
    f.fails(
        &["merge", "./nowhere"],
        "./nowhere/study.toml: cannot read it",
    );
    f.fails(&["merge", "./empty"], "not a study's report folder");
    f.fails(&["merge"], "required arguments were not provided");
    f.fails(&["report", "./nowhere"], "cannot read study report");
    f.write("empty/study.json", b"{\"schema\": \"rnnstudy.study/2\"}");
    f.fails(&["report", "./empty"], "has schema rnnstudy.study/2, not");
    f.write("empty/study.json", b"{truncated");
    f.fails(&["report", "./empty"], "is not valid JSON");
    f.fails(
        &["roofline", "--samples", "0"],
        "--samples 0 is out of range",
    );
    f.fails(&["roofline", "--bogus"], "unexpected argument '--bogus'");
}
