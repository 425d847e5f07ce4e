//! `RunOptions::save_models` (`cargo xtask study --save-models`): a model
//! file per run beside its run file, for every registered kind, that
//! reproduces the run's metrics; resume writes the missing ones; shards and
//! merge carry them.

use std::path::Path;
use std::sync::Mutex;

use models::{ModelFile, ModelKind};
use study::{ReportDir, RunOptions, Shard, Study, StudyReport};

/// A small study with one variant of every registered kind.
fn study() -> Study {
    let mut toml = String::from(
        "name = \"models\"\nlengths = [4]\nseeds = [1, 2]\niters = 40\neval_every = 20\nheldout = 30\n",
    );
    for kind in ModelKind::all() {
        toml.push_str(&format!("[[variant]]\nmodel = \"{kind}\"\nhidden = 5\n"));
    }
    Study::from_toml(&toml).unwrap()
}

/// Runs `study` into `dir` with `save_models`, returning the report and the
/// notices.
fn run(study: &Study, dir: &Path, save_models: bool) -> (StudyReport, Vec<String>) {
    let notes = Mutex::new(Vec::new());
    let notice = |l: &str| notes.lock().unwrap().push(l.to_string());
    let options = RunOptions {
        threads: 2,
        notice: &notice,
        save_models,
        ..RunOptions::default()
    };
    let report = study::run(study, &ReportDir::new(dir), &options).unwrap();
    (report, notes.into_inner().unwrap())
}

/// Every run has its model file, which loads and reproduces the run's
/// final metrics on the held-out set it names.
fn assert_models_reproduce(dir: &Path, report: &StudyReport) {
    for r in &report.runs {
        let name = r.file_name().replace(".json", ".model.json");
        let (file, model) = ModelFile::load(&dir.join("runs").join(&name)).unwrap();
        assert_eq!(file.model, r.settings.model, "{name}");
        assert_eq!((file.hidden, file.length), (r.settings.hidden, r.length));
        assert_eq!((file.training.seed, file.training.iters), (r.seed, r.iters));
        assert_eq!(file.metrics, r.final_metrics, "{name}");
        let again =
            nncore::evaluate_parallel(model.as_ref(), &file.heldout_set().unwrap()).unwrap();
        assert_eq!(again, r.final_metrics, "{name}: evaluated again");
    }
}

#[test]
fn every_run_keeps_a_model_that_reproduces_its_metrics() {
    let s = study();
    let dir = tempfile::tempdir().unwrap();
    let (report, notes) = run(&s, dir.path(), true);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(report.runs.len(), ModelKind::all().count() * 2);
    assert_models_reproduce(dir.path(), &report);
    let runs = dir.path().join("runs");
    assert_eq!(
        std::fs::read_dir(&runs).unwrap().count(),
        2 * report.runs.len()
    );

    // Resume: a missing model file is trained again, to the same bytes; the
    // model files are no strangers to a later resume, with or without the
    // option.
    let name = s.jobs()[3].model_file_name();
    let kept = std::fs::read(runs.join(&name)).unwrap();
    std::fs::remove_file(runs.join(&name)).unwrap();
    let (_, notes) = run(&s, dir.path(), true);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("has no matching model file"), "{notes:?}");
    assert_eq!(std::fs::read(runs.join(&name)).unwrap(), kept);
    let (_, notes) = run(&s, dir.path(), true);
    assert!(notes.is_empty(), "{notes:?}");
    let (again, notes) = run(&s, dir.path(), false);
    assert!(notes.is_empty(), "{notes:?}");
    assert_models_reproduce(dir.path(), &again);

    // A model file that is not its run's is replaced.
    let other = s.jobs()[0].model_file_name();
    std::fs::copy(runs.join(&other), runs.join(&name)).unwrap();
    let (_, notes) = run(&s, dir.path(), true);
    assert!(notes.iter().any(|n| n.contains(&name)), "{notes:?}");
    assert_eq!(std::fs::read(runs.join(&name)).unwrap(), kept);
}

#[test]
fn without_the_option_no_model_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = run(&study(), dir.path(), false);
    let runs = dir.path().join("runs");
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), report.runs.len());
}

#[test]
fn shards_keep_models_and_merge_carries_them() {
    let s = study();
    let (a, b, out) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let options = RunOptions {
        threads: 1,
        save_models: true,
        ..RunOptions::default()
    };
    for (i, d) in [&a, &b].iter().enumerate() {
        study::run_shard(
            &s,
            &ReportDir::new(d.path()),
            Shard::new(i, 2).unwrap(),
            &options,
        )
        .unwrap();
    }
    let dirs = [a.path().to_path_buf(), b.path().to_path_buf()];
    let report = study::merge(&dirs, &ReportDir::new(out.path()), false, false, None).unwrap();
    assert_models_reproduce(out.path(), &report);

    // A model file that is not its run's is refused, named.
    let jobs = s.shard_jobs(Shard::new(0, 2).unwrap());
    let runs = a.path().join("runs");
    std::fs::copy(
        runs.join(jobs[1].model_file_name()),
        runs.join(jobs[0].model_file_name()),
    )
    .unwrap();
    let out2 = tempfile::tempdir().unwrap();
    let e = study::merge(&dirs, &ReportDir::new(out2.path()), false, false, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&jobs[0].model_file_name()) && e.contains("is not the model of its run file"),
        "{e}"
    );
}
