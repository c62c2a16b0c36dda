// `embed!` takes a folded model (plain data), not the training type.
bn_core::network! {
    pub struct Tiny {
        input: 3,
        dense(4), batchnorm, relu,
        dense(2),
    }
}

static MODEL: Tiny = bn_core::embed!(Tiny, "size_mismatch.bin");

fn main() {
    let _ = MODEL.classify(&[0.0f32; 3]);
}
