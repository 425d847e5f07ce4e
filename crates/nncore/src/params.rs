//! [`ParamSet`]: every parameter of a model, with its gradient, in one flat buffer.
//!
//! Each parameter is a named, shaped block (`W`, `[100, 100]`) of a single
//! flat buffer (of `f64` or `f32`, the model's [`Precision`]), and its
//! gradient is the same block of a second buffer. The
//! optimiser and clipping then work on flat slices, allocation-free, for any
//! model; models read their blocks as slices or ndarray views. Parameters go
//! to and from JSON as an object of nested arrays keyed by name.

use ndarray::ArrayView2;
use serde_json::{Map, Value};

use crate::scalar::{Buffer, Precision, Scalar};
use crate::{Error, Result, linalg};

/// Which learning rate a parameter takes.
///
/// The article trains the recurrent weights and the hidden bias with a
/// smaller step (0.001) than the input and output weights (0.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamGroup {
    /// Input and output weights and the output bias (and every MLP parameter).
    InputOutput,
    /// Recurrent weights and hidden biases.
    Recurrent,
}

/// One parameter block: its name, shape, learning-rate group and place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// The name, e.g. `W_in` (also the JSON key).
    pub name: &'static str,
    /// The shape: `[n]` or `[rows, cols]` (row-major).
    pub shape: Vec<usize>,
    /// The learning-rate group.
    pub group: ParamGroup,
    /// Offset of the block in the flat buffers.
    pub offset: usize,
}

impl ParamSpec {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the block has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The block's range in the flat buffers.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }

    /// `(rows, cols)`, a 1-D block being one row.
    pub fn dim2(&self) -> (usize, usize) {
        match self.shape.as_slice() {
            [n] => (1, *n),
            [r, c] => (*r, *c),
            _ => unreachable!("ParamSet only holds 1-D and 2-D blocks"),
        }
    }
}

/// The parameters of a model and their gradients, in one precision
/// ([`Precision`]: the model's).
///
/// Models read and write their numbers in their own precision with the
/// `_as::<S>` methods ([`ParamSet::values_as`], …); the short names
/// ([`ParamSet::values`], …) are the same for `f64`, the default. Code that
/// serves every precision (files, reports) reads `f64` copies
/// ([`ParamSet::value_f64`]).
///
/// ```
/// use nncore::{ParamGroup, ParamSet, Precision};
/// let mut p = ParamSet::new([("W", vec![2, 3], ParamGroup::Recurrent), ("b", vec![3], ParamGroup::Recurrent)]);
/// p.value_mut(1).copy_from_slice(&[1.0, 2.0, 3.0]);
/// let json = p.to_json();
/// assert_eq!(json["b"], serde_json::json!([1.0, 2.0, 3.0]));
/// assert_eq!(json["W"], serde_json::json!([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]));
///
/// let mut q = ParamSet::new([("W", vec![2, 3], ParamGroup::Recurrent), ("b", vec![3], ParamGroup::Recurrent)]);
/// q.load_json(&json)?;
/// assert_eq!(p, q);
///
/// // The same blocks in f32: loaded values are rounded to f32.
/// let mut r = ParamSet::with_precision([("b", vec![1], ParamGroup::Recurrent)], Precision::F32);
/// r.load_json(&serde_json::json!({"b": [0.1]}))?;
/// assert_eq!(r.value_as::<f32>(0), &[0.1f32]);
/// # Ok::<(), nncore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSet {
    specs: Vec<ParamSpec>,
    values: Buffer,
    grads: Buffer,
}

impl ParamSet {
    /// A zero-filled set of blocks `(name, shape, group)`, laid out in
    /// order, in `f64`.
    ///
    /// # Panics
    /// If a shape is not 1-D or 2-D, or two blocks share a name: both are
    /// programming errors of the model that declares them.
    pub fn new<I>(blocks: I) -> Self
    where
        I: IntoIterator<Item = (&'static str, Vec<usize>, ParamGroup)>,
    {
        Self::with_precision(blocks, Precision::F64)
    }

    /// Like [`ParamSet::new`], in `precision`.
    ///
    /// # Panics
    /// As [`ParamSet::new`].
    pub fn with_precision<I>(blocks: I, precision: Precision) -> Self
    where
        I: IntoIterator<Item = (&'static str, Vec<usize>, ParamGroup)>,
    {
        let mut specs: Vec<ParamSpec> = Vec::new();
        let mut offset = 0;
        for (name, shape, group) in blocks {
            assert!(
                matches!(shape.len(), 1 | 2),
                "parameter {name}: only 1-D and 2-D blocks are supported"
            );
            assert!(
                specs.iter().all(|s| s.name != name),
                "parameter {name} declared twice"
            );
            let spec = ParamSpec {
                name,
                shape,
                group,
                offset,
            };
            offset += spec.len();
            specs.push(spec);
        }
        Self {
            specs,
            values: Buffer::zeros(precision, offset),
            grads: Buffer::zeros(precision, offset),
        }
    }

    /// The precision of the numbers.
    pub fn precision(&self) -> Precision {
        self.values.precision()
    }

    /// The blocks, in layout order.
    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// Total number of scalar parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The index of the block called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    /// Every value, flat, as `S`.
    ///
    /// # Panics
    /// If the set is of the other precision (see [`Buffer::get`]).
    pub fn values_as<S: Scalar>(&self) -> &[S] {
        self.values.get()
    }

    /// Every value, flat, as `S`, mutable.
    ///
    /// # Panics
    /// As [`ParamSet::values_as`].
    pub fn values_mut_as<S: Scalar>(&mut self) -> &mut [S] {
        self.values.get_mut()
    }

    /// Every gradient entry, flat, as `S` (same layout as the values).
    ///
    /// # Panics
    /// As [`ParamSet::values_as`].
    pub fn grads_as<S: Scalar>(&self) -> &[S] {
        self.grads.get()
    }

    /// Every gradient entry, flat, as `S`, mutable.
    ///
    /// # Panics
    /// As [`ParamSet::values_as`].
    pub fn grads_mut_as<S: Scalar>(&mut self) -> &mut [S] {
        self.grads.get_mut()
    }

    /// Values and gradients at once, as `S` (for optimisers and models).
    ///
    /// # Panics
    /// As [`ParamSet::values_as`].
    pub fn values_and_grads_mut_as<S: Scalar>(&mut self) -> (&mut [S], &mut [S]) {
        (self.values.get_mut(), self.grads.get_mut())
    }

    /// The blocks, the values (mutable) and the gradients at once, as `S`:
    /// what an update that reads each block's group needs.
    ///
    /// # Panics
    /// As [`ParamSet::values_as`].
    pub fn specs_values_grads_as<S: Scalar>(&mut self) -> (&[ParamSpec], &mut [S], &[S]) {
        (&self.specs, self.values.get_mut(), self.grads.get())
    }

    /// Values (immutable) and gradients (mutable) at once, as `S`: what a
    /// backward pass needs.
    ///
    /// # Panics
    /// As [`ParamSet::values_as`].
    pub fn values_and_grads_as<S: Scalar>(&mut self) -> (&[S], &mut [S]) {
        (self.values.get(), self.grads.get_mut())
    }

    /// Block `i`'s values, as `S`.
    ///
    /// # Panics
    /// As [`ParamSet::values_as`].
    pub fn value_as<S: Scalar>(&self, i: usize) -> &[S] {
        &self.values.get()[self.specs[i].range()]
    }

    /// Block `i`'s values, as `S`, mutable.
    ///
    /// # Panics
    /// As [`ParamSet::values_as`].
    pub fn value_mut_as<S: Scalar>(&mut self, i: usize) -> &mut [S] {
        let r = self.specs[i].range();
        &mut self.values.get_mut()[r]
    }

    /// Block `i`'s values as a 2-D view (`[1, n]` for a 1-D block), as `S`.
    ///
    /// # Panics
    /// As [`ParamSet::values_as`].
    pub fn view2_as<S: Scalar>(&self, i: usize) -> ArrayView2<'_, S> {
        ArrayView2::from_shape(self.specs[i].dim2(), self.value_as(i)).expect("block shape")
    }

    /// Block `i`'s values as `f64`, whatever the precision (exact).
    pub fn value_f64(&self, i: usize) -> Vec<f64> {
        self.values.to_f64(self.specs[i].range())
    }

    /// Block `i`'s gradient as `f64`, whatever the precision (exact).
    pub fn grad_f64(&self, i: usize) -> Vec<f64> {
        self.grads.to_f64(self.specs[i].range())
    }

    /// Every value as `f64`, whatever the precision (exact).
    pub fn values_f64(&self) -> Vec<f64> {
        self.values.to_f64(0..self.len())
    }

    /// Every gradient entry as `f64`, whatever the precision (exact).
    pub fn grads_f64(&self) -> Vec<f64> {
        self.grads.to_f64(0..self.len())
    }

    /// Sets block `i`'s values from `f64` (rounded to the set's precision).
    ///
    /// # Panics
    /// If `values` is not the block's length.
    pub fn set_value_f64(&mut self, i: usize, values: &[f64]) {
        let r = self.specs[i].range();
        assert_eq!(r.len(), values.len(), "set_value_f64: wrong length");
        self.values.set_f64(r, values);
    }

    /// Sets every value from `f64` (rounded to the set's precision).
    ///
    /// # Panics
    /// If `values` is not [`ParamSet::len`] long.
    pub fn set_values_f64(&mut self, values: &[f64]) {
        assert_eq!(values.len(), self.len(), "set_values_f64: wrong length");
        self.values.set_f64(0..values.len(), values);
    }

    /// The global (Euclidean) norm of the gradient, summed in the set's
    /// precision, as `f64`. In `f32` with subnormals flushed, as the rest
    /// of the `f32` arithmetic (docs/SPEC.md §7): the squares of tiny
    /// gradients are subnormal, and each one took a slow microcode path
    /// (this norm was half of an MLP's training step).
    pub fn grad_norm(&self) -> f64 {
        match &self.grads {
            Buffer::F32(g) => {
                let _flushed = crate::subnormal::flush_subnormals(Precision::F32);
                linalg::norm(g).as_f64()
            }
            Buffer::F64(g) => linalg::norm(g),
        }
    }

    /// Every value, flat (`f64` sets).
    ///
    /// # Panics
    /// If the set is `f32`: use [`ParamSet::values_as`] or
    /// [`ParamSet::values_f64`].
    pub fn values(&self) -> &[f64] {
        self.values_as()
    }

    /// Every value, flat, mutable (`f64` sets).
    ///
    /// # Panics
    /// If the set is `f32`.
    pub fn values_mut(&mut self) -> &mut [f64] {
        self.values_mut_as()
    }

    /// Every gradient entry, flat (`f64` sets; same layout as
    /// [`Self::values`]).
    ///
    /// # Panics
    /// If the set is `f32`.
    pub fn grads(&self) -> &[f64] {
        self.grads_as()
    }

    /// Every gradient entry, flat, mutable (`f64` sets).
    ///
    /// # Panics
    /// If the set is `f32`.
    pub fn grads_mut(&mut self) -> &mut [f64] {
        self.grads_mut_as()
    }

    /// Values and gradients at once (`f64` sets).
    ///
    /// # Panics
    /// If the set is `f32`.
    pub fn values_and_grads_mut(&mut self) -> (&mut [f64], &mut [f64]) {
        self.values_and_grads_mut_as()
    }

    /// Block `i`'s values (`f64` sets).
    ///
    /// # Panics
    /// If the set is `f32`.
    pub fn value(&self, i: usize) -> &[f64] {
        self.value_as(i)
    }

    /// Block `i`'s values, mutable (`f64` sets).
    ///
    /// # Panics
    /// If the set is `f32`.
    pub fn value_mut(&mut self, i: usize) -> &mut [f64] {
        self.value_mut_as(i)
    }

    /// Block `i`'s gradient (`f64` sets).
    ///
    /// # Panics
    /// If the set is `f32`.
    pub fn grad(&self, i: usize) -> &[f64] {
        &self.grads_as::<f64>()[self.specs[i].range()]
    }

    /// Block `i`'s gradient, mutable (`f64` sets).
    ///
    /// # Panics
    /// If the set is `f32`.
    pub fn grad_mut(&mut self, i: usize) -> &mut [f64] {
        let r = self.specs[i].range();
        &mut self.grads_mut_as::<f64>()[r]
    }

    /// Block `i`'s values as a 2-D view (`f64` sets).
    ///
    /// # Panics
    /// If the set is `f32`.
    pub fn view2(&self, i: usize) -> ArrayView2<'_, f64> {
        self.view2_as(i)
    }

    /// Every block's values as slices, in layout order, without allocating
    /// (`f64` sets).
    ///
    /// # Panics
    /// If `N` is not the number of blocks, or the set is `f32`.
    pub fn values_split<const N: usize>(&self) -> [&[f64]; N] {
        assert_eq!(N, self.specs.len(), "values_split: wrong block count");
        std::array::from_fn(|i| self.value(i))
    }

    /// Values and gradients of every block at once, as `S`: immutable
    /// values, mutable gradients (what a backward pass needs).
    ///
    /// # Panics
    /// If `N` is not the number of blocks, or the set is of the other
    /// precision.
    pub fn split_for_backward<const N: usize, S: Scalar>(&mut self) -> ([&[S]; N], [&mut [S]; N]) {
        assert_eq!(N, self.specs.len(), "split_for_backward: wrong block count");
        let specs = &self.specs;
        let values = self.values.get::<S>();
        let vals = std::array::from_fn(|i| &values[specs[i].range()]);
        let mut rest: &mut [S] = self.grads.get_mut();
        let grads = std::array::from_fn(|i| {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(specs[i].len());
            rest = tail;
            head
        });
        (vals, grads)
    }

    /// Whether every value is finite.
    pub fn all_finite(&self) -> bool {
        match &self.values {
            Buffer::F32(v) => v.iter().all(|x| x.is_finite()),
            Buffer::F64(v) => v.iter().all(|x| x.is_finite()),
        }
    }

    /// The names of the blocks, comma-separated (for messages).
    pub fn names(&self) -> String {
        self.specs
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The values as a JSON object of nested arrays keyed by name (`f32`
    /// values written as the `f64` numbers they are, exactly).
    pub fn to_json(&self) -> Value {
        self.block_json(&self.values_f64())
    }

    /// The gradients as a JSON object with the same keys and shapes.
    pub fn grads_to_json(&self) -> Value {
        self.block_json(&self.grads_f64())
    }

    fn block_json(&self, flat: &[f64]) -> Value {
        let mut obj = Map::new();
        for s in &self.specs {
            let data = &flat[s.range()];
            let v = match s.shape.as_slice() {
                [_] => Value::from(data.to_vec()),
                [_, c] => Value::Array(
                    data.chunks(*c.max(&1))
                        .map(|row| Value::from(row.to_vec()))
                        .collect(),
                ),
                _ => unreachable!(),
            };
            obj.insert(s.name.to_string(), v);
        }
        Value::Object(obj)
    }

    /// Loads every value from a JSON object of nested arrays keyed by name,
    /// rounded to the set's precision.
    ///
    /// Every key must be present, no other key may be, each shape must match
    /// exactly and every entry must be a finite number (finite in the set's
    /// precision too); the error names the offending key (and index).
    /// Nothing is changed unless all is well.
    pub fn load_json(&mut self, json: &Value) -> Result<()> {
        let obj = json.as_object().ok_or_else(|| Error::NotAnObject {
            found: json_type(json).to_string(),
        })?;
        let expected = self.names();
        if let Some(k) = obj.keys().find(|k| self.index_of(k).is_none()) {
            return Err(Error::UnknownParam {
                name: k.clone(),
                expected,
            });
        }
        let mut values = self.values_f64();
        for s in &self.specs {
            let v = obj.get(s.name).ok_or_else(|| Error::MissingParam {
                name: s.name.to_string(),
                expected: expected.clone(),
            })?;
            read_block(s, v, &mut values[s.range()])?;
            if self.precision() == Precision::F32
                && let Some(j) = values[s.range()]
                    .iter()
                    .position(|&x| !(x as f32).is_finite())
            {
                return Err(Error::BadValue {
                    name: s.name.to_string(),
                    index: format!("[{j}] (flat)"),
                    problem: format!(
                        "{} is beyond the largest f32 ({:e})",
                        values[s.offset + j],
                        f32::MAX
                    ),
                });
            }
        }
        self.set_values_f64(&values);
        Ok(())
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shape_error(s: &ParamSpec, found: String) -> Error {
    Error::ShapeMismatch {
        name: s.name.to_string(),
        expected: s.shape.clone(),
        found,
    }
}

fn read_number(s: &ParamSpec, v: &Value, index: String) -> Result<f64> {
    let bad = |problem: String| Error::BadValue {
        name: s.name.to_string(),
        index: index.clone(),
        problem,
    };
    match v {
        Value::Number(n) => {
            let x = n
                .as_f64()
                .ok_or_else(|| bad(format!("{n} is not representable as f64")))?;
            if x.is_finite() {
                Ok(x)
            } else {
                Err(bad(format!("{x} is not a finite number")))
            }
        }
        // serde_json reads NaN/Infinity as null or not at all; name it plainly.
        Value::Null => Err(bad("null (NaN or infinity?) is not a finite number".into())),
        other => Err(bad(format!(
            "expected a number, found {}",
            json_type(other)
        ))),
    }
}

fn read_row(s: &ParamSpec, v: &Value, out: &mut [f64], prefix: &str) -> Result<()> {
    let arr = v.as_array().ok_or_else(|| {
        shape_error(
            s,
            format!(
                "{} at {}",
                json_type(v),
                if prefix.is_empty() {
                    "top level"
                } else {
                    prefix
                }
            ),
        )
    })?;
    if arr.len() != out.len() {
        return Err(shape_error(
            s,
            format!(
                "an array of {} entries{} where {} are needed",
                arr.len(),
                if prefix.is_empty() {
                    String::new()
                } else {
                    format!(" at {prefix}")
                },
                out.len()
            ),
        ));
    }
    for (j, (o, x)) in out.iter_mut().zip(arr).enumerate() {
        *o = read_number(s, x, format!("{prefix}[{j}]"))?;
    }
    Ok(())
}

fn read_block(s: &ParamSpec, v: &Value, out: &mut [f64]) -> Result<()> {
    match s.shape.as_slice() {
        [_] => read_row(s, v, out, ""),
        [r, c] => {
            let rows = v
                .as_array()
                .ok_or_else(|| shape_error(s, json_type(v).to_string()))?;
            if rows.len() != *r {
                return Err(shape_error(
                    s,
                    format!("{} rows where {r} are needed", rows.len()),
                ));
            }
            for (i, (row, chunk)) in rows.iter().zip(out.chunks_mut((*c).max(1))).enumerate() {
                read_row(s, row, &mut chunk[..*c], &format!("[{i}]"))?;
            }
            Ok(())
        }
        _ => unreachable!(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set() -> ParamSet {
        ParamSet::new([
            ("W", vec![2, 2], ParamGroup::Recurrent),
            ("b", vec![2], ParamGroup::InputOutput),
        ])
    }

    #[test]
    fn layout_and_split() {
        let mut p = set();
        assert_eq!(p.len(), 6);
        assert_eq!(p.specs()[1].offset, 4);
        p.values_mut()
            .copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(p.value(1), &[5.0, 6.0]);
        assert_eq!(p.view2(0)[[1, 0]], 3.0);
        let (_, [gw, gb]) = p.split_for_backward::<2, f64>();
        gw[3] = 1.0;
        gb[0] = 2.0;
        assert_eq!(p.grads(), &[0.0, 0.0, 0.0, 1.0, 2.0, 0.0]);
    }

    #[test]
    fn json_round_trip() {
        let mut p = set();
        p.values_mut()
            .copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let j = p.to_json();
        assert_eq!(j, json!({"W": [[1.0, 2.0], [3.0, 4.0]], "b": [5.0, 6.0]}));
        let mut q = set();
        q.load_json(&j).unwrap();
        assert_eq!(q.values(), p.values());
    }

    #[test]
    fn load_errors_name_the_key() {
        let mut p = set();
        let cases = [
            (json!([1, 2]), "JSON object"),
            (json!({"W": [[1, 2], [3, 4]]}), "`b` is missing"),
            (
                json!({"W": [[1, 2], [3, 4]], "b": [1, 2], "c": 1}),
                "unknown parameter `c`",
            ),
            (json!({"W": [[1, 2]], "b": [1, 2]}), "`W` has shape 1 rows"),
            (json!({"W": [[1, 2], [3]], "b": [1, 2]}), "at [1]"),
            (
                json!({"W": [[1, 2], [3, null]], "b": [1, 2]}),
                "`W` at [1][1]: null",
            ),
            (
                json!({"W": [[1, 2], [3, "x"]], "b": [1, 2]}),
                "found a string",
            ),
            (
                json!({"W": [[1, 2], [3, 4]], "b": 7}),
                "`b` has shape a number",
            ),
        ];
        for (j, want) in cases {
            let e = p.load_json(&j).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        // Nothing was changed by the failed loads.
        assert!(p.values().iter().all(|&v| v == 0.0));
    }
}
