//! `cargo xtask speed`: the time of one training iteration, as one JSON
//! line (what `tools/bench_torch.py` reads, beside PyTorch's).

use anyhow::{Result, bail};
use clap::Args;
use models::ModelKind;
use nncore::Precision;

use crate::cli::{self, emit};

/// Arguments of `cargo xtask speed`.
#[derive(Args, Debug)]
#[command(
    after_help = "Times ITERS training iterations of one model (H = 100, the kind's \
article optimiser, batch 1, one thread) after a short warm-up, and prints one JSON line:\n  \
{\"model\":\"lstm\",\"length\":256,\"precision\":\"f32\",\"hidden\":100,\"iters\":200,\"us_per_iter\":1234.5}\n\n\
One sample of a noisy machine: compare speeds side by side (`python3 tools/bench_torch.py` \
alternates rnnstudy and PyTorch and reports medians), or with `cargo bench -p bench`."
)]
pub struct SpeedArgs {
    /// Model kind
    #[arg(long, value_parser = cli::kind_parser())]
    model: ModelKind,
    /// Sequence length L
    #[arg(long, value_name = "L", default_value_t = 32)]
    length: usize,
    /// Precision to compute in
    #[arg(long, value_parser = cli::precision_parser(), value_name = "P", default_value = "f64")]
    precision: Precision,
    /// Training iterations timed
    #[arg(long, value_name = "N", default_value_t = 1000)]
    iters: usize,
}

/// Runs `cargo xtask speed`.
pub fn run(args: SpeedArgs) -> Result<()> {
    if args.length == 0 || args.length > study::MAX_LENGTH {
        bail!(
            "--length {} is out of range: use 1 ..= {}",
            args.length,
            study::MAX_LENGTH
        );
    }
    if args.iters == 0 || args.iters > 10_000_000 {
        bail!("--iters {} is out of range: use 1 ..= 10000000", args.iters);
    }
    let s = bench::seconds_per_iteration(args.model, args.length, args.precision, args.iters);
    let line = serde_json::json!({
        "model": args.model.name(),
        "length": args.length,
        "precision": args.precision,
        "hidden": bench::HIDDEN,
        "iters": args.iters,
        "us_per_iter": s * 1e6,
    });
    emit(&format!("{line}\n"))
}
