//! The proptest versions of the fuzz targets `study_file` and `run_file`
//! (fuzz/): whatever the bytes, the loaders refuse or read, never panic;
//! what they read is usable.

use proptest::prelude::*;
use study::{RunReport, Study};

/// A study of one tiny run.
fn tiny() -> Study {
    Study::from_toml(
        r#"
        name = "tiny"
        lengths = [3]
        seeds = 1
        iters = 20
        eval_every = 10
        heldout = 8
        [[variant]]
        model = "rnn"
        hidden = 3
        "#,
    )
    .unwrap()
}

/// A run file of a tiny study, as JSON text.
fn run_file() -> String {
    let study = tiny();
    let dir = tempfile::tempdir().unwrap();
    let report = study::run(
        &study,
        &study::ReportDir::new(dir.path()),
        &study::RunOptions::default(),
    )
    .unwrap();
    serde_json::to_string(&report.runs[0]).unwrap()
}

fn toml_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name = \"s\"\n".to_string()),
        Just("lengths = [8, 16]\n".to_string()),
        Just("seeds = 3\n".to_string()),
        Just("seeds = \"0..100000\"\n".to_string()),
        Just("iters = 100\n".to_string()),
        Just("eval_every = 10\n".to_string()),
        Just("heldout = 9\n".to_string()),
        Just("[[variant]]\n".to_string()),
        Just("model = \"lstm\"\n".to_string()),
        Just("hidden = 4096\n".to_string()),
        Just("clip = -1\n".to_string()),
        Just("lr_io = 1e308\n".to_string()),
        Just("optimizer = \"adam\"\n".to_string()),
        Just("[x]\n".to_string()),
        any::<i64>().prop_map(|i| format!("iters = {i}\n")),
        "[a-z_]{1,10} = [-0-9.e\"\\[\\], ]{0,12}\n",
        ".{0,16}",
    ]
}

/// Replaces the `k`-th number, string or bracket of `text` by `with`.
fn mutate(text: &str, k: usize, with: &str) -> String {
    let spots: Vec<usize> = text
        .char_indices()
        .filter(|(_, c)| c.is_ascii_digit() || *c == '"' || *c == '[' || *c == '{')
        .map(|(i, _)| i)
        .collect();
    if spots.is_empty() {
        return text.to_string();
    }
    let at = spots[k % spots.len()];
    format!("{}{with}{}", &text[..at], &text[at + 1..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn study_files_from_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = Study::from_toml(text);
        }
    }

    #[test]
    fn toml_ish_study_files_load_or_fail_cleanly(tokens in prop::collection::vec(toml_token(), 0..24)) {
        if let Ok(s) = Study::from_toml(&tokens.concat()) {
            // A study read is valid, replays itself and plans.
            prop_assert!(s.check().is_ok());
            prop_assert_eq!(Study::from_toml(&s.to_toml()).unwrap(), s.clone());
            prop_assert_eq!(s.jobs().len(), s.variants.len() * s.lengths.len() * s.seeds.len());
        }
    }

    #[test]
    fn mutated_shipped_studies_load_or_fail_cleanly(
        which in 0..study::PRESETS.len(),
        k in any::<usize>(),
        with in prop_oneof![Just("-"), Just("1e400"), Just("\""), Just("]"), Just("99999999999"), Just("")],
    ) {
        let text = mutate(study::PRESETS[which].1, k, with);
        if let Ok(s) = Study::from_toml(&text) {
            prop_assert!(s.check().is_ok());
        }
    }

    #[test]
    fn run_files_from_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(RunReport::from_slice(&bytes).is_err());
    }

    #[test]
    fn mutated_run_files_load_or_fail_cleanly(
        k in any::<usize>(),
        cut in any::<usize>(),
        with in prop_oneof![Just("-"), Just("1e400"), Just("\""), Just("]"), Just("null"), Just("{}")],
    ) {
        let good = run_file();
        let text = mutate(&good, k, with);
        if let Ok(run) = RunReport::from_slice(text.as_bytes()) {
            let _ = run.file_name();
        }
        // Every truncation is refused.
        let cut = cut % good.len();
        prop_assert!(RunReport::from_slice(&good.as_bytes()[..cut]).is_err());
    }
}

/// A diverged run has a NaN held-out loss and gradient flow, which JSON
/// writes as null: it reads back, and a resume keeps it instead of calling
/// it damaged.
#[test]
fn a_diverged_run_reads_back_and_is_kept_on_resume() {
    let study = tiny();
    let dir = tempfile::tempdir().unwrap();
    let folder = study::ReportDir::new(dir.path());
    let report = study::run(&study, &folder, &study::RunOptions::default()).unwrap();
    let mut run = report.runs[0].clone();
    run.diverged = true;
    run.diverged_at = Some(15);
    run.iters = 14;
    run.curve.truncate(2);
    run.final_metrics.heldout_loss = f64::NAN;
    run.grad_flow.as_mut().unwrap()[0].norms[1] = f64::NAN;
    let text = serde_json::to_vec(&run).unwrap();
    assert!(String::from_utf8_lossy(&text).contains("\"heldout_loss\":null"));
    let back = RunReport::from_slice(&text).unwrap();
    assert!(back.final_metrics.heldout_loss.is_nan());
    assert!(back.grad_flow.as_ref().unwrap()[0].norms[1].is_nan());
    std::fs::write(dir.path().join("runs").join(run.file_name()), &text).unwrap();
    let notes = std::sync::Mutex::new(Vec::new());
    let notice = |l: &str| notes.lock().unwrap().push(l.to_string());
    let options = study::RunOptions {
        notice: &notice,
        mismatched: study::Mismatched::Refuse,
        ..Default::default()
    };
    let again = study::run(&study, &folder, &options).unwrap();
    assert!(
        notes.lock().unwrap().is_empty(),
        "{:?}",
        notes.lock().unwrap()
    );
    assert!(again.runs[0].diverged);
    // And study.json, with it, reads back too.
    assert!(folder.read_report().unwrap().runs[0].diverged);
}
