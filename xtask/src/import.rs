//! `cargo xtask import`: a safetensors file in PyTorch's layout as a model file.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use models::ModelKind;
use models::torch::{ImportOptions, from_safetensors};

use crate::cli::{self, emit};

/// Arguments of `cargo xtask import`.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
cargo xtask import --from lstm.safetensors --save lstm.json\n  \
cargo xtask import --from torch_lstm.safetensors --kind lstm --length 32 --save lstm.json\n\n\
Reads the tensors `cargo xtask export --format safetensors` writes (the names and shapes of \
docs/SPEC.md §5.1), as float64 or float32 (widened to float64, exactly), and writes a model \
file that `cargo xtask eval`, `predict` and `grads` use. The hidden size is read from the \
tensors' shapes; the kind and the training length from the file's metadata, which --kind and \
--length override. A file saved by PyTorch (safetensors.torch.save_file) has no such metadata: \
then --kind and --length are required. An export of rnnstudy's imports back to its own model \
file, bit for bit (its metrics are measured again to make sure); anything else is recorded as \
imported (training.imported, schema rnnstudy.model/2), with its metrics measured on the \
default held-out set (2,000 sequences of seed 20261129 at the training length). An Elman \
RNN's rnn.bias_hh_l0 is added to rnn.bias_ih_l0 (exact when it is zero, as in every export).")]
pub struct ImportArgs {
    /// The safetensors file
    #[arg(long, value_name = "model.safetensors")]
    from: PathBuf,
    /// Where to write the model file (JSON); the folder must exist
    #[arg(long, value_name = "model.json")]
    save: PathBuf,
    /// The model kind [default: the file's metadata; required for a file saved by PyTorch]
    #[arg(long, value_parser = cli::kind_parser())]
    kind: Option<ModelKind>,
    /// The training length L: the only length an MLP takes, and the length of the held-out set
    /// the metrics are measured on [default: the file's metadata; required for a file saved
    /// by PyTorch]
    #[arg(long, value_name = "L")]
    length: Option<usize>,
}

/// Runs `cargo xtask import`.
pub fn run(args: ImportArgs) -> Result<()> {
    if args.save == args.from {
        anyhow::bail!(
            "--save {} is the safetensors file itself: give another path, such as model.json",
            args.save.display()
        );
    }
    seqdata::io::check_writable(&args.save).map_err(|e| anyhow::anyhow!("--save {e}"))?;
    let bytes = seqdata::io::read_limited(&args.from, "safetensors file")?;
    let options = ImportOptions {
        kind: args.kind,
        length: args.length,
        ..ImportOptions::new(args.from.display().to_string())
    };
    let import = from_safetensors(&bytes, &options)
        .with_context(|| format!("safetensors file {}", args.from.display()))?;
    let import = models::torch::Import {
        file: import.file.with_provenance(cli::provenance()),
        ..import
    };
    import.file.save(&args.save)?;
    let file = &import.file;
    let t = &file.training;
    let m = &file.metrics;
    let mut out = String::new();
    writeln!(out, "model: {}", file.describe())?;
    for note in &import.notes {
        writeln!(out, "note: {note}")?;
    }
    if import.restored {
        writeln!(
            out,
            "the export's own record (training and metrics from its metadata; the metrics \
             measured again and equal)"
        )?;
    } else {
        writeln!(
            out,
            "recorded as imported; metrics measured on {} held-out sequences of length {}, seed {}",
            t.heldout, file.length, t.heldout_seed
        )?;
    }
    writeln!(
        out,
        "held-out: accuracy {:.4}, exact match {:.4}, mean loss {:.6}",
        m.heldout_acc, m.heldout_exact, m.heldout_loss
    )?;
    writeln!(out, "per position: {}", cli::positions(&m.per_position_acc))?;
    writeln!(out, "saved {}", args.save.display())?;
    emit(&out)
}
