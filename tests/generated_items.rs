//! The items that `network!` generates besides training: the constants (`INPUT`, `OUTPUT`,
//! `PARAMS`), the summary (`Display`), heap construction equal to stack construction, the
//! bias rules, the eval entry points (one sample as an array or a generic array, a batch,
//! into a workspace), and the folded type as plain data (`Copy`, `#[repr(C)]` scalars in
//! declaration order, the batched forward equal to the one-sample forward bit for bit); for
//! networks with residual blocks too: their summary, heap construction of a model larger than
//! a thread's stack, and the folded model's bytes (`to_bytes`, `from_bytes`, `embed!`).

use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U2, U4};
use bn_core::{Batch, Network, Rng, Trainer, Vector};
use bn_paper::networks::{EverythingFolded, Moons, MoonsFolded, ResNetBn, ResNetPlain, ResNetTiny, ResNetTinyFolded};

#[test]
fn constants_summary_and_heap_construction() {
    assert_eq!(Moons::INPUT, 2);
    assert_eq!(Moons::OUTPUT, 2);
    // 2·16 + 2·16 + 16·16 + 2·16 + 16·2 + 2
    assert_eq!(Moons::PARAMS, 32 + 32 + 256 + 32 + 32 + 2);
    assert_eq!(<Moons as Network>::PARAMS, Moons::PARAMS);
    // The ResNet experiment's W5: stem 144 + 32; stage 1: 2·(2,304 + 32); stage 2:
    // 4,608 + 64 + 9,216 + 64 + shortcut 512 + 64; stage 3: 18,432 + 128 + 36,864 + 128 +
    // shortcut 2,048 + 128; dense 640 + 10. Without BN: the convolutions' biases instead.
    assert_eq!(ResNetBn::PARAMS, 77_754);
    assert_eq!(ResNetPlain::PARAMS, 77_754 - (32 + 2 * 32 + 3 * 64 + 3 * 128) / 2);
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

/// The folded small ResNet, compiled in from its bytes (`ResNetTiny::new(7).fold().to_bytes()`).
static EMBEDDED: ResNetTinyFolded = bn_core::embed!(ResNetTinyFolded, "fixtures/resnet_tiny_folded.bin");

/// A folded model with residual blocks is plain data: `#[repr(C)]` scalars (its blocks and
/// branches nested in declaration order, no padding), its bytes round-trip, and `embed!`
/// compiles them in; the summary shows each block's branches indented under it.
#[test]
fn residual_folded_model_is_plain_data_and_embeds() {
    use bn_core::PlainData;
    let folded = ResNetTiny::new(7).fold();
    assert_eq!(std::mem::size_of::<ResNetTinyFolded>(), 4 * <ResNetTinyFolded as PlainData>::LEN);
    let bytes = folded.to_bytes();
    assert_eq!(ResNetTinyFolded::from_bytes(&bytes).unwrap(), folded);
    // The stem's conv, then the identity block's body: declaration order.
    let s = folded.as_scalars();
    assert_eq!(s[4 * 2 * 9], folded.conv2d0.bias[0]);
    assert_eq!(s[4 * 2 * 9 + 4], folded.residual3.body.conv2d0.weight[0][0]);
    assert_eq!(s[s.len() - 1], folded.dense8.bias[2]);
    // The embedded file is such a model (written from `new(7)` on some machine: the same
    // values up to the rounding of the fold).
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/resnet_tiny_folded.bin")).unwrap();
    assert_eq!(EMBEDDED.to_bytes(), file);
    let x = [0.25f32; 128];
    let (a, b) = (EMBEDDED.forward(&x), folded.forward(&x));
    for k in 0..3 {
        assert!((a[k] - b[k]).abs() <= 1e-5 * (1.0 + b[k].abs()), "{a:?} vs {b:?}");
    }

    let text = ResNetTiny::SUMMARY;
    let words = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = text.lines().map(words).collect();
    for line in [
        "4 residual3 residual: body + input 4×8×8 304",
        "body:",
        "4 conv2d3 conv2d(3×3, stride 1, padding 1), no bias 4×8×8 -> 4×8×8 144",
        "6 residual5 residual: body + shortcut 4×8×8 -> 8×4×4 944",
        "shortcut:",
        "1 conv2d0 conv2d(1×1, stride 2, padding 0), no bias 4×8×8 -> 8×4×4 32",
        "shortcut: identity",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line:?} in\n{text}");
    }
    // A branch's layers are indented under their block.
    let at = |name: &str| text.lines().find_map(|l| l.find(name)).unwrap();
    assert_eq!(at("conv2d3"), at("residual3") + 4);
    // The network's own rows (their names in the name column, not indented) add up to the
    // total, and the rows of a block's branches to the block's.
    let rows: Vec<(usize, usize)> = text
        .lines()
        .skip(2)
        .take_while(|l| *l != "folded:")
        .filter_map(|l| {
            let params = l.rsplit(' ').next()?.replace(',', "").parse().ok()?;
            Some((l.find(char::is_alphabetic)?, params))
        })
        .collect();
    let column = rows[0].0;
    assert_eq!(rows.iter().filter(|r| r.0 == column).map(|r| r.1).sum::<usize>(), ResNetTiny::PARAMS);
    assert_eq!(rows.iter().filter(|r| r.0 == column + 4).map(|r| r.1).sum::<usize>(), 304 + 944);
}

bn_core::network! {
    /// Wide residual blocks on a small image: 2.7 MB of parameters, more than a thread's 2 MiB
    /// stack.
    pub struct WideBlocks {
        input: (64, 4, 4),
        conv2d(128, kernel = 3, padding = 1), batchnorm, relu,
        residual { conv2d(128, kernel = 3, padding = 1), batchnorm, relu, conv2d(128, kernel = 3, padding = 1), batchnorm },
        relu,
        residual { conv2d(128, kernel = 3, padding = 1), groupnorm(8) } shortcut { conv2d(128, kernel = 1) },
        global_avgpool, dense(10),
    }
}

/// A network with residual blocks larger than a thread's stack is built zeroed on the heap
/// and initialized in place, trained, folded and saved, on a thread with a 2 MiB stack.
#[test]
fn residual_network_larger_than_the_stack_is_built_on_the_heap() {
    assert!(std::mem::size_of::<WideBlocks>() > 2 * 1024 * 1024);
    let run = || {
        let mut net = WideBlocks::new_boxed(1);
        assert_eq!(net.residual3.body.batchnorm1.gamma[5], 1.0);
        let mut trainer = Trainer::<WideBlocks, U2>::new_boxed();
        let x = bn_core::boxed_zeroed::<Batch<U2, bn_core::typenum::U1024>>();
        let loss = net.train_step(
            &*x,
            &[1usize, 2].into(),
            &bn_core::SoftmaxCrossEntropy,
            &bn_core::Sgd::new(0.01f32),
            &mut trainer,
        );
        assert!(loss.is_finite());
        let folded = net.fold_boxed();
        let back = WideBlocksFolded::load_safetensors(&folded.save_safetensors()).unwrap();
        assert_eq!(*back, *folded);
    };
    std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(run).unwrap().join().unwrap();
}
