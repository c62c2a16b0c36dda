// The network struct takes no generic parameters.
bn_core::network! {
    struct Net<T> {
        input: 4,
        dense(10),
    }
}

fn main() {}
