// The first layer's explicit input width is checked against `input`.
bn_core::network! {
    struct Net {
        input: 784,
        dense(768 => 100), relu,
        dense(10),
    }
}

fn main() {}
