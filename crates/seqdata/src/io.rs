//! Data files: the CSV and `.npy` files that `cargo xtask data` writes and
//! `cargo xtask eval --data` reads, read with every size and value checked
//! before anything is allocated from them.
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

use ndarray::{Array2, ArrayView2};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

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

/// Parses the CSV `cargo xtask data` writes: a header `x0..x{L-1}` and
/// optionally `y0..y{L-1}`, then one sequence per line. Without label
/// columns the labels come from the task's rule.
pub fn parse_csv(bytes: &[u8]) -> Result<Dataset> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format_err!("not UTF-8 text (byte {}): not a CSV file", e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        fail!(
            "the file is empty: expected a header x0..x{{L-1}},y0..y{{L-1}} and one sequence per line"
        );
    };
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let l = names
        .iter()
        .enumerate()
        .take_while(|(i, n)| **n == format!("x{i}"))
        .count();
    if l == 0 {
        fail!(
            "the header starts with `{}`, not x0: expected x0..x{{L-1}},y0..y{{L-1}} as `cargo xtask data` writes",
            abbreviate(names[0], 24)
        );
    }
    let with_labels = names.len() > l;
    if with_labels {
        if names.len() != 2 * l {
            fail!(
                "the header has {l} x columns and {} others: expected x0..x{},y0..y{}",
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
                "header column {} is `{}`, expected y{t}",
                l + t + 1,
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
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    let mut rows = 0usize;
    for (i, line) in lines {
        let lineno = i + 1;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != names.len() {
            fail!(
                "line {lineno} has {} fields but the header has {}",
                fields.len(),
                names.len()
            );
        }
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
                let v = match f.parse::<f64>() {
                    Ok(v) if v == 0.0 || v == 1.0 => v,
                    _ => fail!(
                        "line {lineno}, column y{t}: `{}` is not a label (0 or 1)",
                        abbreviate(f, 24)
                    ),
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

/// Parses a `.npy` file of float64 `(N, L)` (C or Fortran order). The header
/// is checked before anything is allocated from it: its length, nesting, the
/// shape and that the data is exactly as long as the shape says.
pub fn parse_npy(bytes: &[u8]) -> Result<Array2<f64>> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.is_empty() {
        fail!("the file is empty: not a .npy file");
    }
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        fail!("not a .npy file (it does not start with \\x93NUMPY)");
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
    let descr = header.type_descriptor.as_string().map(String::as_str);
    if !matches!(descr, Some("<f8" | "=f8" | "f8" | "float64")) {
        fail!(
            "the .npy array holds `{}`, not float64 (<f8): save it with dtype float64",
            header.type_descriptor
        );
    }
    let shape = &header.shape;
    if shape.len() != 2 {
        fail!("the .npy array has shape {shape:?}: expected 2 dimensions (sequences, length)");
    }
    let data = bytes.len() - prefix - header_len;
    let need = shape[0]
        .checked_mul(shape[1])
        .and_then(|n| n.checked_mul(8));
    if need != Some(data) {
        fail!(
            "the .npy array has shape ({}, {}) but {data} bytes of data: the file is truncated or corrupt",
            shape[0],
            shape[1]
        );
    }
    Array2::<f64>::read_npy(bytes).map_err(|e| format_err!("cannot read the .npy array: {e}"))
}

/// Loads a data file: a `.csv`, or a `.npy` of inputs (labels from the
/// `_y.npy` beside an `_x.npy`, else from the task's rule).
pub fn load_data(path: &Path) -> Result<Dataset> {
    let name = path.to_string_lossy();
    let ctx = || format!("data file {}", path.display());
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => parse_csv(&read_limited(path, "data file")?).map_err(|e| e.context(ctx())),
        Some("npy") => {
            if name.ends_with("_y.npy") {
                fail!(
                    "data file {}: give the inputs (the _x.npy file); the labels beside it are read with them",
                    path.display()
                );
            }
            let x = parse_npy(&read_limited(path, "data file")?).map_err(|e| e.context(ctx()))?;
            let y_path = name
                .strip_suffix("_x.npy")
                .map(|stem| PathBuf::from(format!("{stem}_y.npy")))
                .filter(|p| p.exists());
            let y = match &y_path {
                Some(p) => {
                    let y = parse_npy(&read_limited(p, "label file")?)
                        .map_err(|e| e.context(format!("label file {}", p.display())))?;
                    if y.dim() != x.dim() {
                        fail!(
                            "label file {} has shape {:?} but the inputs {:?}: they must match",
                            p.display(),
                            y.dim(),
                            x.dim()
                        );
                    }
                    if let Some(((i, t), v)) =
                        y.indexed_iter().find(|(_, v)| **v != 0.0 && **v != 1.0)
                    {
                        fail!(
                            "label file {}: entry [{i}][{t}] = {v} is not a label (0 or 1)",
                            p.display()
                        );
                    }
                    y
                }
                None => rule_labels(&x),
            };
            check_inputs(&x).map_err(|e| e.context(ctx()))?;
            Dataset::new(x, y)
        }
        _ => fail!(
            "data file {}: unknown format: give a .csv or an _x.npy file as `cargo xtask data` writes",
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
        assert!(e.contains("not float64"), "{e}");
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
        }

        #[test]
        fn csv_ish_text_never_panics(
            cells in prop::collection::vec(
                prop_oneof![
                    Just("x0".to_string()), Just("x1".to_string()), Just("y0".to_string()),
                    Just("y1".to_string()), Just(",".to_string()), Just("\n".to_string()),
                    Just("0".to_string()), Just("1".to_string()), Just("nan".to_string()),
                    Just("1e999".to_string()), any::<f64>().prop_map(|v| v.to_string()),
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
