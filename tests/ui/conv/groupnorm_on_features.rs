// GroupNorm normalizes groups of an image's channels: on features it is an error.
bn_core::network! {
    struct Net {
        input: 784,
        dense(64), groupnorm(8), relu,
        dense(10),
    }
}

fn main() {}
