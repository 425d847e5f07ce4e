//! `cargo xtask roofline`: how close to the machine's limit the hot paths
//! run (measured by `bench::roofline`).

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::cli::{self, emit};

/// Arguments of `cargo xtask roofline`.
#[derive(Args)]
#[command(
    after_help = "Prints a table: for each registered model kind, in f64 and in f32, a \
training iteration at L = 32 and 256 and held-out evaluation, with the floating-point operations \
(from the registry's cost model), the median time, GFLOP/s and the ratio to the measured peak of \
a 512x512 matrix product of the same precision on the same run, and for the recurrent kinds the \
memory-bound floor (the recurrent matrix read twice per step at the measured cache bandwidth), \
and that floor with the weight gradient's product added at the measured multiply-add peak. \
--write also puts the table into crates/bench/README.md. For statistically careful timings use \
`cargo bench -p bench`."
)]
pub struct RooflineArgs {
    /// Samples per kernel (the median is reported)
    #[arg(long, default_value_t = 15)]
    samples: usize,
    /// Write the table into crates/bench/README.md (between the roofline markers)
    #[arg(long)]
    write: bool,
}

/// Runs `cargo xtask roofline`.
pub fn run(args: RooflineArgs) -> Result<()> {
    if args.samples == 0 || args.samples > 1000 {
        bail!("--samples {} is out of range: use 1 ..= 1000", args.samples);
    }
    let (rows, peaks) = bench::roofline::measure(args.samples);
    let table = bench::roofline::table(&rows, &peaks);
    emit(&format!("{table}\n"))?;
    if args.write {
        let path = cli::workspace_root().join("crates/bench/README.md");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let Some(new) = bench::roofline::replace_table(&text, &table) else {
            let (a, b) = bench::roofline::MARKERS;
            bail!("{} has no {a} … {b} markers", path.display());
        };
        seqdata::io::write_atomic(&path, new.as_bytes())?;
        emit(&format!("wrote the table into {}\n", path.display()))?;
    }
    Ok(())
}
