//! `cargo xtask export`: a model file's weights in another framework's layout.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use models::ModelFile;

use crate::cli::emit;

/// An export format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// safetensors in PyTorch's layout: tensors named and shaped as nn.RNN / nn.GRU / nn.LSTM
    /// (+ nn.Linear) or two nn.Linear (the dnn) name them, float64
    Safetensors,
}

/// Arguments of `cargo xtask export`.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
cargo xtask export --load lstm.json --format safetensors\n  \
cargo xtask export --load rnn.json --format safetensors --out rnn.safetensors\n\n\
Writes every parameter as a float64 tensor named as PyTorch's modules name it (rnn.weight_ih_l0, \
rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0, head.weight, head.bias; the dnn: hidden.weight, \
hidden.bias, head.weight, head.bias), weights transposed to PyTorch's column-vector layout, so \
that `model.load_state_dict(safetensors.torch.load_file(F))` loads it into nn.RNN / nn.GRU / \
nn.LSTM + nn.Linear(H, 1) (or two nn.Linear) and predicts what `cargo xtask predict` does. The \
Elman RNN's single hidden bias is written as rnn.bias_ih_l0, with zeros as rnn.bias_hh_l0. The \
file's __metadata__ keeps the model file's record (kind, hidden, length, schema, training, \
metrics), so `cargo xtask import` gives the same model file back, bit for bit. The mapping of \
every kind is docs/SPEC.md §5.1; tools/check_torch_weights.py checks it against PyTorch.")]
pub struct ExportArgs {
    /// The model file, as `cargo xtask train --save` writes it
    #[arg(long, value_name = "model.json")]
    load: PathBuf,
    /// The format to write
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Format,
    /// Where to write it [default: the model file's path with the format's extension, e.g.
    /// model.safetensors]
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `cargo xtask export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let Format::Safetensors = args.format;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.load.with_extension("safetensors"));
    if out == args.load {
        bail!(
            "--out {} is the model file itself: give another path",
            out.display()
        );
    }
    let (file, _) = ModelFile::load(&args.load)?;
    seqdata::io::check_writable(&out).map_err(|e| anyhow::anyhow!("--out {e}"))?;
    let bytes = models::torch::to_safetensors(&file)?;
    seqdata::io::write_atomic(&out, &bytes)?;
    let layout = &file.model.info().torch;
    let mut text = String::new();
    writeln!(text, "model: {} ({})", file.describe(), args.load.display())?;
    writeln!(text, "as PyTorch modules: {}", layout.modules)?;
    let names: Vec<&str> = layout.tensors.iter().map(|t| t.name).collect();
    writeln!(text, "tensors (float64): {}", names.join(", "))?;
    writeln!(text, "wrote {} ({} bytes)", out.display(), bytes.len())?;
    emit(&text)
}
