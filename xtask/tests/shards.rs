//! A study split into shards run as separate processes, then merged, equals
//! the study run by one process; broken merges are refused with the reason.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_xtask");

const STUDY: &[&str] = &[
    "--models",
    "rnn,dnn",
    "--hidden",
    "8",
    "--lengths",
    "4,6",
    "--seeds",
    "3",
    "--iters",
    "60",
    "--eval-every",
    "20",
    "--heldout",
    "50",
];

fn xtask(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the xtask binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (success, text) = xtask(dir, args);
    assert!(success, "xtask {}: {text}", args.join(" "));
    text
}

fn study(dir: &Path, out: &str, extra: &[&str]) -> String {
    let mut args = vec!["study"];
    args.extend_from_slice(STUDY);
    args.extend_from_slice(&["--out", out]);
    args.extend_from_slice(extra);
    ok(dir, &args)
}

/// The runs of a study.json with the timing fields zeroed.
fn runs(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["wall_s"] = 0.0.into();
            r["eval_s"] = 0.0.into();
            r
        })
        .collect()
}

#[test]
fn shards_merged_equal_one_process() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    study(d, "./whole", &[]);
    let whole = runs(&d.join("whole/study.json"));
    assert_eq!(whole.len(), 2 * 2 * 3);
    for n in [1, 3, 4] {
        let folders: Vec<String> = (0..n).map(|k| format!("./n{n}_{k}")).collect();
        for (k, f) in folders.iter().enumerate() {
            let out = study(d, f, &["--shard", &format!("{k}/{n}")]);
            assert!(out.contains(&format!("shard {k}/{n}")), "{out}");
        }
        // Every shard did some of the work, and the run files name their shard.
        for (k, f) in folders.iter().enumerate() {
            let files: Vec<_> = std::fs::read_dir(d.join(f).join("runs")).unwrap().collect();
            assert!(!files.is_empty(), "shard {k}/{n} ran nothing");
            let one: Value =
                serde_json::from_slice(&std::fs::read(files[0].as_ref().unwrap().path()).unwrap())
                    .unwrap();
            assert_eq!(one["shard"]["index"], k, "{one}");
        }
        let mut args = vec!["merge"];
        args.extend(folders.iter().map(String::as_str));
        let out = format!("./merged{n}");
        args.extend(["--out", &out]);
        ok(d, &args);
        assert_eq!(runs(&d.join(&out).join("study.json")), whole, "N = {n}");
        assert!(d.join(&out).join("SUMMARY.md").exists());
        assert!(d.join(&out).join("curve_L6.svg").exists());
    }
    // Shards sharing one folder, merged in place; a shard sees the others'
    // runs as the study's (no note about them), even when it refuses
    // mismatched runs.
    for k in 0..3 {
        let text = study(
            d,
            "./shared",
            &["--shard", &format!("{k}/3"), "--mismatched", "refuse"],
        );
        assert!(!text.contains("note:"), "shard {k}: {text}");
    }
    ok(d, &["merge", "./shared"]);
    assert_eq!(runs(&d.join("shared/study.json")), whole);
}

#[test]
fn broken_merges_are_refused_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    study(d, "./a", &["--shard", "0/2"]);
    // The other shard is missing: every missing job is named.
    let (success, text) = xtask(d, &["merge", "./a", "--out", "./m"]);
    assert!(!success);
    assert!(
        text.contains("runs are missing: ") && text.contains(" seed="),
        "{text}"
    );
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    // --allow-partial merges what is there and says so.
    let out = ok(d, &["merge", "./a", "--out", "./m", "--allow-partial"]);
    assert!(out.contains("PARTIAL"), "{out}");
    let summary = std::fs::read_to_string(d.join("m/SUMMARY.md")).unwrap();
    assert!(summary.contains("**A partial study**"), "{summary}");
    // A shard of another configuration is refused, naming the field.
    let mut other: Vec<&str> = STUDY
        .iter()
        .map(|a| if *a == "60" { "40" } else { a })
        .collect();
    other.splice(0..0, ["study"]);
    other.extend(["--out", "./b", "--shard", "1/2"]);
    ok(d, &other);
    let (success, text) = xtask(d, &["merge", "./a", "./b", "--out", "./m2"]);
    assert!(!success);
    assert!(text.contains("iters: was 60, now 40"), "{text}");
    // A run file of another configuration in a shard's folder is refused.
    study(d, "./c", &["--shard", "1/2"]);
    let a_runs = d.join("a/runs");
    let victim = std::fs::read_dir(&a_runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut run: Value = serde_json::from_slice(&std::fs::read(&victim).unwrap()).unwrap();
    run["lr_io"] = 0.5.into();
    std::fs::write(&victim, serde_json::to_vec(&run).unwrap()).unwrap();
    let (success, text) = xtask(d, &["merge", "./a", "./c", "--out", "./m3"]);
    assert!(!success);
    assert!(
        text.contains("does not match the study (lr_io: the study says 0.1, the run 0.5)"),
        "{text}"
    );
    // A run of another build is refused.
    run["lr_io"] = 0.1.into();
    run["build"] = "riscv64".into();
    std::fs::write(&victim, serde_json::to_vec(&run).unwrap()).unwrap();
    let (success, text) = xtask(d, &["merge", "./a", "./c", "--out", "./m3"]);
    assert!(!success);
    assert!(
        text.contains("riscv64") && text.contains("same flags"),
        "{text}"
    );
    // A run whose fingerprint was edited, or a damaged one, is refused.
    run["build"] = serde_json::from_slice::<Value>(
        &std::fs::read(
            a_runs.join(
                std::fs::read_dir(&a_runs)
                    .unwrap()
                    .flatten()
                    .map(|e| e.file_name())
                    .find(|n| *n != *victim.file_name().unwrap())
                    .unwrap(),
            ),
        )
        .unwrap(),
    )
    .unwrap()["build"]
        .clone();
    run["fingerprint"] = "0123".into();
    std::fs::write(&victim, serde_json::to_vec(&run).unwrap()).unwrap();
    let (success, text) = xtask(d, &["merge", "./a", "./c", "--out", "./m3"]);
    assert!(!success);
    assert!(text.contains("fingerprint does not match"), "{text}");
    std::fs::write(&victim, b"{\"variant\": ").unwrap();
    let (success, text) = xtask(d, &["merge", "./a", "./c", "--out", "./m3"]);
    assert!(!success);
    assert!(
        text.contains(&format!(
            "{}: not a run file",
            victim
                .display()
                .to_string()
                .trim_start_matches(&format!("{}/", d.display()))
        )) || text.contains("not a run file"),
        "{text}"
    );
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    // Bad shard values are named.
    let (success, text) = xtask(d, &["study", "--shard", "2/2"]);
    assert!(!success && text.contains("0-based"), "{text}");
}
