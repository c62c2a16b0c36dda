//! Host tests of the `#![no_std]` crate: the embedded model is the paper's trained model,
//! and it classifies the test split exactly as that model does.

use bn_core::PlainData;
use bn_paper::experiment as paper;
use mnist_embedded::{classify, train_tiny_demo, MODEL};

/// The file the crate embeds, read at run time.
const MODEL_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/model_folded.bin");

/// The trained (unfolded) BN network, written by the same `--save` run
/// (`cargo run --release --example paper -- --save examples/embedded/model`).
const TRAINED_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/model.safetensors");

// The duplicated declaration is the paper's network, at compile time too.
const _: () = {
    assert!(mnist_embedded::PaperBn::PARAMS == paper::PaperBn::PARAMS);
    assert!(mnist_embedded::PaperBn::INPUT == paper::PaperBn::INPUT);
    assert!(mnist_embedded::PaperBn::OUTPUT == paper::PaperBn::OUTPUT);
    assert!(<mnist_embedded::PaperBnFolded as PlainData>::LEN == <paper::PaperBnFolded as PlainData>::LEN);
    assert!(<mnist_embedded::PaperBnFolded as PlainData>::BYTE_LEN == <paper::PaperBnFolded as PlainData>::BYTE_LEN);
    assert!(size_of::<mnist_embedded::PaperBnFolded>() == size_of::<paper::PaperBnFolded>());
};

#[test]
fn the_declaration_is_the_paper_network_layer_by_layer() {
    // The summaries list every layer, its widths and parameters, and the folded plan.
    assert_eq!(mnist_embedded::PaperBn::SUMMARY, paper::PaperBn::SUMMARY);
    // `Display` of a folded model is its layer plan.
    assert_eq!(
        bn_core::boxed_zeroed::<mnist_embedded::PaperBnFolded>().to_string(),
        bn_core::boxed_zeroed::<paper::PaperBnFolded>().to_string()
    );
    assert_eq!(<paper::PaperBnFolded as PlainData>::BYTE_LEN, 398_840);
}

#[test]
fn the_embedded_model_is_the_file() {
    let file = std::fs::read(MODEL_FILE).unwrap();
    assert_eq!(MODEL.to_bytes(), file);
    // Decoded at run time, into the paper crate's own type: the same scalars, bit for bit.
    let runtime = paper::PaperBnFolded::from_bytes_boxed(&file).unwrap();
    let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(MODEL.as_scalars()), bits(runtime.as_scalars()));
}

#[test]
fn classifies_the_test_split_as_the_trained_model() {
    let (_, test) = bn_paper::mnist::load_default().unwrap();
    assert_eq!(test.len(), 1000);
    let runtime = paper::PaperBnFolded::from_bytes_boxed(&std::fs::read(MODEL_FILE).unwrap()).unwrap();
    // The trained network's eval path (population statistics), loaded from the same run.
    let trained = paper::PaperBn::load_safetensors(&std::fs::read(TRAINED_FILE).unwrap()).unwrap();
    let mut correct = 0;
    for i in 0..test.len() {
        let (image, label) = (test.sample_array::<784>(i), test.label(i));
        let embedded = classify(image);
        assert_eq!(usize::from(embedded), trained.classify(image), "test digit {i}: embedded vs eval path");
        assert_eq!(usize::from(embedded), runtime.classify(image), "test digit {i}: embedded vs run-time decode");
        correct += usize::from(u32::from(embedded) == label);
    }
    assert!(correct as f64 / test.len() as f64 >= 0.88, "{correct} of 1000 correct");
}

#[test]
fn the_no_std_training_demo_learns_xor() {
    let demo = train_tiny_demo(300);
    assert_eq!(demo.folded_correct, 4, "{demo:?}");
    assert!(demo.last_loss < 0.1 * demo.first_loss, "{demo:?}");
}
