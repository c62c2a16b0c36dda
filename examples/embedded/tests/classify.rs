//! Host tests of the `#![no_std]` crate: each embedded model (the paper's MLP, the
//! convolutional experiment's LeNet) is the trained model that its example saved, and it
//! classifies the test split exactly as that model does.

use std::fmt::Display;

use bn_core::quant::Quantize;
use bn_core::typenum::U784;
use bn_core::{GenericArray, Inference, Network, PlainData, StateDict, Zeroable};
use bn_paper::networks as paper;
use mnist_embedded::{
    classify, classify_int8, classify_lenet, classify_lenet_int8, train_tiny_demo, LENET, LENET_INT8, MODEL, MODEL_INT8,
};

/// A file that a `--save` run wrote into this crate's `model/` directory:
/// `cargo run --release --example paper -- --save examples/embedded/model` (the MLP) and
/// `cargo run --release --example cnn -- --save examples/embedded/model/lenet` (the LeNet)
/// each write the folded model the crate embeds (`model_folded.bin`) and the trained,
/// unfolded BN network (`model.safetensors`).
fn model_file(path: &str) -> Vec<u8> {
    let path = format!("{}/model/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// At compile time: the crate's duplicated declaration `$ours` (folded: `$ours_folded`) has
/// the widths and parameter count of `$paper`'s, and the folded types have the same scalars,
/// bytes and size.
macro_rules! assert_same_network {
    ($ours:ty, $ours_folded:ty, $paper:ty, $paper_folded:ty) => {
        const _: () = {
            assert!(<$ours>::PARAMS == <$paper>::PARAMS);
            assert!(<$ours>::INPUT == <$paper>::INPUT);
            assert!(<$ours>::OUTPUT == <$paper>::OUTPUT);
            assert!(<$ours_folded as PlainData>::LEN == <$paper_folded as PlainData>::LEN);
            assert!(<$ours_folded as PlainData>::BYTE_LEN == <$paper_folded as PlainData>::BYTE_LEN);
            assert!(size_of::<$ours_folded>() == size_of::<$paper_folded>());
        };
    };
}

assert_same_network!(mnist_embedded::PaperBn, mnist_embedded::PaperBnFolded, paper::PaperBn, paper::PaperBnFolded);
assert_same_network!(mnist_embedded::LeNetBn, mnist_embedded::LeNetBnFolded, paper::LeNetBn, paper::LeNetBnFolded);

/// At run time, layer by layer: the summaries (every layer, its widths and parameters, and
/// the folded plan) are equal, and so is `Display` of the folded types (their layer plan).
fn assert_same_layers<Ours: Zeroable + Display, Paper: Zeroable + Display>(ours_summary: &str, paper_summary: &str) {
    assert_eq!(ours_summary, paper_summary);
    assert_eq!(bn_core::boxed_zeroed::<Ours>().to_string(), bn_core::boxed_zeroed::<Paper>().to_string());
}

/// The embedded model is the file `path` bit for bit; so is the file decoded at run time
/// into the paper crate's own type `Paper`.
fn assert_embedded_is_file<Paper: PlainData<Scalar = f32>>(embedded: &impl PlainData<Scalar = f32>, path: &str) {
    let file = model_file(path);
    assert_eq!(embedded.to_bytes(), file);
    let runtime = Paper::from_bytes_boxed(&file).unwrap();
    let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(embedded.as_scalars()), bits(runtime.as_scalars()));
}

/// `embedded` classifies all 1000 test digits exactly as the trained network's eval path
/// (population statistics; a `Trained` loaded from `model/{dir}/model.safetensors`) and as
/// the run-time decode of `model/{dir}/model_folded.bin` into its folded type, and at least
/// `floor` of them correctly.
fn assert_classifies_as_trained<Trained>(embedded: fn(&[f32; 784]) -> u8, dir: &str, floor: f64)
where
    Trained: Network<Scalar = f32, Input = U784> + StateDict<Scalar = f32>,
    Trained::Folded: PlainData<Scalar = f32>,
{
    let (_, test) = bn_paper::mnist::load_default().unwrap();
    assert_eq!(test.len(), 1000);
    let runtime = Trained::Folded::from_bytes_boxed(&model_file(&format!("{dir}/model_folded.bin"))).unwrap();
    let mut trained = Trained::new_boxed(0);
    trained.load_safetensors_into(&model_file(&format!("{dir}/model.safetensors"))).unwrap();
    let mut correct = 0;
    for i in 0..test.len() {
        let (image, label) = (test.sample_array::<784>(i), test.label(i));
        let class = usize::from(embedded(image));
        let x = GenericArray::from_slice(image);
        assert_eq!(class, trained.classify(x), "{dir}, test digit {i}: embedded vs eval path");
        assert_eq!(class, runtime.classify(x), "{dir}, test digit {i}: embedded vs run-time decode");
        correct += usize::from(class == label as usize);
    }
    assert!(correct as f64 / test.len() as f64 >= floor, "{dir}: {correct} of 1000 correct");
}

#[test]
fn the_mlp_declaration_is_the_paper_network_layer_by_layer() {
    assert_same_layers::<mnist_embedded::PaperBnFolded, paper::PaperBnFolded>(
        mnist_embedded::PaperBn::SUMMARY,
        paper::PaperBn::SUMMARY,
    );
    assert_eq!(<paper::PaperBnFolded as PlainData>::BYTE_LEN, 398_840);
}

#[test]
fn the_lenet_declaration_is_the_cnn_network_layer_by_layer() {
    assert_same_layers::<mnist_embedded::LeNetBnFolded, paper::LeNetBnFolded>(
        mnist_embedded::LeNetBn::SUMMARY,
        paper::LeNetBn::SUMMARY,
    );
    assert_eq!(<paper::LeNetBnFolded as PlainData>::BYTE_LEN, 36_392);
}

#[test]
fn the_embedded_mlp_is_the_file() {
    assert_embedded_is_file::<paper::PaperBnFolded>(&MODEL, "model_folded.bin");
}

#[test]
fn the_embedded_lenet_is_the_file() {
    assert_embedded_is_file::<paper::LeNetBnFolded>(&LENET, "lenet/model_folded.bin");
}

#[test]
fn the_mlp_classifies_the_test_split_as_the_trained_model() {
    // The paper run printed 90.20 %.
    assert_classifies_as_trained::<paper::PaperBn>(classify, ".", 0.88);
}

#[test]
fn the_lenet_classifies_the_test_split_as_the_trained_model() {
    // The cnn run printed 96.10 %.
    assert_classifies_as_trained::<paper::LeNetBn>(classify_lenet, "lenet", 0.95);
}

#[test]
fn the_no_std_training_demo_learns_xor() {
    let demo = train_tiny_demo(300);
    assert_eq!(demo.folded_correct, 4, "{demo:?}");
    assert!(demo.last_loss < 0.1 * demo.first_loss, "{demo:?}");
}

/// The int8 model file `{dir}/model_int8.bin` is the folded model `{dir}/model_folded.bin`
/// quantized with the first 1,000 training digits of the default data, byte for byte
/// (`UPDATE_INT8=1` rewrites it); the embedded int8 model is that file; and it classifies
/// every test digit exactly as the host's int8 path (the run-time decode into the paper
/// crate's type), and at least `floor` of them correctly. Returns the accuracy.
fn assert_int8<Folded>(
    embedded: &impl PlainData<Scalar = u8>,
    classify: fn(&[f32; 784]) -> u8,
    dir: &str,
    floor: f64,
) -> f64
where
    Folded: PlainData<Scalar = f32> + Quantize + Inference<Input = U784>,
{
    let (train, test) = bn_paper::mnist::load_default().unwrap();
    let folded = Folded::from_bytes_boxed(&model_file(&format!("{dir}/model_folded.bin"))).unwrap();
    let calibration: Vec<_> = (0..1000).map(|i| *GenericArray::from_slice(train.sample(i))).collect();
    let quantized = folded.quantize(&calibration).unwrap();
    let path = format!("{}/model/{dir}/model_int8.bin", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_INT8").is_some() {
        std::fs::write(&path, quantized.to_bytes()).unwrap();
    }
    assert_eq!(
        quantized.to_bytes(),
        model_file(&format!("{dir}/model_int8.bin")),
        "{path} (UPDATE_INT8=1 rewrites it)"
    );
    assert_eq!(embedded.to_bytes(), quantized.to_bytes());
    let mut correct = 0;
    for i in 0..test.len() {
        let (image, label) = (test.sample_array::<784>(i), test.label(i));
        let class = usize::from(classify(image));
        assert_eq!(
            class,
            quantized.classify(GenericArray::from_slice(image)),
            "{dir}, test digit {i}: embedded vs host"
        );
        correct += usize::from(class == label as usize);
    }
    let accuracy = correct as f64 / test.len() as f64;
    assert!(accuracy >= floor, "{dir}: {correct} of 1000 correct");
    accuracy
}

#[test]
fn the_int8_mlp_is_the_quantized_file_and_classifies_as_the_host() {
    let accuracy = assert_int8::<paper::PaperBnFolded>(&MODEL_INT8, classify_int8, ".", 0.88);
    println!("int8 MLP: {:.2}% of the 1000 test digits", 100.0 * accuracy);
}

#[test]
fn the_int8_lenet_is_the_quantized_file_and_classifies_as_the_host() {
    let accuracy = assert_int8::<paper::LeNetBnFolded>(&LENET_INT8, classify_lenet_int8, "lenet", 0.95);
    println!("int8 LeNet: {:.2}% of the 1000 test digits", 100.0 * accuracy);
}
