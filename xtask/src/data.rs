//! `cargo xtask data`: write a data set as CSV and `.npy`.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ndarray_npy::WriteNpyExt;
use seqdata::{AlternatingSign, Dataset, Stream, seeded_rng};

use crate::atomic;
use crate::output::emit;

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

/// The data set's CSV text.
pub fn to_csv(d: &Dataset) -> String {
    let l = d.length();
    let mut s = String::with_capacity(d.len() * l * 22);
    let header: Vec<String> = (0..l)
        .map(|t| format!("x{t}"))
        .chain((0..l).map(|t| format!("y{t}")))
        .collect();
    s.push_str(&header.join(","));
    s.push('\n');
    for (x, y) in d.inputs().rows().into_iter().zip(d.labels().rows()) {
        for v in x {
            // `{}` prints the shortest text that reads back to the same f64.
            let _ = write!(s, "{v},");
        }
        let ys: Vec<String> = y.iter().map(|v| format!("{}", *v as u8)).collect();
        s.push_str(&ys.join(","));
        s.push('\n');
    }
    s
}

/// Runs `cargo xtask data`.
pub fn run(args: DataArgs) -> Result<()> {
    let task = AlternatingSign::new(args.length).context("--length")?;
    task.check_count(args.count).context("--count")?;
    let dir = args
        .out
        .unwrap_or_else(|| crate::workspace_root().join("data"));
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
    atomic::write(&csv, to_csv(&d).as_bytes())?;
    for (suffix, arr) in [("x", d.inputs()), ("y", d.labels())] {
        let mut bytes = Vec::new();
        arr.write_npy(&mut bytes).context("cannot encode .npy")?;
        atomic::write(&dir.join(format!("{stem}_{suffix}.npy")), &bytes)?;
    }
    emit(&format!(
        "wrote {} sequences of length {} to {} (+ _x.npy, _y.npy)\n",
        args.count,
        args.length,
        csv.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_exactly() {
        let d = AlternatingSign::new(3).unwrap().heldout(4, 1).unwrap();
        let csv = to_csv(&d);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("x0,x1,x2,y0,y1,y2"));
        for (i, line) in lines.enumerate() {
            let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
            assert_eq!(&f[..3], d.sample(i).0);
            assert_eq!(&f[3..], d.sample(i).1);
        }
    }
}
