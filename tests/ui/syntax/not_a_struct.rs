// `network!` declares a struct.
bn_core::network! {
    enum Net {
        input: 4,
        dense(10),
    }
}

fn main() {}
