//! The study engine end to end: determinism across thread counts, resume,
//! study files and their errors.

use study::{ReportDir, RunOptions, Study, StudyReport};

fn tiny() -> Study {
    Study::from_toml(
        r#"
        name = "tiny"
        lengths = [4, 6]
        seeds = [3, 4]
        iters = 60
        eval_every = 20
        heldout = 50
        [[variant]]
        model = "rnn"
        hidden = 8
        [[variant]]
        model = "dnn"
        hidden = 8
        "#,
    )
    .unwrap()
}

fn strip_timing(mut r: StudyReport) -> StudyReport {
    for run in &mut r.runs {
        run.wall_s = 0.0;
        run.eval_s = 0.0;
    }
    for s in &mut r.summary {
        s.wall_s_mean = 0.0;
    }
    r.timing = study::Timing {
        total_wall_s: 0.0,
        train_s: 0.0,
        eval_s: 0.0,
        threads: 0,
    };
    r
}

fn run(dir: &std::path::Path, threads: usize, resume: bool) -> StudyReport {
    let options = RunOptions {
        threads,
        resume,
        ..RunOptions::default()
    };
    study::run(&tiny(), &ReportDir::new(dir), &options).unwrap()
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = run(d1.path(), 1, false);
    let b = run(d2.path(), 2, false);
    assert_eq!(strip_timing(a.clone()), strip_timing(b));
    assert_eq!(a.runs.len(), 2 * 2 * 2);
    assert!(a.runs.iter().all(|r| r.curve.len() == 1 + 3));
    assert!(
        a.runs
            .iter()
            .all(|r| r.final_metrics.per_position_acc.len() == r.length)
    );
    assert_eq!(a.summary.len(), 4);
    assert_eq!(
        std::fs::read_dir(d1.path().join("runs")).unwrap().count(),
        8
    );
    // study.json reads back to the same report.
    let back = ReportDir::new(d1.path()).read_report().unwrap();
    assert_eq!(back, a);
}

#[test]
fn a_resumed_study_equals_an_uninterrupted_one() {
    let d = tempfile::tempdir().unwrap();
    let full = run(d.path(), 2, false);
    // Interrupt: half the runs never finished.
    let runs = d.path().join("runs");
    let mut files: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files.iter().step_by(2) {
        std::fs::remove_file(f).unwrap();
    }
    // A half-written temporary file from the crash is ignored.
    std::fs::write(runs.join(".tmp-crash"), b"{\"trunc").unwrap();
    let resumed = run(d.path(), 1, true);
    assert_eq!(strip_timing(full), strip_timing(resumed));
}

#[test]
fn resume_refuses_another_study_naming_the_difference() {
    let d = tempfile::tempdir().unwrap();
    let options = RunOptions {
        resume: true,
        ..RunOptions::default()
    };
    let dir = ReportDir::new(d.path());
    let e = study::run(&tiny(), &dir, &options).unwrap_err().to_string();
    assert!(e.contains("no interrupted study"), "{e}");
    run(d.path(), 2, false);
    let mut other = tiny();
    other.schedule.iters = 80;
    let e = study::run(&other, &dir, &options).unwrap_err().to_string();
    assert!(e.contains("iters: was 60, now 80"), "{e}");
    // The folder is named as it is, not glued to reports/.
    assert!(e.contains(&d.path().display().to_string()), "{e}");
    assert!(!e.contains("reports//"), "{e}");
}

#[test]
fn an_unwritable_folder_is_named() {
    let e = study::run(
        &tiny(),
        &ReportDir::new("/proc/rnnstudy-cannot-write"),
        &RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("/proc/rnnstudy-cannot-write"), "{e}");
}

#[test]
fn shipped_studies_resolve_and_round_trip_through_toml() {
    for (name, _) in study::PRESETS {
        let s = Study::preset(name).unwrap();
        assert_eq!(&s.name, name);
        assert_eq!(Study::from_toml(&s.to_toml()).unwrap(), s, "{name}");
    }
    let long = Study::preset("long").unwrap();
    assert_eq!(long.lengths, [8, 16, 32, 64, 128, 256]);
    assert_eq!(
        long.labels(),
        [
            "rnn f32",
            "rnn clip 1 f32",
            "irnn f32",
            "gru adam lr 0.01/0.003 f32",
            "gru adam lr 0.01/0.003 clip 1 f32",
            "lstm adam lr 0.01/0.01 clip 1 f32",
            "dnn f32"
        ]
    );
    // The long study is f32 (its file's `precision`); the article's is f64.
    assert!(
        long.variants
            .iter()
            .all(|v| v.precision == nncore::Precision::F32)
    );
    let article = Study::article();
    assert!(
        article
            .variants
            .iter()
            .all(|v| v.precision == nncore::Precision::F64)
    );
    assert_eq!(article.labels(), ["rnn", "dnn"]);
    assert_eq!(article.seeds, (0..10).collect::<Vec<u64>>());
    assert_eq!(article.schedule.iters, 20_000);
}

#[test]
fn study_file_errors_name_the_key() {
    let cases = [
        ("lengths = [8, 0]", "invalid lengths = 0"),
        ("iters = 0", "invalid iters = 0"),
        (
            "iters = 100\neval_every = 500",
            "invalid eval_every = 500: use 1 ..= iters (100)",
        ),
        ("heldout = 0", "invalid heldout = 0"),
        ("seeds = 0", "invalid seeds = 0"),
        ("seeds = \"3..3\"", "the range is empty"),
        ("seeds = [1, 1]", "a seed is repeated"),
        ("itres = 5", "unknown field `itres`"),
        ("[[variant]]\nmodel = \"cnn\"", "unknown model kind `cnn`"),
        (
            "[[variant]]\nmodel = \"rnn\"\nclip = -1.0",
            "the clipping norm must be a finite number > 0",
        ),
        (
            "[[variant]]\nmodel = \"rnn\"\nlr_io = nan",
            "variant `rnn lr NaN/0.001`: lr_io = NaN",
        ),
        (
            "[[variant]]\nmodel = \"dnn\"\nlr_rec = 0.5",
            "the dnn has no recurrent weights",
        ),
        ("[[variant]]\nmodel = \"rnn\"\nhidden = 0", "hidden = 0"),
        (
            "[[variant]]\nmodel = \"rnn\"\n[[variant]]\nmodel = \"rnn\"",
            "`rnn` (number 2)",
        ),
        ("[[variant]]\nmodel = \"rnn\"\nlr = 1", "unknown field `lr`"),
        ("lengths = 8", "invalid type"),
        ("name = \"\"", "invalid name = \"\""),
        ("name = \"../x\"", "without /"),
        ("lengths = [8", "study file"),
    ];
    for (text, want) in cases {
        let e = Study::from_toml(text).unwrap_err().to_string();
        assert!(e.contains(want), "{text:?}: {e:?} should contain {want:?}");
        assert!(!e.contains('\n'), "{e:?}");
    }
}

#[test]
fn variants_made_the_same_by_an_override_are_dropped_once() {
    let mut s = Study::preset("long").unwrap();
    for v in &mut s.variants {
        v.clip = Some(nncore::ClipNorm::new(2.0).unwrap());
    }
    assert!(s.check().is_err(), "rnn and rnn clip 1 now collide");
    s.dedup_variants();
    s.check().unwrap();
    assert_eq!(s.variants.len(), 5);
    assert_eq!(s.labels()[0], "rnn clip 2 f32");
}

fn made_by(commit: &str, dirty: bool) -> provenance::Provenance {
    let mut b = provenance::Build::unknown("0.1.0");
    b.git_commit = Some(commit.into());
    b.git_dirty = Some(dirty);
    b.rustc = Some("rustc 1.95.0".into());
    provenance::Provenance::now(b)
}

/// Two reports of one study from two commits differ in their provenance
/// block and in nothing else; a dirty tree says so; a resume by another
/// build says that the runs are mixed.
#[test]
fn provenance_is_recorded_apart_from_the_configuration() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let write = |dir: &std::path::Path, p: &provenance::Provenance| {
        let options = RunOptions {
            provenance: Some(p),
            ..RunOptions::default()
        };
        study::run(&tiny(), &ReportDir::new(dir), &options).unwrap()
    };
    let (pa, pb) = (
        made_by("1111111111aa", false),
        made_by("2222222222bb", true),
    );
    let ra = strip_timing(write(a.path(), &pa));
    let rb = strip_timing(write(b.path(), &pb));
    assert_ne!(ra.provenance, rb.provenance);
    assert_eq!(ra.config, rb.config);
    let strip = |mut r: StudyReport| {
        r.provenance = None;
        for run in &mut r.runs {
            run.made_by = None;
        }
        r
    };
    assert_eq!(strip(ra.clone()), strip(rb.clone()));
    assert!(
        ra.runs
            .iter()
            .all(|r| r.made_by.as_ref() == Some(&pa.build))
    );
    let md = |d: &std::path::Path| std::fs::read_to_string(d.join("SUMMARY.md")).unwrap();
    assert!(
        md(a.path()).contains("*Made by* rnnstudy 0.1.0, commit 1111111111aa · rustc 1.95.0"),
        "{}",
        md(a.path())
    );
    assert!(!md(a.path()).contains("uncommitted"));
    assert!(md(b.path()).contains("commit 2222222222bb (dirty tree)"));
    assert!(md(b.path()).contains("The tree had uncommitted changes"));
    let toml = std::fs::read_to_string(b.path().join("study.toml")).unwrap();
    assert!(toml.starts_with("# Written by rnnstudy 0.1.0, commit 2222222222bb (dirty tree)"));
    assert_eq!(Study::from_toml(&toml).unwrap(), tiny());
    assert!(ra.mixed_provenance.is_empty());
    // Half the runs by another commit, then resumed by this one: mixed.
    let runs = a.path().join("runs");
    for (k, e) in std::fs::read_dir(&runs).unwrap().flatten().enumerate() {
        if k % 2 == 0 {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let rc = write(a.path(), &pb);
    assert_eq!(rc.mixed_provenance.len(), 2, "{:?}", rc.mixed_provenance);
    assert!(
        rc.mixed_provenance
            .iter()
            .any(|l| l.contains("1111111111aa"))
    );
    assert!(md(a.path()).contains("**Mixed provenance**"));
}
