//! Runs a study from a study file with the library alone and prints its
//! summary table and verdict.
//!
//! ```sh
//! cargo run --release -p study --example study                        # a small two-variant study
//! cargo run --release -p study --example study -- studies/article.toml /tmp/article
//! ```

use study::{ReportDir, RunOptions, Study};

/// Used when no file is given: the plain RNN against the LSTM at L = 16.
const SMALL: &str = r#"
name = "rnn-vs-lstm"
lengths = [16]
seeds = 3
iters = 5000
eval_every = 1000
heldout = 1000

[[variant]]
model = "rnn"

[[variant]]
model = "lstm"
optimizer = "adam"
lr_io = 0.01
lr_rec = 0.01
clip = 1.0
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let study = match args.first() {
        Some(path) => Study::from_toml(&std::fs::read_to_string(path)?)?,
        None => Study::from_toml(SMALL)?,
    };
    let dir = args.get(1).map_or_else(
        || std::env::temp_dir().join(format!("rnnstudy_{}", study.name)),
        std::path::PathBuf::from,
    );
    let report = study::run(&study, &ReportDir::new(&dir), &RunOptions::default())?;
    print!("{}", study::summary::text_table(&report));
    for line in &report.verdict {
        println!("- {line}");
    }
    println!("study.json, SUMMARY.md and runs/ in {}", dir.display());
    Ok(())
}
