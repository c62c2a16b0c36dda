// `embed!` with a file whose length is not the model's size: 100 bytes (25 `f32`s, one short)
// for a model of 26 scalars. The error names both sizes and the type.
bn_core::network! {
    pub struct Tiny {
        input: 3,
        dense(4), batchnorm, relu,
        dense(2),
    }
}

static MODEL: TinyFolded = bn_core::embed!(TinyFolded, "size_mismatch.bin");

fn main() {
    let _ = MODEL.classify(&[0.0f32; 3]);
}
