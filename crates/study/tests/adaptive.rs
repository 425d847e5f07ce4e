//! Adaptive studies end to end: a breaking-length search with seeds added
//! at straddling probes, in a folder, resumed after losing runs, and the
//! refusals (shards, merge).

use study::{ReportDir, RunOptions, Study, StudyReport};

/// Two variants, lengths searched from 4 up to 16, 2 seeds and up to 4.
fn search() -> Study {
    Study::from_toml(
        r#"
        name = "search"
        search = "breaking-length"
        threshold = 0.8
        max_length = 16
        lengths = [4]
        seeds = 2
        until_ci = 0.5
        max_seeds = 4
        iters = 200
        eval_every = 100
        heldout = 64
        [[variant]]
        model = "rnn"
        hidden = 8
        [[variant]]
        model = "lru"
        hidden = 8
        optimizer = "adam"
        lr_io = 0.01
        lr_rec = 0.003
        "#,
    )
    .unwrap()
}

fn run(dir: &std::path::Path) -> StudyReport {
    study::run(&search(), &ReportDir::new(dir), &RunOptions::default()).unwrap()
}

/// Timing aside, the report as JSON.
fn without_timing(r: &StudyReport) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("timing");
    for run in v["runs"].as_array_mut().unwrap() {
        run["wall_s"] = 0.into();
        run["eval_s"] = 0.into();
    }
    for s in v["summary"].as_array_mut().unwrap() {
        s["wall_s_mean"] = 0.into();
    }
    v
}

#[test]
fn a_search_runs_records_its_probes_and_resumes_without_retraining() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path());
    assert_eq!(a.search.len(), 2);
    for b in &a.search {
        assert!(b.finished, "{b:?}");
        // Every probe is a row of the summary with its seeds.
        for p in &b.probes {
            let row = a
                .summary
                .iter()
                .find(|r| r.variant == b.variant && r.length == p.length)
                .expect("a summary row per probe");
            assert_eq!(row.seeds, p.seeds);
            assert!((2..=4).contains(&p.seeds), "{p:?}");
        }
        assert_eq!(b.probes[0].length, 4);
        assert!(b.probes.iter().all(|p| p.length <= 16));
    }
    let runs = a.runs.len();
    assert_eq!(
        runs,
        a.search
            .iter()
            .flat_map(|b| &b.probes)
            .map(|p| p.seeds)
            .sum::<usize>()
    );
    let md = std::fs::read_to_string(dir.path().join("SUMMARY.md")).unwrap();
    assert!(md.contains("## Breaking lengths (searched)"), "{md}");
    assert!(md.contains("## What fixes the gate-less RNN"), "{md}");
    // Lengths no search reached are called unprobed, not failed.
    assert!(
        md.contains("No variant was probed at L = 1024: every search stopped before it"),
        "{md}"
    );
    assert!(!md.contains("At L = 1024 no variant"), "{md}");
    // Lose two run files: the resumed search trains exactly those again
    // and ends where it ended.
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), runs);
    std::fs::remove_file(&files[0]).unwrap();
    std::fs::remove_file(&files[files.len() - 1]).unwrap();
    let trained = std::sync::atomic::AtomicU64::new(0);
    let progress = |n: u64| {
        trained.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    };
    let notices = std::sync::Mutex::new(Vec::<String>::new());
    let notice = |l: &str| notices.lock().unwrap().push(l.to_string());
    let options = RunOptions {
        progress: &progress,
        notice: &notice,
        ..RunOptions::default()
    };
    let b = study::run(&search(), &ReportDir::new(dir.path()), &options).unwrap();
    assert_eq!(without_timing(&a), without_timing(&b));
    // No file was called a stranger, and the runs reused were reported done.
    assert!(
        notices.lock().unwrap().is_empty(),
        "{:?}",
        notices.lock().unwrap()
    );
    assert_eq!(
        trained.load(std::sync::atomic::Ordering::Relaxed),
        (runs * 200) as u64
    );
}

#[test]
fn seeds_are_added_until_every_interval_is_narrow_or_the_cap() {
    let mut s = Study::from_toml(
        r#"
        name = "ci"
        lengths = [4, 6]
        seeds = 2
        until_ci = 0.02
        max_seeds = 5
        iters = 100
        eval_every = 50
        heldout = 64
        [[variant]]
        model = "rnn"
        hidden = 6
        "#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = study::run(&s, &ReportDir::new(dir.path()), &RunOptions::default()).unwrap();
    for row in &r.summary {
        let narrow = row.heldout_acc_ci95.is_some_and(|h| h <= 0.02);
        assert!(narrow || row.seeds == 5, "{row:?}");
        // The seeds are 0, 1, then 2, 3, …
        let mut seeds: Vec<u64> = r
            .runs
            .iter()
            .filter(|x| x.length == row.length)
            .map(|x| x.seed)
            .collect();
        seeds.sort_unstable();
        assert_eq!(seeds, (0..row.seeds as u64).collect::<Vec<_>>());
    }
    let md = std::fs::read_to_string(dir.path().join("SUMMARY.md")).unwrap();
    assert!(
        md.contains("## Seeds added until the intervals are narrow"),
        "{md}"
    );
    // An adaptive study is not split into shards, nor merged.
    s.name = "ci-shard".into();
    let shard: study::Shard = "0/2".parse().unwrap();
    let other = tempfile::tempdir().unwrap();
    let e = study::run_shard(
        &s,
        &ReportDir::new(other.path()),
        shard,
        &RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("without --shard"), "{e}");
    let out = tempfile::tempdir().unwrap();
    let e = study::merge(
        &[dir.path().to_path_buf()],
        &ReportDir::new(out.path().join("m")),
        false,
        false,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("in one process"), "{e}");
}

#[test]
fn study_files_give_the_search_either_way_and_errors_name_the_key() {
    let table = Study::from_toml(
        r#"
        lengths = [8]
        [search]
        kind = "breaking-length"
        threshold = 0.85
        "#,
    )
    .unwrap();
    let flat = Study::from_toml(
        r#"
        lengths = [8]
        search = "breaking-length"
        threshold = 0.85
        "#,
    )
    .unwrap();
    assert_eq!(table, flat);
    let s = table.search.unwrap();
    assert_eq!((s.threshold, s.resolution, s.max_length), (0.85, 0.1, 1024));
    // study.toml replays it.
    assert_eq!(Study::from_toml(&flat.to_toml()).unwrap(), flat);
    for (text, key) in [
        ("lengths = [8, 16]\nsearch = \"breaking-length\"", "lengths"),
        (
            "search = \"breaking-length\"\nlengths = [8]\nthreshold = 1.5",
            "threshold",
        ),
        ("lengths = [8]\nthreshold = 0.8", "add search"),
        (
            "search = \"breaking-length\"\nlengths = [8]\nmax_length = 4",
            "max_length",
        ),
        ("until_ci = 0", "until_ci"),
        ("seeds = 5\nmax_seeds = 3", "max_seeds"),
        ("search = \"fastest\"", "search"),
    ] {
        let e = Study::from_toml(text).unwrap_err().to_string();
        assert!(e.contains(key), "{text}: {e}");
    }
}
