//! The items that `network!` generates besides training: the constants (`INPUT`, `OUTPUT`,
//! `PARAMS`), the summary (`Display`), heap construction equal to stack construction, the
//! bias rules, the eval entry points (one sample as an array or a generic array, a batch,
//! into a workspace), and the folded type as plain data (`Copy`, `#[repr(C)]` scalars in
//! declaration order, the batched forward equal to the one-sample forward bit for bit).

use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U2, U4};
use bn_core::{Batch, Network, Rng, Trainer, Vector};
use bn_paper::networks::{EverythingFolded, Moons, MoonsFolded};

#[test]
fn constants_summary_and_heap_construction() {
    assert_eq!(Moons::INPUT, 2);
    assert_eq!(Moons::OUTPUT, 2);
    // 2·16 + 2·16 + 16·16 + 2·16 + 16·2 + 2
    assert_eq!(Moons::PARAMS, 32 + 32 + 256 + 32 + 32 + 2);
    assert_eq!(<Moons as Network>::PARAMS, Moons::PARAMS);
    let net = Moons::new_boxed(3);
    assert_eq!(*net, Moons::new(3));
    let text = net.to_string();
    assert!(text.starts_with("Moons: 2 -> 2, f32, 386 parameters"), "{text}");
    assert!(text.contains("dense0      dense, no bias"), "{text}");
    // Dense layers before BN have no bias; the output layer has one.
    assert!(net.dense0.bias().is_none() && net.dense6.bias().is_some());
    // Input arrays and generic arrays are both accepted.
    assert_eq!(net.eval(&[0.5f32, -0.5]), net.eval(&GenericArray::from([0.5f32, -0.5])));
    let x = Batch::<U4, U2>::default();
    let mut y = Batch::default();
    net.eval_batch(&x, &mut y);
    assert_eq!(y[0], net.eval(&x[0]));
    // The eval forward into a workspace keeps every layer's output.
    let mut trainer = Trainer::<Moons, U4>::new_boxed();
    let out = *net.forward_eval(&x, &mut trainer.workspace);
    assert_eq!(out, y);
    let mut h = Vector::<bn_core::typenum::U16>::default();
    net.dense0.forward_one(&x[1], &mut h);
    assert_eq!(trainer.workspace.a0[1], h);
}

#[test]
fn folded_type_is_plain_data() {
    fn plain_data<T: Copy + Send + Sync + 'static>() {}
    plain_data::<MoonsFolded>();
    plain_data::<EverythingFolded>();
    // `#[repr(C)]` of f32 only: no padding, the size is the parameter count.
    // dense(2=>16) + dense(16=>16) + dense(16=>2), each with its bias.
    assert_eq!(std::mem::size_of::<MoonsFolded>(), 4 * (2 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2));
    let folded = Moons::new(1).fold();
    // The batched forward (chunks of samples through one matrix product per layer) gives
    // exactly the one-sample results, for a batch with a partial chunk at the end.
    let mut rng = Rng::seed(31);
    let mut xs = Batch::<bn_core::typenum::U77, U2>::default();
    xs.iter_mut().flatten().for_each(|v| *v = rng.normal() as f32);
    let mut ys = Batch::default();
    folded.forward_batch(&xs, &mut ys);
    for (x, y) in xs.iter().zip(ys.iter()) {
        assert_eq!(*y, folded.forward(x));
    }
    let copy = folded; // Copy: `folded` stays usable
    assert_eq!(copy, folded);
    // Its scalars, in declaration order: dense0.weight, dense0.bias, dense3..., dense6...
    use bn_core::PlainData;
    let s = folded.as_scalars();
    assert_eq!(s.len(), <MoonsFolded as PlainData>::LEN);
    assert_eq!(s[0], folded.dense0.weight[0][0]);
    assert_eq!(s[2 * 16], folded.dense0.bias[0]);
    assert_eq!(s[s.len() - 1], folded.dense6.bias[1]);
}
