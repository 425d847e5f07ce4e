//! Report folders that cannot be corrupted: concurrent writers, resume of a
//! folder holding runs of another configuration or damaged files, reruns
//! into a folder of another study, stale outputs, signals, kill -9 at many
//! moments, a full disk and a folder turned read-only.
//!
//! The disk-full case mounts a small tmpfs, which needs root; without it
//! the test says so and passes, unless `RNNSTUDY_REQUIRE_MOUNTS=1` (CI sets
//! it as root) makes that a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_xtask");

/// A small study: 8 runs of a few tens of milliseconds each.
const STUDY: &[(&str, &str)] = &[
    ("--models", "rnn,dnn"),
    ("--lengths", "4,6"),
    ("--seeds", "2"),
    ("--hidden", "8"),
    ("--iters", "400"),
    ("--eval-every", "100"),
    ("--heldout", "64"),
    ("--threads", "2"),
];

/// `cargo xtask study` with STUDY's flags, `extra`'s replacing or added
/// (a flag without a value is given as `("--resume", "")`).
fn study_args(extra: &[&str]) -> Vec<String> {
    let mut pairs: Vec<(String, String)> = STUDY
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut i = 0;
    while i < extra.len() {
        let k = extra[i].to_string();
        let v = match extra.get(i + 1) {
            Some(v) if !v.starts_with("--") => {
                i += 1;
                v.to_string()
            }
            _ => String::new(),
        };
        i += 1;
        match pairs.iter_mut().find(|(pk, _)| *pk == k) {
            Some(p) => p.1 = v,
            None => pairs.push((k, v)),
        }
    }
    let mut args = vec!["study".to_string()];
    for (k, v) in pairs {
        args.push(k);
        if !v.is_empty() {
            args.push(v);
        }
    }
    args
}

fn command(dir: &Path, args: &[String]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn xtask(dir: &Path, args: &[&str]) -> Command {
    command(dir, &args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
}

fn output(mut c: Command) -> (bool, String) {
    let out: Output = c.output().expect("the xtask binary runs");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!text.contains("panicked"), "panicked: {text}");
    (out.status.success(), text)
}

/// Runs the study into `out`; asserts success.
fn study(dir: &Path, out: &str, extra: &[&str]) -> String {
    let (ok, text) = output(command(
        dir,
        &study_args(&[&["--out", out], extra].concat()),
    ));
    assert!(ok, "study into {out} failed: {text}");
    text
}

/// Starts the study into `out` with every write held open `delay_ms`.
fn spawn(dir: &Path, out: &str, extra: &[&str], delay_ms: u64) -> Child {
    command(dir, &study_args(&[&["--out", out], extra].concat()))
        .env(seqdata::io::WRITE_DELAY_ENV, delay_ms.to_string())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// Waits for `what` to hold, up to 60 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(60), "waited for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn run_files(dir: &Path) -> Vec<String> {
    names(&dir.join("runs"))
        .into_iter()
        .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
        .collect()
}

fn temp_files(dir: &Path) -> Vec<String> {
    let mut t: Vec<String> = names(dir)
        .into_iter()
        .chain(names(&dir.join("runs")))
        .filter(|n| seqdata::io::is_temp_file(n))
        .collect();
    t.sort();
    t
}

/// A run or report without its timing (machine-dependent) and the
/// provenance of the process that wrote it.
fn untimed(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("wall_s");
        o.remove("eval_s");
        o.remove("timing");
        o.remove("wall_s_mean");
        // Who wrote it, when, with which command: not a result.
        o.remove("provenance");
        for key in ["runs", "summary"] {
            if let Some(Value::Array(items)) = o.get_mut(key) {
                for r in items {
                    *r = untimed(r.take());
                }
            }
        }
    }
    v
}

fn json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts two folders' results are equal, naming the files that differ.
fn assert_same(got: &BTreeMap<String, Value>, want: &BTreeMap<String, Value>, what: &str) {
    let keys = |m: &BTreeMap<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(got), keys(want), "{what}: other files");
    let differ: Vec<&String> = want.keys().filter(|k| got[*k] != want[*k]).collect();
    assert!(differ.is_empty(), "{what}: {differ:?} differ");
}

/// Every run and study.json of a finished folder, untimed.
fn results(dir: &Path) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = run_files(dir)
        .into_iter()
        .map(|n| (n.clone(), untimed(json(&dir.join("runs").join(&n)))))
        .collect();
    out.insert("study.json".into(), untimed(json(&dir.join("study.json"))));
    out
}

/// Every file that exists reads back whole: nothing is half-written.
fn assert_intact(dir: &Path) {
    for n in run_files(dir) {
        json(&dir.join("runs").join(n));
    }
    if dir.join("study.json").exists() {
        json(&dir.join("study.json"));
    }
    if dir.join("study.toml").exists() {
        let text = std::fs::read_to_string(dir.join("study.toml")).unwrap();
        study::Study::from_toml(&text).unwrap();
    }
}

/// The uninterrupted study, once per test.
fn reference(dir: &Path) -> BTreeMap<String, Value> {
    study(dir, "./reference", &[]);
    results(&dir.join("reference"))
}

#[test]
fn a_second_writer_is_refused_naming_the_holder() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let want = reference(d);
    let mut first = spawn(d, "./cc", &[], 150);
    let cc = d.join("cc");
    wait_for("the first study to lock", || {
        std::fs::read_to_string(cc.join(".lock")).is_ok_and(|h| h.contains("process"))
    });
    // The scenario: another configuration into the same folder.
    let (ok, text) = output(command(
        d,
        &study_args(&["--out", "./cc", "--seeds", "3", "--iters", "300"]),
    ));
    assert!(!ok, "the second writer was not refused");
    assert!(
        text.contains("report folder ./cc is being written by process")
            && text.contains(&first.id().to_string()),
        "{text}"
    );
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    // So are a merge into it and a report regeneration.
    let (ok, text) = output(xtask(d, &["merge", "./reference", "--out", "./cc"]));
    assert!(
        !ok && text.contains("is being written by process"),
        "{text}"
    );
    assert!(first.wait().unwrap().success());
    assert_same(
        &results(&cc),
        &want,
        "the folder is the first study's alone",
    );
    // The lock died with its process: the folder is free again.
    let (ok, text) = output(xtask(d, &["report", "./cc"]));
    assert!(ok, "{text}");
}

#[test]
fn a_lock_left_by_a_killed_process_does_not_block() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let mut child = spawn(d, "./k", &[], 100);
    wait_for("the study to lock", || d.join("k/.lock").exists());
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, "KILL");
    child.wait().unwrap();
    study(d, "./k", &[]);
}

#[test]
fn resume_names_and_retrains_runs_of_another_configuration_or_damaged() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let want = reference(d);
    // The scenario: runs of 400 and of 300 iterations in one folder.
    study(d, "./cc2", &[]);
    study(d, "./other", &["--iters", "300"]);
    let cc2 = d.join("cc2/runs");
    let mut names = run_files(&d.join("cc2"));
    names.sort();
    let (a, b, c, e) = (&names[0], &names[1], &names[2], &names[3]);
    std::fs::copy(d.join("other/runs").join(a), cc2.join(a)).unwrap();
    std::fs::write(cc2.join(b), b"\x00garbage\xff").unwrap();
    let whole = std::fs::read(cc2.join(c)).unwrap();
    std::fs::write(cc2.join(c), &whole[..whole.len() / 2]).unwrap();
    let mut edited = json(&cc2.join(e));
    edited["final"]["heldout_acc"] = 1.0.into();
    edited["fingerprint"] = "00000000000000000000000000000000".into();
    std::fs::write(cc2.join(e), serde_json::to_vec(&edited).unwrap()).unwrap();
    // Refused when asked to refuse, naming every file and why.
    let (ok, text) = output(command(
        d,
        &study_args(&["--out", "./cc2", "--resume", "--mismatched", "refuse"]),
    ));
    assert!(!ok);
    for (name, why) in [
        (a, "iters: the study says 400, the run 300"),
        (b, "not a run file"),
        (c, "not a run file"),
        (e, "fingerprint does not match"),
    ] {
        assert!(text.contains(name.as_str()), "{name} not named: {text}");
        assert!(text.contains(why), "{why:?} not said: {text}");
    }
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    // Retrained by default, each named.
    let (ok, text) = output(command(d, &study_args(&["--out", "./cc2", "--resume"])));
    assert!(ok, "{text}");
    for name in [a, b, c, e] {
        assert!(
            text.lines()
                .any(|l| l.contains(name.as_str()) && l.ends_with("training it again")),
            "{name}: {text}"
        );
    }
    assert_same(&results(&d.join("cc2")), &want, "results");
}

#[test]
fn another_study_is_refused_unless_overwrite_and_stale_outputs_go() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    study(d, "./s", &["--lengths", "4,6,8"]);
    let f = d.join("s");
    assert!(f.join("curve_L8.svg").exists());
    std::fs::write(f.join("my-notes.txt"), b"mine").unwrap();
    let snapshot = |f: &Path| -> BTreeMap<String, Vec<u8>> {
        let mut m = BTreeMap::new();
        for dir in [f.to_path_buf(), f.join("runs")] {
            for n in names(&dir) {
                let p = dir.join(&n);
                if p.is_file() && n != ".lock" {
                    m.insert(p.display().to_string(), std::fs::read(&p).unwrap());
                }
            }
        }
        m
    };
    let before = snapshot(&f);
    // A rerun with other lengths into the same folder: refused, nothing touched.
    let (ok, text) = output(command(d, &study_args(&["--out", "./s"])));
    assert!(!ok);
    assert!(
        text.contains("report folder ./s holds another study (lengths: was [4,6,8], now [4,6])")
            && text.contains("--overwrite"),
        "{text}"
    );
    assert_eq!(snapshot(&f), before);
    // The same study again: a resume that trains nothing and rewrites no run.
    let text = study(d, "./s", &["--lengths", "4,6,8"]);
    assert!(!text.contains("training it again"), "{text}");
    let again = snapshot(&f);
    for (k, v) in &before {
        if k.contains("/runs/") {
            assert_eq!(again.get(k), Some(v), "{k} was rewritten");
        }
    }
    // --overwrite replaces it: the old runs and the L8 plots go, the user's file stays.
    let text = study(d, "./s", &["--overwrite"]);
    assert!(text.contains("replaced the study"), "{text}");
    assert!(!f.join("curve_L8.svg").exists());
    assert!(f.join("curve_L6.svg").exists());
    assert_eq!(std::fs::read(f.join("my-notes.txt")).unwrap(), b"mine");
    assert!(run_files(&f).iter().all(|n| !n.contains("_L8_")));
    assert_eq!(run_files(&f).len(), 8);
}

#[test]
fn sigint_and_sigterm_keep_finished_runs_and_resume() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let want = reference(d);
    for (k, sig) in ["INT", "TERM"].into_iter().enumerate() {
        let out = format!("./sig{k}");
        let f = d.join(&out);
        let mut child = spawn(d, &out, &[], 60);
        wait_for("a finished run", || !run_files(&f).is_empty());
        signal(&child, sig);
        let t = Instant::now();
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(130), "SIG{sig}: {err}");
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "SIG{sig} took {:?}",
            t.elapsed()
        );
        assert!(
            err.contains("interrupted: ") && err.contains("finished and kept"),
            "{err}"
        );
        assert!(temp_files(&f).is_empty(), "{:?}", temp_files(&f));
        assert_intact(&f);
        assert!(!f.join("study.json").exists());
        study(d, &out, &["--resume"]);
        assert_same(&results(&f), &want, "SIG{sig}");
    }
    // Twice: it exits at once, and the folder still resumes.
    let f = d.join("twice");
    let mut child = spawn(d, "./twice", &[], 60);
    wait_for("a finished run", || !run_files(&f).is_empty());
    signal(&child, "INT");
    signal(&child, "INT");
    assert_eq!(child.wait().unwrap().code(), Some(130));
    study(d, "./twice", &[]);
    assert_same(&results(&f), &want, "results");
}

/// Where a kill lands: anywhere, or once a write of a run file or of the
/// report has begun (the write delay holds it open).
#[derive(Debug, Clone, Copy)]
enum Moment {
    After(Duration),
    RunWrite,
    ReportWrite,
}

#[test]
fn kill_9_at_20_moments_then_resume_gives_the_uninterrupted_study() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let want = reference(d);
    // How long a study takes with slow writes, to spread the kills over it.
    let t = Instant::now();
    let mut c = spawn(d, "./timing", &[], 40);
    assert!(c.wait().unwrap().success());
    let span = t.elapsed().as_millis() as u64;
    // 16 moments from a fixed seed (a simple LCG) over the whole run, and
    // 4 during writes.
    let mut x: u64 = 20261201;
    let mut moments: Vec<Moment> = (0..16)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            Moment::After(Duration::from_millis((x >> 33) % span.max(1)))
        })
        .collect();
    moments.extend([
        Moment::RunWrite,
        Moment::RunWrite,
        Moment::ReportWrite,
        Moment::ReportWrite,
    ]);
    let mut during_writes = 0;
    for (i, m) in moments.iter().enumerate() {
        let out = format!("./k{i}");
        let f = d.join(&out);
        let mut child = spawn(d, &out, &[], 40);
        match *m {
            Moment::After(t) => std::thread::sleep(t),
            Moment::RunWrite => wait_for("a run file's write", || {
                names(&f.join("runs"))
                    .iter()
                    .any(|n| seqdata::io::is_temp_file(n) && n.contains(".json.tmp-"))
            }),
            Moment::ReportWrite => wait_for("study.json's write", || {
                names(&f).iter().any(|n| n.starts_with(".study.json.tmp-"))
            }),
        }
        signal(&child, "KILL");
        child.wait().unwrap();
        if !temp_files(&f).is_empty() {
            during_writes += 1;
        }
        assert_intact(&f);
        study(d, &out, &[]);
        assert!(
            temp_files(&f).is_empty(),
            "kill {i} ({m:?}): temp files left"
        );
        assert_same(&results(&f), &want, "kill {i} ({m:?})");
    }
    eprintln!("{during_writes} of 20 kills landed during a write");
    assert!(during_writes >= 4, "only {during_writes} kills hit a write");
}

/// A tmpfs of `kib` KiB mounted at a new folder, or None (with the reason
/// printed) where mounting is not allowed.
struct Mount(PathBuf);

impl Mount {
    fn new(at: &Path, kib: usize) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(at)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Mount(at.to_path_buf())),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    std::env::var("RNNSTUDY_REQUIRE_MOUNTS").is_err(),
                    "cannot mount a tmpfs: {why}"
                );
                eprintln!("skipped: cannot mount a tmpfs (needs root): {why}");
                None
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_named_and_leaves_every_earlier_file_intact() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let want = reference(d);
    let run_size = run_files(&d.join("reference"))
        .iter()
        .map(|n| {
            std::fs::metadata(d.join("reference/runs").join(n))
                .unwrap()
                .len()
        })
        .max()
        .unwrap() as usize;
    // Room for the study file and about three runs.
    let Some(_m) = Mount::new(&d.join("small"), (3 * run_size + 8192) / 1024 + 1) else {
        return;
    };
    let (ok, text) = output(command(d, &study_args(&["--out", "./small/s"])));
    assert!(!ok, "a study larger than the disk succeeded");
    assert!(
        text.contains("No space left on device") && text.contains("small/s"),
        "{text}"
    );
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(!text.contains(".tmp-"), "{text}");
    eprintln!("disk full: {}", text.trim());
    let f = d.join("small/s");
    assert!(!run_files(&f).is_empty() && run_files(&f).len() < 8);
    assert_intact(&f);
    assert!(temp_files(&f).is_empty(), "{:?}", temp_files(&f));
    // Moved to a disk with room, it resumes to the uninterrupted study.
    let moved = d.join("moved");
    copy_dir(&f, &moved);
    study(d, "./moved", &[]);
    assert_same(&results(&moved), &want, "results");
}

#[test]
fn a_folder_turned_read_only_mid_study_keeps_its_runs() {
    // Read-only by its permissions. (A remount read-only is refused by the
    // kernel while the study holds its lock file open for writing, which
    // NFS needs for an exclusive lock.) Root ignores permissions, so as
    // root the study runs as the unprivileged user 65534.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    // Long runs: the folder turns read-only while most are training.
    let slow = ["--iters", "200000", "--eval-every", "50000"];
    study(d, "./reference", &slow);
    let want = results(&d.join("reference"));
    let f = d.join("s");
    std::fs::create_dir(&f).unwrap();
    let args = study_args(&[&["--out", "./s"][..], &slow].concat());
    let mut c = if root {
        let ok = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(d)
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown");
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
        c
    } else {
        Command::new(BIN)
    };
    let child = c
        .args(&args)
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("two finished runs", || run_files(&f).len() >= 2);
    let chmod = |mode: &str| {
        for dir in [&f, &f.join("runs")] {
            let ok = Command::new("chmod")
                .arg(mode)
                .arg(dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chmod {mode}");
        }
    };
    chmod("0555");
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the study succeeded on a read-only folder"
    );
    assert!(
        text.contains("Permission denied") && text.contains("./s/runs"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    assert!(!text.contains(".tmp-"), "{text}");
    eprintln!("read-only: {}", text.trim());
    assert_intact(&f);
    let kept = run_files(&f).len();
    assert!((2..8).contains(&kept), "{kept} runs kept");
    // Writable again, the same study resumes to the uninterrupted one.
    chmod("0755");
    let (ok, text) = output(command(d, &args));
    assert!(ok, "{text}");
    assert!(temp_files(&f).is_empty());
    assert_same(&results(&f), &want, "results");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("runs")).unwrap();
    for dir in ["", "runs"] {
        for n in names(&from.join(dir)) {
            let p = from.join(dir).join(&n);
            if p.is_file() {
                std::fs::copy(&p, to.join(dir).join(&n)).unwrap();
            }
        }
    }
}
