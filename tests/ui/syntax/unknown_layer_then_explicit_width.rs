// An unknown layer makes the width unknown: no width error follows it.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), softmax,
        dense(10 => 5),
    }
}

fn main() {}
