// The pools' only option is `stride`.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        maxpool(2, strides = 2),
        flatten, dense(10),
    }
}

fn main() {}
