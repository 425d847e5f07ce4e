//! A steady-state training iteration allocates nothing on the heap, for
//! every registered model kind in both precisions (docs/SPEC.md §7: allocation and call overhead
//! dominate at batch size 1).
//!
//! dhat's counting allocator is this test binary's global allocator; the
//! test is a single function because only one dhat profiler may run at once.

use models::ModelKind;
use nncore::{ClipNorm, Precision, SequenceModel, Sgd, Trainer};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Heap blocks allocated while `f` runs.
fn blocks_during(f: impl FnOnce()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    f();
    dhat::HeapStats::get().total_blocks - before
}

fn steady_state_allocations(model: &mut dyn SequenceModel, len: usize, clip: bool) -> u64 {
    let data = bench::data(len, 16);
    let mut trainer = Trainer::new(Sgd::new(0.01, 0.001).unwrap())
        .with_clip(clip.then(|| ClipNorm::new(1.0).unwrap()));
    // Warm up: buffers grow to the sequence length here.
    for i in 0..4 {
        let (x, y) = data.sample(i);
        trainer.step(model, x, y).unwrap();
    }
    blocks_during(|| {
        for i in 0..data.len() {
            let (x, y) = data.sample(i);
            let stats = trainer.step(model, x, y).unwrap();
            assert!(stats.loss.is_finite());
        }
    })
}

#[test]
fn no_heap_allocation_in_a_steady_state_training_iteration() {
    let _profiler = dhat::Profiler::builder().testing().build();
    // The counter works: a Vec allocates.
    assert_eq!(
        blocks_during(|| drop(std::hint::black_box(vec![1u8; 10]))),
        1
    );

    let mut report = Vec::new();
    for len in [8, 32] {
        for clip in [false, true] {
            for kind in ModelKind::all() {
                for precision in Precision::ALL {
                    let mut m = bench::model(kind, len, precision);
                    let n = steady_state_allocations(m.as_mut(), len, clip);
                    report.push(format!(
                        "{kind} {precision} L={len} clip={clip}: {n} allocations"
                    ));
                }
            }
        }
    }
    assert_eq!(report.len(), 8 * ModelKind::all().count());
    let bad: Vec<&String> = report
        .iter()
        .filter(|r| !r.ends_with(": 0 allocations"))
        .collect();
    assert!(bad.is_empty(), "{report:#?}");
}
