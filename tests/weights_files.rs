//! Weights files (safetensors) have the names, shapes and dtypes of PyTorch's `state_dict` of
//! the equivalent `nn.Sequential`, for every layer kind (dense, conv, BN over features and
//! channels, affine-free BN, LayerNorm over features and over an image, folded affine layers),
//! and every model round-trips exactly: the training and folded types, f32 and f64 (and f32
//! files into f64 models and back), a paper-sized model loaded without stack temporaries, a
//! file without `num_batches_tracked`. The errors of bad files are checked in
//! `tests/weights_file_errors.rs`, parity with PyTorch's own files in `tests/pytorch_*.rs`.

mod common;

use bn_core::generic_array::GenericArray;
use bn_core::StateDict;
use bn_paper::networks::{
    Every, Every64, Every64Folded, EveryFolded, InputBnPadded, InputBnPaddedFolded, Lonely, LonelyFolded, PaperBn,
    PaperBnFolded,
};

use common::files::{f32_bytes, safetensors_file, trained_every};
use common::fold::randomize;

bn_core::network! {
    /// Compiled in by a `cfg` that holds.
    #[cfg(all())]
    pub struct Kept { input: 2, dense(2), batchnorm, relu, dense(1) }
}

#[test]
fn cfg_attributes_apply_to_the_weights_file_items() {
    let kept = Kept::new(1);
    assert_eq!(*Kept::load_safetensors(&kept.save_safetensors()).unwrap(), kept);
    let folded = kept.fold();
    assert_eq!(*KeptFolded::load_safetensors(&folded.save_safetensors()).unwrap(), folded);
}

/// The tensors of a model, as `name [shape]`.
fn names<M: StateDict>(m: &M) -> Vec<String> {
    let mut out = Vec::new();
    m.visit(&mut |name, t| out.push(format!("{name} {:?}", t.shape())));
    out
}

#[test]
fn names_are_those_of_the_pytorch_sequential() {
    let net = Every::new(1);
    assert_eq!(
        names(&net),
        [
            "fc1.weight [6, 5]",
            "1.weight [6]",
            "1.bias [6]",
            "1.running_mean [6]",
            "1.running_var [6]",
            "1.num_batches_tracked []",
            "3.weight [6, 6]",
            "3.bias [6]",
            "norm.weight [6]",
            "norm.bias [6]",
            "norm.running_mean [6]",
            "norm.running_var [6]",
            "norm.num_batches_tracked []",
            "6.weight [6]",
            "6.bias [6]",
            "6.running_mean [6]",
            "6.running_var [6]",
            "6.num_batches_tracked []",
            "8.weight [4, 6]",
            "10.weight [4]",
            "10.bias [4]",
            "10.running_mean [4]",
            "10.running_var [4]",
            "10.num_batches_tracked []",
            "head.weight [3, 4]",
            "head.bias [3]",
        ]
    );
    // Folded: fc1 (+BN 1), relu, dense 3 (+norm), tanh, BN 6 as a diagonal Linear, sigmoid,
    // dense 8, relu, head (+BN 10 before it).
    assert_eq!(
        names(&net.fold()),
        [
            "fc1.weight [6, 5]",
            "fc1.bias [6]",
            "2.weight [6, 6]",
            "2.bias [6]",
            "4.weight [6, 6]",
            "4.bias [6]",
            "6.weight [4, 6]",
            "6.bias [4]",
            "head.weight [3, 4]",
            "head.bias [3]",
        ]
    );
    assert_eq!(names(&Lonely::new(1).fold()), ["1.weight [3, 3]", "1.bias [3]", "3.weight [2, 3]", "3.bias [2]"]);
}

#[test]
fn training_type_round_trips_exactly() {
    let net = trained_every();
    let bytes = net.save_safetensors();
    let back = Every::load_safetensors(&bytes).unwrap();
    assert_eq!(*back, *net);
    // ε and momentum come from the declaration, not the file.
    assert_eq!(back.norm.eps, 1e-3);
    assert_eq!(back.batchnorm6.momentum, bn_core::Momentum::Cumulative);
    let mut into = Every::new_boxed(99);
    into.load_safetensors_into(&bytes).unwrap();
    assert_eq!(*into, *net);
    // Saving is deterministic.
    assert_eq!(back.save_safetensors(), bytes);
}

#[test]
fn folded_type_round_trips_exactly() {
    let folded = trained_every().fold_boxed();
    let bytes = folded.save_safetensors();
    assert_eq!(*EveryFolded::load_safetensors(&bytes).unwrap(), *folded);
    let lonely = Lonely::new(5).fold();
    assert_eq!(*LonelyFolded::load_safetensors(&lonely.save_safetensors()).unwrap(), lonely);
}

#[test]
fn f64_networks_round_trip_and_convert() {
    let net = trained_every();
    // An f32 file loads into the f64 network exactly (every f32 is an f64).
    let wide = Every64::load_safetensors(&net.save_safetensors()).unwrap();
    assert_eq!(wide.fc1.weight[2][3], f64::from(net.fc1.weight[2][3]));
    assert_eq!(wide.norm.running_var[1], f64::from(net.norm.running_var[1]));
    assert_eq!(wide.batchnorm1.num_batches_tracked, 5);
    // f64 round trip, and the f64 file back into f32 (rounded to nearest: exact here).
    let bytes = wide.save_safetensors();
    assert_eq!(*Every64::load_safetensors(&bytes).unwrap(), *wide);
    assert_eq!(*Every::load_safetensors(&bytes).unwrap(), *net);
    let folded = wide.fold();
    assert_eq!(*Every64Folded::load_safetensors(&folded.save_safetensors()).unwrap(), folded);
}

#[test]
fn paper_sized_load_uses_no_stack_temporaries() {
    let bytes = PaperBn::new_boxed(1).save_safetensors();
    let folded_bytes = PaperBn::new_boxed(1).fold_boxed().save_safetensors();
    assert!(core::mem::size_of::<PaperBn>() > 300_000);
    // A 192 KiB stack is smaller than the model: loading must build it on the heap.
    std::thread::Builder::new()
        .stack_size(192 * 1024)
        .spawn(move || {
            let net = PaperBn::load_safetensors(&bytes).unwrap();
            assert_eq!(net.save_safetensors(), bytes);
            let folded = PaperBnFolded::load_safetensors(&folded_bytes).unwrap();
            assert_eq!(folded.save_safetensors(), folded_bytes);
        })
        .unwrap()
        .join()
        .unwrap();
}

// ---- convolutions, LayerNorm, affine-free BN ----

/// The tensors of a CNN are PyTorch's: `Conv2d.weight` `[out, in, kh, kw]`, BatchNorm2d's
/// five tensors; the folded type keeps an unfolded BN over channels as a depthwise 1×1
/// `Conv2d` (`weight` `[c, 1, 1, 1]`). Both round-trip through safetensors files, and a
/// wrong 4-d shape is an error that names the tensor.
#[test]
fn cnn_weights_files_have_pytorch_names_and_shapes() {
    let mut net = InputBnPadded::new(1);
    randomize(&mut net, 1);
    let mut names = Vec::new();
    net.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(
        names,
        [
            "0.weight [2]",
            "0.bias [2]",
            "0.running_mean [2]",
            "0.running_var [2]",
            "0.num_batches_tracked []",
            "1.weight [3, 2, 3, 3]",
            "1.bias [3]",
            "4.weight [3]",
            "4.bias [3]",
            "4.running_mean [3]",
            "4.running_var [3]",
            "4.num_batches_tracked []",
        ]
    );
    let back = InputBnPadded::load_safetensors(&net.save_safetensors()).unwrap();
    assert_eq!(*back, net);

    let folded = net.fold_boxed();
    let mut names = Vec::new();
    folded.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(
        names,
        [
            "0.weight [2, 1, 1, 1]",
            "0.bias [2]",
            "1.weight [3, 2, 3, 3]",
            "1.bias [3]",
            "4.weight [3, 1, 1, 1]",
            "4.bias [3]"
        ]
    );
    let folded_back = InputBnPaddedFolded::load_safetensors(&folded.save_safetensors()).unwrap();
    assert_eq!(*folded_back, *folded);

    // A file of another geometry: the 4-d shapes differ.
    bn_core::network! { struct Wider { input: (2, 5, 5), batchnorm, conv2d(3, kernel = 5, padding = 2), relu, avgpool(2), batchnorm } }
    let err = InputBnPadded::load_safetensors(&Wider::new(1).save_safetensors()).unwrap_err();
    assert_eq!(err.to_string(), "tensor `1.weight` has shape [3, 2, 5, 5], but the model expects [3, 2, 3, 3]");
}

bn_core::network! {
    /// LayerNorm over an image (first: no input gradient), over features, and without γ/β.
    pub struct Files {
        input: (2, 3, 3),
        layernorm, conv2d(2, kernel = 2), batchnorm, relu,
        flatten, dense(4), layernorm, dropout(0.5), dense(2), layernorm(affine = false),
    }
}

bn_core::network! {
    /// An affine-free BN.
    pub struct NoAffine { input: 3, dense(2), batchnorm(affine = false) }
}

bn_core::network! {
    pub struct WithAffine { input: 3, dense(2), batchnorm }
}

/// LayerNorm's tensors are `nn.LayerNorm`'s: `weight`/`bias` of shape [C, H, W] over an
/// image, [N] over features, none without `affine`; dropout has none. The training type
/// round-trips exactly, and the folded type keeps the LayerNorm tensors.
#[test]
fn layernorm_weights_files() {
    let mut net = Files::new(1);
    randomize(&mut net, 2);
    let mut names = Vec::new();
    net.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(
        names,
        [
            "0.weight [2, 3, 3]",
            "0.bias [2, 3, 3]",
            "1.weight [2, 2, 2, 2]",
            "2.weight [2]",
            "2.bias [2]",
            "2.running_mean [2]",
            "2.running_var [2]",
            "2.num_batches_tracked []",
            "5.weight [4, 8]",
            "5.bias [4]",
            "6.weight [4]",
            "6.bias [4]",
            "8.weight [2, 4]",
            "8.bias [2]",
        ]
    );
    let back = Files::load_safetensors(&net.save_safetensors()).unwrap();
    assert_eq!(*back, net);
    // A LayerNorm over [C, H, W] does not load a file of [C·H·W] (or another shape).
    let good = net.save_safetensors();
    let flat_shape = {
        let (n, rest) = good.split_at(8);
        let len = u64::from_le_bytes(n.try_into().unwrap()) as usize;
        let header = String::from_utf8(rest[..len].to_vec()).unwrap();
        let at = header.find("\"0.weight\":").unwrap();
        let (head, tail) = header.split_at(at);
        let changed = format!("{head}{}", tail.replacen("\"shape\":[2,3,3]", "\"shape\":[18]   ", 1));
        assert_ne!(changed, header);
        let mut out = good[..8].to_vec();
        out.extend_from_slice(changed.as_bytes());
        out.extend_from_slice(&rest[len..]);
        out
    };
    let err = Files::load_safetensors(&flat_shape).unwrap_err().to_string();
    assert_eq!(err, "tensor `0.weight` has shape [18], but the model expects [2, 3, 3]");

    let folded = net.fold_boxed();
    let mut names = Vec::new();
    folded.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(
        names,
        // The folded Sequential: LayerNorm, conv (BN folded in), ReLU, Flatten, Linear,
        // LayerNorm, Linear, LayerNorm (no tensors); no Dropout.
        [
            "0.weight [2, 3, 3]",
            "0.bias [2, 3, 3]",
            "1.weight [2, 2, 2, 2]",
            "1.bias [2]",
            "4.weight [4, 8]",
            "4.bias [4]",
            "5.weight [4]",
            "5.bias [4]",
            "6.weight [2, 4]",
            "6.bias [2]",
        ]
    );
}

/// A folded model with LayerNorm layers loaded from its own file is the same model.
#[test]
fn folded_layernorm_round_trips_through_safetensors() {
    let mut net = Files::new(1);
    randomize(&mut net, 2);
    let folded = net.fold_boxed();
    let back = FilesFolded::load_safetensors(&folded.save_safetensors()).unwrap();
    // A constant sample: LayerNorm's variance is 0, ε alone keeps it finite.
    let x = [0.5f32; 18];
    assert_eq!(folded.forward(&x), net.eval(&x));
    assert_eq!(back.forward(&x), folded.forward(&x), "the loaded model computes what the saved one did");
    assert_eq!(*back, *folded);
}

/// A BN file without `num_batches_tracked` (an older checkpoint; PyTorch loads it) loads
/// with the counter 0.
#[test]
fn a_file_without_num_batches_tracked_loads_with_counter_zero() {
    let file = safetensors_file(&[
        ("0.weight", "F32", vec![2, 3], f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
        ("1.weight", "F32", vec![2], f32_bytes(&[1.5, -1.0])),
        ("1.bias", "F32", vec![2], f32_bytes(&[0.25, 0.0])),
        ("1.running_mean", "F32", vec![2], f32_bytes(&[0.5, -0.5])),
        ("1.running_var", "F32", vec![2], f32_bytes(&[2.0, 3.0])),
    ]);
    let mut loaded = WithAffine::new(0);
    loaded.batchnorm1.num_batches_tracked = 5;
    loaded.load_safetensors_into(&file).unwrap();
    assert_eq!(loaded.batchnorm1.num_batches_tracked, 0);
    assert_eq!(loaded.batchnorm1.running_var, GenericArray::from([2.0, 3.0]));
    assert_eq!(loaded.batchnorm1.gamma, GenericArray::from([1.5, -1.0]));
    assert_eq!(loaded.dense0.weight[1], GenericArray::from([4.0, 5.0, 6.0]));
    let back = WithAffine::load_safetensors(&loaded.save_safetensors()).unwrap();
    assert_eq!(*back, loaded);
}

/// `batchnorm(affine = false)` is PyTorch's `affine=False`: no `weight` or `bias` in the
/// `state_dict` (a file with them is refused, as PyTorch's strict load does), and a file
/// without `num_batches_tracked` loads with the counter 0.
#[test]
fn affine_free_batchnorm_files_have_no_weight_or_bias() {
    let mut net = NoAffine::new(1);
    net.batchnorm1.running_mean = GenericArray::from([0.5, -0.5]);
    let mut names = Vec::new();
    net.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(names, ["0.weight [2, 3]", "1.running_mean [2]", "1.running_var [2]", "1.num_batches_tracked []"]);
    let back = NoAffine::load_safetensors(&net.save_safetensors()).unwrap();
    assert_eq!(*back, net);

    let file = safetensors_file(&[
        ("0.weight", "F32", vec![2, 3], f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
        ("1.running_mean", "F32", vec![2], f32_bytes(&[0.5, -0.5])),
        ("1.running_var", "F32", vec![2], f32_bytes(&[2.0, 3.0])),
    ]);
    let mut loaded = NoAffine::new(0);
    loaded.batchnorm1.num_batches_tracked = 5;
    loaded.load_safetensors_into(&file).unwrap();
    assert_eq!(loaded.batchnorm1.num_batches_tracked, 0);
    assert_eq!(loaded.batchnorm1.running_var, GenericArray::from([2.0, 3.0]));
    // γ and β stay 1 and 0 whatever a file says: a file with them is refused.
    let with_affine = safetensors_file(&[
        ("0.weight", "F32", vec![2, 3], f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
        ("1.weight", "F32", vec![2], f32_bytes(&[3.0, 3.0])),
        ("1.bias", "F32", vec![2], f32_bytes(&[1.0, 1.0])),
        ("1.running_mean", "F32", vec![2], f32_bytes(&[0.5, -0.5])),
        ("1.running_var", "F32", vec![2], f32_bytes(&[2.0, 3.0])),
    ]);
    let err = NoAffine::load_safetensors(&with_affine).unwrap_err().to_string();
    assert_eq!(err, "unexpected tensor `1.weight`: the model has no such tensor");
}

bn_core::network! {
    /// Residual blocks in weights files: a named block with a named layer inside, GroupNorm
    /// with and without γ/β, a block nested at the end of a body, a projection shortcut.
    pub struct BlockFiles {
        input: (2, 6, 6),
        conv2d(4, kernel = 3, padding = 1), batchnorm, relu,
        stage1: residual {
            conv2d(4, kernel = 3, padding = 1), batchnorm, relu,
            mid: conv2d(4, kernel = 3, padding = 1), groupnorm(2),
        },
        relu,
        residual {
            conv2d(6, kernel = 3, stride = 2, padding = 1), groupnorm(3, affine = false), relu,
            residual { conv2d(6, kernel = 1), batchnorm },
        } shortcut {
            conv2d(6, kernel = 1, stride = 2), batchnorm,
        },
        relu, global_avgpool, dense(3),
    }
}

/// A block's layers are named `K.body.J.…` and `K.shortcut.J.…` (J counted within the
/// branch; a named block or layer by its name), as the `state_dict` of `tools/`'s
/// `Residual` module; both types round-trip exactly.
#[test]
fn residual_blocks_have_pytorch_names_and_round_trip() {
    let mut net = BlockFiles::new(1);
    randomize(&mut net, 2);
    let bn = |k: &str, c: usize| {
        ["weight", "bias", "running_mean", "running_var"]
            .map(|t| format!("{k}.{t} [{c}]"))
            .into_iter()
            .chain([format!("{k}.num_batches_tracked []")])
            .collect::<Vec<_>>()
    };
    let mut want = vec!["0.weight [4, 2, 3, 3]".to_string()];
    want.extend(bn("1", 4));
    want.push("stage1.body.0.weight [4, 4, 3, 3]".into());
    want.extend(bn("stage1.body.1", 4));
    want.extend(["stage1.body.mid.weight [4, 4, 3, 3]", "stage1.body.mid.bias [4]"].map(String::from));
    want.extend(["stage1.body.4.weight [4]", "stage1.body.4.bias [4]"].map(String::from));
    want.extend(["5.body.0.weight [6, 4, 3, 3]", "5.body.0.bias [6]"].map(String::from));
    want.push("5.body.3.body.0.weight [6, 6, 1, 1]".into());
    want.extend(bn("5.body.3.body.1", 6));
    want.push("5.shortcut.0.weight [6, 4, 1, 1]".into());
    want.extend(bn("5.shortcut.1", 6));
    want.extend(["8.weight [3, 6]", "8.bias [3]"].map(String::from));
    assert_eq!(names(&net), want);
    let back = BlockFiles::load_safetensors(&net.save_safetensors()).unwrap();
    assert_eq!(*back, net);

    // Folded: each branch renumbered on its own, the BNs folded into the convs before them.
    let folded = net.fold_boxed();
    assert_eq!(
        names(&*folded),
        [
            "0.weight [4, 2, 3, 3]",
            "0.bias [4]",
            "stage1.body.0.weight [4, 4, 3, 3]",
            "stage1.body.0.bias [4]",
            "stage1.body.mid.weight [4, 4, 3, 3]",
            "stage1.body.mid.bias [4]",
            "stage1.body.3.weight [4]",
            "stage1.body.3.bias [4]",
            "4.body.0.weight [6, 4, 3, 3]",
            "4.body.0.bias [6]",
            "4.body.3.body.0.weight [6, 6, 1, 1]",
            "4.body.3.body.0.bias [6]",
            "4.shortcut.0.weight [6, 4, 1, 1]",
            "4.shortcut.0.bias [6]",
            "7.weight [3, 6]",
            "7.bias [3]",
        ]
    );
    let back = BlockFilesFolded::load_safetensors(&folded.save_safetensors()).unwrap();
    assert_eq!(*back, *folded);
    // A GroupNorm's ε is the declaration's, kept by the folded model (not in the file).
    assert_eq!(back.stage1.body.groupnorm4.eps, 1e-5);
}
