//! Data files: the CSV and `.npy` files that `cargo xtask data` writes, and
//! what `cargo xtask eval --data` reads: those, and data as numpy, PyTorch
//! and pandas save it (float32 `.npy`, integer or bool labels, `.npz`
//! archives, a CSV with pandas' index column). Every size and value is
//! checked before anything is allocated from it, and every refusal says how
//! to save the file so that it is read.
//!
//! ```
//! use seqdata::{AlternatingSign, io};
//! let d = AlternatingSign::new(4)?.heldout(3, 1)?;
//! let csv = io::to_csv(&d);
//! assert!(csv.starts_with("x0,x1,x2,x3,y0,y1,y2,y3\n"));
//! assert_eq!(io::parse_csv(csv.as_bytes())?, d);
//! assert_eq!(io::parse_npy(&io::to_npy(d.inputs()))?, d.inputs());
//! # Ok::<(), seqdata::Error>(())
//! ```

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2, ShapeBuilder};
use ndarray_npy::WriteNpyExt;
use ndarray_npy::npy::header::Header;

use crate::{Dataset, Error, MAX_ELEMENTS, Result};

/// Returns a [`Error::Format`] made like `format!`.
macro_rules! format_err {
    ($($t:tt)*) => { Error::Format(format!($($t)*)) };
}

/// Returns early with a [`Error::Format`] made like `format!`.
macro_rules! fail {
    ($($t:tt)*) => { return Err(format_err!($($t)*)) };
}

/// The largest data file read (512 MiB): a larger file is refused before it
/// is read.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// Reads a whole file of at most [`MAX_FILE_BYTES`], refusing a larger one
/// before reading it. `what` names the file in messages (`data file`).
pub fn read_limited(path: &Path, what: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        what: what.to_string(),
        cause: std::sync::Arc::new(e),
    })?;
    if meta.is_dir() {
        fail!("{what} {} is a folder, not a file", path.display());
    }
    if meta.len() > MAX_FILE_BYTES {
        fail!(
            "{what} {} is {} bytes, more than the {MAX_FILE_BYTES} (512 MiB) accepted",
            path.display(),
            meta.len()
        );
    }
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        what: what.to_string(),
        cause: std::sync::Arc::new(e),
    })?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take` also bounds special files whose size the metadata does not tell.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Io {
            path: path.to_path_buf(),
            what: what.to_string(),
            cause: std::sync::Arc::new(e),
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        fail!(
            "{what} {} is more than the {MAX_FILE_BYTES} bytes (512 MiB) accepted",
            path.display()
        );
    }
    Ok(bytes)
}

/// The largest `.npy` header read (numpy's own limit).
const MAX_NPY_HEADER: usize = 10_000;

/// What a data CSV's header must be, and that a pandas index is fine.
const CSV_HEADER: &str = "expected x0,x1,…,x{L-1}, optionally followed by y0,…,y{L-1}, as `cargo xtask data` writes; \
df.to_csv(path, index=False) and df.to_csv(path) (an index column first) both work";

/// Whether a CSV's first header field names a pandas (or R) index column:
/// empty (`df.to_csv(path)`), `Unnamed: 0` (a CSV read and saved again) or
/// `index` (`df.reset_index()`).
fn is_index_name(name: &str) -> bool {
    matches!(name, "" | "Unnamed: 0" | "index")
}

/// A CSV field without the double quotes around it that R and some
/// spreadsheets write.
fn unquote(field: &str) -> &str {
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .map_or(field, str::trim)
}

/// A label as pandas, numpy or `cargo xtask data` write it: `0`/`1`,
/// `0.0`/`1.0`, `True`/`False`.
fn parse_label(field: &str) -> Option<f64> {
    match field {
        "True" | "true" | "TRUE" => Some(1.0),
        "False" | "false" | "FALSE" => Some(0.0),
        _ => match field.parse::<f64>() {
            Ok(0.0) => Some(0.0),
            Ok(1.0) => Some(1.0),
            _ => None,
        },
    }
}

/// Parses a data CSV: a header `x0..x{L-1}` and optionally `y0..y{L-1}`,
/// then one sequence per line, as `cargo xtask data` writes it. Without
/// label columns the labels come from the task's rule. Also read as pandas
/// writes a data frame: a first index column (header empty, `Unnamed: 0`
/// or `index`, integer values) is dropped, and labels may be `True`/`False`
/// or `0.0`/`1.0`; fields may be in double quotes.
pub fn parse_csv(bytes: &[u8]) -> Result<Dataset> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format_err!("not UTF-8 text (byte {}): not a CSV file", e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        fail!("the file is empty: {CSV_HEADER}, then one sequence per line");
    };
    let all: Vec<&str> = header.split(',').map(|f| unquote(f.trim())).collect();
    let index = (all.len() > 1 && is_index_name(all[0])).then(|| all[0]);
    let names = if index.is_some() { &all[1..] } else { &all[..] };
    let l = names
        .iter()
        .enumerate()
        .take_while(|(i, n)| **n == format!("x{i}"))
        .count();
    if l == 0 {
        match index {
            Some(ix) => fail!(
                "the header starts with the index column `{ix}` and then `{}`, not x0: {CSV_HEADER}",
                abbreviate(names[0], 24)
            ),
            None if all.get(1) == Some(&"x0") => fail!(
                "the header starts with `{}`, not x0 or an index column: drop that column, or name it `index` or leave its header empty to have it read as an index; {CSV_HEADER}",
                abbreviate(all[0], 24)
            ),
            None => fail!(
                "the header starts with `{}`, not x0: {CSV_HEADER}",
                abbreviate(all[0], 24)
            ),
        }
    }
    let with_labels = names.len() > l;
    if with_labels {
        if names.len() != 2 * l {
            fail!(
                "the header has {l} x columns and {} others: expected x0..x{},y0..y{} (as many labels as inputs) or the x columns alone",
                names.len() - l,
                l - 1,
                l - 1
            );
        }
        if let Some((t, n)) = names[l..]
            .iter()
            .enumerate()
            .find(|(t, n)| **n != format!("y{t}"))
        {
            fail!(
                "header column {} is `{}`, expected y{t}: {CSV_HEADER}",
                all.len() - names.len() + l + t + 1,
                abbreviate(n, 24)
            );
        }
    }
    if l > crate::MAX_LENGTH {
        fail!(
            "sequences of length {l} are longer than the {} accepted",
            crate::MAX_LENGTH
        );
    }
    let skip = all.len() - names.len();
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    let mut rows = 0usize;
    for (i, line) in lines {
        let lineno = i + 1;
        let fields: Vec<&str> = line.split(',').map(|f| unquote(f.trim())).collect();
        if fields.len() != all.len() {
            fail!(
                "line {lineno} has {} fields but the header has {}",
                fields.len(),
                all.len()
            );
        }
        if let Some(ix) = index
            && fields[0].parse::<i64>().is_err()
        {
            fail!(
                "line {lineno}, index column `{ix}`: `{}` is not an integer: a first column named `{ix}` is read as pandas' index; write the file with df.to_csv(path, index=False) to leave it out",
                abbreviate(fields[0], 24)
            );
        }
        let fields = &fields[skip..];
        for (t, f) in fields[..l].iter().enumerate() {
            let v: f64 = f.parse().map_err(|_| {
                format_err!(
                    "line {lineno}, column x{t}: `{}` is not a number",
                    abbreviate(f, 24)
                )
            })?;
            if !v.is_finite() {
                fail!(
                    "line {lineno}, column x{t}: `{}` is not a finite number",
                    abbreviate(f, 24)
                );
            }
            xs.push(v);
        }
        if with_labels {
            for (t, f) in fields[l..].iter().enumerate() {
                let Some(v) = parse_label(f) else {
                    fail!(
                        "line {lineno}, column y{t}: `{}` is not a label (0 or 1, 0.0 or 1.0, True or False)",
                        abbreviate(f, 24)
                    );
                };
                ys.push(v);
            }
        }
        rows += 1;
        if rows.saturating_mul(l) > MAX_ELEMENTS {
            fail!("more than {MAX_ELEMENTS} numbers: the data set is too large");
        }
    }
    if rows == 0 {
        fail!("the file has a header but no sequences");
    }
    let x = Array2::from_shape_vec((rows, l), xs).expect("rows × l numbers were read");
    let y = if with_labels {
        Array2::from_shape_vec((rows, l), ys).expect("rows × l labels were read")
    } else {
        rule_labels(&x)
    };
    Dataset::new(x, y)
}

/// The labels of every row of `x` by the task's rule.
pub fn rule_labels(x: &Array2<f64>) -> Array2<f64> {
    let mut y = Array2::zeros(x.dim());
    for (xr, mut yr) in x.rows().into_iter().zip(y.rows_mut()) {
        let xs = xr.to_vec();
        crate::label_into(&xs, yr.as_slice_mut().expect("standard layout"));
    }
    y
}

/// Text cut to at most `max` characters for a message (`abc...`).
pub fn abbreviate(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!(
            "{}...",
            s.chars().take(max.saturating_sub(3)).collect::<String>()
        )
    } else {
        s.to_string()
    }
}

/// What an array holds, which decides the element types it may have:
/// inputs are numbers (float32 or float64), labels may also be integers or
/// bools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Inputs,
    Labels,
}

impl Role {
    /// The array's name in the numpy fixes messages suggest.
    fn var(self) -> &'static str {
        match self {
            Role::Inputs => "x",
            Role::Labels => "y",
        }
    }

    /// How to fix an array of a type this role does not take.
    fn fix_type(self) -> &'static str {
        match self {
            Role::Inputs => "save it as float32 or float64 (x.astype('float32'))",
            Role::Labels => {
                "save it as bool, an integer type, float32 or float64 (y.astype('int8'))"
            }
        }
    }
}

/// An element type `.npy` arrays are read in, all widened exactly to f64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elem {
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Bool,
}

impl Elem {
    /// Bytes per element.
    fn size(self) -> usize {
        match self {
            Elem::I8 | Elem::U8 | Elem::Bool => 1,
            Elem::I16 | Elem::U16 => 2,
            Elem::F32 | Elem::I32 | Elem::U32 => 4,
            Elem::F64 | Elem::I64 | Elem::U64 => 8,
        }
    }

    /// numpy's name of the type.
    fn name(self) -> &'static str {
        match self {
            Elem::F32 => "float32",
            Elem::F64 => "float64",
            Elem::I8 => "int8",
            Elem::I16 => "int16",
            Elem::I32 => "int32",
            Elem::I64 => "int64",
            Elem::U8 => "uint8",
            Elem::U16 => "uint16",
            Elem::U32 => "uint32",
            Elem::U64 => "uint64",
            Elem::Bool => "bool",
        }
    }

    /// The type of `kind` (numpy's letter: f, i, u, b) and `size` bytes.
    fn from_kind(kind: char, size: usize) -> Option<Self> {
        Some(match (kind, size) {
            ('f', 4) => Elem::F32,
            ('f', 8) => Elem::F64,
            ('i', 1) => Elem::I8,
            ('i', 2) => Elem::I16,
            ('i', 4) => Elem::I32,
            ('i', 8) => Elem::I64,
            ('u', 1) => Elem::U8,
            ('u', 2) => Elem::U16,
            ('u', 4) => Elem::U32,
            ('u', 8) => Elem::U64,
            ('b', 1) => Elem::Bool,
            _ => return None,
        })
    }
}

/// A `.npy` type descriptor read: the element type and its byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dtype {
    elem: Elem,
    big_endian: bool,
}

impl Dtype {
    /// The descriptor ndarray-npy's reader of the type takes for these
    /// bytes (`<f4`, `>i8`, `|u1`); a bool's bytes are read as uint8, so
    /// that a byte other than 0 or 1 is named as a value, not a parse error.
    fn canonical(self) -> String {
        let e = self.elem;
        if e.size() == 1 {
            let kind = if e == Elem::I8 { 'i' } else { 'u' };
            return format!("|{kind}1");
        }
        let kind = match e {
            Elem::F32 | Elem::F64 => 'f',
            Elem::I16 | Elem::I32 | Elem::I64 => 'i',
            _ => 'u',
        };
        let order = if self.big_endian { '>' } else { '<' };
        format!("{order}{kind}{}", e.size())
    }
}

/// Reads a type descriptor as numpy writes it (`<f8`, `>f4`, `|b1`, `<i8`;
/// also `=f8`, `f8` and names such as `float32`). An unsupported type is
/// returned as its description for a message (`float16 (<f2)`).
fn parse_descr(descr: &str) -> std::result::Result<Dtype, String> {
    let shown = abbreviate(descr, 24);
    let native_big = cfg!(target_endian = "big");
    let named = match descr {
        "float32" => Some(Elem::F32),
        "float64" | "double" => Some(Elem::F64),
        "int8" => Some(Elem::I8),
        "int16" => Some(Elem::I16),
        "int32" => Some(Elem::I32),
        "int64" => Some(Elem::I64),
        "uint8" => Some(Elem::U8),
        "uint16" => Some(Elem::U16),
        "uint32" => Some(Elem::U32),
        "uint64" => Some(Elem::U64),
        "bool" | "?" => Some(Elem::Bool),
        _ => None,
    };
    if let Some(elem) = named {
        return Ok(Dtype {
            elem,
            big_endian: native_big,
        });
    }
    let (big_endian, rest) = match descr.chars().next() {
        Some('<') => (false, &descr[1..]),
        Some('>') => (true, &descr[1..]),
        Some('=' | '|') => (native_big, &descr[1..]),
        _ => (native_big, descr),
    };
    let mut chars = rest.chars();
    let kind = chars.next().unwrap_or(' ');
    let digits: String = chars.clone().take_while(char::is_ascii_digit).collect();
    let size: Option<usize> = digits.parse().ok();
    if let Some(elem) = size.and_then(|s| Elem::from_kind(kind, s))
        && digits.len() + 1 == rest.len()
    {
        return Ok(Dtype { elem, big_endian });
    }
    let bits = size.map(|s| s.saturating_mul(8)).unwrap_or(0);
    let what = match kind {
        'f' if bits > 0 => format!("float{bits}"),
        'c' if bits > 0 => format!("complex{bits}"),
        'S' | 'a' => "byte strings".to_string(),
        'U' => "text strings".to_string(),
        'O' => "Python objects".to_string(),
        'M' => "dates and times".to_string(),
        'm' => "time differences".to_string(),
        'V' => "raw records (void)".to_string(),
        _ => "an unknown type".to_string(),
    };
    Err(format!("{what} ({shown})"))
}

/// An element type of ndarray-npy's readers, as f64: exact for floats and
/// for the integers that can be labels (0 and 1); a 64-bit integer too
/// large for f64 is rounded, and refused as a label all the same.
trait Widen: ndarray_npy::ReadableElement + Copy {
    fn widen(self) -> f64;
}

macro_rules! widen {
    ($($t:ty),*) => {$(
        impl Widen for $t {
            fn widen(self) -> f64 {
                self as f64
            }
        }
    )*};
}
widen!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);

/// `len` elements of type `T` read from `data` by ndarray-npy (which does
/// the byte order), widened to f64.
fn read_widened<T: Widen>(data: &[u8], dtype: Dtype, len: usize) -> Result<Vec<f64>> {
    let descr = py_literal::Value::String(dtype.canonical());
    let v = T::read_to_end_exact_vec(data, &descr, len)
        .map_err(|e| format_err!("cannot read the .npy array: {e}"))?;
    Ok(v.into_iter().map(Widen::widen).collect())
}

/// A shape as numpy prints it: `(3,)`, `(2, 3, 4)`.
fn py_shape(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Parses a `.npy` file of inputs, `(N, L)` float32 or float64 (either byte
/// order, C or Fortran order), float32 widened exactly to float64. The
/// header is checked before anything is allocated from it: its length,
/// nesting, the type, the shape, and that the data is exactly as long as
/// the shape says.
pub fn parse_npy(bytes: &[u8]) -> Result<Array2<f64>> {
    read_npy_2d(bytes, Role::Inputs)
}

/// Parses a `.npy` file of labels, `(N, L)` of 0s and 1s: bool, any integer
/// type (int8 … uint64), float32 or float64, each checked to be 0 or 1.
/// Checked like [`parse_npy`] before anything is allocated.
pub fn parse_npy_labels(bytes: &[u8]) -> Result<Array2<f64>> {
    let y = read_npy_2d(bytes, Role::Labels)?;
    check_labels(&y)?;
    Ok(y)
}

fn read_npy_2d(bytes: &[u8], role: Role) -> Result<Array2<f64>> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.is_empty() {
        fail!("the file is empty: not a .npy file");
    }
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        fail!(
            "not a .npy file (it does not start with \\x93NUMPY): save the array with np.save(path, {})",
            role.var()
        );
    }
    let (prefix, header_len) = match bytes[6] {
        1 => (10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
        2 | 3 if bytes.len() >= 12 => (
            12,
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
        ),
        2 | 3 => fail!("the .npy header is truncated"),
        v => fail!(".npy format version {v} is not supported: use version 1, 2 or 3"),
    };
    if header_len > MAX_NPY_HEADER {
        fail!(
            "the .npy header is {header_len} bytes, more than the {MAX_NPY_HEADER} numpy itself accepts"
        );
    }
    if prefix + header_len > bytes.len() {
        fail!(
            "the .npy header is truncated: it says {header_len} bytes, the file has {}",
            bytes.len() - prefix
        );
    }
    // The header is a Python literal: refuse deep nesting before a parser
    // recurses into it.
    let mut depth = 0i32;
    for &b in &bytes[prefix..prefix + header_len] {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        if depth > 4 {
            fail!("the .npy header is malformed (nested too deeply)");
        }
    }
    let header = Header::from_reader(&mut &bytes[..prefix + header_len])
        .map_err(|e| format_err!("the .npy header is malformed: {e}"))?;
    let descr = header.type_descriptor.as_string();
    let dtype = match descr {
        Some(d) => parse_descr(d),
        None => Err("a structured array (named fields)".to_string()),
    };
    let dtype = match dtype {
        Ok(d) if role == Role::Labels || matches!(d.elem, Elem::F32 | Elem::F64) => d,
        Ok(d) => fail!(
            "the array holds {} ({}), and inputs are numbers in [0, 1): {}",
            d.elem.name(),
            abbreviate(descr.map_or("", String::as_str), 24),
            role.fix_type()
        ),
        Err(what) => fail!("the array holds {what}: {}", role.fix_type()),
    };
    let shape = &header.shape;
    if shape.len() != 2 {
        let v = role.var();
        let fix = match shape.len() {
            0 => format!("a single number is not a data set: save {v} with shape (N, L)"),
            1 => format!(
                "save one sequence as {v}.reshape(1, -1), or N sequences of length L as {v}.reshape(N, L)"
            ),
            3 if shape[2] == 1 => format!("drop the last axis with {v}.squeeze(-1)"),
            _ => format!("save {v} with one sequence per row, as {v}.reshape(N, L)"),
        };
        fail!(
            "the array has shape {}: expected 2 dimensions (sequences, length), not {}: {fix}",
            py_shape(shape),
            shape.len()
        );
    }
    let (rows, cols) = (shape[0], shape[1]);
    let data = bytes.len() - prefix - header_len;
    let elements = rows.checked_mul(cols);
    let need = elements.and_then(|n| n.checked_mul(dtype.elem.size()));
    if need != Some(data) {
        fail!(
            "the .npy array has shape ({rows}, {cols}) of {} but {data} bytes of data: the file is truncated or corrupt",
            dtype.elem.name()
        );
    }
    let len = elements.expect("checked above");
    if len > MAX_ELEMENTS {
        fail!(
            "the array has shape ({rows}, {cols}): more than the {MAX_ELEMENTS} numbers accepted"
        );
    }
    let data = &bytes[prefix + header_len..];
    let values = match dtype.elem {
        Elem::F32 => read_widened::<f32>(data, dtype, len),
        Elem::F64 => read_widened::<f64>(data, dtype, len),
        Elem::I8 => read_widened::<i8>(data, dtype, len),
        Elem::I16 => read_widened::<i16>(data, dtype, len),
        Elem::I32 => read_widened::<i32>(data, dtype, len),
        Elem::I64 => read_widened::<i64>(data, dtype, len),
        Elem::U8 | Elem::Bool => read_widened::<u8>(data, dtype, len),
        Elem::U16 => read_widened::<u16>(data, dtype, len),
        Elem::U32 => read_widened::<u32>(data, dtype, len),
        Elem::U64 => read_widened::<u64>(data, dtype, len),
    }?;
    let shape = (rows, cols).set_f(header.layout.is_fortran());
    Ok(Array2::from_shape_vec(shape, values).expect("rows × cols values were read"))
}

/// Checks that every label is 0 or 1, naming the first that is not.
fn check_labels(y: &Array2<f64>) -> Result<()> {
    if let Some(((i, t), v)) = y.indexed_iter().find(|(_, v)| **v != 0.0 && **v != 1.0) {
        fail!("entry [{i}][{t}] = {v} is not a label (0 or 1)");
    }
    Ok(())
}

/// The most arrays named in a message about a `.npz` file.
const NAMES_SHOWN: usize = 8;

/// Parses a `.npz` file (a zip of `.npy` files, as `np.savez` and
/// `np.savez_compressed` write it): the inputs from array `x` (member `x`
/// or `x.npy`), the labels from `y` if there is one, else from the task's
/// rule; other arrays are ignored. Each member is unpacked to at most
/// [`MAX_FILE_BYTES`] and then checked like a `.npy` file before anything
/// is allocated from its header.
///
/// ndarray-npy's `NpzReader` is not used: it allocates what a member's
/// header claims before reading the data, which a file of a few bytes could
/// make gigabytes.
pub fn parse_npz(bytes: &[u8]) -> Result<Dataset> {
    const SAVE: &str = "save it with np.savez(path, x=inputs, y=labels)";
    if bytes.is_empty() {
        fail!("the file is empty: not a .npz file: {SAVE}");
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format_err!("not a .npz file (a zip archive of .npy files): {e}: {SAVE}"))?;
    let members: Vec<String> = zip.file_names().map(str::to_string).collect();
    // numpy's lookup: the exact name first, then the name with `.npy`.
    let find = |key: &str| {
        let with_ext = format!("{key}.npy");
        members
            .iter()
            .find(|m| *m == key)
            .or_else(|| members.iter().find(|m| **m == with_ext))
            .cloned()
    };
    let Some(x_member) = find("x") else {
        if members.is_empty() {
            fail!("the archive holds no arrays: {SAVE}");
        }
        let mut names: Vec<String> = members
            .iter()
            .take(NAMES_SHOWN)
            .map(|m| abbreviate(m.strip_suffix(".npy").unwrap_or(m), 24))
            .collect();
        if members.len() > NAMES_SHOWN {
            names.push(format!("… ({} in all)", members.len()));
        }
        fail!(
            "the archive has arrays {} but no `x`: {SAVE}",
            names.join(", ")
        );
    };
    let x = read_member(&mut zip, &x_member)
        .and_then(|b| parse_npy(&b))
        .and_then(|x| check_inputs(&x).map(|_| x))
        .map_err(|e| e.context("array `x`"))?;
    let y = match find("y") {
        Some(y_member) => {
            let y = read_member(&mut zip, &y_member)
                .and_then(|b| parse_npy_labels(&b))
                .map_err(|e| e.context("array `y`"))?;
            if y.dim() != x.dim() {
                fail!(
                    "array `y` has shape {} but `x` has {}: they must match, one label per input",
                    py_shape(y.shape()),
                    py_shape(x.shape())
                );
            }
            y
        }
        None => rule_labels(&x),
    };
    Dataset::new(x, y)
}

/// The unpacked bytes of one member of a zip archive, at most
/// [`MAX_FILE_BYTES`], read without trusting the size its header claims.
fn read_member(zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str) -> Result<Vec<u8>> {
    let member = zip.by_name(name).map_err(|e| {
        format_err!(
            "cannot unpack it ({e}): save it with np.savez or np.savez_compressed (stored or deflated, no password)"
        )
    })?;
    if member.size() > MAX_FILE_BYTES {
        fail!(
            "it is {} bytes unpacked, more than the {MAX_FILE_BYTES} (512 MiB) accepted",
            member.size()
        );
    }
    let mut bytes = Vec::new();
    member
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format_err!("cannot unpack it ({e}): the file is truncated or corrupt"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        fail!("it is more than the {MAX_FILE_BYTES} bytes (512 MiB) accepted unpacked");
    }
    Ok(bytes)
}

/// Loads a data file: a `.csv`, a `.npz` with arrays `x` and optionally
/// `y`, or a `.npy` of inputs (labels from the `_y.npy` beside an `_x.npy`).
/// Without labels they come from the task's rule.
pub fn load_data(path: &Path) -> Result<Dataset> {
    let name = path.to_string_lossy();
    let ctx = || format!("data file {}", path.display());
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => parse_csv(&read_limited(path, "data file")?).map_err(|e| e.context(ctx())),
        Some("npz") => parse_npz(&read_limited(path, "data file")?).map_err(|e| e.context(ctx())),
        Some("npy") => {
            if name.ends_with("_y.npy") {
                fail!(
                    "data file {}: give the inputs (the _x.npy file); the labels beside it are read with them",
                    path.display()
                );
            }
            let x = parse_npy(&read_limited(path, "data file")?).map_err(|e| e.context(ctx()))?;
            check_inputs(&x).map_err(|e| e.context(ctx()))?;
            let y_path = name
                .strip_suffix("_x.npy")
                .map(|stem| PathBuf::from(format!("{stem}_y.npy")))
                .filter(|p| p.exists());
            let y = match &y_path {
                Some(p) => {
                    let y = parse_npy_labels(&read_limited(p, "label file")?)
                        .map_err(|e| e.context(format!("label file {}", p.display())))?;
                    if y.dim() != x.dim() {
                        fail!(
                            "label file {} has shape {:?} but the inputs {:?}: they must match",
                            p.display(),
                            y.dim(),
                            x.dim()
                        );
                    }
                    y
                }
                None => rule_labels(&x),
            };
            Dataset::new(x, y)
        }
        _ => fail!(
            "data file {}: unknown format: give a .csv, a .npy of inputs (labels from the _y.npy beside an _x.npy) or a .npz with arrays x and y",
            path.display()
        ),
    }
}

/// Checks that inputs are a non-empty set of finite numbers.
fn check_inputs(x: &Array2<f64>) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        fail!(
            "the array has shape ({}, {}): it holds no sequence",
            x.nrows(),
            x.ncols()
        );
    }
    if let Some(((i, t), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        fail!("entry [{i}][{t}] = {v} is not a finite number");
    }
    Ok(())
}

/// Checks, before long work, that `path` can be written: a file name (not a
/// folder) in an existing, writable folder (a probe file is created there
/// and removed). The message starts with the path.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        fail!(
            "{} is a folder: give a file name such as model.json",
            path.display()
        );
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".tmp-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| {
            format_err!(
                "{}: cannot write in {} ({e}): choose an existing, writable folder",
                path.display(),
                dir.display()
            )
        })?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// folder (`.NAME.tmp-XXXXXX`), synced, then renamed over `path`, and the
/// folder synced, so an interrupted write (a crash, a kill, a full disk)
/// never leaves a half-written file: `path` holds the old bytes or the new
/// ones, and a failed write removes its temporary file. The file is readable
/// by all (0644), like any report.
///
/// For fault-injection tests, the environment variable
/// [`WRITE_DELAY_ENV`] (milliseconds) holds every write open that long
/// between writing the temporary file and renaming it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // tempfile adds the temporary file's path to its errors: the message
    // names the file being written instead.
    let io_err = |e: std::io::Error, at: &Path| Error::Write {
        path: at.to_path_buf(),
        cause: std::sync::Arc::new(without_temp_path(e)),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}{TEMP_MARK}", name.as_deref().unwrap_or("")))
        .tempfile_in(dir)
        .map_err(|e| io_err(e, dir))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| io_err(e, path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| io_err(e, path))?;
    }
    if let Some(ms) = write_delay() {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    tmp.persist(path).map_err(|e| io_err(e.error, path))?;
    // The rename is durable once the folder is synced (not every
    // filesystem can sync a folder; the rename itself is done).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// One of tempfile's errors without the temporary file's path that it
/// appends (`… at path "/x/.f.tmp-123"`): the message names the file being
/// written instead.
fn without_temp_path(e: std::io::Error) -> std::io::Error {
    if e.get_ref().is_none() {
        return e;
    }
    match e.to_string().rsplit_once(" at path \"") {
        Some((head, _)) => std::io::Error::new(e.kind(), head.to_string()),
        None => e,
    }
}

/// What marks [`write_atomic`]'s temporary files: `.NAME.tmp-XXXXXX`. A
/// file with it is a write that was interrupted, safe to remove once no
/// process writes the folder.
pub const TEMP_MARK: &str = ".tmp-";

/// Whether `name` is a temporary file of [`write_atomic`].
pub fn is_temp_file(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMP_MARK)
}

/// The environment variable that slows every [`write_atomic`] down by that
/// many milliseconds, so that fault-injection tests can kill a process in
/// the middle of a write. Unset in normal use.
pub const WRITE_DELAY_ENV: &str = "RNNSTUDY_TEST_WRITE_DELAY_MS";

fn write_delay() -> Option<u64> {
    static DELAY: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *DELAY.get_or_init(|| {
        std::env::var(WRITE_DELAY_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&ms| ms > 0)
    })
}

/// Parses one sequence: numbers separated by commas and/or whitespace, each
/// a finite number, at most [`crate::MAX_LENGTH`] of them. `origin` names
/// the sequence in messages (`--x`, `stdin line 3`).
pub fn parse_sequence(text: &str, origin: &str) -> Result<Vec<f64>> {
    if text.trim().is_empty() {
        fail!("{origin}: no numbers: give a sequence such as 0.3,0.9,0.1");
    }
    let mut out = Vec::new();
    let pieces: Vec<&str> = text.split(',').collect();
    let n_pieces = pieces.len();
    for (k, piece) in pieces.into_iter().enumerate() {
        let piece = piece.trim();
        if piece.is_empty() {
            // A trailing comma is harmless; an empty value inside is a typo.
            if k + 1 == n_pieces && k > 0 {
                continue;
            }
            fail!(
                "{origin}: value {} is empty (two commas in a row?)",
                out.len() + 1
            );
        }
        for word in piece.split_whitespace() {
            let i = out.len() + 1;
            if i > crate::MAX_LENGTH {
                fail!(
                    "{origin}: more than {} values: the longest sequence accepted",
                    crate::MAX_LENGTH
                );
            }
            let shown: String = word.chars().take(24).collect();
            let v: f64 = word
                .parse()
                .map_err(|_| format_err!("{origin}: value {i} `{shown}` is not a number"))?;
            if !v.is_finite() {
                fail!("{origin}: value {i} `{shown}` is not a finite number");
            }
            out.push(v);
        }
    }
    if out.is_empty() {
        fail!("{origin}: no numbers: give a sequence such as 0.3,0.9,0.1");
    }
    Ok(out)
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

/// An array as the bytes of a `.npy` file (float64), as numpy saves it.
pub fn to_npy(a: ArrayView2<'_, f64>) -> Vec<u8> {
    let mut bytes = Vec::new();
    a.write_npy(&mut bytes)
        .expect("writing .npy into memory cannot fail");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AlternatingSign;
    use ndarray_npy::WriteNpyExt;
    use proptest::prelude::*;

    fn npy_bytes(a: &Array2<f64>) -> Vec<u8> {
        let mut b = Vec::new();
        a.write_npy(&mut b).unwrap();
        b
    }

    #[test]
    fn csv_and_npy_read_back_what_data_writes() {
        let d = AlternatingSign::new(5).unwrap().heldout(7, 2).unwrap();
        let csv = to_csv(&d);
        assert_eq!(parse_csv(csv.as_bytes()).unwrap(), d);
        let x = parse_npy(&npy_bytes(&d.inputs().to_owned())).unwrap();
        assert_eq!(x, d.inputs());
        // Only the x columns: labels from the rule.
        let xonly: String = csv
            .lines()
            .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse_csv(xonly.as_bytes()).unwrap(), d);
    }

    #[test]
    fn files_pair_up_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let d = AlternatingSign::new(4).unwrap().heldout(3, 1).unwrap();
        let xp = dir.path().join("s_x.npy");
        std::fs::write(&xp, npy_bytes(&d.inputs().to_owned())).unwrap();
        // Without _y.npy: labels from the rule.
        assert_eq!(load_data(&xp).unwrap(), d);
        let mut y = d.labels().to_owned();
        y[[0, 0]] = 0.0;
        std::fs::write(dir.path().join("s_y.npy"), npy_bytes(&y)).unwrap();
        assert_eq!(load_data(&xp).unwrap().labels(), y);
        y[[1, 2]] = 2.0;
        std::fs::write(dir.path().join("s_y.npy"), npy_bytes(&y)).unwrap();
        let e = format!("{:#}", load_data(&xp).unwrap_err());
        assert!(e.contains("[1][2] = 2 is not a label"), "{e}");
        let e = format!("{:#}", load_data(&dir.path().join("s_y.npy")).unwrap_err());
        assert!(e.contains("give the inputs"), "{e}");
        let e = format!("{:#}", load_data(&dir.path().join("s.txt")).unwrap_err());
        assert!(e.contains("unknown format"), "{e}");
    }

    #[test]
    fn bad_csv_is_named() {
        let cases = [
            ("", "empty"),
            ("a,b\n1,2\n", "not x0"),
            ("x0,x1,y0\n", "1 others"),
            ("x0,x1,y0,z1\n", "expected y1"),
            ("x0,x1\n", "no sequences"),
            ("x0,x1\n0.1\n", "line 2 has 1 fields"),
            (
                "x0,x1\n0.1,abc\n",
                "line 2, column x1: `abc` is not a number",
            ),
            ("x0,x1\n0.1,inf\n", "`inf` is not a finite number"),
            ("x0,x1\n0.1,NaN\n", "`NaN` is not a finite number"),
            ("x0,y0\n0.1,2\n", "column y0: `2` is not a label"),
        ];
        for (text, want) in cases {
            let e = format!("{:#}", parse_csv(text.as_bytes()).unwrap_err());
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        assert!(parse_csv(b"\xff\xfe").is_err());
    }

    #[test]
    fn bad_npy_is_named_before_allocating() {
        let good = npy_bytes(&Array2::from_elem((3, 4), 0.5));
        let e = parse_npy(&good[..good.len() - 3]).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        // A header claiming a huge shape over a few bytes of data.
        let huge = npy_v1(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999), }",
            &[0; 16],
        );
        let e = parse_npy(&huge).unwrap_err().to_string();
        assert!(e.contains("truncated or corrupt"), "{e}");
        let nested = npy_v1(&format!("{}{}", "(".repeat(500), ")".repeat(500)), &[]);
        let e = parse_npy(&nested).unwrap_err().to_string();
        assert!(e.contains("nested too deeply"), "{e}");
        let one_d = npy_bytes_1d(&[0.5, 0.5]);
        let e = parse_npy(&one_d).unwrap_err().to_string();
        assert!(e.contains("expected 2 dimensions"), "{e}");
        let mut ints = Vec::new();
        Array2::<i64>::zeros((2, 2)).write_npy(&mut ints).unwrap();
        let e = parse_npy(&ints).unwrap_err().to_string();
        assert!(
            e.contains("holds int64 (<i8), and inputs are numbers in [0, 1): save it as float32"),
            "{e}"
        );
        assert!(parse_npy(b"").unwrap_err().to_string().contains("empty"));
        assert!(
            parse_npy(b"hello world")
                .unwrap_err()
                .to_string()
                .contains("not a .npy")
        );
    }

    /// A version-1 `.npy` file with the given header dictionary and data.
    fn npy_v1(dict: &str, data: &[u8]) -> Vec<u8> {
        let text = format!("{dict}\n");
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(text.len() as u16).to_le_bytes());
        b.extend_from_slice(text.as_bytes());
        b.extend_from_slice(data);
        b
    }

    fn npy_bytes_1d(v: &[f64]) -> Vec<u8> {
        let mut b = Vec::new();
        ndarray::Array1::from(v.to_vec()).write_npy(&mut b).unwrap();
        b
    }

    /// A `.npy` file of `dict`'s descriptor and shape (C order) over `data`.
    fn npy_of(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        npy_v1(
            &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"),
            data,
        )
    }

    /// A `.npz` archive of `(name, bytes)` members, stored or deflated.
    fn npz_of(members: &[(&str, &[u8])], deflated: bool) -> Vec<u8> {
        use std::io::Write as _;
        let method = if deflated {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in members {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// `a` in Fortran (column-major) layout.
    fn fortran_copy<T: Copy>(a: &Array2<T>) -> Array2<T> {
        let f = Array2::from_shape_vec(a.dim().f(), a.t().iter().copied().collect()).unwrap();
        assert!(!f.is_standard_layout() || a.nrows() < 2 || a.ncols() < 2);
        f
    }

    fn npy_any<T: ndarray_npy::WritableElement>(a: &Array2<T>) -> Vec<u8> {
        let mut b = Vec::new();
        a.write_npy(&mut b).unwrap();
        b
    }

    #[test]
    fn float32_inputs_widen_exactly_in_either_order() {
        let x32 = Array2::from_shape_fn((3, 4), |(i, t)| (i * 4 + t) as f32 / 7.0 + 0.001);
        let want = x32.mapv(f64::from);
        assert_eq!(parse_npy(&npy_any(&x32)).unwrap(), want);
        // Fortran order: ndarray-npy writes a column-major array as such.
        let fortran = fortran_copy(&x32);
        assert!(
            npy_any(&fortran)
                .windows(20)
                .any(|w| w == b"'fortran_order': Tru")
        );
        assert_eq!(parse_npy(&npy_any(&fortran)).unwrap(), want);
        let x64f = fortran_copy(&want);
        assert_eq!(parse_npy(&npy_any(&x64f)).unwrap(), want);
        // Big-endian float32 and float64, as numpy writes them on such machines.
        let be32: Vec<u8> = x32.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(parse_npy(&npy_of(">f4", "(3, 4)", &be32)).unwrap(), want);
        let be64: Vec<u8> = want.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(parse_npy(&npy_of(">f8", "(3, 4)", &be64)).unwrap(), want);
        // The same bytes under the other spellings of a little-endian float64.
        let le64: Vec<u8> = want.iter().flat_map(|v| v.to_le_bytes()).collect();
        for descr in ["<f8", "=f8", "f8", "float64"] {
            assert_eq!(
                parse_npy(&npy_of(descr, "(3, 4)", &le64)).unwrap(),
                want,
                "{descr}"
            );
        }
    }

    #[test]
    fn labels_are_read_from_bools_integers_and_floats() {
        let bits = Array2::from_shape_fn((2, 3), |(i, t)| (i + t) % 2 == 0);
        let want = bits.mapv(|b| f64::from(u8::from(b)));
        let cases = [
            npy_any(&bits),
            npy_any(&bits.mapv(i8::from)),
            npy_any(&bits.mapv(i16::from)),
            npy_any(&bits.mapv(i32::from)),
            npy_any(&bits.mapv(i64::from)),
            npy_any(&bits.mapv(u8::from)),
            npy_any(&bits.mapv(u16::from)),
            npy_any(&bits.mapv(u32::from)),
            npy_any(&bits.mapv(u64::from)),
            npy_any(&bits.mapv(|b| f32::from(u8::from(b)))),
            npy_any(&want),
            npy_any(&fortran_copy(&want)),
        ];
        for (k, bytes) in cases.iter().enumerate() {
            assert_eq!(parse_npy_labels(bytes).unwrap(), want, "case {k}");
        }
        let be: Vec<u8> = want
            .iter()
            .flat_map(|v| (*v as i32).to_be_bytes())
            .collect();
        assert_eq!(
            parse_npy_labels(&npy_of(">i4", "(2, 3)", &be)).unwrap(),
            want
        );
        // A value other than 0 or 1 is named, whatever the type.
        let mut twos = bits.mapv(i64::from);
        twos[[1, 2]] = 2;
        let e = parse_npy_labels(&npy_any(&twos)).unwrap_err().to_string();
        assert_eq!(e, "entry [1][2] = 2 is not a label (0 or 1)");
        let e = parse_npy_labels(&npy_of("|b1", "(1, 2)", &[1, 7]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "entry [0][1] = 7 is not a label (0 or 1)");
        let e = parse_npy_labels(&npy_any(&Array2::from_elem((1, 1), -1i8)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("= -1 is not a label"), "{e}");
        // Integers and bools are labels, not inputs.
        let e = parse_npy(&npy_any(&bits)).unwrap_err().to_string();
        assert!(
            e.contains("holds bool (|b1), and inputs are numbers"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_types_and_shapes_say_how_to_fix_them() {
        let cases = [
            (
                npy_of("<f2", "(1, 2)", &[0; 4]),
                "the array holds float16 (<f2): save it as float32 or float64 (x.astype('float32'))",
            ),
            (
                npy_of("<c16", "(1, 1)", &[0; 16]),
                "holds complex128 (<c16): save it as float32",
            ),
            (npy_of("|O", "(1, 1)", &[0; 8]), "holds Python objects (|O)"),
            (
                npy_of("<U3", "(1, 1)", &[0; 12]),
                "holds text strings (<U3)",
            ),
            (
                npy_v1(
                    "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1, 1), }",
                    &[0; 8],
                ),
                "holds a structured array (named fields)",
            ),
            (
                npy_of("<f8", "(2, 3, 4)", &[0; 192]),
                "the array has shape (2, 3, 4): expected 2 dimensions (sequences, length), not 3: save x with one sequence per row",
            ),
            (
                npy_of("<f8", "(2, 3, 1)", &[0; 48]),
                "drop the last axis with x.squeeze(-1)",
            ),
            (
                npy_of("<f4", "(3,)", &[0; 12]),
                "shape (3,): expected 2 dimensions (sequences, length), not 1: save one sequence as x.reshape(1, -1)",
            ),
            (
                npy_of("<f8", "()", &[0; 8]),
                "a single number is not a data set",
            ),
            (
                npy_of("<f4", "(2, 2)", &[0; 8]),
                "shape (2, 2) of float32 but 8 bytes of data: the file is truncated or corrupt",
            ),
            (
                npy_of("<f4", "(99999, 99999)", &[0; 8]),
                "truncated or corrupt",
            ),
        ];
        for (bytes, want) in &cases {
            let e = parse_npy(bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        let e = parse_npy_labels(&npy_of("<f2", "(1, 2)", &[0; 4]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("float16 (<f2): save it as bool, an integer type, float32 or float64 (y.astype('int8'))"),
            "{e}"
        );
        let e = parse_npy_labels(&npy_of("<i8", "(4,)", &[0; 32]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("y.reshape(1, -1)"), "{e}");
    }

    #[test]
    fn npz_archives_read_x_and_y() {
        let d = AlternatingSign::new(4).unwrap().heldout(5, 3).unwrap();
        let x32 = d.inputs().mapv(|v| v as f32);
        let x = x32.mapv(f64::from);
        let rule = Dataset::new(x.clone(), rule_labels(&x)).unwrap();
        let bools = rule.labels().mapv(|v| v == 1.0);
        for deflated in [false, true] {
            // As np.savez(path, x=x, y=y) writes it: members x.npy and y.npy.
            let npz = npz_of(
                &[("x.npy", &npy_any(&x32)), ("y.npy", &npy_any(&bools))],
                deflated,
            );
            assert_eq!(parse_npz(&npz).unwrap(), rule);
            // Members named without .npy, labels left out (the rule), extra
            // arrays ignored.
            let npz = npz_of(
                &[("meta.npy", b"anything"), ("x", &npy_any(&x32))],
                deflated,
            );
            assert_eq!(parse_npz(&npz).unwrap(), rule);
        }
        // The labels given are the labels used.
        let mut y = rule.labels().to_owned();
        y[[0, 1]] = 1.0 - y[[0, 1]];
        let npz = npz_of(&[("x.npy", &npy_any(&x)), ("y.npy", &npy_any(&y))], false);
        assert_eq!(parse_npz(&npz).unwrap().labels(), y);
        // Through load_data, with an upper-case extension too.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.NPZ");
        std::fs::write(&p, &npz).unwrap();
        assert_eq!(load_data(&p).unwrap().labels(), y);
    }

    #[test]
    fn bad_npz_is_named() {
        let x = npy_bytes(&Array2::from_elem((2, 3), 0.5));
        let y3 = npy_any(&Array2::from_elem((2, 4), 1u8));
        let many: Vec<(String, Vec<u8>)> =
            (0..12).map(|k| (format!("arr_{k}.npy"), vec![])).collect();
        let many: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let good = npz_of(&[("x.npy", &x)], false);
        let mut corrupt = npz_of(&[("x.npy", &x)], true);
        corrupt[40] ^= 0xff;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                vec![],
                "the file is empty: not a .npz file: save it with np.savez(path, x=inputs, y=labels)",
            ),
            (x.clone(), "not a .npz file (a zip archive of .npy files)"),
            (
                npz_of(&[], false),
                "the archive holds no arrays: save it with np.savez(path, x=inputs, y=labels)",
            ),
            (
                npz_of(&[("a.npy", &x), ("b.npy", &x)], false),
                "the archive has arrays a, b but no `x`: save it with np.savez(path, x=inputs, y=labels)",
            ),
            (npz_of(&many, false), "arr_7, … (12 in all) but no `x`"),
            (
                npz_of(&[("x.npy", &x), ("y.npy", &y3)], false),
                "array `y` has shape (2, 4) but `x` has (2, 3): they must match",
            ),
            (
                npz_of(&[("x.npy", &npy_of("<f2", "(1, 2)", &[0; 4]))], false),
                "array `x`: the array holds float16 (<f2): save it as float32 or float64",
            ),
            (
                npz_of(
                    &[
                        ("x.npy", &x),
                        ("y.npy", &npy_any(&Array2::from_elem((2, 3), 3i8))),
                    ],
                    false,
                ),
                "array `y`: entry [0][0] = 3 is not a label",
            ),
            (
                npz_of(
                    &[("x.npy", &npy_bytes(&Array2::from_elem((2, 3), f64::NAN)))],
                    false,
                ),
                "array `x`: entry [0][0] = NaN is not a finite number",
            ),
            (good[..good.len() - 10].to_vec(), "not a .npz file"),
            (corrupt, "array `x`: cannot unpack it"),
        ];
        for (bytes, want) in &cases {
            let e = format!("{:#}", parse_npz(bytes).unwrap_err());
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        // load_data names the file first.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data.npz");
        std::fs::write(&p, npz_of(&[("a.npy", &x)], false)).unwrap();
        let e = load_data(&p).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "data file {}: the archive has arrays a but no `x`",
                p.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn pandas_csv_is_read() {
        let d = AlternatingSign::new(3).unwrap().heldout(4, 2).unwrap();
        let rows: Vec<(Vec<f64>, Vec<f64>)> = (0..d.len())
            .map(|i| (d.sample(i).0.to_vec(), d.sample(i).1.to_vec()))
            .collect();
        let write =
            |header: &str, index: &dyn Fn(usize) -> String, label: &dyn Fn(f64) -> String| {
                let mut s = format!("{header}\n");
                for (i, (x, y)) in rows.iter().enumerate() {
                    let mut f: Vec<String> = vec![];
                    let ix = index(i);
                    if !ix.is_empty() {
                        f.push(ix);
                    }
                    f.extend(x.iter().map(|v| v.to_string()));
                    f.extend(y.iter().map(|v| label(*v)));
                    s.push_str(&f.join(","));
                    s.push_str("\r\n");
                }
                s
            };
        let none = |_: usize| String::new();
        let int = |i: usize| i.to_string();
        let bool_label = |v: f64| if v == 1.0 { "True" } else { "False" }.to_string();
        let float_label = |v: f64| format!("{v:.1}");
        let int_label = |v: f64| format!("{v}");
        let cases = [
            // df.to_csv(path): an empty first header field, bool labels.
            write(",x0,x1,x2,y0,y1,y2", &int, &bool_label),
            write("Unnamed: 0,x0,x1,x2,y0,y1,y2", &int, &float_label),
            write("index,x0,x1,x2,y0,y1,y2", &int, &int_label),
            // df.to_csv(path, index=False) with float labels.
            write("x0,x1,x2,y0,y1,y2", &none, &float_label),
            // R's write.csv: everything quoted, row names from 1.
            write(
                r#""","x0","x1","x2","y0","y1","y2""#,
                &|i| format!("\"{}\"", i + 1),
                &bool_label,
            ),
        ];
        for (k, text) in cases.iter().enumerate() {
            assert_eq!(parse_csv(text.as_bytes()).unwrap(), d, "case {k}:\n{text}");
        }
        // An index without label columns: labels from the rule.
        let xonly = ",x0,x1,x2\n0,0.1,0.2,0.3\n";
        let got = parse_csv(xonly.as_bytes()).unwrap();
        assert_eq!(got.inputs().row(0).to_vec(), vec![0.1, 0.2, 0.3]);
    }

    #[test]
    fn bad_pandas_csv_is_named() {
        let cases = [
            (
                ",x0,x1\n0.5,0.1,0.2\n",
                "line 2, index column ``: `0.5` is not an integer",
            ),
            (
                "index,x0\nfirst,0.1\n",
                "df.to_csv(path, index=False) to leave it out",
            ),
            (
                ",a,b\n0,1,2\n",
                "the header starts with the index column `` and then `a`, not x0",
            ),
            (
                "id,x0,x1\n0,0.1,0.2\n",
                "the header starts with `id`, not x0 or an index column: drop that column, or name it `index`",
            ),
            (
                "a,b\n1,2\n",
                "df.to_csv(path, index=False) and df.to_csv(path) (an index column first) both work",
            ),
            (",x0,y1\n0,0.1,1\n", "header column 3 is `y1`, expected y0"),
            (
                ",x0,y0\n0,0.1,yes\n",
                "column y0: `yes` is not a label (0 or 1, 0.0 or 1.0, True or False)",
            ),
            (
                ",x0,y0\n0,0.1\n",
                "line 2 has 2 fields but the header has 3",
            ),
        ];
        for (text, want) in cases {
            let e = parse_csv(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
    }

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

    #[test]
    fn sequences_parse_with_commas_or_spaces() {
        assert_eq!(
            parse_sequence("0.3,0.9, 0.1", "--x").unwrap(),
            vec![0.3, 0.9, 0.1]
        );
        assert_eq!(
            parse_sequence(" 0.3  0.9\t0.1 ", "--x").unwrap(),
            vec![0.3, 0.9, 0.1]
        );
        assert_eq!(parse_sequence("0.3,0.9,", "--x").unwrap(), vec![0.3, 0.9]);
        assert_eq!(parse_sequence("-1e-3", "--x").unwrap(), vec![-0.001]);
    }

    #[test]
    fn bad_sequences_are_named() {
        for (text, want) in [
            ("", "no numbers"),
            ("0.1,,0.2", "value 2 is empty"),
            (",0.1", "value 1 is empty"),
            ("0.1,abc", "value 2 `abc` is not a number"),
            ("0.1 nan", "value 2 `nan` is not a finite number"),
            ("inf", "value 1 `inf` is not a finite number"),
            ("1e999", "value 1 `1e999` is not a finite number"),
        ] {
            let e = parse_sequence(text, "stdin line 3")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
            assert!(e.starts_with("stdin line 3"), "{e}");
        }
    }

    #[test]
    fn atomic_writes_replace_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"1").unwrap();
        write_atomic(&p, b"2").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"2");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let e = write_atomic(Path::new("/nonexistent-dir/x.json"), b"{}").unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_csv(&bytes);
            let _ = parse_npy(&bytes);
            let _ = parse_npy_labels(&bytes);
            let _ = parse_npz(&bytes);
        }

        #[test]
        fn npy_with_a_random_tail_never_panics(
            cut in 0usize..200,
            tail in prop::collection::vec(any::<u8>(), 0..64),
            header in "[ -~]{0,80}",
        ) {
            let good = npy_bytes(&Array2::from_elem((3, 4), 0.5));
            let mut b = good[..cut.min(good.len())].to_vec();
            b.extend_from_slice(&tail);
            let _ = parse_npy(&b);
            // A valid prefix with an arbitrary printable header dictionary.
            let _ = parse_npy(&npy_v1(&header, &tail));
            let shaped = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({header}), }}");
            let _ = parse_npy(&npy_v1(&shaped, &tail));
            let _ = parse_npy_labels(&npy_v1(&shaped, &tail));
        }

        /// Every descriptor, shape and data length: refused or read, and
        /// what is read has the shape the header says, from data exactly
        /// as long as the shape and type need.
        #[test]
        fn npy_of_any_type_and_shape_never_panics(
            order in prop::sample::select(vec!["<", ">", "|", "=", ""]),
            kind in prop::sample::select(vec!["f", "i", "u", "b", "c", "S", "U", "O", "M8[ns]"]),
            size in prop::sample::select(vec![0usize, 1, 2, 4, 8, 16]),
            fortran in any::<bool>(),
            shape in prop::collection::vec(0usize..5, 0..4),
            data in prop::collection::vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..200),
        ) {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            let dims = if dims.len() == 1 { format!("{},", dims[0]) } else { dims.join(", ") };
            let dict = format!(
                "{{'descr': '{order}{kind}{size}', 'fortran_order': {}, 'shape': ({dims}), }}",
                if fortran { "True" } else { "False" }
            );
            let bytes = npy_v1(&dict, &data);
            for (role, got) in [("x", parse_npy(&bytes)), ("y", parse_npy_labels(&bytes))] {
                if let Ok(a) = got {
                    prop_assert_eq!(shape.len(), 2);
                    prop_assert_eq!(a.dim(), (shape[0], shape[1]));
                    prop_assert_eq!(a.len() * size, data.len());
                    if role == "y" {
                        prop_assert!(a.iter().all(|v| *v == 0.0 || *v == 1.0));
                    }
                }
            }
        }

        /// float32 inputs read back widened exactly, in either layout.
        #[test]
        fn float32_inputs_round_trip(
            rows in 1usize..6,
            cols in 1usize..6,
            values in prop::collection::vec(any::<f32>(), 36),
            fortran in any::<bool>(),
        ) {
            let a = Array2::from_shape_fn((rows, cols), |(i, t)| values[i * 6 + t]);
            let a = if fortran { fortran_copy(&a) } else { a };
            let got = parse_npy(&npy_any(&a)).unwrap();
            for (g, v) in got.iter().zip(a.iter()) {
                prop_assert!(g.to_bits() == f64::from(*v).to_bits() || (g.is_nan() && v.is_nan()));
            }
        }

        /// 0/1 labels of every integer type, bool and float read back.
        #[test]
        fn labels_of_every_type_round_trip(
            rows in 1usize..6,
            cols in 1usize..6,
            bits in prop::collection::vec(any::<bool>(), 36),
            which in 0usize..11,
        ) {
            let b = Array2::from_shape_fn((rows, cols), |(i, t)| bits[i * 6 + t]);
            let want = b.mapv(|v| f64::from(u8::from(v)));
            let bytes = match which {
                0 => npy_any(&b),
                1 => npy_any(&b.mapv(i8::from)),
                2 => npy_any(&b.mapv(i16::from)),
                3 => npy_any(&b.mapv(i32::from)),
                4 => npy_any(&b.mapv(i64::from)),
                5 => npy_any(&b.mapv(u8::from)),
                6 => npy_any(&b.mapv(u16::from)),
                7 => npy_any(&b.mapv(u32::from)),
                8 => npy_any(&b.mapv(u64::from)),
                9 => npy_any(&b.mapv(|v| f32::from(u8::from(v)))),
                _ => npy_any(&fortran_copy(&want)),
            };
            prop_assert_eq!(parse_npy_labels(&bytes).unwrap(), want);
        }

        /// A real `.npz`, cut short or with bytes changed: refused or read,
        /// never a panic.
        #[test]
        fn damaged_npz_never_panics(
            deflated in any::<bool>(),
            cut in 0usize..600,
            flips in prop::collection::vec((0usize..600, any::<u8>()), 0..4),
        ) {
            let x = npy_any(&Array2::from_elem((2, 3), 0.25f32));
            let y = npy_any(&Array2::from_elem((2, 3), true));
            let mut b = npz_of(&[("x.npy", &x), ("y.npy", &y)], deflated);
            for (at, v) in flips {
                if let Some(byte) = b.get_mut(at) {
                    *byte ^= v;
                }
            }
            let _ = parse_npz(&b);
            b.truncate(cut);
            let _ = parse_npz(&b);
        }

        #[test]
        fn csv_ish_text_never_panics(
            cells in prop::collection::vec(
                prop_oneof![
                    Just("x0".to_string()), Just("x1".to_string()), Just("y0".to_string()),
                    Just("y1".to_string()), Just(",".to_string()), Just("\n".to_string()),
                    Just("0".to_string()), Just("1".to_string()), Just("nan".to_string()),
                    Just("1e999".to_string()), any::<f64>().prop_map(|v| v.to_string()),
                    Just("True".to_string()), Just("False".to_string()),
                    Just("Unnamed: 0".to_string()), Just("index".to_string()),
                    Just("\"".to_string()), any::<i64>().prop_map(|v| v.to_string()),
                    "[ -~]{0,3}",
                ],
                0..40,
            ),
        ) {
            let text = cells.concat();
            if let Ok(d) = parse_csv(text.as_bytes()) {
                prop_assert!(!d.is_empty() && d.length() > 0);
                prop_assert!(d.inputs().iter().all(|v| v.is_finite()));
            }
        }
    }
}
