//! `cargo xtask data`: write a data set as CSV and `.npy`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use seqdata::io::{to_csv, to_npy, write_atomic};
use seqdata::{AlternatingSign, Stream, seeded_rng};

use crate::cli::{self, emit};

/// Arguments of `cargo xtask data`.
#[derive(Args)]
#[command(
    after_help = "Writes <out>/alternating_L<L>_n<N>_seed<S>[_heldout].csv (header \
x0..x{L-1},y0..y{L-1}) and the same data as <stem>_x.npy and <stem>_y.npy (float64, shape (N, L)), \
which numpy.load reads.\n\nWithout --heldout the sequences are the first N of the training pool \
of seed S (so --count 50000 reproduces a study's pool exactly); with --heldout they are the \
held-out set of seed S (the study's default held-out seed is 20261129)."
)]
pub struct DataArgs {
    /// Sequence length L
    #[arg(long)]
    length: usize,
    /// Number of sequences N
    #[arg(long)]
    count: usize,
    /// Seed S
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Draw from the held-out stream instead of the training-pool stream
    #[arg(long)]
    heldout: bool,
    /// Output folder (default: the workspace's data/)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Runs `cargo xtask data`.
pub fn run(args: DataArgs) -> Result<()> {
    let task = AlternatingSign::new(args.length).context("--length")?;
    task.check_count(args.count).context("--count")?;
    let dir = args
        .out
        .unwrap_or_else(|| cli::workspace_root().join("data"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stream = if args.heldout {
        Stream::Heldout
    } else {
        Stream::Pool
    };
    let d = task.generate(args.count, &mut seeded_rng(args.seed, stream))?;
    let stem = format!(
        "alternating_L{}_n{}_seed{}{}",
        args.length,
        args.count,
        args.seed,
        if args.heldout { "_heldout" } else { "" }
    );
    let csv = dir.join(format!("{stem}.csv"));
    write_atomic(&csv, to_csv(&d).as_bytes())?;
    write_atomic(&dir.join(format!("{stem}_x.npy")), &to_npy(d.inputs()))?;
    write_atomic(&dir.join(format!("{stem}_y.npy")), &to_npy(d.labels()))?;
    emit(&format!(
        "wrote {} sequences of length {} to {} (+ _x.npy, _y.npy)\n",
        args.count,
        args.length,
        csv.display()
    ))
}
